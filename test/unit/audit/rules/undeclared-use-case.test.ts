import { describe, expect, it } from 'vitest';
import { agreement, row, run } from '../helpers.ts';

describe('undeclared_use_case', () => {
  it('flags each covered app used without a use case, with its requests', () => {
    const a = agreement({
      apps: [
        { id: 'a1', use_case: 'search' },
        { id: 'a3', use_case: null },
        { id: 'a4', use_case: null },
      ],
    });
    const usage = [
      row('a1', '2026-03-01', { requests: 9 }),
      row('a3', '2026-03-01', { requests: 4, records: 40 }),
      row('a3', '2026-03-02', { requests: 3 }),
    ];
    const fs = run('2026-03-02', [a], usage);
    expect(fs.map((f) => [f.rule, f.subject, f.severity, f.metric, f.observed])).toEqual([
      ['undeclared_use_case', 'a3', 'medium', 'requests', 7],
    ]);
    expect(fs[0]?.apps).toEqual([{ app_id: 'a3', value: 7, share: 1 }]);
  });
});
