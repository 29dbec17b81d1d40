import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReportStore, reportKey } from '../../functions/adapters/report-store.ts';
import { auditDates, nightlyDates } from '../../functions/audit/run-audit.ts';
import { recomputeContentSha256 } from '../../functions/core/audit/chain.ts';
import { sha256Hex, stableJson } from '../../functions/core/audit/format.ts';
import type { LocalStack } from '../../functions/local/stack.ts';
import { auditDeps, createStores } from '../../functions/shared/compose.ts';
import { runAuditor, withLocalStack } from '../support/cli.ts';
import { generateLogs } from '../support/log-generator.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'auditor-terms-'));
const dataDir = join(dir, 'state');
const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];
const AMENDED = join(dir, 'amended.yaml');

const auditor = (args: string[]) => runAuditor(dataDir, args);

const withStack = <T>(fn: (stack: LocalStack, reports: ReportStore) => Promise<T>): Promise<T> =>
  withLocalStack(dataDir, fn);

const reportOf = (reports: ReportStore, date: string) =>
  reports.readFile(date, 'report.json').then((t) => JSON.parse(t ?? '{}'));

beforeAll(async () => {
  expect((await auditor(['recipients', 'load', fixture('recipients.yaml')])).code).toBe(0);
  expect((await auditor(['agreements', 'load', fixture('agreements.yaml')])).code).toBe(0);
  // fabrikam's rate goes from 1.20 to 2.00 USD per 1,000 records.
  writeFileSync(
    AMENDED,
    readFileSync(fixture('agreements.yaml'), 'utf8').replace(
      'per_1000_records: 1.20',
      'per_1000_records: 2.00',
    ),
  );
  await withStack(async (stack) => {
    const log = generateLogs({
      lines: 300,
      seed: 11,
      format: 'jsonl',
      apps: ['nw-search', 'fab-lab'],
      days: DAYS,
    });
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.logBucket, Key: 'logs/drop.jsonl', Body: log.text }),
    );
    await stack.drain();
    await stack.invokeAudit({ from: DAYS[0], to: DAYS.at(-1) });
  });
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('versioned terms through the CLI (issue 11)', () => {
  it('history shows each version; a report names the hash of the version it used', async () => {
    const table = await auditor(['agreements', 'history', 'fabrikam']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/│\s+1 │ \(beginning\)\s+│ \d{4}-\d{2}-\d{2}T[\d:.]+Z │ /);
    expect(table.stdout).toContain(userInfo().username);
    const json = JSON.parse((await auditor(['agreements', 'history', 'fabrikam', '--json'])).stdout);
    expect(
      json.versions.map((v: { seq: number; effective_from: string | null }) => [v.seq, v.effective_from]),
    ).toEqual([[1, null]]);
    const used = await withStack(async (_, reports) => (await reportOf(reports, '2026-11-05')).terms);
    expect(used.agreements).toContainEqual(
      expect.objectContaining({ licensee: 'fabrikam', seq: 1, hash: json.versions[0].hash }),
    );
    const missing = await auditor(['agreements', 'history', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('auditor: no agreement for licensee "nobody"\n');
    const bad = await auditor(['agreements', 'load', AMENDED, '--effective-from', '2026-02-30']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('auditor: --effective-from: expected a date YYYY-MM-DD, got "2026-02-30"\n');
  }, 60_000);

  it('an amendment re-audits the reports it alters on the next run, with a restatement verify accepts', async () => {
    const before = await withStack(async (_, reports) => reports.readAll('2026-11-02'));
    const load = await auditor([
      'agreements',
      'load',
      AMENDED,
      '--effective-from',
      '2026-11-03',
      '--note',
      'rate 2.00',
    ]);
    expect(load.code).toBe(0);
    const history = JSON.parse((await auditor(['agreements', 'history', 'fabrikam', '--json'])).stdout);
    expect(
      history.versions.map((v: { seq: number; effective_from: string; note: string }) => [
        v.seq,
        v.effective_from,
        v.note,
      ]),
    ).toEqual([
      [1, null, null],
      [2, '2026-11-03', 'rate 2.00'],
    ]);
    // northwind's terms did not change: no new version.
    expect(
      JSON.parse((await auditor(['agreements', 'history', 'northwind', '--json'])).stdout).versions,
    ).toHaveLength(1);

    const restatement = await withStack(async (stack, reports) => {
      // The nightly run as scheduled the day after the last report (the use case on this stack's
      // adapters: the audit handler module keeps the clients of the first stack of this process).
      const deps = auditDeps(
        createStores(stack, {
          usageTable: stack.env.USAGE_TABLE as string,
          controlTable: stack.env.CONTROL_TABLE as string,
          reportsBucket: stack.reportsBucket,
        }),
      );
      const dates = await nightlyDates(deps, new Date('2026-11-06T02:00:00Z'));
      expect(dates).toEqual(['2026-11-05', '2026-11-04', '2026-11-03']);
      await auditDates(deps, dates);
      expect(await reports.readAll('2026-11-02')).toEqual(before);
      return JSON.parse((await reports.readFile('2026-11-04', 'restatement.json')) ?? 'null');
    });
    const [entry] = restatement.restatements;
    expect(entry.reasons.terms).toEqual([
      expect.objectContaining({
        kind: 'agreement',
        licensee: 'fabrikam',
        seq: 2,
        effective_from: '2026-11-03',
        note: 'rate 2.00',
      }),
    ]);
    const unpaid = entry.findings.find((f: { rule: string }) => f.rule === 'unpaid_usage');
    expect(unpaid.old.amount_owed).toBeLessThan(unpaid.new.amount_owed);
    expect(unpaid.old.observed).toBe(unpaid.new.observed);

    const verify = await auditor(['reports', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^2026-11-03: restated 1 time\(s\), last at .*$/m);
    expect(verify.stdout).toMatch(/^2026-11-04: restated 1 time\(s\)/m);
    expect(verify.stdout).toContain('5 report(s) verified');
  }, 120_000);

  it('a report rewritten without a restatement still fails verification', async () => {
    await withStack(async (stack, reports) => {
      const files = await reports.readAll('2026-11-04');
      const findings = (files.get('findings.jsonl') ?? '')
        .split('\n')
        .filter(Boolean)
        .slice(1)
        .map((l) => `${l}\n`)
        .join('');
      files.set('findings.jsonl', findings);
      files.delete('restatement.json');
      const m = JSON.parse(files.get('manifest.json') ?? '{}');
      delete m.files['restatement.json'];
      m.files['findings.jsonl'] = sha256Hex(findings);
      m.content_sha256 = recomputeContentSha256(files);
      for (const [name, body] of [
        ['findings.jsonl', findings],
        ['manifest.json', `${stableJson(m, 2)}\n`],
      ] as const)
        await stack.s3.send(
          new PutObjectCommand({
            Bucket: stack.reportsBucket,
            Key: reportKey('2026-11-04', name),
            Body: body,
          }),
        );
    });
    const verify = await auditor(['reports', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(
      /^2026-11-04: manifest\.json: sha256 [0-9a-f]{64} is not the control table's anchor/m,
    );
    expect(verify.stdout).toMatch(/^2026-11-04: restatement\.json: not covered by the manifest$/m);
  }, 60_000);
});
