/**
 * Upload → nightly audit → reports, end to end on the embedded stack (s3rver + dynalite), with the
 * same handler modules Lambda runs. Findings are checked against an independent computation on the
 * generator's expected usage; late data re-audits the affected earlier report; re-running writes
 * byte-identical files.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import { parseAgreementsFile } from '../../functions/core/audit/agreements.ts';
import { type AuditUsageRow, audit, type Finding } from '../../functions/core/audit/rules.ts';
import { verifyReport } from '../../functions/core/audit/verify-report.ts';
import type { DayUsage } from '../../functions/core/types.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { GENERATOR_RECIPIENTS, generateLogs } from '../support/log-generator.ts';

const dir = mkdtempSync(join(tmpdir(), 'auditor-audit-e2e-'));
let stack: LocalStack;
let control: ControlStore;
let reports: ReportStore;

const agreementsText = readFileSync(new URL('../fixtures/agreements.yaml', import.meta.url), 'utf8');
const parsed = parseAgreementsFile(agreementsText, 'agreements.yaml');
if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
const agreements = parsed.agreements;

const NORTHWIND = [
  'nw-search',
  'nw-ads',
  'nw-insights',
  'nw-copilot',
  'nw-feed',
  'nw-trends',
  'nw-mail',
  'nw-maps',
];
const DAYS = Array.from({ length: 27 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`);
const expected: DayUsage[] = [];

async function put(key: string, body: string | Uint8Array): Promise<void> {
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.logBucket, Key: key, Body: body }));
}

function sumBy(
  rows: readonly DayUsage[],
  pred: (r: DayUsage) => boolean,
  f: (r: DayUsage) => number,
): number {
  return rows.filter(pred).reduce((n, r) => n + f(r), 0);
}

beforeAll(async () => {
  stack = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
  const doc = documentClient(stack.dynamo);
  control = new ControlStore(doc, stack.env.CONTROL_TABLE as string);
  reports = new ReportStore(new S3Objects(stack.s3), stack.reportsBucket);
  await control.putRegistry(GENERATOR_RECIPIENTS);

  // Four drops: JSON Lines and CSV, plain and gzip, with the unregistered app among the apps.
  const apps = [...NORTHWIND, 'fab-lab', 'unregistered-bot'];
  const logs = (['jsonl', 'csv', 'jsonl', 'csv'] as const).map((format, i) =>
    generateLogs({ lines: 6000, seed: 100 + i, format, apps, days: DAYS, badLineShare: 0.01 }),
  );
  // Quotas the generated volume breaks: northwind's month-to-date records by 25%, and its daily
  // records on the days above the median day.
  const nw = logs.flatMap((l) => l.expected).filter((r) => NORTHWIND.includes(r.app));
  const perDay = DAYS.map((d) =>
    sumBy(
      nw,
      (r) => r.day === d,
      (r) => r.records,
    ),
  ).sort((a, b) => a - b);
  const northwind = agreements.find((a) => a.licensee === 'northwind');
  if (!northwind) throw new Error('fixture lost northwind');
  northwind.quotas = {
    monthly_records: Math.floor(
      sumBy(
        nw,
        () => true,
        (r) => r.records,
      ) / 1.25,
    ),
    daily_records: perDay[13] as number,
  };
  await control.putAgreements(agreements);
  for (const [i, log] of logs.entries()) {
    const format = i % 2 === 0 ? 'jsonl' : 'csv';
    expected.push(...log.expected);
    const body = i >= 2 ? gzipSync(log.text) : log.text;
    await put(`logs/2026/11/drop-${i}.${format}${i >= 2 ? '.gz' : ''}`, body);
  }
  await stack.drain();
  expect(stack.takeErrors()).toEqual([]);
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function findingsOf(date: string): Promise<Finding[]> {
  const text = (await reports.readFile(date, 'findings.jsonl')) ?? '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Finding);
}

const strip = (f: Finding) => ({ ...f, evidence: undefined });

describe('nightly audit end to end', () => {
  it('writes the findings the rules give on the generator’s own totals, and hand-summed headline numbers', async () => {
    const out = (await stack.invokeAudit({
      source: 'usage-auditor.schedule',
      time: '2026-11-28T02:00:00Z',
    })) as {
      reports: { date: string; written: boolean }[];
    };
    // The first nightly run after the backfill: yesterday, and every earlier date of the window
    // from the first day with usage on, since none has a report yet; newest first.
    expect(out.reports[0]).toEqual({ date: '2026-11-27', findings: expect.any(Number), written: true });
    expect(out.reports.map((r) => [r.date, r.written])).toEqual([...DAYS].reverse().map((d) => [d, true]));
    const findings = await findingsOf('2026-11-27');

    // The same rules over the generator's own totals (no reader, no DynamoDB) agree exactly.
    const fromGenerator = audit({
      reportDate: '2026-11-27',
      agreements,
      usage: expected.map((u) => ({ ...u, sources: [] }) as AuditUsageRow),
    });
    expect(findings.map(strip)).toEqual(fromGenerator.map(strip));

    // And the headline numbers, summed here by hand.
    const nwRecords = sumBy(
      expected,
      (r) => NORTHWIND.includes(r.app),
      (r) => r.records,
    );
    const quotas = agreements.find((a) => a.licensee === 'northwind')?.quotas ?? {};
    const monthlyLimit = quotas.monthly_records as number;
    const monthly = findings.find((f) => f.licensee === 'northwind' && f.metric === 'monthly_records');
    expect(monthly).toMatchObject({
      rule: 'quota_exceeded',
      severity: 'high',
      observed: nwRecords,
      limit: monthlyLimit,
      excess: nwRecords - monthlyLimit,
    });
    // The extensions: northwind is over its monthly quota, so no forecast for it, and it crossed
    // 80% and 100% of the quota on the first days its running total reached them.
    expect(
      findings.filter(
        (f) => f.licensee === 'northwind' && f.rule === 'quota_forecast' && f.metric === 'monthly_records',
      ),
    ).toEqual([]);
    const crossing = (percent: number) => {
      let total = 0;
      return DAYS.find((d) => {
        total += sumBy(
          expected,
          (r) => NORTHWIND.includes(r.app) && r.day === d,
          (r) => r.records,
        );
        return total * 100 >= percent * monthlyLimit;
      });
    };
    const thresholds = findings.filter(
      (f) => f.licensee === 'northwind' && f.rule === 'quota_threshold' && f.metric === 'monthly_records',
    );
    expect(thresholds.map((f) => [f.subject, f.period_start, f.period_end, f.observed])).toEqual([
      ['100%', crossing(100), '2026-11-27', nwRecords],
      ['80%', crossing(80), '2026-11-27', nwRecords],
    ]);
    const dailyLimit = quotas.daily_records as number;
    const overDays = DAYS.map(
      (d) =>
        [
          d,
          sumBy(
            expected,
            (r) => NORTHWIND.includes(r.app) && r.day === d,
            (r) => r.records,
          ),
        ] as const,
    ).filter(([, n]) => n > dailyLimit);
    expect(overDays.length).toBeGreaterThan(5);
    const daily = findings.filter((f) => f.licensee === 'northwind' && f.metric === 'daily_records');
    expect(daily.map((f) => [f.period_start, f.observed])).toEqual(overDays);
    const unpaid = findings.find((f) => f.licensee === 'northwind' && f.rule === 'unpaid_usage');
    const unpaidRecords = sumBy(
      expected,
      (r) => NORTHWIND.includes(r.app) && r.day > '2026-11-15',
      (r) => r.records,
    );
    expect(unpaid?.observed).toBe(unpaidRecords);
    expect(unpaid?.amount_owed).toBe(Math.round((unpaidRecords * 0.75) / 10) / 100);
    const bot = findings.find((f) => f.rule === 'unknown_app');
    expect(bot).toMatchObject({ licensee: null, subject: 'unregistered-bot' });
    expect(bot?.observed).toBe(
      sumBy(
        expected,
        (r) => r.app === 'unregistered-bot',
        (r) => r.requests,
      ),
    );
    const gov = findings.find((f) => f.licensee === 'northwind' && f.rule === 'prohibited_recipient');
    const govRequests = sumBy(
      expected,
      (r) => NORTHWIND.includes(r.app),
      (r) =>
        (r.categories.government?.requests ?? 0) -
        (r.categories.government?.orgs['dept-of-examples']?.requests ?? 0),
    );
    expect(gov?.observed).toBe(govRequests);
    // Evidence names the four drops.
    expect(new Set(unpaid?.evidence.sources.map((s) => s.key))).toEqual(
      new Set([
        'logs/2026/11/drop-0.jsonl',
        'logs/2026/11/drop-1.csv',
        'logs/2026/11/drop-2.jsonl.gz',
        'logs/2026/11/drop-3.csv.gz',
      ]),
    );
    expect(await reports.latest()).toBe('2026-11-27');
  }, 300_000); // 27 reports, each with one evidence file per finding (issue 10)

  it('re-running the audit on the same inputs leaves byte-identical files', async () => {
    const before = await reports.readAll('2026-11-27');
    const out = (await stack.invokeAudit({ date: '2026-11-27' })) as { reports: { written: boolean }[] };
    expect(out.reports[0]?.written).toBe(false);
    expect(await reports.readAll('2026-11-27')).toEqual(before);
    expect(verifyReport(before, await reports.readFile('2026-11-26', 'manifest.json'))).toEqual([]);
  });

  it('re-audits an earlier report whose window got late data, and keeps the chain intact', async () => {
    await stack.invokeAudit({ date: '2026-11-10' });
    const early = await findingsOf('2026-11-10');
    const earlyBot = early.find((f) => f.rule === 'unknown_app')?.observed ?? 0;

    // A late drop for 5 November arrives after both reports were written.
    const late = [1, 2, 3]
      .map((i) =>
        JSON.stringify({
          timestamp: `2026-11-05T0${i}:00:00Z`,
          app_id: 'unregistered-bot',
          endpoint: 'GET /2/users/by',
          status: 200,
          records: 7,
        }),
      )
      .join('\n');
    await put('logs/2026/11/late/drop-late.jsonl', late);
    await stack.drain();

    const out = (await stack.invokeAudit({ time: '2026-11-28T02:00:00Z' })) as {
      reports: { date: string; written: boolean }[];
    };
    // Every report whose window holds 5 November is re-audited (11-10 among them), and yesterday.
    expect(out.reports.map((r) => [r.date, r.written])).toEqual(
      DAYS.filter((d) => d >= '2026-11-05')
        .reverse()
        .map((d) => [d, true]),
    );
    const reAudited = await findingsOf('2026-11-10');
    expect(reAudited.find((f) => f.rule === 'unknown_app')?.observed).toBe(earlyBot + 3);
    // The finding keeps its id across the re-audit.
    expect(reAudited.find((f) => f.rule === 'unknown_app')?.finding_id).toBe(
      early.find((f) => f.rule === 'unknown_app')?.finding_id,
    );

    const dates = await reports.listDates();
    expect(dates).toEqual(DAYS);
    const first = await reports.readAll('2026-11-10');
    const second = await reports.readAll('2026-11-27');
    const before27 = await reports.readFile('2026-11-26', 'manifest.json');
    const before10 = await reports.readFile('2026-11-09', 'manifest.json');
    expect(verifyReport(first, before10)).toEqual([]);
    expect(verifyReport(second, before27)).toEqual([]);
    expect(await reports.latest()).toBe('2026-11-27');

    // Nothing changed since: the next night re-audits nothing earlier.
    const quiet = (await stack.invokeAudit({ time: '2026-11-28T02:00:00Z' })) as {
      reports: { date: string; written: boolean }[];
    };
    expect(quiet.reports).toEqual([{ date: '2026-11-27', findings: expect.any(Number), written: false }]);
  }, 300_000); // 23 reports re-audited and re-linked, then a quiet night: about 55 s on a quiet machine, over 120 s beside the rest of the suite

  it('never writes over a damaged manifest: the audit fails naming it; restored, all verifies again', async () => {
    const key = 'reports/date=2026-11-10/manifest.json';
    const good = (await reports.readFile('2026-11-10', 'manifest.json')) ?? '';
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.reportsBucket, Key: key, Body: '{"trunc' }));
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.reportsBucket, Key: 'reports/latest.json', Body: 'garbage' }),
    );
    // Every audit checks each anchored manifest first: auditing the damaged date, the one after
    // it or a later one fails, and writes nothing over it.
    for (const date of ['2026-11-10', '2026-11-11', '2026-11-20'])
      await expect(stack.invokeAudit({ date })).rejects.toThrow(/2026-11-10\/manifest\.json/);
    expect(await reports.readFile('2026-11-10', 'manifest.json')).toBe('{"trunc');
    stack.takeErrors();
    // Restored (from the bucket's versions: the one whose sha256 is the anchor), it audits again.
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.reportsBucket, Key: key, Body: good }));
    const fixed = (await stack.invokeAudit({ date: '2026-11-10' })) as { reports: { written: boolean }[] };
    expect(fixed.reports[0]?.written).toBe(false);
    let previous: string | null = null;
    for (const date of await reports.listDates()) {
      const files = await reports.readAll(date);
      expect(verifyReport(files, previous), date).toEqual([]);
      previous = files.get('manifest.json') ?? null;
    }
    expect(await reports.latest()).toBe('2026-11-27');
  });
});
