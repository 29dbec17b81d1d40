/**
 * Exactly-once in effect under at-least-once delivery, against both DynamoDB emulators:
 * duplicates, concurrent duplicates, overwrites (in order, out of order and racing) and crashes
 * injected at each stage of the write, each followed by a retry.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import { type IngestRequest, ingestObject } from '../../functions/ingest/ingest-object.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { BACKENDS, startTestBed, type TestBed } from '../support/emulators.ts';
import { makeLog, observed, sumTotals } from '../support/logs.ts';

let seq = 0x1000;
const nextSeq = () => (seq++).toString(16).toUpperCase();

function crashingStore(bed: TestBed, command: string, failAt: number): UsageStore {
  const client = new DynamoDBClient({
    endpoint: bed.emulators.env.AUDITOR_DYNAMODB_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let calls = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === command && ++calls === failAt)
        throw new Error(`injected crash at ${command} #${failAt}`);
      return next(args);
    },
    { step: 'initialize', name: 'crashInjector' },
  );
  return new UsageStore(documentClient(client), bed.usageTable);
}

describe.each(BACKENDS)('exactly-once ingestion on %s', (backend) => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed(backend);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  const request = async (key: string, text: string): Promise<IngestRequest> => ({
    bucket: bed.logBucket,
    key,
    etag: await bed.put(key, text),
    sequencer: nextSeq(),
  });

  it('counts an object delivered twice, and four times at once, once', async () => {
    const log = makeLog(1, 3000);
    const req = await request('logs/dup/one.jsonl', log.text);
    const first = await ingestObject(bed.deps(), req);
    expect(first).toMatchObject({ outcome: 'ingested', counted: 3000, rejected: 0 });
    expect((await ingestObject(bed.deps(), req)).outcome).toBe('duplicate');
    const concurrent = await Promise.all([1, 2, 3, 4].map(() => ingestObject(bed.deps(), req)));
    expect(concurrent.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await observed(bed.store)).toEqual(sumTotals(log.totals));
    await bed.deleteManifest('logs/dup/one.jsonl');
  });

  it('counts a new object delivered four times at once (all racing before any commit) once', async () => {
    const log = makeLog(2, 3000);
    const req = await request('logs/dup/racing.jsonl', log.text);
    const before = await observed(bed.store);
    const results = await Promise.all([1, 2, 3, 4].map(() => ingestObject(bed.deps(), req)));
    expect(results.filter((r) => r.outcome === 'ingested').length).toBeGreaterThanOrEqual(1);
    const after = await observed(bed.store);
    const expected = sumTotals(log.totals);
    for (const [k, v] of Object.entries(expected)) expect(after[k]).toEqual(v);
    expect(Object.keys(before)).toEqual([]);
    // One contribution item per (app, day) touched, not one per delivery or per line.
    const items = (await bed.scan('U#')).filter((i) => i.key === 'logs/dup/racing.jsonl');
    expect(items.length).toBe(Object.keys(expected).length);
    await bed.deleteManifest('logs/dup/racing.jsonl');
  });

  it('replaces an overwritten object’s contribution, and ignores the older event arriving late', async () => {
    const v1 = makeLog(3, 2000);
    const v2 = makeLog(4, 1500);
    const key = 'logs/overwrite/x.jsonl';
    const r1 = await request(key, v1.text);
    await ingestObject(bed.deps(), r1);
    expect(await observed(bed.store)).toEqual(sumTotals(v1.totals));
    const r2 = await request(key, v2.text);
    expect((await ingestObject(bed.deps(), r2)).outcome).toBe('ingested');
    expect(await observed(bed.store)).toEqual(sumTotals(v2.totals));
    // The first event redelivered after the overwrite changes nothing.
    expect((await ingestObject(bed.deps(), r1)).outcome).toMatch(/superseded|duplicate/);
    expect(await observed(bed.store)).toEqual(sumTotals(v2.totals));
    // Only the current version's items remain.
    const gens = new Set((await bed.scan('U#')).filter((i) => i.key === key).map((i) => i.gen));
    expect([...gens]).toEqual([r2.etag]);
    await bed.deleteManifest(key);
  });

  it('counts only the newest version when two versions are processed at once', async () => {
    const key = 'logs/overwrite/racing.jsonl';
    const v1 = makeLog(5, 2000);
    const v2 = makeLog(6, 2500);
    const r1 = await request(key, v1.text);
    const r2 = await request(key, v2.text);
    const results = await Promise.all([ingestObject(bed.deps(), r1), ingestObject(bed.deps(), r2)]);
    expect(results[0]?.outcome).toBe('superseded');
    expect(await observed(bed.store)).toEqual(sumTotals(v2.totals));
    await bed.deleteManifest(key);
  });

  it.each([
    ['BatchWriteItemCommand', 1, 'while writing the part lists'],
    ['BatchWriteItemCommand', 2, 'while writing contributions'],
    ['PutItemCommand', 1, 'at the commit'],
    ['BatchWriteItemCommand', 3, 'while deleting the replaced version'],
    ['UpdateItemCommand', 1, 'while marking changed days'],
  ])('gives the totals of one clean run after a crash %s #%i (%s) and a retry', async (command, failAt) => {
    const key = `logs/crash/${command}-${failAt}.jsonl`;
    const v1 = makeLog(10 + failAt, 1200);
    const v2 = makeLog(20 + failAt, 5000); // > 25 app-days? no: 9 app-days; enough for several batches below
    await ingestObject(bed.deps(), await request(key, v1.text));
    const base = await observed(bed.store);
    const r2 = await request(key, v2.text);

    await expect(ingestObject(bed.deps({ store: crashingStore(bed, command, failAt) }), r2)).rejects.toThrow(
      /injected crash/,
    );
    // Nothing half-written is counted: either still v1 (crash before the commit) or exactly v2.
    const mid = await observed(bed.store);
    const v2Totals = sumTotals(v2.totals);
    expect([JSON.stringify(base), JSON.stringify(v2Totals)]).toContain(JSON.stringify(mid));

    const retry = await ingestObject(bed.deps(), r2);
    expect(['ingested', 'duplicate']).toContain(retry.outcome);
    expect(await observed(bed.store)).toEqual(v2Totals);
    const left = (await bed.scan('U#')).filter((i) => i.key === key);
    expect(new Set(left.map((i) => i.gen))).toEqual(new Set([r2.etag]));
    expect((await bed.store.getManifest(key))?.cleanup).toBeUndefined();
    await bed.deleteManifest(key);
  });

  it('counts the right content when an ETag comes back (A, then B, then A again) with a cleanup interrupted', async () => {
    const key = 'logs/aba/x.jsonl';
    const a = makeLog(31, 900);
    const b = makeLog(32, 700);
    const r1 = await request(key, a.text);
    await ingestObject(bed.deps(), r1);
    const rb = await request(key, b.text);
    await expect(
      ingestObject(bed.deps({ store: crashingStore(bed, 'BatchWriteItemCommand', 3) }), rb),
    ).rejects.toThrow(/injected crash/);
    const ra = await request(key, a.text);
    expect(ra.etag).toBe(r1.etag); // the same content: the ETag comes back
    expect((await ingestObject(bed.deps(), ra)).outcome).toBe('ingested');
    expect((await ingestObject(bed.deps(), rb)).outcome).toMatch(/superseded/);
    expect(await observed(bed.store)).toEqual(sumTotals(a.totals));
    const wids = new Set((await bed.scan('U#')).filter((i) => i.key === key).map((i) => i.wid));
    expect(wids.size).toBe(1);
    await bed.deleteManifest(key);
  });

  it('splits an app-day with thousands of long endpoints under the 400 KB item limit, exactly', async () => {
    const key = 'logs/wide/endpoints.jsonl';
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({
        timestamp: '2026-11-02T10:00:00Z',
        app_id: 'wide-app',
        endpoint: `GET /2/raw/${String(i).padStart(6, '0')}/${'x'.repeat(180)}`,
        status: 200,
        records: i,
        bytes: 1,
      }),
    );
    expect((await ingestObject(bed.deps(), await request(key, lines.join('\n')))).outcome).toBe('ingested');
    const [row] = await bed.store.queryUsage({ from: '2026-11-02', to: '2026-11-02', apps: ['wide-app'] });
    expect(row?.requests).toBe(3000);
    expect(row?.records).toBe((2999 * 3000) / 2);
    expect(Object.keys(row?.endpoints ?? {}).length).toBe(3000);
    const parts = (await bed.scan('U#wide-app')).filter((i) => i.key === key);
    expect(parts.length).toBeGreaterThan(1);
    await bed.deleteManifest(key);
  });

  it('handles an object touching thousands of app-days (part lists over several items), and its overwrite', async () => {
    const key = 'logs/many/app-days.jsonl';
    const mk = (records: number) =>
      Array.from({ length: 80 }, (_, a) =>
        Array.from({ length: 30 }, (_, d) =>
          JSON.stringify({
            timestamp: `2026-09-${String(d + 1).padStart(2, '0')}T00:00:00Z`,
            app_id: `many-${String(a).padStart(3, '0')}-${'a'.repeat(60)}`,
            endpoint: 'GET /x',
            status: 200,
            records,
          }),
        ),
      )
        .flat()
        .join('\n');
    await ingestObject(bed.deps(), await request(key, mk(1)));
    expect((await bed.store.getManifest(key))?.chunks).toBeGreaterThan(1);
    await ingestObject(bed.deps(), await request(key, mk(2)));
    const rows = await bed.store.queryUsage({ from: '2026-09-01', to: '2026-09-30' });
    const mine = rows.filter((r) => r.app.startsWith('many-'));
    expect(mine.length).toBe(2400);
    expect(mine.every((r) => r.records === 2 && r.requests === 1)).toBe(true);
    expect((await bed.scan('U#many-')).length).toBe(2400);
    await bed.deleteManifest(key);
  }, 300_000);

  it('reads each object whole when a new version commits in the middle of a usage query', async () => {
    const key = 'logs/torn/x.jsonl';
    const text = (n: number) =>
      ['tear-a', 'tear-b']
        .map((app) =>
          JSON.stringify({
            timestamp: '2026-11-03T00:00:00Z',
            app_id: app,
            endpoint: 'GET /x',
            status: 200,
            records: n,
          }),
        )
        .join('\n');
    await ingestObject(bed.deps(), await request(key, text(1)));
    const r2 = await request(key, text(5));
    const client = new DynamoDBClient({
      endpoint: bed.emulators.env.AUDITOR_DYNAMODB_ENDPOINT,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    let fired = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (
          !fired &&
          context.commandName === 'QueryCommand' &&
          JSON.stringify(args.input).includes('U#tear-a')
        ) {
          fired = true;
          // v2 is written and committed (and v1 deleted) between the queries of tear-a and tear-b.
          await ingestObject(bed.deps(), r2);
        }
        return out;
      },
      { step: 'initialize', name: 'commitMidQuery' },
    );
    const reader = new UsageStore(documentClient(client), bed.usageTable);
    const rows = await reader.queryUsage({
      from: '2026-11-03',
      to: '2026-11-03',
      apps: ['tear-a', 'tear-b'],
    });
    expect(fired).toBe(true);
    expect(rows.map((r) => [r.app, r.records])).toEqual([
      ['tear-a', 5],
      ['tear-b', 5],
    ]);
    await bed.deleteManifest(key);
  });
});
