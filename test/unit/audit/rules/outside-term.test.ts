import { describe, expect, it } from 'vitest';
import { agreement, row, run } from '../helpers.ts';

describe('outside_term', () => {
  const usage = [
    row('a1', '2026-03-02', { records: 1 }),
    row('a1', '2026-03-10', { records: 10 }),
    row('a2', '2026-03-16', { records: 100 }),
    row('a1', '2026-03-18', { records: 1000 }),
  ];

  it('a term ending mid-window: usage on the days after the end', () => {
    const fs = run('2026-03-20', [agreement({ term: { start: '2026-01-01', end: '2026-03-15' } })], usage);
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      rule: 'outside_term',
      severity: 'high',
      metric: 'records',
      period_start: '2026-03-16',
      period_end: '2026-03-20',
      observed: 1100,
      apps: [
        { app_id: 'a1', value: 1000, share: 0.9091 },
        { app_id: 'a2', value: 100, share: 0.0909 },
      ],
    });
    expect(fs[0]?.detail).toContain('2026-03-16, 2026-03-18');
  });

  it('the last day of the term is inside it', () => {
    expect(
      run('2026-03-20', [agreement({ term: { start: '2026-01-01', end: '2026-03-18' } })], usage),
    ).toEqual([]);
  });

  it('a term starting mid-window, and a term that ended before W', () => {
    const late = run('2026-03-20', [agreement({ term: { start: '2026-03-10', end: '2026-12-31' } })], usage);
    expect(late[0]).toMatchObject({ period_start: '2026-03-01', period_end: '2026-03-09', observed: 1 });
    const ended = run('2026-03-20', [agreement({ term: { start: '2025-01-01', end: '2026-02-10' } })], usage);
    expect(ended[0]).toMatchObject({ period_start: '2026-03-01', period_end: '2026-03-20', observed: 1111 });
  });
});
