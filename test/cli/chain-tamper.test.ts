import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { type ReportStore, reportKey } from '../../functions/adapters/report-store.ts';
import { parseAgreementsFile } from '../../functions/core/audit/agreements.ts';
import { recomputeContentSha256 } from '../../functions/core/audit/chain.ts';
import { sha256Hex, stableJson } from '../../functions/core/audit/format.ts';
import type { LocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { REPORTS_PREFIX } from '../../functions/shared/resources.ts';
import { runAuditor, withLocalStack } from '../support/cli.ts';
import { GENERATOR_RECIPIENTS, generateLogs } from '../support/log-generator.ts';

const dir = mkdtempSync(join(tmpdir(), 'auditor-chain-'));
const dataDir = join(dir, 'state');
const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];

const auditor = (args: string[]) => runAuditor(dataDir, args);

const withStack = <T>(fn: (stack: LocalStack, reports: ReportStore) => Promise<T>): Promise<T> =>
  withLocalStack(dataDir, fn);

const put = (stack: LocalStack, date: string, name: string, body: string) =>
  stack.s3.send(
    new PutObjectCommand({ Bucket: stack.reportsBucket, Key: reportKey(date, name), Body: body }),
  );

/** Every report file, `<date>/<name>` → body. */
async function snapshot(reports: ReportStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const date of await reports.listDates())
    for (const [name, body] of await reports.readAll(date)) out.set(`${date}/${name}`, body);
  return out;
}

let original: Map<string, string>;

beforeAll(async () => {
  await withStack(async (stack, reports) => {
    const control = new ControlStore(documentClient(stack.dynamo), stack.env.CONTROL_TABLE as string);
    await control.putRegistry(GENERATOR_RECIPIENTS);
    const text = readFileSync(new URL('../fixtures/agreements.yaml', import.meta.url), 'utf8');
    const parsed = parseAgreementsFile(text, 'agreements.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    await control.putAgreements(parsed.agreements);
    const log = generateLogs({
      lines: 400,
      seed: 7,
      format: 'jsonl',
      apps: ['nw-search', 'fab-lab', 'unregistered-bot'],
      days: DAYS,
    });
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.logBucket, Key: 'logs/drop.jsonl', Body: log.text }),
    );
    await stack.drain();
    await stack.invokeAudit({ from: DAYS[0], to: DAYS.at(-1) });
    original = await snapshot(reports);
  });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the anchored chain (issue 11)', () => {
  it('a finding dropped and re-hashed in its manifest: the next audit fails, writes nothing, verify exits 1', async () => {
    expect((await auditor(['reports', 'verify'])).code).toBe(0);
    await withStack(async (stack, reports) => {
      const findings = (await reports.readFile('2026-11-02', 'findings.jsonl')) ?? '';
      const lines = findings.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      const tampered = lines
        .slice(1)
        .map((l) => `${l}\n`)
        .join('');
      const m = JSON.parse((await reports.readFile('2026-11-02', 'manifest.json')) ?? '{}');
      m.files['findings.jsonl'] = sha256Hex(tampered);
      // The thorough forger also recomputes content_sha256: only the anchor can tell.
      const files = await reports.readAll('2026-11-02');
      files.set('findings.jsonl', tampered);
      m.content_sha256 = recomputeContentSha256(files);
      await put(stack, '2026-11-02', 'findings.jsonl', tampered);
      await put(stack, '2026-11-02', 'manifest.json', `${stableJson(m, 2)}\n`);
    });
    const tampered = await withStack(async (_, reports) => snapshot(reports));

    // The nightly run and an on-demand audit of a later date both refuse to chain over it.
    for (const args of [['audit'], ['audit', '--date', '2026-11-03']]) {
      const audit = await auditor(args);
      expect(audit.code, args.join(' ')).toBe(1);
      expect(audit.stderr).toMatch(
        /report chain mismatch: 2026-11-02\/manifest\.json: sha256 [0-9a-f]{64} is not the control table's anchor/,
      );
    }
    expect(await withStack(async (_, reports) => snapshot(reports))).toEqual(tampered);

    const verify = await auditor(['reports', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(
      /^2026-11-02: manifest\.json: sha256 [0-9a-f]{64} is not the control table's anchor/m,
    );
    expect(verify.stderr.trim()).toBe('auditor: verification failed');

    // Restored from the bucket's versions (the one whose sha256 is the anchor): all is well again.
    await withStack(async (stack) => {
      for (const name of ['findings.jsonl', 'manifest.json'])
        await put(stack, '2026-11-02', name, original.get(`2026-11-02/${name}`) ?? '');
    });
    expect((await auditor(['reports', 'verify'])).code).toBe(0);
  }, 120_000);

  it('a report.json edited and re-hashed (content_sha256 left as is) is caught by the recomputed content_sha256', async () => {
    await withStack(async (stack, reports) => {
      const body = (await reports.readFile('2026-11-04', 'report.json')) ?? '';
      const edited = body.replace('"format": "usage-auditor/report@1"', '"format": "usage-auditor/report@2"');
      expect(edited).not.toBe(body);
      const m = JSON.parse((await reports.readFile('2026-11-04', 'manifest.json')) ?? '{}');
      m.files['report.json'] = sha256Hex(edited);
      await put(stack, '2026-11-04', 'report.json', edited);
      await put(stack, '2026-11-04', 'manifest.json', `${stableJson(m, 2)}\n`);
    });
    const verify = await auditor(['reports', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(
      /^2026-11-04: manifest\.json: content_sha256 [0-9a-f]{64} does not match the files/m,
    );
    await withStack(async (stack) => {
      for (const name of ['report.json', 'manifest.json'])
        await put(stack, '2026-11-04', name, original.get(`2026-11-04/${name}`) ?? '');
    });
    expect((await auditor(['reports', 'verify'])).code).toBe(0);
  }, 120_000);

  it('verify --dir: a plain copy of reports/ passes, and fails after a one-byte change', async () => {
    const copy = join(dir, 'copy');
    await withStack(async (stack) => {
      const objects = new S3Objects(stack.s3);
      for (const key of await objects.list(stack.reportsBucket, REPORTS_PREFIX)) {
        const path = join(copy, key.slice(REPORTS_PREFIX.length));
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, (await objects.getText(stack.reportsBucket, key)) ?? '');
      }
    });
    const ok = await auditor(['reports', 'verify', '--dir', copy]);
    expect([ok.code, ok.stdout]).toEqual([
      0,
      'note: a copy on disk cannot be checked against the control table’s anchors (run verify without --dir for that)\n' +
        '5 report(s) verified: every file matches its manifest and the chain is intact\n',
    ]);
    const path = join(copy, 'date=2026-11-03', 'usage.jsonl');
    const bytes = readFileSync(path);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    writeFileSync(path, bytes);
    const bad = await auditor(['reports', 'verify', '--dir', copy]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('2026-11-03: usage.jsonl: sha256 does not match the manifest');
  }, 120_000);

  it('a deleted date folder: the next audit fails naming it, verify exits 1 naming it', async () => {
    await withStack(async (stack, reports) => {
      for (const name of (await reports.readAll('2026-11-03')).keys())
        await stack.s3.send(
          new DeleteObjectCommand({ Bucket: stack.reportsBucket, Key: reportKey('2026-11-03', name) }),
        );
    });
    const before = await withStack(async (_, reports) => snapshot(reports));
    const audit = await auditor(['audit', '--date', '2026-11-05']);
    expect(audit.code).toBe(1);
    expect(audit.stderr).toMatch(
      /report chain mismatch: 2026-11-03\/manifest\.json: missing; the control table anchors [0-9a-f]{64}/,
    );
    expect((await auditor(['audit'])).stderr).toContain('2026-11-03/manifest.json: missing');
    expect(await withStack(async (_, reports) => snapshot(reports))).toEqual(before);
    const verify = await auditor(['reports', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(
      /^2026-11-03: manifest\.json: missing, with the whole report folder; the control table anchors [0-9a-f]{64}/m,
    );
    // Its successor's link now points at a manifest that is gone.
    expect(verify.stdout).toMatch(/^2026-11-04: manifest\.json: chain broken/m);
  }, 120_000);
});
