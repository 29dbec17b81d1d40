/**
 * Versioned terms (issue 11), the pure part: which version is in force on a day, the hashes, the
 * terms a report uses, registry gaps, stale report dates, and each usage day audited under the
 * terms in force that day (a mid-month amendment).
 */
import { describe, expect, it } from 'vitest';
import type { Agreement } from '../../../functions/core/audit/agreements.ts';
import { audit } from '../../../functions/core/audit/rules.ts';
import {
  type AgreementVersion,
  agreementHash,
  inForce,
  type RegistryVersion,
  registryHash,
  termsFor,
  termsStaleDates,
} from '../../../functions/core/audit/terms.ts';
import { agreement, only, row } from './helpers.ts';

function version(
  a: Agreement,
  seq: number,
  effective_from: string | null,
  at: string | null = null,
): AgreementVersion {
  return {
    licensee: a.licensee,
    seq,
    effective_from,
    note: null,
    by: 'alice',
    at,
    hash: agreementHash(a),
    agreement: a,
  };
}

function registryVersion(categories: string[], seq: number, effective_from: string | null): RegistryVersion {
  const registry = Object.fromEntries(categories.map((c) => [c, { cidrs: [], organisations: [] }]));
  return { seq, effective_from, note: null, by: 'alice', at: null, hash: registryHash(registry), registry };
}

/** The findings of D under these versions. */
function auditUnder(date: string, versions: AgreementVersion[], usage: ReturnType<typeof row>[]) {
  const terms = termsFor(date, versions, []);
  return audit({ reportDate: date, agreements: terms.agreements, usage, termsOn: terms.termsOn });
}

describe('inForce', () => {
  const v = (seq: number, from: string | null) => version(agreement({ name: `v${seq}` }), seq, from);
  const series = [v(1, null), v(2, '2026-11-15'), v(3, '2026-12-01'), v(4, '2026-11-15')];

  it('is the version with the latest effective date on or before the day; a later load of the same date wins', () => {
    expect(inForce(series, '2026-11-14')?.seq).toBe(1);
    expect(inForce(series, '2026-11-15')?.seq).toBe(4);
    expect(inForce(series, '2026-11-30')?.seq).toBe(4);
    expect(inForce(series, '2026-12-01')?.seq).toBe(3);
    expect(inForce(series, '1999-01-01')?.seq).toBe(1);
  });

  it('nothing is in force before the first effective date (no version from the beginning)', () => {
    expect(inForce([v(1, '2026-11-10')], '2026-11-09')).toBeUndefined();
    expect(inForce([v(1, '2026-11-10')], '2026-11-10')?.seq).toBe(1);
  });
});

describe('hashes', () => {
  it('hash the content only: same terms, same hash, whatever the key order; other terms, another hash', () => {
    const a = agreement({ quotas: { monthly_records: 10, daily_records: 5 } });
    const reordered = { ...a, quotas: { daily_records: 5, monthly_records: 10 } };
    expect(agreementHash(reordered)).toBe(agreementHash(a));
    expect(agreementHash(agreement({ quotas: { monthly_records: 11, daily_records: 5 } }))).not.toBe(
      agreementHash(a),
    );
    expect(agreementHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(registryHash({ g: { cidrs: ['10.0.0.0/8', '1.2.3.4'], organisations: [] } })).toBe(
      registryHash({ g: { cidrs: ['1.2.3.4', '10.0.0.0/8'], organisations: [] } }),
    );
  });
});

describe('termsFor', () => {
  const v1 = version(agreement({ prohibited_recipients: ['government'] }), 1, null);
  const v2 = version(agreement({ prohibited_recipients: ['government', 'data-broker'] }), 2, '2026-11-10');
  const r1 = registryVersion(['government'], 1, null);
  const r2 = registryVersion(['government', 'data-broker'], 2, '2026-11-20');

  it('names every version in force in W with the days it governed, and the agreement on D', () => {
    const t = termsFor('2026-11-25', [v2, v1], [r1, r2]);
    expect(t.agreements).toEqual([v2.agreement]);
    expect(t.used).toEqual({
      agreements: [
        {
          licensee: 'acme',
          seq: 1,
          effective_from: null,
          hash: v1.hash,
          first_day: '2026-11-01',
          last_day: '2026-11-09',
        },
        {
          licensee: 'acme',
          seq: 2,
          effective_from: '2026-11-10',
          hash: v2.hash,
          first_day: '2026-11-10',
          last_day: '2026-11-25',
        },
      ],
      registry: [
        { seq: 1, effective_from: null, hash: r1.hash, first_day: '2026-11-01', last_day: '2026-11-19' },
        {
          seq: 2,
          effective_from: '2026-11-20',
          hash: r2.hash,
          first_day: '2026-11-20',
          last_day: '2026-11-25',
        },
      ],
    });
    expect(t.termsOn('acme', '2026-11-09')).toBe(v1.agreement);
    expect(t.termsOn('acme', '2026-11-10')).toBe(v2.agreement);
  });

  it('registry gaps: a prohibited category the registry in force lacked, with the days', () => {
    expect(termsFor('2026-11-25', [v1, v2], [r1, r2]).registryGaps).toEqual([
      {
        licensee: 'acme',
        category: 'data-broker',
        first_day: '2026-11-10',
        last_day: '2026-11-19',
        days: 10,
      },
    ]);
    expect(termsFor('2026-11-05', [v1, v2], [r1, r2]).registryGaps).toEqual([]);
    // No registry at all: every prohibited category is a gap.
    expect(termsFor('2026-11-02', [v1], []).registryGaps).toEqual([
      { licensee: 'acme', category: 'government', first_day: '2026-11-01', last_day: '2026-11-02', days: 2 },
    ]);
  });

  it('a licensee whose first version starts after D has no agreement on D', () => {
    const late = version(agreement(), 1, '2026-11-20');
    expect(termsFor('2026-11-19', [late], []).agreements).toEqual([]);
    expect(termsFor('2026-11-20', [late], []).agreements).toEqual([late.agreement]);
  });
});

describe('termsStaleDates', () => {
  it('a report is stale when a version in force in its window was loaded after it was written', () => {
    const old = version(agreement(), 1, null, '2026-11-01T00:00:00.000Z');
    const amended = version(
      agreement({ quotas: { daily_records: 1 } }),
      2,
      '2026-11-15',
      '2026-11-28T12:00:00.000Z',
    );
    const written = new Map([
      ['2026-11-14', '2026-11-15T02:00:00.000Z'],
      ['2026-11-15', '2026-11-16T02:00:00.000Z'],
      ['2026-11-27', '2026-11-28T02:00:00.000Z'],
      ['2026-11-28', '2026-11-29T02:00:00.000Z'],
    ]);
    // 2026-11-14 ends before the amendment; 2026-11-28 was written after it was loaded.
    expect(termsStaleDates(written, [old, amended], [])).toEqual(['2026-11-15', '2026-11-27']);
    expect(termsStaleDates(written, [old], [])).toEqual([]);
  });
});

describe('each usage day under the terms in force that day (a mid-month amendment)', () => {
  const before = agreement({
    quotas: { monthly_records: 1000, daily_records: 100 },
    paid_through: '2026-11-05',
    rate: { per_1000_records: 1, currency: 'USD' },
  });
  const after = agreement({
    quotas: { monthly_records: 2000, daily_records: 300 },
    paid_through: '2026-11-05',
    rate: { per_1000_records: 2, currency: 'USD' },
  });
  const versions = [version(before, 1, null), version(after, 2, '2026-11-15')];
  const usage = [
    row('a1', '2026-11-10', { records: 200 }),
    row('a1', '2026-11-20', { records: 200 }),
    row('a1', '2026-11-21', { records: 1200 }),
  ];

  it('the daily quota of each day is that of its terms', () => {
    const daily = only(auditUnder('2026-11-21', versions, usage), 'quota_exceeded', 'daily_records');
    // 200 on the 10th is over 100 (the old quota); 200 on the 20th is not over 300 (the new one).
    expect(daily.map((f) => [f.period_start, f.observed, f.limit])).toEqual([
      ['2026-11-10', 200, 100],
      ['2026-11-21', 1200, 300],
    ]);
  });

  it('the monthly quota is that of the terms in force on the report date', () => {
    const monthly = (d: string) =>
      only(auditUnder(d, versions, usage), 'quota_exceeded', 'monthly_records').map((f) => [
        f.observed,
        f.limit,
      ]);
    expect(monthly('2026-11-21')).toEqual([]); // 1600 ≤ 2000, the amended quota
    expect(monthly('2026-11-14')).toEqual([]);
    // Under the old terms alone, 1600 would be over 1000.
    expect(
      only(auditUnder('2026-11-21', [version(before, 1, null)], usage), 'quota_exceeded', 'monthly_records'),
    ).toHaveLength(1);
  });

  it('unpaid usage is valued at each day’s rate, each rate’s part rounded, then summed', () => {
    const [unpaid] = only(auditUnder('2026-11-21', versions, usage), 'unpaid_usage');
    // 200 records at 1 USD / 1000 before the 15th, 1400 at 2 USD / 1000 after.
    expect(unpaid?.amount_owed).toBe(0.2 + 2.8);
    expect(unpaid?.currency).toBe('USD');
    expect(unpaid?.detail).toContain('200 records / 1000 × USD 1 + 1,400 records / 1000 × USD 2 = USD 3.00');
  });

  it('prohibited categories, use cases and covered apps follow the day’s terms', () => {
    const cat = { government: { requests: 1, records: 0 } };
    const v1 = agreement({ prohibited_recipients: [], apps: [{ id: 'a1', use_case: null }] });
    const v2 = agreement({ prohibited_recipients: ['government'], apps: [{ id: 'a1', use_case: 'search' }] });
    const found = auditUnder(
      '2026-11-21',
      [version(v1, 1, null), version(v2, 2, '2026-11-15')],
      [
        row('a1', '2026-11-10', { requests: 3, categories: cat }),
        row('a1', '2026-11-20', { requests: 5, categories: cat }),
        row('a2', '2026-11-20', { requests: 7 }),
      ],
    );
    // Government requests count only from the 15th; the use case was undeclared only before it.
    expect(only(found, 'prohibited_recipient').map((f) => f.observed)).toEqual([1]);
    expect(only(found, 'undeclared_use_case').map((f) => [f.subject, f.observed])).toEqual([['a1', 3]]);
    expect(only(found, 'unknown_app').map((f) => f.subject)).toEqual(['a2']);
    // An app dropped from the terms on the 15th is an unknown app from then on.
    const dropped = auditUnder(
      '2026-11-21',
      [version(v1, 1, null), version(agreement({ apps: [{ id: 'a9', use_case: 'x' }] }), 2, '2026-11-15')],
      [row('a1', '2026-11-10', { requests: 3 }), row('a1', '2026-11-20', { requests: 5 })],
    );
    expect(only(dropped, 'unknown_app').map((f) => [f.subject, f.observed])).toEqual([['a1', 5]]);
  });

  it('with one version the findings are those of the plain audit, byte for byte', () => {
    const plain = audit({ reportDate: '2026-11-21', agreements: [before], usage });
    expect(auditUnder('2026-11-21', [version(before, 0, null)], usage)).toEqual(plain);
  });
});
