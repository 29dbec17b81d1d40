/**
 * Request-level evidence end to end (issue 11 item 5), through the built CLI on the embedded stack:
 * the line refs ingest really recorded (not hand-computed ones) are read back by `auditor
 * evidence`, and report.json's duplicate request_id counts come from what was uploaded.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runAuditor, withLocalStack } from '../support/cli.ts';

/** Each test runs a dozen child processes, each a few seconds on a busy machine. */
const SLOW = 600_000;
const DAY = '2026-11-20';
const dir = mkdtempSync(join(tmpdir(), 'auditor-evidence-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AGREEMENTS = `
- licensee: acme
  name: Acme
  apps: [acme-app]
  term: { start: 2026-01-01, end: 2026-12-31 }
  paid_through: 2026-12-31
  endpoints: [/ok]
  prohibited_recipients: [government]
  approved_organisations: [dept-of-examples]
  rate: { per_1000_records: 1, currency: USD }
`;
const RECIPIENTS = `
government:
  cidrs: [198.51.100.0/24]
  organisations: [dept-of-examples, example-agency]
`;

const jsonLine = (f: Record<string, unknown>): string =>
  JSON.stringify({
    timestamp: `${DAY}T10:00:00Z`,
    app_id: 'acme-app',
    endpoint: '/ok',
    status: 200,
    records: 1,
    client_ip: '192.0.2.1',
    ...f,
  });

/** A fresh data dir with the agreements and recipients loaded. */
async function seeded(name: string): Promise<string> {
  const dataDir = join(dir, name);
  const files = join(dir, `${name}-config`);
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'agreements.yaml'), AGREEMENTS);
  writeFileSync(join(files, 'recipients.yaml'), RECIPIENTS);
  expect((await runAuditor(dataDir, ['agreements', 'load', join(files, 'agreements.yaml')])).code).toBe(0);
  expect((await runAuditor(dataDir, ['recipients', 'load', join(files, 'recipients.yaml')])).code).toBe(0);
  return dataDir;
}

/** Writes `files` (name → bytes) into a new folder and uploads it (keys logs/<name>). */
async function upload(
  dataDir: string,
  folder: string,
  files: Record<string, string | Buffer>,
): Promise<void> {
  const at = join(dir, folder);
  mkdirSync(at, { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(at, name), body);
  const r = await runAuditor(dataDir, ['upload', at]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

async function audit(dataDir: string): Promise<void> {
  const r = await runAuditor(dataDir, ['audit', '--date', DAY]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

interface Ref {
  key: string;
  gen: string;
  line: number;
  request_id: string | null;
  sha256: string;
}
interface StoredFinding {
  finding_id: string;
  rule: string;
  evidence: { lines?: Ref[] };
}

/** The findings and report.json data_quality of DAY's report, as stored. */
function storedReport(dataDir: string) {
  return withLocalStack(dataDir, async (_stack, reports) => ({
    findings: ((await reports.readFile(DAY, 'findings.jsonl')) ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StoredFinding),
    dataQuality: JSON.parse((await reports.readFile(DAY, 'report.json')) ?? '{}').data_quality as {
      duplicate_request_ids?: Record<string, unknown>;
    },
  }));
}

interface Checked extends Ref {
  status: string;
  text: string | null;
  reason: string | null;
}

async function evidence(dataDir: string, findingId: string) {
  const r = await runAuditor(dataDir, ['evidence', findingId, '--date', DAY, '--json']);
  return { code: r.code, stderr: r.stderr, lines: JSON.parse(r.stdout).lines as Checked[] };
}

/** The lines of an uploaded file as a reader sees them: decompressed, no BOM, split at LF or CRLF. */
function fileLines(path: string): string[] {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').replace(/^\uFEFF/, '');
  return text.split(/\r?\n/);
}

describe('auditor evidence on the refs ingest recorded', () => {
  // A plain JSONL with a UTF-8 BOM, CRLF line ends and a blank line (physical numbering).
  const A = [
    `\uFEFF${jsonLine({ request_id: 'r-5', client_ip: '198.51.100.9' })}`, // 1: government IP
    jsonLine({ request_id: 'r-2', endpoint: '/bad' }), // 2: endpoint not allowed
    jsonLine({ request_id: 'r-1' }), // 3: fine
    '', // 4: blank
    jsonLine({ request_id: 'r-6', on_behalf_of: 'example-agency' }), // 5: government organisation
  ];
  // A gzipped CSV with a quoted request_id (u-"1").
  const B = [
    'timestamp,app_id,endpoint,status,records,request_id',
    `${DAY}T11:00:00Z,acme-app,/bad,200,1,r-1`, // 2: endpoint not allowed (r-1 is also in a.jsonl)
    `${DAY}T11:00:00Z,stray-app,/ok,200,1,"u-""1"""`, // 3: unknown app
  ];
  const files = { 'a.jsonl': `${A.join('\r\n')}\r\n`, 'b.csv.gz': gzipSync(`${B.join('\n')}\n`) };
  const uploaded = (key: string) => join(dir, 'e2e-logs', key.replace(/^logs\//, ''));

  it(
    'every recorded line checks ok and is the uploaded line; an overwritten object is changed, exit 1',
    async () => {
      const dataDir = await seeded('e2e');
      await upload(dataDir, 'e2e-logs', files);
      await audit(dataDir);
      const { findings, dataQuality } = await storedReport(dataDir);
      const withLines = findings.filter((f) => (f.evidence.lines ?? []).length > 0);
      expect(withLines.map((f) => f.rule).sort()).toEqual([
        'prohibited_recipient',
        'unauthorized_endpoint',
        'unknown_app',
      ]);
      // The refs name the lines that made each finding, with their request_ids as read.
      const named = withLines
        .flatMap((f) => (f.evidence.lines ?? []).map((l) => `${f.rule} ${l.key}:${l.line} ${l.request_id}`))
        .sort();
      expect(named).toEqual([
        'prohibited_recipient logs/a.jsonl:1 r-5',
        'prohibited_recipient logs/a.jsonl:5 r-6',
        'unauthorized_endpoint logs/a.jsonl:2 r-2',
        'unauthorized_endpoint logs/b.csv.gz:2 r-1',
        'unknown_app logs/b.csv.gz:3 u-"1"',
      ]);
      // r-1 is in both objects of acme-app's day, and no object repeats an id of its own.
      expect(dataQuality.duplicate_request_ids).toEqual({
        within_objects: 0,
        across_objects_estimate: 1,
        method: expect.any(String),
      });

      for (const f of withLines) {
        const r = await evidence(dataDir, f.finding_id);
        expect([r.code, r.stderr]).toEqual([0, '']);
        expect(r.lines.map((l) => [l.key, l.line, l.status])).toEqual(
          (f.evidence.lines ?? []).map((l) => [l.key, l.line, 'ok']),
        );
        for (const l of r.lines) expect(l.text).toBe(fileLines(uploaded(l.key))[l.line - 1]);
      }

      // Overwrite a.jsonl (same key, other bytes): its lines can no longer be checked.
      await upload(dataDir, 'e2e-overwrite', { 'a.jsonl': `${A.slice(0, 3).join('\n')}\n` });
      const endpoint = withLines.find((f) => f.rule === 'unauthorized_endpoint') as StoredFinding;
      const r = await evidence(dataDir, endpoint.finding_id);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^auditor: finding \S+: 1 of 2 evidence lines no longer check \(1 changed\)\n$/,
      );
      expect(r.lines.map((l) => [l.key, l.line, l.status])).toEqual([
        ['logs/a.jsonl', 2, 'changed'],
        ['logs/b.csv.gz', 2, 'ok'],
      ]);
    },
    SLOW,
  );
});

describe('report.json data_quality.duplicate_request_ids from uploads', () => {
  const ids = Array.from({ length: 40 }, (_, i) => `id-${i}`);
  const body = (n: number) =>
    `${ids
      .slice(0, n)
      .map((id) => jsonLine({ request_id: id }))
      .join('\n')}\n`;

  it(
    're-ingesting a key adds no duplicates; the same content under two keys and a repeated id do',
    async () => {
      const dataDir = await seeded('dups');
      const duplicates = async () => (await storedReport(dataDir)).dataQuality.duplicate_request_ids;

      // The same key uploaded twice with the same content, then reprocessed: no duplicates.
      await upload(dataDir, 'dups-1', { 'x.jsonl': body(39) });
      await upload(dataDir, 'dups-1', { 'x.jsonl': body(39) });
      const reprocessed = await runAuditor(dataDir, ['reprocess', '--from', DAY, '--to', DAY, '--json']);
      expect(reprocessed.code).toBe(0);
      expect(
        JSON.parse(reprocessed.stdout).reprocessed.map((r: { key: string; outcome: string }) => [
          r.key,
          r.outcome,
        ]),
      ).toEqual([['logs/x.jsonl', 'ingested']]);
      await audit(dataDir);
      expect(await duplicates()).toBeUndefined();

      // A new version of the key (one more line): it replaces the old one, still no duplicates.
      await upload(dataDir, 'dups-2', { 'x.jsonl': body(40) });
      await audit(dataDir);
      expect(await duplicates()).toBeUndefined();

      // The same content under a second key (all 40 ids across objects), and an object of its own
      // repeating one id once (within one object).
      await upload(dataDir, 'dups-3', {
        'y.jsonl': body(40),
        'z.jsonl': `${[jsonLine({ request_id: 'z-1' }), jsonLine({ request_id: 'z-1' })].join('\n')}\n`,
      });
      await audit(dataDir);
      expect(await duplicates()).toEqual({
        within_objects: 1,
        across_objects_estimate: ids.length,
        method: expect.any(String),
      });
    },
    SLOW,
  );
});
