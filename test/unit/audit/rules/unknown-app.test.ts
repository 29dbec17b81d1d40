import { describe, expect, it } from 'vitest';
// SPEC §4's rules only: the quota extensions (quota_forecast, quota_threshold) have their own tests.
import { agreement, row, runSpec as run } from '../helpers.ts';

describe('unknown_app', () => {
  it('one finding per app no agreement covers, licensee null, low, sorted after licensees', () => {
    const usage = [
      row('zz-bot', '2026-03-01', { requests: 3, records: 30 }),
      row('a1', '2026-03-01', { requests: 2 }),
      row('bot-2', '2026-03-02', { requests: 1 }),
      row('old-bot', '2026-02-27', { requests: 1 }),
    ];
    const fs = run('2026-03-02', [agreement({ quotas: { monthly_requests: 1 } })], usage);
    expect(fs.map((f) => [f.licensee, f.rule, f.subject, f.severity, f.observed])).toEqual([
      ['acme', 'quota_exceeded', null, 'high', 2],
      [null, 'unknown_app', 'bot-2', 'low', 1],
      [null, 'unknown_app', 'zz-bot', 'low', 3],
    ]);
    expect(fs[2]).toMatchObject({
      metric: 'requests',
      amount_owed: null,
      limit: null,
      apps: [{ app_id: 'zz-bot', value: 3, share: 1 }],
    });
  });

  it('an app covered by an agreement whose term is over is not unknown', () => {
    const fs = run(
      '2026-03-02',
      [agreement({ term: { start: '2025-01-01', end: '2025-12-31' } })],
      [row('a1', '2026-03-01')],
    );
    expect(fs.map((f) => f.rule)).toEqual(['outside_term']);
  });
});
