/**
 * What one execution of the audit state machine can hold (issue 10 item 3; core/audit-parts.ts
 * boundParts, audit/fan-out.ts): the plan's payload names dates and part numbers only, never
 * licensees (the parts are stored per run and date and loaded by audit-part); at most 16 parts a
 * date; the run within 20,000 history events, else refused naming the limit; the largest state's
 * bytes at worst; and a retried plan step harmless.
 */
import { describe, expect, it } from 'vitest';
import { AuditRequestError } from '../../../functions/audit/create-handler.ts';
import { auditInProcess, auditPlannedPart, planAudit } from '../../../functions/audit/fan-out.ts';
import { type DateResult, leaseHeldMessage } from '../../../functions/audit/run-audit.ts';
import { addDays } from '../../../functions/core/audit/format.ts';
import {
  boundParts,
  HISTORY_EVENTS_BUDGET,
  MAX_DATE_PARTS,
  mergeParts,
  type PartPlan,
  runEvents,
} from '../../../functions/core/audit-parts.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { auditFunction } from '../../support/audit-world.ts';
import { PARTS_DATE, partsWorld } from '../../support/parts-world.ts';

const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** n parts of one licensee each (l00, l01, …), the last also holding the uncovered apps. */
const partsOf = (n: number): PartPlan[] =>
  Array.from({ length: n }, (_, i) => {
    const name = `l${String(i).padStart(2, '0')}`;
    return { part: i, of: n, first: name, last: name, ...(i === n - 1 ? { unlicensed: true as const } : {}) };
  });

/** The world's rollups built once, so the planner sizes from stored rollups. */
async function warmed(opts: Parameters<typeof partsWorld>[0] = {}) {
  const w = partsWorld(opts);
  await w.rollups.usage('2026-11-01', PARTS_DATE);
  return w;
}

/** The same world with every licensee id as long as ids may be (63 characters), in the same order. */
async function longNames() {
  const w = await warmed({ split: true });
  const long = (id: string) => `${id}-${'x'.repeat(62 - id.length)}`;
  for (const [id, a] of [...w.control.agreements]) {
    w.control.agreements.delete(id);
    w.control.agreements.set(long(id), { ...a, licensee: long(id) });
  }
  return w;
}

describe('the plan’s payload', () => {
  it('names each date’s part numbers only: the same bytes whatever the licensees are called', async () => {
    const request = { kind: 'dates' as const, dates: [PARTS_DATE, '2026-11-04'] };
    const short = await warmed({ split: true });
    const long = await longNames();
    const a = await planAudit(short.deps, request);
    const b = await planAudit(long.deps, request);
    expect(a.dates).toEqual([
      { date: PARTS_DATE, parts: [0, 1, 2, 3] },
      { date: '2026-11-04', parts: [0, 1, 2] },
    ]);
    expect(JSON.stringify({ ...b, run: a.run })).toBe(JSON.stringify(a));
    expect(JSON.stringify(b)).not.toContain('alpha');
    // The names are in the stored plan, under the run and date.
    expect((await long.partResults.getPlan(b.run, PARTS_DATE))?.[0]).toEqual({
      part: 0,
      of: 4,
      first: `alpha-${'x'.repeat(57)}`,
      last: `beta-${'x'.repeat(58)}`,
    });
  });

  it('at worst, the largest state (the plan and every date’s result) is 113,457 bytes, under 256 KB', () => {
    // Every mix of dates and parts the budget allows; each date skipped with its lease message
    // (the longest result a date has).
    let worst = { bytes: 0, dates: 0, parts: 0 };
    for (let d = 1; runEvents(d, 0) <= HISTORY_EVENTS_BUDGET; d++) {
      let p = 0;
      while (p < d * MAX_DATE_PARTS && runEvents(d, p + 1) <= HISTORY_EVENTS_BUDGET) p++;
      const dates = Array.from({ length: d }, (_, i) => ({
        date: addDays('2026-11-30', -i),
        parts: Array.from(
          { length: Math.min(MAX_DATE_PARTS, Math.max(0, p - i * MAX_DATE_PARTS)) },
          (_, k) => k,
        ),
      }));
      const reports: DateResult[] = dates.map(({ date }) => ({
        date,
        findings: 0,
        written: false,
        skipped: leaseHeldMessage(Date.parse('2026-12-01T02:00:00.000Z')),
      }));
      const state = { dates, trigger: 'on-demand', run: '00000000-0000-4000-8000-000000000000', reports };
      const bytes = Buffer.byteLength(JSON.stringify(state));
      if (bytes > worst.bytes) worst = { bytes, dates: d, parts: p };
    }
    expect(worst).toEqual({ bytes: 113_457, dates: 713, parts: 0 });
    expect(worst.bytes).toBeLessThan(256 * 1024);
  });
});

describe('the plan’s budget', () => {
  it('merges a date’s parts into at most 16, consecutive, each at most ceil(n / 16) of them', () => {
    expect(mergeParts(partsOf(16), 16)).toEqual(partsOf(16));
    const merged = mergeParts(partsOf(40), 16);
    expect(merged).toHaveLength(16);
    expect(merged[0]).toEqual({ part: 0, of: 16, first: 'l00', last: 'l01' });
    expect(merged[1]).toEqual({ part: 1, of: 16, first: 'l02', last: 'l04' });
    expect(merged[15]).toEqual({ part: 15, of: 16, first: 'l37', last: 'l39', unlicensed: true });
    // Every licensee in exactly one part, in order.
    const names = partsOf(40).map((p) => p.first);
    expect(merged.flatMap((p) => names.slice(names.indexOf(p.first), names.indexOf(p.last) + 1))).toEqual(
      names,
    );
    const alone: PartPlan[] = [
      { part: 0, of: 4, first: 'l00', last: 'l00' },
      { part: 1, of: 4, first: 'l01', last: 'l01' },
      { part: 2, of: 4, first: 'l02', last: 'l02' },
      { part: 3, of: 4, unlicensed: true },
    ];
    expect(mergeParts(alone, 2)).toEqual([
      { part: 0, of: 2, first: 'l00', last: 'l01' },
      { part: 1, of: 2, first: 'l02', last: 'l02', unlicensed: true },
    ]);
  });

  it('keeps a plan within the budget as it is; a date of more than 16 parts is merged', () => {
    const wanted = [partsOf(40), [], partsOf(3)];
    const out = boundParts(wanted);
    expect(out).toEqual({ parts: [mergeParts(partsOf(40), 16), [], partsOf(3)] });
  });

  it('over the budget: fewer parts a date (down to 8), then refused naming the limit and what fits', () => {
    // 70 dates of 16 parts: 28 + 70 × (28 + 13 × 16) = 16,548 events: within.
    expect(boundParts(Array.from({ length: 70 }, () => partsOf(16)))).toEqual({
      parts: Array.from({ length: 70 }, () => partsOf(16)),
    });
    // 100 dates of 16: 23,628 at 16 parts; at 13: 28 + 100 × (28 + 13 × 13) = 19,728.
    const hundred = boundParts(Array.from({ length: 100 }, () => partsOf(16)));
    expect('parts' in hundred && hundred.parts.map((p) => p.length)).toEqual(Array(100).fill(13));
    expect(runEvents(100, 1300)).toBeLessThanOrEqual(HISTORY_EVENTS_BUDGET);
    expect(runEvents(100, 1400)).toBeGreaterThan(HISTORY_EVENTS_BUDGET);
    // 200 dates of 16: 26,428 even at 8 parts a date.
    expect(boundParts(Array.from({ length: 200 }, () => partsOf(16)))).toEqual({
      refused:
        '200 dates in 1600 parts would take up to 26428 history events, past the 20000 one audit ' +
        'execution is planned for (Step Functions stops one at 25000): audit at most 151 of these dates at once',
    });
    // Unsplit dates: 713 fit, 714 do not.
    expect(boundParts(Array.from({ length: 713 }, () => []))).toHaveProperty('parts');
    expect(boundParts(Array.from({ length: 714 }, () => []))).toEqual({
      refused: expect.stringMatching(/^714 dates in 0 parts would take up to 20020 .* audit at most 713 of/),
    });
  });

  it('planAudit refuses a plan over the budget with an AuditRequestError before writing anything', async () => {
    const w = await warmed({ split: true });
    const dates = Array.from({ length: 714 }, (_, i) => addDays('2026-11-05', -i));
    const err = await planAudit(w.deps, { kind: 'dates', dates }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditRequestError);
    expect((err as Error).message).toMatch(
      /^714 dates in \d+ parts .* audit at most \d+ of these dates at once$/,
    );
    expect(w.partResults.plans.size).toBe(0);
  });
});

describe('a stored plan', () => {
  it('a retried plan step plans a new run; the first attempt’s plan is never read; the report is the unsplit one’s', async () => {
    const split = await warmed({ split: true });
    const fn = auditFunction(split.deps);
    const invoke = async (p: Record<string, unknown>) =>
      viaJson(await fn(viaJson(p), lambdaContext('audit')));
    const plan = async () =>
      (await invoke({ step: 'plan', request: { date: PARTS_DATE } })) as {
        dates: { date: string; parts: number[] }[];
        trigger: string;
        run: string;
      };
    const first = await plan();
    const second = await plan();
    expect(second.run).not.toBe(first.run);
    expect(split.partResults.plans.size).toBe(2);
    const getPlan = split.partResults.getPlan.bind(split.partResults);
    const read: string[] = [];
    split.partResults.getPlan = (run, date) => {
      read.push(run);
      return getPlan(run, date);
    };
    const reports: unknown[] = [];
    for (const { date, parts } of second.dates) {
      const outcomes: unknown[] = [];
      for (const part of parts)
        outcomes.push(
          await invoke({ step: 'audit-part', date, trigger: second.trigger, run: second.run, part }),
        );
      const result = await invoke({
        step: 'audit-date',
        date,
        trigger: second.trigger,
        run: second.run,
        parts: outcomes,
      });
      reports.push(await invoke({ step: 'finish-date', result }));
    }
    await invoke({ step: 'link', trigger: second.trigger, reports });
    expect(new Set(read)).toEqual(new Set([second.run]));
    const whole = await warmed();
    await auditInProcess(whole.deps, { kind: 'dates', dates: [PARTS_DATE] });
    expect(split.reports.snapshot()).toEqual(whole.reports.snapshot());
  });

  it('a part no stored plan names (expired, another run’s, past its count) is refused, not retried', async () => {
    const w = await warmed({ split: true });
    const plan = await planAudit(w.deps, { kind: 'dates', dates: [PARTS_DATE] });
    for (const [run, part] of [
      ['another-run', 0],
      [plan.run, 4],
    ] as const) {
      const err = await auditPlannedPart(w.deps, run, PARTS_DATE, part).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuditRequestError);
      expect((err as Error).message).toBe(
        `audit-part: run ${run} planned no part ${part} of ${PARTS_DATE} (its plan is gone after its records' expiry, or was never stored): start a new run`,
      );
    }
    expect(w.reports.puts).toEqual([]);
    await expect(auditPlannedPart(w.deps, plan.run, PARTS_DATE, 3)).resolves.toMatchObject({
      part: 3,
      of: 4,
    });
  });
});
