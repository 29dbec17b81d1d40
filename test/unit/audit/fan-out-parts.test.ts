/**
 * A report date split into parts (issue 10 item 3; functions/audit/parts.ts, core/audit-parts.ts):
 * the planner's sizes and groups, the report of a split date byte-identical to the unsplit one (in
 * process and step by step as the state machine invokes them), a failed part retried rewriting
 * nothing twice, a duplicate part doing nothing, the date's lease across its parts, and the step
 * events refused when malformed.
 */
import { describe, expect, it } from 'vitest';
import { AuditRequestError } from '../../../functions/audit/create-handler.ts';
import { auditInProcess, planAudit } from '../../../functions/audit/fan-out.ts';
import { parseFanOutStep } from '../../../functions/audit/fan-out-handler.ts';
import { auditPart, joinDate, type PartOutcome } from '../../../functions/audit/parts.ts';
import type { ReportFileBody } from '../../../functions/audit/ports.ts';
import type { Agreement } from '../../../functions/core/audit/agreements.ts';
import { windowOf } from '../../../functions/core/audit/format.ts';
import { estimateObjects, type PartPlan, planParts } from '../../../functions/core/audit-parts.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { auditFunction } from '../../support/audit-world.ts';
import { PARTS_DATE, PARTS_DAYS, partsWorld } from '../../support/parts-world.ts';

const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const request = { kind: 'dates' as const, dates: [PARTS_DATE, '2026-11-04'] };

/** The world's rollups built once (so the planner sizes from stored rollups, as on a later night). */
async function warmed(opts: Parameters<typeof partsWorld>[0] = {}) {
  const w = partsWorld(opts);
  await w.rollups.usage('2026-11-01', PARTS_DATE);
  w.rollups.rebuilt.length = 0;
  return w;
}

const EXPECTED_PARTS: PartPlan[] = [
  { part: 0, of: 4, first: 'alpha', last: 'beta' },
  { part: 1, of: 4, first: 'delta', last: 'delta' },
  { part: 2, of: 4, first: 'gamma', last: 'gamma' },
  { part: 3, of: 4, unlicensed: true },
];

describe('planning parts', () => {
  const appsOf = new Map([
    ['alpha', ['a1']],
    ['beta', ['b1']],
    ['gamma', ['g1', 'g2']],
  ]);
  const objects = (m: Record<string, number>) => new Map(Object.entries(m));

  it('a date within the size is one part; past it, licensees grouped in order, one past the size alone', () => {
    expect(planParts(appsOf, objects({ a1: 10, b1: 10, g1: 10, g2: 10, x: 10 }), 50)).toEqual([]);
    expect(planParts(appsOf, objects({ a1: 20, b1: 20, g1: 60, g2: 60, x: 5 }), 50)).toEqual([
      { part: 0, of: 3, first: 'alpha', last: 'beta' },
      { part: 1, of: 3, first: 'gamma', last: 'gamma' },
      { part: 2, of: 3, unlicensed: true },
    ]);
    // The uncovered apps go with the last part when they fit.
    expect(planParts(appsOf, objects({ a1: 60, b1: 20, g1: 10, g2: 10, x: 5 }), 50)).toEqual([
      { part: 0, of: 2, first: 'alpha', last: 'alpha' },
      { part: 1, of: 2, first: 'beta', last: 'gamma', unlicensed: true },
    ]);
  });

  it('sizes from stored rollups; a stale or missing one gains its day’s commits since, by the app’s share', () => {
    const stored = new Map([
      ['2026-11-01\u0000a', { sourceCount: 30, token: '3@t1' }],
      ['2026-11-01\u0000b', { sourceCount: 10, token: '3@t1' }],
      ['2026-11-02\u0000a', { sourceCount: 6, token: '2@t2' }],
    ]);
    const tokens = new Map([
      ['2026-11-01', '3@t1'],
      ['2026-11-02', '10@t3'],
    ]);
    const out = estimateObjects(['a', 'b'], tokens, stored);
    // a: 36 of the 46 stored objects. Day 2: a's rollup is 8 commits behind (6 + ceil(8 × 36/46) = 13),
    // b has none (all 10 commits: ceil(10 × 10/46) = 3).
    expect(out.get('a')).toEqual(
      new Map([
        ['2026-11-01', 30],
        ['2026-11-02', 13],
      ]),
    );
    expect(out.get('b')).toEqual(
      new Map([
        ['2026-11-01', 10],
        ['2026-11-02', 3],
      ]),
    );
  });

  it('the planner splits the dates past the size (a licensee past it alone), from the stored rollups', async () => {
    const w = await warmed({ split: true });
    const plan = await planAudit(w.deps, request);
    // On the 5th: alpha 50 + beta 25 (delta's 50 would pass 120), delta 50, gamma 400 alone, the
    // uncovered rogue 25 alone (gamma's part is past the size). On the 4th (4 days): alpha 40 +
    // beta 20 + delta 40, gamma 320, rogue 20.
    // The plan answers the parts' numbers; the parts are stored under the run and date.
    expect(plan.dates).toEqual([
      { date: PARTS_DATE, parts: [0, 1, 2, 3] },
      { date: '2026-11-04', parts: [0, 1, 2] },
    ]);
    expect(await w.partResults.getPlan(plan.run, PARTS_DATE)).toEqual(EXPECTED_PARTS);
    expect(await w.partResults.getPlan(plan.run, '2026-11-04')).toEqual([
      { part: 0, of: 3, first: 'alpha', last: 'delta' },
      { part: 1, of: 3, first: 'gamma', last: 'gamma' },
      { part: 2, of: 3, unlicensed: true },
    ]);
    // No part results store (or no rollups): never split.
    expect(
      (await planAudit({ ...w.deps, partResults: undefined }, request)).dates.map((d) => d.parts),
    ).toEqual([[], []]);
    // A size no date reaches: one part each.
    const big = await planAudit({ ...w.deps, partObjects: 10_000 }, request);
    expect(big.dates.every((d) => d.parts.length === 0)).toBe(true);
  });
});

describe('a split date', () => {
  it('in process: the same report bytes, chain and latest.json as the unsplit audit', async () => {
    const split = await warmed({ split: true });
    const out = await auditInProcess(split.deps, request);
    const whole = await warmed();
    expect(out).toEqual(await auditInProcess(whole.deps, request));
    expect(out.every((r) => r.written && r.findings > 0)).toBe(true);
    expect(split.reports.snapshot()).toEqual(whole.reports.snapshot());
    expect(split.reports.latestText).toBe(whole.reports.latestText);
    // Evidence files are written once each (by the parts), never again by the join.
    const evidencePuts = split.reports.puts.filter((p) => p.includes('/evidence/'));
    expect(new Set(evidencePuts).size).toBe(evidencePuts.length);
    // Every lease released at the end; the parts' results wait for the next run to overwrite them.
    expect([...split.control.leases.values()].every((l) => l.expiresAt === 0)).toBe(true);
  });

  it('step by step as the state machine invokes them (JSON between steps): the same bytes', async () => {
    const split = await warmed({ split: true });
    const fn = auditFunction(split.deps);
    const invoke = async (p: Record<string, unknown>) =>
      viaJson(await fn(viaJson(p), lambdaContext('audit')));
    const log: string[] = [];
    const plan = (await invoke({ step: 'plan', request: { date: PARTS_DATE } })) as {
      dates: { date: string; parts: number[] }[];
      trigger: string;
      run: string;
    };
    const reports: unknown[] = [];
    for (const { date, parts } of plan.dates) {
      // The inner Map runs parts at once: here in reverse order, to show the order does not matter.
      const outcomes: unknown[] = [];
      for (const part of [...parts].reverse()) {
        log.push(`audit-part ${part}`);
        outcomes.unshift(
          await invoke({ step: 'audit-part', date, trigger: plan.trigger, run: plan.run, part }),
        );
      }
      const result = await invoke({
        step: 'audit-date',
        date,
        trigger: plan.trigger,
        run: plan.run,
        parts: outcomes,
      });
      reports.push(await invoke({ step: 'finish-date', result }));
    }
    await invoke({ step: 'link', trigger: plan.trigger, reports });
    expect(log).toEqual(['audit-part 3', 'audit-part 2', 'audit-part 1', 'audit-part 0']);
    const whole = await warmed();
    await auditInProcess(whole.deps, { kind: 'dates', dates: [PARTS_DATE] });
    expect(split.reports.snapshot()).toEqual(whole.reports.snapshot());
  });

  it('a part rebuilds the stale rollups of its own apps only; the join finds them fresh', async () => {
    const w = await warmed({ split: true });
    for (const day of PARTS_DAYS) w.usage.changed.set(day, `${day}T23:30:00.000Z`);
    await auditPart(w.deps, 'run-1', PARTS_DATE, EXPECTED_PARTS[2] as PartPlan);
    expect(new Set(w.rollups.rebuilt.map((k) => k.split('/')[0]))).toEqual(new Set(['ga-1', 'ga-2']));
    w.rollups.rebuilt.length = 0;
    for (const part of [0, 1, 3])
      await auditPart(w.deps, 'run-1', PARTS_DATE, EXPECTED_PARTS[part] as PartPlan);
    const before = w.rollups.rebuilt.length;
    // The join reads no object's usage: every finding's evidence is a part's.
    const parts = w.rollups.parts.bind(w.rollups);
    const read: string[] = [];
    w.rollups.parts = (app, from, to) => {
      read.push(app);
      return parts(app, from, to);
    };
    const outcomes = EXPECTED_PARTS.map((p) => ({ part: p.part, of: 4, findings: 0 }));
    const result = await joinDate(w.deps, 'run-1', PARTS_DATE, outcomes);
    expect(result.findings).toBeGreaterThan(0);
    expect(read).toEqual([]);
    expect(w.rollups.rebuilt.length).toBe(before);
  });

  it('a failed part retried rewrites nothing twice; a duplicate part does nothing', async () => {
    const w = await warmed({ split: true });
    const write = w.reports.write.bind(w.reports);
    let evidenceWrites = 0;
    w.reports.write = async (date: string, files: readonly ReportFileBody[]) => {
      if (files.some((f) => f.name.startsWith('evidence/')) && ++evidenceWrites === 4)
        throw new Error('S3 failed');
      await write(date, files);
    };
    const gamma = EXPECTED_PARTS[2] as PartPlan;
    await expect(auditPart(w.deps, 'run-1', PARTS_DATE, gamma)).rejects.toThrow('S3 failed');
    expect(w.reports.puts.filter((p) => p.includes('/evidence/'))).toHaveLength(3);
    const retried = await auditPart(w.deps, 'run-1', PARTS_DATE, gamma);
    const afterRetry = [...w.reports.puts];
    expect(new Set(afterRetry).size).toBe(afterRetry.length);
    expect(retried.findings).toBeGreaterThan(3);
    // Delivered again once done: nothing read again, nothing written.
    const records = w.partResults.records.size;
    expect(await auditPart(w.deps, 'run-1', PARTS_DATE, gamma)).toEqual(retried);
    expect(w.reports.puts).toEqual(afterRetry);
    expect(w.partResults.records.size).toBe(records);

    const outcomes: PartOutcome[] = [];
    for (const part of EXPECTED_PARTS) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
    await joinDate({ ...w.deps, trigger: 'on-demand' }, 'run-1', PARTS_DATE, outcomes);
    const whole = await warmed();
    await auditInProcess(whole.deps, { kind: 'dates', dates: [PARTS_DATE] });
    expect(w.reports.folders.get(PARTS_DATE)).toEqual(whole.reports.folders.get(PARTS_DATE));
    const evidencePuts = w.reports.puts.filter((p) => p.includes('/evidence/'));
    expect(new Set(evidencePuts).size).toBe(evidencePuts.length);
  });

  it('usage changed between a part and the join: the join computes that evidence itself, same bytes as unsplit', async () => {
    const w = await warmed({ split: true });
    const outcomes: PartOutcome[] = [];
    for (const part of EXPECTED_PARTS) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
    // A late object for gamma's app on the 3rd, committed after the parts ran.
    const late = w.usage.rows.find((r) => r.app === 'ga-1' && r.day === '2026-11-03');
    if (!late) throw new Error('no row');
    w.usage.rows.push({ ...late, sources: [{ key: 'logs/late.jsonl', gen: 'g9' }] });
    w.usage.changed.set('2026-11-03', '2026-11-06T01:00:00.000Z');
    await joinDate({ ...w.deps, trigger: 'on-demand' }, 'run-1', PARTS_DATE, outcomes);
    const whole = await warmed();
    whole.usage.rows.push({ ...late, sources: [{ key: 'logs/late.jsonl', gen: 'g9' }] });
    whole.usage.changed.set('2026-11-03', '2026-11-06T01:00:00.000Z');
    await auditInProcess(whole.deps, { kind: 'dates', dates: [PARTS_DATE] });
    expect(w.reports.folders.get(PARTS_DATE)).toEqual(whole.reports.folders.get(PARTS_DATE));
  });

  it('a finding gone by the join (terms changed after the parts): its evidence file is removed', async () => {
    const w = await warmed({ split: true });
    const outcomes: PartOutcome[] = [];
    for (const part of EXPECTED_PARTS) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
    const written = [...(w.reports.folders.get(PARTS_DATE)?.keys() ?? [])];
    const roomy = (a: Agreement | undefined): Agreement => ({
      ...(a as Agreement),
      quotas: { monthly_records: 1e9, daily_records: 1e9 },
    });
    w.control.agreements.set('gamma', roomy(w.control.agreements.get('gamma')));
    await joinDate({ ...w.deps, trigger: 'on-demand' }, 'run-1', PARTS_DATE, outcomes);
    const whole = await warmed();
    whole.control.agreements.set('gamma', roomy(whole.control.agreements.get('gamma')));
    await auditInProcess(whole.deps, { kind: 'dates', dates: [PARTS_DATE] });
    const folder = w.reports.folders.get(PARTS_DATE);
    expect(folder).toEqual(whole.reports.folders.get(PARTS_DATE));
    expect(written.filter((n) => !folder?.has(n)).length).toBeGreaterThan(0);
  });

  it('runs under the date’s lease: another run holding it skips every part and the join', async () => {
    const w = await warmed({ split: true });
    const until = PARTS_NOW_MS + 600_000;
    expect(await w.control.acquireLease(PARTS_DATE, 'other-run', PARTS_NOW_MS, until)).toBeUndefined();
    const skipped = `lease held by another audit run until ${new Date(until).toISOString()}`;
    const outcome = await auditPart(w.deps, 'run-1', PARTS_DATE, EXPECTED_PARTS[0] as PartPlan);
    expect(outcome).toEqual({ part: 0, of: 4, findings: 0, skipped });
    expect(await joinDate(w.deps, 'run-1', PARTS_DATE, [outcome])).toEqual({
      date: PARTS_DATE,
      findings: 0,
      written: false,
      skipped,
    });
    expect(w.reports.puts).toEqual([]);
    // Parts of one run share the lease (its owner is the run), and the join releases it.
    await w.control.releaseLease(PARTS_DATE, 'other-run');
    const outcomes: PartOutcome[] = [];
    for (const part of EXPECTED_PARTS) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
    expect(outcomes.every((o) => o.skipped === undefined)).toBe(true);
    expect(await w.control.acquireLease(PARTS_DATE, 'other-run', PARTS_NOW_MS, until)).toEqual(
      expect.objectContaining({ owner: 'run-1' }),
    );
    await joinDate(w.deps, 'run-1', PARTS_DATE, outcomes);
    expect(await w.control.acquireLease(PARTS_DATE, 'other-run', PARTS_NOW_MS, until)).toBeUndefined();
  });
});

const PARTS_NOW_MS = new Date('2026-11-06T02:00:00Z').getTime();

describe('the part steps’ events', () => {
  const base = { step: 'audit-part', date: PARTS_DATE, trigger: 'schedule', run: 'run-1', part: 0 };

  it('reads audit-part (the part’s number in the run’s plan) and audit-date with its parts’ outcomes', () => {
    expect(parseFanOutStep(base)).toEqual(base);
    expect(parseFanOutStep({ ...base, part: 15 })).toEqual({ ...base, part: 15 });
    const outcomes = [
      { part: 1, of: 2, findings: 3 },
      { part: 0, of: 2, findings: 0, skipped: 'lease held by another audit run until x' },
    ];
    expect(
      parseFanOutStep({
        step: 'audit-date',
        date: PARTS_DATE,
        trigger: 'schedule',
        run: 'r',
        parts: outcomes,
      }),
    ).toEqual({ step: 'audit-date', date: PARTS_DATE, trigger: 'schedule', run: 'r', parts: outcomes });
    // The events of before parts: a date alone.
    expect(parseFanOutStep({ step: 'audit-date', date: PARTS_DATE, trigger: 'schedule' })).toEqual({
      step: 'audit-date',
      date: PARTS_DATE,
      trigger: 'schedule',
      parts: [],
    });
  });

  it.each([
    ['no run', { ...base, run: undefined }],
    ['a bad run', { ...base, run: 'a b' }],
    ['no part', { ...base, part: undefined }],
    ['a part number past the most parts of a date', { ...base, part: 16 }],
    ['a part number not an integer', { ...base, part: 1.5 }],
    ['a negative part number', { ...base, part: -1 }],
    ['a part itself (the plan’s payload before it was stored)', { ...base, part: { part: 0, of: 1 } }],
    ['a bad date', { ...base, date: '2026-02-30' }],
    [
      'parts without a run',
      { step: 'audit-date', date: PARTS_DATE, trigger: 'schedule', parts: [{ part: 0, of: 1, findings: 0 }] },
    ],
    ['parts not a list', { step: 'audit-date', date: PARTS_DATE, trigger: 'schedule', run: 'r', parts: {} }],
    [
      'an outcome missing',
      {
        step: 'audit-date',
        date: PARTS_DATE,
        trigger: 'schedule',
        run: 'r',
        parts: [{ part: 0, of: 2, findings: 0 }],
      },
    ],
    [
      'outcomes of different counts',
      {
        step: 'audit-date',
        date: PARTS_DATE,
        trigger: 'schedule',
        run: 'r',
        parts: [
          { part: 0, of: 2, findings: 0 },
          { part: 1, of: 3, findings: 0 },
        ],
      },
    ],
    [
      'a bad outcome',
      {
        step: 'audit-date',
        date: PARTS_DATE,
        trigger: 'schedule',
        run: 'r',
        parts: [{ part: 0, of: 1, findings: -1 }],
      },
    ],
  ])('refuses %s with AuditRequestError', (_what, event) => {
    expect(() => parseFanOutStep(event as Record<string, unknown>)).toThrow(AuditRequestError);
  });

  it('the window a part reads is its date’s month to date', () => {
    expect(windowOf(PARTS_DATE)).toEqual({ start: '2026-11-01', end: PARTS_DATE });
  });
});
