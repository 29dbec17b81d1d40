import { describe, expect, it } from 'vitest';
import { agreement, row, run } from '../helpers.ts';

describe('unauthorized_endpoint', () => {
  it('flags each endpoint outside `endpoints`, only when the agreement lists them', () => {
    const usage = [
      row('a1', '2026-03-01', {
        requests: 5,
        endpoints: { 'GET /ok': { requests: 3 }, 'GET /secret': { requests: 2 } },
      }),
      row('a2', '2026-03-02', {
        requests: 4,
        endpoints: { 'GET /secret': { requests: 3 }, 'POST /other': { requests: 1 } },
      }),
    ];
    const fs = run('2026-03-02', [agreement({ endpoints: ['GET /ok'] })], usage);
    expect(fs.map((f) => [f.rule, f.subject, f.severity, f.observed])).toEqual([
      ['unauthorized_endpoint', 'GET /secret', 'medium', 5],
      ['unauthorized_endpoint', 'POST /other', 'medium', 1],
    ]);
    expect(fs[0]?.apps).toEqual([
      { app_id: 'a2', value: 3, share: 0.6 },
      { app_id: 'a1', value: 2, share: 0.4 },
    ]);
    expect(fs[1]?.evidence.sources).toEqual([{ key: 'logs/a2/2026-03-02.jsonl', gen: 'g1' }]);
    expect(run('2026-03-02', [agreement()], usage)).toEqual([]);
  });

  it('never reports the overflow entry "(other endpoints)" as an endpoint (it is data quality)', () => {
    const usage = [
      row('a1', '2026-03-01', {
        requests: 9,
        endpoints: { 'GET /ok': { requests: 3 }, '(other endpoints)': { requests: 6 } },
      }),
    ];
    expect(run('2026-03-01', [agreement({ endpoints: ['GET /ok'] })], usage)).toEqual([]);
  });
});
