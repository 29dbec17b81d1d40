/**
 * The audit fanned out into steps (issue 10 item 3; functions/audit/fan-out.ts and
 * fan-out-handler.ts) against the in-memory fakes: the planner's order, the join of a date's parts
 * before the chain and latest.json are written, a failing part, duplicate deliveries, and the steps
 * as the state machine invokes them (payloads through JSON, as Step Functions passes them; the
 * synthesized definition itself is run against these fakes in test/infra/audit-fan-out.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { AuditRequestError } from '../../../functions/audit/create-handler.ts';
import {
  type AuditPlan,
  auditInProcess,
  auditOneDate,
  finishDate,
  linkRun,
  planAudit,
} from '../../../functions/audit/fan-out.ts';
import { MANIFEST, parseJson } from '../../../functions/audit/ports.ts';
import {
  type AuditDeps,
  auditDates,
  CHAIN_LEASE,
  ChainMismatchError,
  type DateResult,
} from '../../../functions/audit/run-audit.ts';
import { sha256Hex } from '../../../functions/core/audit/format.ts';
import type { Manifest } from '../../../functions/core/audit/report.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { auditFunction, auditWorld, DAYS, NOW } from '../../support/audit-world.ts';
import type { FakeReports } from '../../support/fakes.ts';

const world = auditWorld;

const manifestText = (reports: FakeReports, date: string): string =>
  reports.folders.get(date)?.get(MANIFEST) ?? '';

/** Every manifest links to its predecessor's bytes, and latest.json names the newest. */
async function expectChained(reports: FakeReports): Promise<void> {
  const dates = await reports.listDates();
  for (const [i, d] of dates.entries()) {
    const before = dates[i - 1];
    expect(parseJson<Manifest>(manifestText(reports, d))?.previous_manifest_sha256).toBe(
      before ? sha256Hex(manifestText(reports, before)) : null,
    );
  }
  expect(await reports.latest()).toBe(dates.at(-1));
}

const stepHandler = auditFunction;

/** A JSON round trip, as Step Functions hands a state's output to the next. */
const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * The state machine of infra/constructs/audit-fan-out.ts, step by step: Plan, then the Map over
 * the dates in order (AuditDate, FinishDate), then Link; each step one invocation.
 */
async function execute(deps: AuditDeps, input: unknown, log: string[] = []): Promise<unknown> {
  const invoke = stepHandler(deps);
  const step = async (payload: Record<string, unknown>): Promise<unknown> => {
    log.push(`${payload.step}${typeof payload.date === 'string' ? ` ${payload.date}` : ''}`);
    return viaJson(await invoke(viaJson(payload), lambdaContext('audit')));
  };
  const plan = (await step({ step: 'plan', request: input })) as AuditPlan;
  const reports: unknown[] = [];
  for (const { date, parts } of plan.dates) {
    // A date within the size has no parts: the inner Map does nothing.
    expect(parts).toEqual([]);
    const result = await step({ step: 'audit-date', date, trigger: plan.trigger, run: plan.run, parts: [] });
    reports.push(await step({ step: 'finish-date', result }));
  }
  return step({ step: 'link', trigger: plan.trigger, reports });
}

describe('plan', () => {
  it('orders the dates newest first, once each, and checks the chain before anything is written', async () => {
    const w = world();
    const plan = await planAudit(w.deps, {
      kind: 'dates',
      dates: ['2026-11-25', '2026-11-27', '2026-11-24', '2026-11-27'],
    });
    const unsplit = (dates: string[]) => dates.map((date) => ({ date, parts: [] }));
    const run = expect.stringMatching(/^[0-9a-f-]{36}$/);
    expect(plan).toEqual({
      dates: unsplit(['2026-11-27', '2026-11-25', '2026-11-24']),
      trigger: 'on-demand',
      run,
    });
    // The nightly run: yesterday, then the missing dates newest to oldest.
    expect(await planAudit(w.deps, { kind: 'nightly', time: NOW })).toEqual({
      dates: unsplit(['2026-11-27', '2026-11-26', '2026-11-25', '2026-11-24']),
      trigger: 'schedule',
      run,
    });
    // A report changed behind its anchor: the plan fails, naming it, before any part runs.
    await auditInProcess(w.deps, { kind: 'dates', dates: ['2026-11-25'] });
    w.reports.folders.get('2026-11-25')?.set('findings.jsonl', '{"forged":true}\n');
    const err = await planAudit(w.deps, { kind: 'dates', dates: ['2026-11-24'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainMismatchError);
    expect((err as ChainMismatchError).date).toBe('2026-11-25');
  });
});

describe('the steps as the state machine runs them', () => {
  it('the same report bytes, chain and latest.json as the single-invocation audit', async () => {
    const fanned = world();
    const log: string[] = [];
    const out = await execute(fanned.deps, { from: '2026-11-24', to: '2026-11-27' }, log);
    expect(log).toEqual([
      'plan',
      'audit-date 2026-11-27',
      'finish-date',
      'audit-date 2026-11-26',
      'finish-date',
      'audit-date 2026-11-25',
      'finish-date',
      'audit-date 2026-11-24',
      'finish-date',
      'link',
    ]);
    expect(out).toEqual({
      reports: [...DAYS].reverse().map((date) => ({ date, findings: expect.any(Number), written: true })),
    });
    const single = world();
    await auditDates({ ...single.deps, trigger: 'on-demand' }, DAYS);
    expect(fanned.reports.snapshot()).toEqual(single.reports.snapshot());
    expect(fanned.reports.latestText).toBe(single.reports.latestText);
    await expectChained(fanned.reports);
    // Each manifest was anchored as it was last written, and every lease is released.
    for (const d of DAYS)
      expect((await fanned.control.anchors()).get(d)).toBe(sha256Hex(manifestText(fanned.reports, d)));
    expect([...fanned.control.leases.values()].every((l) => l.expiresAt === 0)).toBe(true);
  });

  it('in process: the same steps in the same order, in one invocation (a direct request, the CLI, the local stack)', async () => {
    const inProcess = world();
    const out = await stepHandler(inProcess.deps)(
      { from: '2026-11-24', to: '2026-11-27' },
      lambdaContext('a'),
    );
    const fanned = world();
    expect(out).toEqual(await execute(fanned.deps, { from: '2026-11-24', to: '2026-11-27' }));
    expect(inProcess.reports.snapshot()).toEqual(fanned.reports.snapshot());
    expect(inProcess.reports.latestText).toBe(fanned.reports.latestText);
  });

  it('yesterday’s report is the latest before any older date is re-audited', async () => {
    const w = world();
    await execute(w.deps, { source: 'usage-auditor.schedule', time: NOW.toISOString() });
    const latestAt = w.reports.puts.indexOf('latest.json');
    expect(w.reports.puts.slice(0, latestAt).every((p) => p.startsWith('2026-11-27/'))).toBe(true);
    expect(w.reports.puts.filter((p) => p === 'latest.json')).toHaveLength(1);
    await expectChained(w.reports);
  });
});

describe('the join: the chain and latest.json only after every part of a date', () => {
  it('a date’s part writes its own report only; its finish links it and moves latest.json', async () => {
    const w = world();
    await auditInProcess(w.deps, { kind: 'dates', dates: ['2026-11-24', '2026-11-25'] });
    const before = w.reports.snapshot();
    const latestBefore = w.reports.latestText;
    const puts = w.reports.puts.length;

    const result = await auditOneDate({ ...w.deps, trigger: 'on-demand' }, '2026-11-26');
    expect(result).toEqual({ date: '2026-11-26', findings: expect.any(Number), written: true });
    // Only the new date's files; no other manifest re-linked, latest.json not moved.
    expect(w.reports.puts.slice(puts).every((p) => p.startsWith('2026-11-26/'))).toBe(true);
    expect(w.reports.latestText).toBe(latestBefore);
    for (const [key, body] of before) expect(w.reports.snapshot().get(key)).toBe(body);

    await finishDate(w.deps, result);
    expect(await w.reports.latest()).toBe('2026-11-26');
    await expectChained(w.reports);
  });

  it('an older date is linked by the run’s end, not once per date (no manifest rewritten twice)', async () => {
    const w = world();
    await auditInProcess(w.deps, { kind: 'dates', dates: ['2026-11-27'] });
    const before = w.reports.puts.length;
    const results: DateResult[] = [];
    for (const d of ['2026-11-26', '2026-11-25', '2026-11-24']) {
      const r = await auditOneDate({ ...w.deps, trigger: 'on-demand' }, d);
      results.push(await finishDate(w.deps, r));
    }
    // Finishing an older date rewrote nothing but its own report.
    expect(w.reports.puts.slice(before).filter((p) => p.startsWith('2026-11-27/'))).toEqual([]);
    await linkRun(w.deps, results);
    // One re-link of the newest manifest, for the whole run.
    expect(w.reports.puts.slice(before).filter((p) => p === `2026-11-27/${MANIFEST}`)).toHaveLength(1);
    await expectChained(w.reports);
  });

  it('a part that fails leaves the chain and latest.json as they were; retried, it completes the run', async () => {
    const w = world();
    await auditInProcess(w.deps, { kind: 'dates', dates: ['2026-11-24', '2026-11-27'] });
    const before = w.reports.snapshot();
    const latestBefore = w.reports.latestText;
    const anchorsBefore = [...w.control.chain];
    const write = w.reports.write.bind(w.reports);
    let failures = 1;
    w.reports.write = async (date, files) => {
      if (date === '2026-11-25' && failures-- > 0) throw new Error('S3 503 SlowDown');
      return write(date, files);
    };

    const failing = execute(w.deps, { from: '2026-11-24', to: '2026-11-26' });
    await expect(failing).rejects.toThrow('S3 503 SlowDown');
    // 11-26 was audited (and, not the newest, left to the link); 11-25 failed: nothing else moved.
    expect(w.reports.latestText).toBe(latestBefore);
    for (const d of ['2026-11-24', '2026-11-27'])
      expect(w.reports.snapshot().get(`${d}/${MANIFEST}`)).toBe(before.get(`${d}/${MANIFEST}`));
    expect(w.control.chain.filter((a) => a.date !== '2026-11-26')).toEqual(anchorsBefore);
    expect([...w.control.leases.values()].every((l) => l.expiresAt === 0)).toBe(true);

    // The state machine retries the failed step; the run then ends as one without a failure.
    await execute(w.deps, { from: '2026-11-24', to: '2026-11-26' });
    const clean = world();
    await auditInProcess(clean.deps, { kind: 'dates', dates: ['2026-11-24', '2026-11-27'] });
    await auditInProcess(clean.deps, { kind: 'dates', dates: ['2026-11-24', '2026-11-25', '2026-11-26'] });
    expect(w.reports.snapshot()).toEqual(clean.reports.snapshot());
    await expectChained(w.reports);
  });

  it('a duplicate delivery of any step is harmless: nothing rewritten, nothing anchored twice', async () => {
    const w = world();
    const run = { ...w.deps, trigger: 'on-demand' };
    const results: DateResult[] = [];
    for (const d of ['2026-11-27', '2026-11-26']) {
      results.push(await finishDate(w.deps, await auditOneDate(run, d)));
    }
    await linkRun(w.deps, results);
    const snapshot = w.reports.snapshot();
    const puts = w.reports.puts.length;
    const anchors = w.control.chain.length;

    // Every step delivered again, in and out of order.
    const again = await auditOneDate(run, '2026-11-26');
    expect(again).toEqual({ date: '2026-11-26', findings: results[1]?.findings, written: false });
    await finishDate(w.deps, again);
    await finishDate(w.deps, await auditOneDate(run, '2026-11-27'));
    await linkRun(w.deps, results);
    await linkRun(w.deps, results);
    expect(w.reports.snapshot()).toEqual(snapshot);
    expect(w.reports.puts.length).toBe(puts);
    expect(w.control.chain.length).toBe(anchors);
  });

  it('a date another run holds is skipped by its part, and its finish does nothing', async () => {
    const w = world();
    w.control.leases.set('2026-11-27', { owner: 'another-run', expiresAt: NOW.getTime() + 60_000 });
    const out = (await execute(w.deps, { from: '2026-11-26', to: '2026-11-27' })) as {
      reports: DateResult[];
    };
    expect(out.reports.map((r) => [r.date, r.written, r.skipped])).toEqual([
      ['2026-11-27', false, 'lease held by another audit run until 2026-11-28T02:01:00.000Z'],
      ['2026-11-26', true, undefined],
    ]);
    expect(await w.reports.listDates()).toEqual(['2026-11-26']);
    expect(await w.reports.latest()).toBe('2026-11-26');
    expect(w.control.leases.get('2026-11-27')?.owner).toBe('another-run');
    expect(w.control.leaseLog.filter((l) => l.endsWith(CHAIN_LEASE))).toEqual([
      `acquire ${CHAIN_LEASE}`,
      `release ${CHAIN_LEASE}`,
      `acquire ${CHAIN_LEASE}`,
      `release ${CHAIN_LEASE}`,
    ]);
  });
});

describe('step events', () => {
  it('refuses a malformed step, and a plan for a day that has not ended, as the function refuses it', async () => {
    const w = world();
    const invoke = stepHandler(w.deps);
    const refused = async (event: unknown) =>
      invoke(event, lambdaContext('audit')).then(
        () => 'accepted',
        (e: unknown) => (e instanceof AuditRequestError ? e.message : String(e)),
      );
    expect(await refused({ step: 'fly' })).toBe(
      'fan-out step: expected plan, audit-part, audit-date, finish-date or link, got "fly"',
    );
    expect(await refused({ step: 'audit-date', date: '2026-02-30', trigger: 'schedule' })).toBe(
      'fan-out step: expected a date YYYY-MM-DD, got "2026-02-30"',
    );
    expect(await refused({ step: 'audit-date', date: '2026-11-27', trigger: 'cron' })).toBe(
      'fan-out step: expected a trigger, got "cron"',
    );
    expect(await refused({ step: 'finish-date', result: { date: '2026-11-27' } })).toBe(
      'fan-out step: expected a date result, got {"date":"2026-11-27"}',
    );
    expect(await refused({ step: 'plan', request: { date: '2026-11-28' } })).toBe(
      'date: 2026-11-28 has not ended yet (today is 2026-11-28 UTC)',
    );
    // A step, too, refuses a day that has not ended (it would write an incomplete report, made latest).
    expect(await refused({ step: 'audit-date', date: '2026-11-28', trigger: 'schedule' })).toBe(
      'fan-out step: audit-date: 2026-11-28 has not ended yet (today is 2026-11-28 UTC), got "2026-11-28"',
    );
    expect(
      await refused({
        step: 'audit-part',
        date: '2026-11-29',
        trigger: 'schedule',
        run: 'run-1',
        part: 0,
      }),
    ).toBe(
      'fan-out step: audit-part: 2026-11-29 has not ended yet (today is 2026-11-28 UTC), got "2026-11-29"',
    );
    expect(await refused({ step: 'plan', request: { when: '2026-11-27' } })).toBe(
      'unknown field(s) when: expected {date}, {from, to} or a schedule event',
    );
    expect(w.reports.puts).toEqual([]);
  });
});
