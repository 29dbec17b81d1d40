import { describe, expect, it } from 'vitest';
import type { RecipientsRegistry } from '../../../../functions/core/types.ts';
import { agreement, only, rowsFromRequests, run } from '../helpers.ts';

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

  it('excuses an approved organisation however the log spells it (case, NBSP, full-width, extra spaces)', () => {
    const spelled = agreement({
      prohibited_recipients: ['government'],
      approved_organisations: ['Dept of  Examples'],
    });
    const reg: RecipientsRegistry = {
      government: { cidrs: ['198.51.100.0/24'], organisations: ['dept of examples'] },
    };
    const usage = rowsFromRequests(reg, [
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.23', org: 'DEPT OF EXAMPLES', records: 10 },
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.23', org: 'dept\u00a0of examples ', records: 10 },
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.23', org: '\uff24ept of examples', records: 10 },
      { app: 'a1', day: '2026-03-01', ip: '198.51.100.24', org: 'someone-else', records: 3 },
    ]);
    const fs = only(run('2026-03-01', [spelled], usage), 'prohibited_recipient');
    expect(fs).toHaveLength(1);
    expect(fs[0]?.observed).toBe(1);
    expect(fs[0]?.detail).toMatch(/3 request\(s\) for approved organisations not counted/);
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

  it('excuses an approved organisation that the bound across objects folds into (other organisations)', () => {
    // Object A: 1,000 unapproved organisations × 2 requests (the bound per category); object B: one
    // request of the approved organisation, which the merged row folds into "(other organisations)".
    const reqsA = [];
    for (let i = 0; i < 1000; i++)
      for (let k = 0; k < 2; k++)
        reqsA.push({ app: 'a1', day: '2026-03-02', ip: '198.51.100.1', org: `org-${i}` });
    const rowsA = rowsFromRequests(registry, reqsA).map((r) => ({
      ...r,
      sources: [{ key: 'logs/a', gen: '1' }],
    }));
    const rowsB = rowsFromRequests(registry, [
      { app: 'a1', day: '2026-03-02', ip: '198.51.100.1', org: 'dept-of-examples' },
    ]).map((r) => ({ ...r, sources: [{ key: 'logs/b', gen: '1' }] }));
    for (const usage of [
      [...rowsA, ...rowsB],
      [...rowsB, ...rowsA],
    ]) {
      const fs = only(run('2026-03-02', [a], usage), 'prohibited_recipient');
      expect(fs).toHaveLength(1);
      expect(fs[0]?.observed).toBe(2000);
      expect(fs[0]?.detail).toContain('1 request(s) for approved organisations not counted');
      expect(fs[0]?.evidence.sources.map((s) => s.key)).toEqual(['logs/a']);
    }
    // Object B alone is fully excused.
    expect(only(run('2026-03-02', [a], rowsB), 'prohibited_recipient')).toHaveLength(0);
  });
});
