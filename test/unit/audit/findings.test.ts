import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../functions/core/audit/rules.ts';
import { agreement, row, run } from './helpers.ts';

describe('finding_id and order', () => {
  const a = agreement({
    quotas: { monthly_records: 10, daily_records: 5 },
    endpoints: [],
    paid_through: null,
  });
  const usage = [
    row('a1', '2026-03-10', {
      records: 20,
      endpoints: { 'GET /p': { requests: 1 }, 'GET /q': { requests: 1 } },
    }),
    row('a1', '2026-03-11', { records: 1 }),
    row('x9', '2026-03-10'),
  ];

  it('is stable across two nights of one month for the same subject and period', () => {
    const d1 = run('2026-03-10', [a], usage);
    const d2 = run('2026-03-11', [a], usage);
    const key = (f: Finding) =>
      `${f.rule}|${f.metric}|${f.subject}|${f.rule === 'quota_exceeded' && f.metric === 'daily_records' ? f.period_start : ''}`;
    const ids1 = new Map(d1.map((f) => [key(f), f.finding_id]));
    const ids2 = new Map(d2.map((f) => [key(f), f.finding_id]));
    expect(d1.length).toBeGreaterThanOrEqual(5);
    for (const [k, id] of ids1) expect(ids2.get(k)).toBe(id);
    // The month-to-date period grows while the id stays.
    const m1 = d1.find((f) => f.metric === 'monthly_records');
    const m2 = d2.find((f) => f.metric === 'monthly_records');
    expect([m1?.period_end, m2?.period_end]).toEqual(['2026-03-10', '2026-03-11']);
    expect(m1?.finding_id).toBe(m2?.finding_id);
  });

  it('differs between subjects, rules, licensees and months', () => {
    const fs = run('2026-03-10', [a], usage);
    const ids = fs.map((f) => f.finding_id);
    expect(new Set(ids).size).toBe(ids.length);
    const eps = fs.filter((f) => f.rule === 'unauthorized_endpoint');
    expect(eps.map((f) => f.subject)).toEqual(['GET /p', 'GET /q']);
    expect(eps[0]?.finding_id).not.toBe(eps[1]?.finding_id);
    const other = run('2026-03-10', [{ ...a, licensee: 'other' }], usage);
    expect(other.find((f) => f.metric === 'monthly_records')?.finding_id).not.toBe(
      fs.find((f) => f.metric === 'monthly_records')?.finding_id,
    );
    const april = run(
      '2026-04-10',
      [a],
      usage.map((r) => ({ ...r, day: r.day.replace('-03-', '-04-') })),
    );
    expect(april.find((f) => f.metric === 'monthly_records')?.finding_id).not.toBe(
      fs.find((f) => f.metric === 'monthly_records')?.finding_id,
    );
  });

  it('does not depend on the order of the input', () => {
    const b = agreement({ licensee: 'beta', apps: [{ id: 'b1', use_case: null }], endpoints: [] });
    const more = [...usage, row('b1', '2026-03-09', { records: 3 })];
    const forward = run('2026-03-11', [a, b], more);
    const backward = run('2026-03-11', [b, a], [...more].reverse());
    expect(backward).toEqual(forward);
    expect(forward.map((f) => f.licensee)).toEqual(
      [...forward.map((f) => f.licensee)].sort((x, y) =>
        x === null ? 1 : y === null ? -1 : x < y ? -1 : x > y ? 1 : 0,
      ),
    );
  });

  it('rejects a report date that is not a real date', () => {
    expect(() => run('2026-02-30', [a], usage)).toThrow(/report date/);
  });
});
