import { describe, expect, it } from 'vitest';
import type { Agreement } from '../../../functions/core/audit/agreements.ts';
import { amountCents } from '../../../functions/core/audit/format.ts';
import { type AuditUsageRow, audit, type Finding } from '../../../functions/core/audit/rules.ts';
import type { RecipientsRegistry } from '../../../functions/core/types.ts';
import { agreement, row, rowsFromRequests } from './helpers.ts';

const run = (reportDate: string, agreements: Agreement[], usage: AuditUsageRow[]) =>
  audit({ reportDate, agreements, usage });
const only = (fs: Finding[], rule: string, metric?: string) =>
  fs.filter((f) => f.rule === rule && (metric === undefined || f.metric === metric));

describe('quota_exceeded', () => {
  const quota = (q: Agreement['quotas']) => agreement({ quotas: q });

  it('monthly records: exactly at the quota does not fire, one over does', () => {
    const at = [row('a1', '2026-03-01', { records: 600 }), row('a2', '2026-03-02', { records: 400 })];
    expect(run('2026-03-02', [quota({ monthly_records: 1000 })], at)).toEqual([]);
    const over = [row('a1', '2026-03-01', { records: 600 }), row('a2', '2026-03-02', { records: 401 })];
    const [f, ...rest] = run('2026-03-02', [quota({ monthly_records: 1000 })], over);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      report_date: '2026-03-02',
      licensee: 'acme',
      rule: 'quota_exceeded',
      metric: 'monthly_records',
      subject: null,
      period_start: '2026-03-01',
      period_end: '2026-03-02',
      observed: 1001,
      limit: 1000,
      excess: 1,
      severity: 'medium',
      amount_owed: null,
      currency: null,
      apps: [
        { app_id: 'a1', value: 600, share: 0.5994 },
        { app_id: 'a2', value: 401, share: 0.4006 },
      ],
      evidence: {
        sources: [
          { key: 'logs/a1/2026-03-01.jsonl', gen: 'g1' },
          { key: 'logs/a2/2026-03-02.jsonl', gen: 'g1' },
        ],
      },
    });
    expect(f?.finding_id).toMatch(/^[0-9a-f]{20}$/);
  });

  it('severity: an excess of exactly 10% of the limit is medium, above it high', () => {
    const sev = (records: number) =>
      run('2026-03-05', [quota({ monthly_records: 1000 })], [row('a1', '2026-03-05', { records })])[0]
        ?.severity;
    expect(sev(1100)).toBe('medium');
    expect(sev(1101)).toBe('high');
    expect(sev(1001)).toBe('medium');
  });

  it('monthly requests are counted over W only (days before the month and after D are ignored)', () => {
    const usage = [
      row('a1', '2026-02-28', { requests: 1000 }),
      row('a1', '2026-03-01', { requests: 5 }),
      row('a2', '2026-03-03', { requests: 6 }),
      row('a2', '2026-03-04', { requests: 1000 }),
    ];
    const fs = run('2026-03-03', [quota({ monthly_requests: 10 })], usage);
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      metric: 'monthly_requests',
      observed: 11,
      limit: 10,
      excess: 1,
      severity: 'medium',
    });
    expect(fs[0]?.apps).toEqual([
      { app_id: 'a2', value: 6, share: 0.5455 },
      { app_id: 'a1', value: 5, share: 0.4545 },
    ]);
  });

  it('daily records: one finding per day over the quota, summed over the apps; at the quota none', () => {
    const usage = [
      row('a1', '2026-03-01', { records: 300 }),
      row('a2', '2026-03-01', { records: 200 }), // 500: at the quota
      row('a1', '2026-03-02', { records: 501 }), // over by 1
      row('a1', '2026-03-03', { records: 100 }),
      row('a2', '2026-03-03', { records: 600 }), // over by 200 (40%)
    ];
    const fs = run('2026-03-03', [quota({ daily_records: 500 })], usage);
    expect(fs.map((f) => [f.metric, f.period_start, f.period_end, f.observed, f.excess, f.severity])).toEqual(
      [
        ['daily_records', '2026-03-02', '2026-03-02', 501, 1, 'medium'],
        ['daily_records', '2026-03-03', '2026-03-03', 700, 200, 'high'],
      ],
    );
    expect(fs[1]?.apps).toEqual([
      { app_id: 'a2', value: 600, share: 0.8571 },
      { app_id: 'a1', value: 100, share: 0.1429 },
    ]);
    expect(fs[1]?.evidence.sources.map((s) => s.key)).toEqual([
      'logs/a1/2026-03-03.jsonl',
      'logs/a2/2026-03-03.jsonl',
    ]);
    expect(fs[0]?.finding_id).not.toBe(fs[1]?.finding_id);
  });

  it('on the first day of a month W is that one day', () => {
    const usage = [row('a1', '2026-02-28', { records: 900 }), row('a1', '2026-03-01', { records: 101 })];
    const fs = run('2026-03-01', [quota({ monthly_records: 100, daily_records: 100 })], usage);
    expect(fs.map((f) => [f.metric, f.period_start, f.period_end, f.observed])).toEqual([
      ['daily_records', '2026-03-01', '2026-03-01', 101],
      ['monthly_records', '2026-03-01', '2026-03-01', 101],
    ]);
  });

  it('sums several rows (objects) of one app and day, with the union of their sources', () => {
    const usage = [
      row('a1', '2026-03-01', { records: 60, sources: [{ key: 'logs/b.jsonl', gen: 'v2' }] }),
      row('a1', '2026-03-01', {
        records: 50,
        sources: [
          { key: 'logs/a.jsonl', gen: 'v1' },
          { key: 'logs/b.jsonl', gen: 'v2' },
        ],
      }),
    ];
    const [f] = run('2026-03-01', [quota({ monthly_records: 100 })], usage);
    expect(f?.observed).toBe(110);
    expect(f?.apps).toEqual([{ app_id: 'a1', value: 110, share: 1 }]);
    expect(f?.evidence.sources).toEqual([
      { key: 'logs/a.jsonl', gen: 'v1' },
      { key: 'logs/b.jsonl', gen: 'v2' },
    ]);
  });
});

describe('unpaid_usage', () => {
  const usage = [
    row('a1', '2026-03-01', { records: 1000 }),
    row('a2', '2026-03-02', { records: 2000 }),
    row('a1', '2026-03-03', { records: 4000 }),
  ];
  const paid = (paid_through: string | null | undefined) => {
    const a = agreement();
    if (paid_through !== undefined) a.paid_through = paid_through;
    return only(run('2026-03-03', [a], usage), 'unpaid_usage');
  };

  it('absent paid_through = fully paid: nothing', () => {
    expect(paid(undefined)).toEqual([]);
  });

  it('never paid (null): all of W', () => {
    const [f] = paid(null);
    expect(f).toMatchObject({
      severity: 'high',
      metric: 'records',
      period_start: '2026-03-01',
      period_end: '2026-03-03',
      observed: 7000,
      amount_owed: 5.25,
      currency: 'USD',
      limit: null,
      excess: null,
    });
    expect(f?.apps).toEqual([
      { app_id: 'a1', value: 5000, share: 0.7143 },
      { app_id: 'a2', value: 2000, share: 0.2857 },
    ]);
  });

  it('paid through the day before W starts: all of W', () => {
    expect(paid('2026-02-28')[0]).toMatchObject({
      period_start: '2026-03-01',
      observed: 7000,
      amount_owed: 5.25,
    });
    expect(paid('2025-12-31')[0]).toMatchObject({ period_start: '2026-03-01', observed: 7000 });
  });

  it('paid through a day inside W: only the days after it', () => {
    expect(paid('2026-03-01')[0]).toMatchObject({
      period_start: '2026-03-02',
      observed: 6000,
      amount_owed: 4.5,
    });
    expect(paid('2026-03-02')[0]).toMatchObject({
      period_start: '2026-03-03',
      period_end: '2026-03-03',
      observed: 4000,
      amount_owed: 3,
    });
  });

  it('paid through D (the last day of W) or later: nothing', () => {
    expect(paid('2026-03-03')).toEqual([]);
    expect(paid('2026-12-31')).toEqual([]);
  });

  it('an unpaid day without usage adds nothing; no usage after paid_through = no finding', () => {
    const a = agreement({ paid_through: '2026-03-01' });
    expect(only(run('2026-03-05', [a], [row('a1', '2026-03-01', { records: 10 })]), 'unpaid_usage')).toEqual(
      [],
    );
  });

  it('rounds half away from zero to cents, on exact integers', () => {
    const owed = (records: number, rate: number) => {
      const a = agreement({ paid_through: null, rate: { per_1000_records: rate, currency: 'EUR' } });
      return only(run('2026-03-01', [a], [row('a1', '2026-03-01', { records })]), 'unpaid_usage')[0]
        ?.amount_owed;
    };
    expect(owed(1, 5)).toBe(0.01); // 0.005 → 0.01
    expect(owed(1, 4.99)).toBe(0); // 0.00499 → 0.00
    expect(owed(1, 0.75)).toBe(0); // 0.00075
    expect(owed(7, 0.75)).toBe(0.01); // 0.00525
    expect(owed(3, 1.5)).toBe(0); // 0.0045
    expect(owed(100, 1.45)).toBe(0.15); // 0.145 exactly (a float product gives 0.14499…)
    expect(owed(1000, 0.005)).toBe(0.01); // 0.005
    expect(owed(2010, 0.5)).toBe(1.01); // 1.005 (float: 1.00499…)
    expect(owed(40_000_000, 0.75)).toBe(30000);
    expect(owed(0, 0.75)).toBe(0);
    expect(amountCents(Number.MAX_SAFE_INTEGER, 1.2)).toBe(1080863910568919n); // 9007199254740991 × 0.0012 = 10808639105689.1892 → cents
  });

  it('without a rate the amount and currency are null', () => {
    const a = agreement({ paid_through: null });
    delete a.rate;
    expect(only(run('2026-03-03', [a], usage), 'unpaid_usage')[0]).toMatchObject({
      amount_owed: null,
      currency: null,
      observed: 7000,
    });
  });
});

describe('prohibited_recipient', () => {
  const registry: RecipientsRegistry = {
    government: {
      cidrs: ['198.51.100.0/24', '2001:db8:a000::/36'],
      organisations: ['dept-of-examples', 'example-agency'],
    },
    'data-broker': { cidrs: ['192.0.2.128/25'], organisations: ['acme-brokerage'] },
  };
  const a = agreement({
    prohibited_recipients: ['government'],
    approved_organisations: ['dept-of-examples'],
  });

  it('counts requests from an IPv6 range of a prohibited category', () => {
    const usage = rowsFromRequests(registry, [
      { app: 'a1', day: '2026-03-02', ip: '2001:db8:a001::17', records: 500 }, // inside /36
      { app: 'a1', day: '2026-03-02', ip: '2001:db8:afff:ffff::1', records: 5 }, // last /36 block, inside
      { app: 'a1', day: '2026-03-02', ip: '2001:db8:b000::1', records: 7 }, // just outside
      { app: 'a2', day: '2026-03-03', ip: '203.0.113.7', records: 9 }, // no category
    ]);
    const fs = only(run('2026-03-03', [a], usage), 'prohibited_recipient');
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      subject: 'government',
      severity: 'critical',
      metric: 'requests',
      observed: 2,
      period_start: '2026-03-01',
      period_end: '2026-03-03',
      apps: [{ app_id: 'a1', value: 2, share: 1 }],
    });
    expect(fs[0]?.detail).toContain('505 records');
  });

  it('does not count an approved organisation calling from a prohibited range; counts an unapproved one', () => {
    const usage = rowsFromRequests(registry, [
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.23', org: 'dept-of-examples', records: 10 }, // approved: excused
      { app: 'a1', day: '2026-03-01', org: 'dept-of-examples', records: 10 }, // approved by org only: excused
      { app: 'a2', day: '2026-03-01', ip: '198.51.100.24', org: 'example-agency', records: 3 }, // unapproved
      { app: 'a2', day: '2026-03-02', ip: '198.51.100.25', records: 4 }, // range, no org
      { app: 'a1', day: '2026-03-02', ip: '198.51.100.26', org: 'unknown-org', records: 5 }, // range, unknown org
    ]);
    const fs = only(run('2026-03-02', [a], usage), 'prohibited_recipient');
    expect(fs).toHaveLength(1);
    expect(fs[0]?.observed).toBe(3);
    expect(fs[0]?.apps).toEqual([
      { app_id: 'a2', value: 2, share: 0.6667 },
      { app_id: 'a1', value: 1, share: 0.3333 },
    ]);
    expect(fs[0]?.detail).toMatch(/12 records/);
    expect(fs[0]?.detail).toMatch(/2 request\(s\) for approved organisations not counted/);
  });

  it('no finding when every request of the category is for an approved organisation, or the category is allowed', () => {
    const usage = rowsFromRequests(registry, [
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.1', org: 'dept-of-examples' },
      { app: 'a1', day: '2026-03-01', ip: '192.0.2.200' }, // data-broker, not prohibited for acme
    ]);
    expect(only(run('2026-03-01', [a], usage), 'prohibited_recipient')).toEqual([]);
  });

  it('one finding per prohibited category, with evidence from the rows that count', () => {
    const both = agreement({ prohibited_recipients: ['government', 'data-broker'] });
    const usage = rowsFromRequests(registry, [
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.1', source: { key: 'logs/1', gen: 'x' } },
      { app: 'a2', day: '2026-03-01', ip: '192.0.2.130', source: { key: 'logs/2', gen: 'y' } },
    ]);
    const fs = only(run('2026-03-01', [both], usage), 'prohibited_recipient');
    expect(fs.map((f) => [f.subject, f.observed, f.evidence.sources])).toEqual([
      ['data-broker', 1, [{ key: 'logs/2', gen: 'y' }]],
      ['government', 1, [{ key: 'logs/1', gen: 'x' }]],
    ]);
  });
});

describe('undeclared_use_case, unauthorized_endpoint', () => {
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
});

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
