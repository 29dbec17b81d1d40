/**
 * The embedded local stack end to end: objects put in s3rver reach the real ingest handler through
 * s3rver's own ObjectCreated notifications (keys URL-encoded as S3 encodes them), and usage lands
 * in DynamoDB (dynalite).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore, registryHash } from '../../functions/adapters/control-store.ts';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';

const line = (app: string, ts: string, records: number) =>
  JSON.stringify({
    timestamp: ts,
    app_id: app,
    endpoint: 'GET /2/users/by',
    status: 200,
    records,
    bytes: 10,
  });

// Small bomb bounds so the test's bomb is small; the handler reads them from its environment.
process.env.RATIO_CHECK_AFTER_BYTES = String(1024 * 1024);
process.env.MAX_COMPRESSION_RATIO = '100';

let stack: LocalStack;
let store: UsageStore;
let objects: S3Objects;
const dir = mkdtempSync(join(tmpdir(), 'auditor-local-'));

beforeAll(async () => {
  stack = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
  store = new UsageStore(documentClient(stack.dynamo), stack.env.USAGE_TABLE as string);
  objects = new S3Objects(stack.s3);
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function put(key: string, body: string | Uint8Array): Promise<void> {
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.logBucket, Key: key, Body: body }));
}

describe('embedded local stack', () => {
  const keys = [
    'logs/with space/a b.jsonl',
    'logs/plus+sign.jsonl',
    'logs/date=2026-11-27/eq.jsonl',
    'logs/100%/pct.jsonl',
    'logs/café/日本.jsonl.gz',
  ];

  it('ingests keys with spaces, +, =, % and non-ASCII characters through s3rver notifications', async () => {
    for (const [i, key] of keys.entries()) {
      const text = `${line(`app-${i}`, '2026-11-27T10:00:00Z', 10 * (i + 1))}\n`;
      await put(key, key.endsWith('.gz') ? gzipSync(text) : text);
    }
    await stack.drain();
    expect(stack.takeErrors()).toEqual([]);
    for (const key of keys) {
      expect(stack.results.get(key)).toMatchObject({ outcome: 'ingested', counted: 1 });
      expect((await store.getManifest(key))?.status).toBe('ingested');
    }
    const rows = await store.queryUsage({ from: '2026-11-01', to: '2026-11-30' });
    expect(rows.map((r) => [r.app, r.day, r.records])).toEqual(
      keys.map((_, i) => [`app-${i}`, '2026-11-27', 10 * (i + 1)]),
    );
    expect(rows[4]?.sources).toEqual([{ key: 'logs/café/日本.jsonl.gz', gen: expect.any(String) }]);
  });

  it('skips keys outside logs/ and folder markers', async () => {
    await put('other/x.jsonl', `${line('nope', '2026-11-27T10:00:00Z', 1)}\n`);
    await put('logs/folder/', new Uint8Array(0));
    await stack.drain();
    expect(stack.takeErrors()).toEqual([]);
    // In AWS the notification is filtered on logs/; the handler also refuses anything else itself.
    expect(stack.results.get('other/x.jsonl')?.outcome).toBe('skipped');
    expect(stack.results.get('logs/folder/')?.outcome).toBe('skipped');
    expect(await store.getManifest('other/x.jsonl')).toBeUndefined();
  });

  it('keeps rejects beside the reports and quarantines a truncated gzip with its reason', async () => {
    await put('logs/bad/mixed.jsonl', `${line('mixed', '2026-11-27T10:00:00Z', 5)}\nnot json\n`);
    const gz = gzipSync(`${line('trunc', '2026-11-27T10:00:00Z', 5)}\n`.repeat(200));
    await put('logs/bad/truncated.jsonl.gz', gz.subarray(0, gz.length - 20));
    await stack.drain();
    expect(stack.takeErrors()).toEqual([]);

    const mixed = await store.getManifest('logs/bad/mixed.jsonl');
    expect(mixed).toMatchObject({ status: 'ingested', counted: 1, rejected: 1 });
    const rejects = await objects.getText(stack.reportsBucket, mixed?.rejectsKey as string);
    expect(
      rejects
        ?.trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      {
        key: 'logs/bad/mixed.jsonl',
        gen: mixed?.gen,
        line: 2,
        reason: expect.stringMatching(/invalid JSON/),
      },
    ]);

    const trunc = await store.getManifest('logs/bad/truncated.jsonl.gz');
    expect(trunc).toMatchObject({ status: 'quarantined', counted: 0, reason: expect.stringMatching(/gzip/) });
    const record = JSON.parse(
      (await objects.getText(stack.reportsBucket, trunc?.quarantineKey as string)) ?? '{}',
    );
    expect(record).toMatchObject({ key: 'logs/bad/truncated.jsonl.gz', reason: trunc?.reason });
    const rows = await store.queryUsage({ from: '2026-11-27', to: '2026-11-27', apps: ['trunc', 'mixed'] });
    expect(rows.map((r) => [r.app, r.requests])).toEqual([['mixed', 1]]);
  });

  it('gives a clear reason per line or per object for malformed input, and counts the rest', async () => {
    const good = (app: string, n = 3) =>
      Array.from({ length: n }, () => line(app, '2026-11-26T10:00:00Z', 2)).join('\n');
    const lines = [
      good('mal-lines', 2),
      '{"timestamp":"2026-11-26T10:00:00Z","app_id":"mal-lines",', // bad JSON
      '{"timestamp":"2026-11-26T10:00:00Z","endpoint":"GET /x","status":200}', // missing app_id
      '{"timestamp":"2026-11-26T10:00:00Z","app_id":"mal-lines","endpoint":"GET /x","status":"200"}', // mistyped
      '{"timestamp":"2026-02-30T10:00:00Z","app_id":"mal-lines","endpoint":"GET /x","status":200}', // impossible
      `{"timestamp":"2026-11-26T10:00:00Z","app_id":"mal-lines","endpoint":"GET /x","status":200,"records":"x","pad":"${'a'.repeat(2 * 1024 * 1024)}"}`,
      good('mal-lines', 1),
    ];
    const utf8 = Buffer.concat([
      Buffer.from(`${lines.join('\n')}\n`),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
    ]);
    const bomb = gzipSync(`${line('bomb', '2026-11-26T10:00:00Z', 1)}\n`.repeat(60_000));
    const binary = Buffer.alloc(4096, 0);
    binary.write('PK\u0003\u0004', 0);
    const gz = gzipSync(`${good('trunc2', 100)}\n`);
    const uploads: [string, Uint8Array | string][] = [
      ['logs/mal/lines.jsonl', utf8],
      ['logs/mal/empty.jsonl', new Uint8Array(0)],
      ['logs/mal/truncated.gz', gz.subarray(0, gz.length - 10)],
      ['logs/mal/bomb.jsonl.gz', bomb],
      ['logs/mal/binary.bin', binary],
      ['logs/mal/fine.jsonl', `${good('mal-fine', 4)}\n`],
    ];
    for (const [key, body] of uploads) await put(key, body);
    await stack.drain();
    expect(stack.takeErrors()).toEqual([]);

    const m = await store.getManifest('logs/mal/lines.jsonl');
    expect(m).toMatchObject({ status: 'ingested', counted: 3, rejected: 6 });
    const rejects = ((await objects.getText(stack.reportsBucket, m?.rejectsKey as string)) ?? '')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; reason: string });
    expect(rejects.map((r) => r.line)).toEqual([3, 4, 5, 6, 7, 9]);
    expect(rejects.map((r) => r.reason)).toEqual([
      expect.stringMatching(/invalid JSON/),
      expect.stringMatching(/missing field app_id/),
      expect.stringMatching(/^status: .*string/),
      expect.stringMatching(/^timestamp: .*2026-02-30/),
      expect.stringMatching(/1 MiB/),
      expect.stringMatching(/invalid UTF-8/),
    ]);
    expect(await store.getManifest('logs/mal/empty.jsonl')).toMatchObject({ status: 'empty', counted: 0 });
    expect((await store.getManifest('logs/mal/truncated.gz'))?.reason).toMatch(/truncated gzip/);
    expect((await store.getManifest('logs/mal/bomb.jsonl.gz'))?.reason).toMatch(/decompression bomb/);
    expect((await store.getManifest('logs/mal/binary.bin'))?.reason).toMatch(/binary content/);
    const rows = await store.queryUsage({ from: '2026-11-26', to: '2026-11-26' });
    expect(rows.map((r) => [r.app, r.requests])).toEqual([
      ['mal-fine', 4],
      ['mal-lines', 3],
    ]);
  });

  it('reprocess re-attributes stored logs with a new registry, idempotently', async () => {
    const key = 'logs/reprocess/x.jsonl';
    const text = ['203.0.113.9', '2001:db8:ffff::1', '192.0.2.1']
      .map((ip) =>
        JSON.stringify({
          timestamp: '2026-11-25T10:00:00Z',
          app_id: 'rp-app',
          endpoint: 'GET /x',
          status: 200,
          records: 4,
          client_ip: ip,
        }),
      )
      .join('\n');
    await put(key, text);
    await stack.drain();
    const read = async () =>
      (await store.queryUsage({ from: '2026-11-25', to: '2026-11-25', apps: ['rp-app'] }))[0];
    expect((await read())?.categories).toEqual({});

    const control = new ControlStore(documentClient(stack.dynamo), stack.env.CONTROL_TABLE as string);
    await control.putRegistry({
      press: { cidrs: ['203.0.113.0/24', '2001:db8:ffff::/48'], organisations: [] },
    });
    // The running handler caches the registry for up to a minute; reprocessing reads it afresh.
    for (let i = 0; i < 2; i++) {
      const out = (await stack.invokeIngest({ action: 'reprocess', bucket: stack.logBucket, key })) as {
        results: { outcome: string }[];
      };
      expect(out.results[0]?.outcome).toBe('ingested');
    }
    const after = await read();
    expect(after).toMatchObject({
      requests: 3,
      records: 12,
      categories: { press: { requests: 2, records: 8, orgs: {} } },
    });
    expect((await store.getManifest(key))?.registryHash).toBe(
      registryHash({ press: { cidrs: ['203.0.113.0/24', '2001:db8:ffff::/48'], organisations: [] } }),
    );
  });
});
