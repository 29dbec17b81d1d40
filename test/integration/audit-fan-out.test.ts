/**
 * The audit's fan-out steps on the embedded stack (s3rver + dynalite), through the same handler
 * module Lambda runs (functions/audit/handler.ts), invoked step by step as the state machine does
 * (infra/constructs/audit-fan-out.ts): the reports, the chain and latest.json against the real
 * stores, the leases in the control table, duplicate steps, and a direct request over the same
 * dates finding nothing to rewrite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import type { AuditPlan } from '../../functions/audit/fan-out.ts';
import type { DateResult } from '../../functions/audit/run-audit.ts';
import { verifyStoredReports } from '../../functions/audit/verify-reports.ts';
import { parseAgreementsFile } from '../../functions/core/audit/agreements.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';

const dir = mkdtempSync(join(tmpdir(), 'auditor-fan-out-'));
const DAYS = ['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27'];
let stack: LocalStack;
let control: ControlStore;
let reports: ReportStore;

beforeAll(async () => {
  stack = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
  control = new ControlStore(documentClient(stack.dynamo), stack.env.CONTROL_TABLE as string);
  reports = new ReportStore(new S3Objects(stack.s3), stack.reportsBucket);
  const text = readFileSync(new URL('../fixtures/agreements.yaml', import.meta.url), 'utf8');
  const parsed = parseAgreementsFile(text, 'agreements.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  await control.putAgreements(parsed.agreements);
  for (const day of DAYS) {
    const lines = ['nw-search', 'nw-ads', 'unregistered-bot'].map((app, i) =>
      JSON.stringify({
        timestamp: `${day}T12:00:0${i}Z`,
        app_id: app,
        endpoint: 'GET /2/tweets/search/recent',
        status: 200,
        records: 100 + i,
        bytes: 1000,
      }),
    );
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.logBucket,
        Key: `logs/${day}.jsonl`,
        Body: `${lines.join('\n')}\n`,
      }),
    );
  }
  await stack.drain();
  expect(stack.takeErrors()).toEqual([]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const step = (payload: Record<string, unknown>): Promise<unknown> =>
  stack.invokeAudit(JSON.parse(JSON.stringify(payload)));

/** One execution of the state machine, step by step: plan, per date audit-date and finish-date, link. */
async function execute(request: unknown): Promise<{ reports: DateResult[] }> {
  const plan = (await step({ step: 'plan', request })) as AuditPlan;
  const results: unknown[] = [];
  for (const { date, parts } of plan.dates) {
    const outcomes: unknown[] = [];
    for (const part of parts)
      outcomes.push(await step({ step: 'audit-part', date, trigger: plan.trigger, run: plan.run, part }));
    const result = await step({
      step: 'audit-date',
      date,
      trigger: plan.trigger,
      run: plan.run,
      parts: outcomes,
    });
    results.push(await step({ step: 'finish-date', result }));
  }
  return (await step({ step: 'link', trigger: plan.trigger, reports: results })) as { reports: DateResult[] };
}

async function manifests(): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (const d of await reports.listDates()) out.set(d, await reports.readFile(d, 'manifest.json'));
  return out;
}

describe('the audit fanned out, on the embedded stack', () => {
  it('plans newest first, writes every report, chains them and moves latest.json', async () => {
    expect(await step({ step: 'plan', request: { from: DAYS[0], to: DAYS[3] } })).toEqual({
      dates: [...DAYS].reverse().map((date) => ({ date, parts: [] })),
      trigger: 'on-demand',
      run: expect.any(String),
    });
    const out = await execute({ from: DAYS[0], to: DAYS[3] });
    expect(out.reports.map((r) => [r.date, r.written])).toEqual([...DAYS].reverse().map((d) => [d, true]));
    expect(await reports.latest()).toBe('2026-11-27');
    expect(await verifyStoredReports(reports, await control.anchors())).toEqual({
      dates: DAYS,
      problems: [],
    });
  });

  it('a direct request over the same dates (the in-process steps) finds every report unchanged', async () => {
    const before = await manifests();
    const out = (await stack.invokeAudit({ from: DAYS[0], to: DAYS[3] })) as { reports: DateResult[] };
    expect(out.reports.map((r) => [r.date, r.written])).toEqual([...DAYS].reverse().map((d) => [d, false]));
    expect(await manifests()).toEqual(before);
  });

  it('a duplicate step rewrites nothing; a date whose lease another run holds is skipped', async () => {
    const before = await manifests();
    const anchors = await control.anchors();
    const again = (await step({
      step: 'audit-date',
      date: '2026-11-26',
      trigger: 'on-demand',
    })) as DateResult;
    expect(again).toEqual({ date: '2026-11-26', findings: expect.any(Number), written: false });
    await step({ step: 'finish-date', result: again });
    await step({ step: 'link', trigger: 'on-demand', reports: [again, again] });
    expect(await manifests()).toEqual(before);
    expect(await control.anchors()).toEqual(anchors);

    const until = Date.now() + 600_000;
    expect(await control.acquireLease('2026-11-25', 'another-run', Date.now(), until)).toBeUndefined();
    expect(await step({ step: 'audit-date', date: '2026-11-25', trigger: 'schedule' })).toEqual({
      date: '2026-11-25',
      findings: 0,
      written: false,
      skipped: `lease held by another audit run until ${new Date(until).toISOString()}`,
    });
    await control.releaseLease('2026-11-25', 'another-run');
  });
});
