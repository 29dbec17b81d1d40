import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  appConflicts,
  cidrProblem,
  parseAgreementsFile,
  parseRecipientsFile,
} from '../../../functions/core/audit/agreements.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');

function errorsOf(r: { ok: true } | { ok: false; errors: string[] }): string[] {
  if (r.ok) throw new Error('expected the file to be refused');
  return r.errors;
}

const ONE = `licensee: solo
apps: [s1]
term: { start: 2026-01-01, end: 2026-12-31 }
`;

describe('parseAgreementsFile', () => {
  it('parses the example agreements with normalised apps and unquoted YAML dates as strings', () => {
    const r = parseAgreementsFile(fixture('agreements.yaml'), 'agreements.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.agreements.map((a) => a.licensee)).toEqual(['northwind', 'fabrikam']);
    const [nw, fab] = r.agreements;
    expect(nw?.apps).toHaveLength(8);
    expect(nw?.apps[0]).toEqual({ id: 'nw-search', use_case: 'web search ranking signals' });
    expect(nw?.apps[2]).toEqual({ id: 'nw-insights', use_case: null });
    expect(nw?.term).toEqual({ start: '2026-01-01', end: '2026-12-31' });
    expect(typeof nw?.term.start).toBe('string');
    expect(nw?.paid_through).toBe('2026-11-15');
    expect(nw?.quotas).toEqual({
      monthly_records: 40_000_000,
      monthly_requests: 1_500_000,
      daily_records: 2_000_000,
    });
    expect(nw?.endpoints).toHaveLength(5);
    expect(nw?.prohibited_recipients).toEqual(['government']);
    expect(nw?.approved_organisations).toEqual(['dept-of-examples']);
    expect(nw?.rate).toEqual({ per_1000_records: 0.75, currency: 'USD' });
    // null = never paid (key present), absent endpoints = all allowed.
    expect(fab && 'paid_through' in fab).toBe(true);
    expect(fab?.paid_through).toBeNull();
    expect(fab?.endpoints).toBeUndefined();
    expect(fab?.rate).toEqual({ per_1000_records: 1.2, currency: 'USD' });
  });

  it('distinguishes paid_through absent (fully paid), null (never paid) and a date', () => {
    const absent = parseAgreementsFile(ONE, 'a.yaml');
    const nul = parseAgreementsFile(`${ONE}paid_through: null\n`, 'a.yaml');
    const tilde = parseAgreementsFile(`${ONE}paid_through: ~\n`, 'a.yaml');
    const date = parseAgreementsFile(`${ONE}paid_through: 2026-03-31\n`, 'a.yaml');
    if (!absent.ok || !nul.ok || !tilde.ok || !date.ok) throw new Error('expected valid');
    expect('paid_through' in (absent.agreements[0] ?? {})).toBe(false);
    expect(nul.agreements[0]?.paid_through).toBeNull();
    expect(tilde.agreements[0]?.paid_through).toBeNull();
    expect(date.agreements[0]?.paid_through).toBe('2026-03-31');
    // JSON round trip keeps the distinction.
    expect(JSON.parse(JSON.stringify(absent.agreements[0])).paid_through).toBeUndefined();
    expect(JSON.parse(JSON.stringify(nul.agreements[0])).paid_through).toBeNull();
  });

  it('keeps unquoted YAML dates as strings under the core schema, even with a %YAML 1.1 directive', () => {
    const r = parseAgreementsFile(`%YAML 1.1\n---\n${ONE}paid_through: 2026-02-01\n`, 'a.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.agreements[0]?.term.start).toBe('2026-01-01');
    expect(r.agreements[0]?.paid_through).toBe('2026-02-01');
  });

  it('reads an explicit !!timestamp at midnight UTC as its date, and refuses any other time', () => {
    const r = parseAgreementsFile(`${ONE}paid_through: !!timestamp 2026-02-01\n`, 'a.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.agreements[0]?.paid_through).toBe('2026-02-01');
    const t = parseAgreementsFile(`${ONE}paid_through: !!timestamp 2026-02-01T10:00:00Z\n`, 'a.yaml');
    expect(errorsOf(t)[0]).toMatch(/^paid_through: expected a date YYYY-MM-DD or null, got a timestamp/);
    // An unknown tag is an error, not silently a string.
    expect(errorsOf(parseAgreementsFile(`${ONE}name: !!binary aGVsbG8=\n`, 'a.yaml')).length).toBeGreaterThan(
      0,
    );
  });

  it('accepts JSON, one agreement or a list', () => {
    const single = {
      licensee: 'j',
      apps: ['j1', { id: 'j2', use_case: 'x' }],
      term: { start: '2026-01-01', end: '2026-01-31' },
    };
    const r1 = parseAgreementsFile(JSON.stringify(single), 'a.json');
    const r2 = parseAgreementsFile(JSON.stringify([single]), 'a.json');
    if (!r1.ok || !r2.ok) throw new Error('expected valid');
    expect(r1.agreements).toEqual(r2.agreements);
    expect(r1.agreements[0]?.name).toBe('j');
    expect(r1.agreements[0]?.apps).toEqual([
      { id: 'j1', use_case: null },
      { id: 'j2', use_case: 'x' },
    ]);
  });

  it('reports every error of an invalid list at once, each with its path', () => {
    const text = `
- licensee: North Wind
  apps: [ok-app, "bad app", { id: x, use_case: 5 }, 7]
  term: { start: 2026-02-30, end: 2026-13-01 }
  paid_through: yesterday
  quotas: { monthly_records: -5, daily_records: 1.5, monthly_record: 3, monthly_requests: "100" }
  rate: { per_1000_records: -1, currency: usd }
  endpoints: GET /x
  extra: 1
- licensee: ok
  apps: [y]
  term: { start: 2026-05-01, end: 2026-04-01 }
- name: nameless
`;
    const errors = errorsOf(parseAgreementsFile(text, 'bad.yaml'));
    const paths = errors.map((e) => e.slice(0, e.indexOf(': ')));
    expect(paths).toEqual(
      expect.arrayContaining([
        '[0].licensee',
        '[0].apps[1]',
        '[0].apps[2].use_case',
        '[0].apps[3]',
        '[0].term.start',
        '[0].term.end',
        '[0].paid_through',
        '[0].quotas.monthly_records',
        '[0].quotas.daily_records',
        '[0].quotas.monthly_requests',
        '[0].quotas.monthly_record',
        '[0].rate.per_1000_records',
        '[0].rate.currency',
        '[0].endpoints',
        '[0].extra',
        '[1].term.end',
        '[2].licensee',
        '[2].apps',
        '[2].term',
      ]),
    );
    expect(errors).toContain('[0].quotas.monthly_records: expected a non-negative integer, got -5');
    expect(errors).toContain('[0].quotas.monthly_requests: expected a non-negative integer, got "100"');
    expect(errors).toContain('[0].term.start: expected a date YYYY-MM-DD, got "2026-02-30"');
    expect(errors).toContain('[0].apps[1]: expected an app id ([A-Za-z0-9._:-]{1,128}), got "bad app"');
    expect(errors).toContain('[0].quotas.monthly_record: unknown field');
    expect(errors).toContain('[1].term.end: 2026-04-01 is before term.start 2026-05-01');
    expect(errors).toContain('[2].licensee: required');
  });

  it('names the paths of a single (non-list) agreement without an index', () => {
    const errors = errorsOf(
      parseAgreementsFile(`${ONE}quotas: { monthly_records: 1.5 }\napps_extra: 1\n`, 'one.yaml'),
    );
    expect(errors).toEqual([
      'quotas.monthly_records: expected a non-negative integer, got 1.5',
      'apps_extra: unknown field',
    ]);
  });

  it('checks dates are real and the licensee and app ids match their patterns', () => {
    const bad = (field: string) =>
      errorsOf(
        parseAgreementsFile(
          `licensee: x\napps: [a]\nterm: { start: 2026-01-01, end: 2026-01-02 }\n${field}\n`,
          'f',
        ),
      );
    expect(bad('paid_through: 2025-02-29')[0]).toMatch(/^paid_through: expected a date/);
    expect(parseAgreementsFile(`${ONE}paid_through: 2028-02-29\n`, 'f').ok).toBe(true);
    expect(errorsOf(parseAgreementsFile(ONE.replace('solo', '-solo'), 'f'))[0]).toMatch(
      /^licensee: expected a licensee id/,
    );
    expect(errorsOf(parseAgreementsFile(ONE.replace('solo', 'a'.repeat(64)), 'f'))[0]).toMatch(/^licensee:/);
    expect(parseAgreementsFile(ONE.replace('solo', 'a'.repeat(63)), 'f').ok).toBe(true);
    expect(errorsOf(parseAgreementsFile(ONE.replace('[s1]', `[${'x'.repeat(129)}]`), 'f'))[0]).toMatch(
      /^apps\[0\]: expected an app id/,
    );
    expect(parseAgreementsFile(ONE.replace('[s1]', '["App.v2:prod_1-x"]'), 'f').ok).toBe(true);
  });

  it('refuses a duplicate licensee and the same app in two agreements of one file', () => {
    const text = `
- { licensee: a, apps: [x1, x2], term: { start: 2026-01-01, end: 2026-12-31 } }
- { licensee: b, apps: [x3, x2], term: { start: 2026-01-01, end: 2026-12-31 } }
- { licensee: a, apps: [x4, x4], term: { start: 2026-01-01, end: 2026-12-31 } }
`;
    const errors = errorsOf(parseAgreementsFile(text, 'dup.yaml'));
    expect(errors).toEqual([
      '[1].apps[1]: app "x2" is already covered by licensee "a" at [0].apps[1]',
      '[2].licensee: duplicate licensee "a" (also at [0])',
      '[2].apps[1]: app "x4" is listed twice (also at [2].apps[0])',
    ]);
  });

  it('refuses duplicate YAML keys (also in JSON), syntax errors and several documents, with positions', () => {
    expect(errorsOf(parseAgreementsFile(`${ONE}licensee: again\n`, 'a.yaml'))).toEqual([
      'a.yaml:4:1: Map keys must be unique',
    ]);
    expect(errorsOf(parseAgreementsFile('{"licensee":"a","licensee":"b"}', 'a.json'))[0]).toMatch(
      /^a\.json:1:\d+: Map keys must be unique/,
    );
    expect(errorsOf(parseAgreementsFile('apps: [1, 2\n', 'a.yaml'))[0]).toMatch(/^a\.yaml:\d+:\d+: /);
    expect(errorsOf(parseAgreementsFile(`${ONE}---\n${ONE}`, 'a.yaml'))[0]).toMatch(/multiple documents/);
  });

  it('refuses an empty file, an empty list and a scalar', () => {
    expect(errorsOf(parseAgreementsFile('', 'a.yaml'))).toEqual([
      '(root): expected an agreement or a list of agreements, got null',
    ]);
    expect(errorsOf(parseAgreementsFile('[]', 'a.yaml'))).toEqual([
      '(root): expected at least one agreement',
    ]);
    expect(errorsOf(parseAgreementsFile('42', 'a.yaml'))[0]).toMatch(/^\(root\)/);
    expect(errorsOf(parseAgreementsFile('[1]', 'a.yaml'))[0]).toMatch(/^\[0\]: expected a mapping/);
  });

  it('treats an empty or blank use case as undeclared and dedupes lists', () => {
    const r = parseAgreementsFile(
      `${ONE.replace('[s1]', '[{ id: s1, use_case: "  " }, { id: s2, use_case: null }, { id: s3 }]')}endpoints: [GET /a, GET /a]\n`,
      'f',
    );
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.agreements[0]?.apps.map((a) => a.use_case)).toEqual([null, null, null]);
    expect(r.agreements[0]?.endpoints).toEqual(['GET /a']);
  });

  it('refuses quotas beyond 2^53 - 1', () => {
    const errors = errorsOf(
      parseAgreementsFile(`${ONE}quotas: { monthly_records: 12345678901234567890 }\n`, 'f'),
    );
    expect(errors[0]).toMatch(/^quotas\.monthly_records: expected a non-negative integer/);
  });
});

describe('appConflicts', () => {
  it('finds apps already covered by another stored licensee, not by the one being replaced', () => {
    const parse = (t: string) => {
      const r = parseAgreementsFile(t, 'f');
      if (!r.ok) throw new Error(r.errors.join('\n'));
      return r.agreements;
    };
    const stored = parse(
      '[{ licensee: a, apps: [x1], term: { start: 2026-01-01, end: 2026-12-31 } }, { licensee: b, apps: [x2], term: { start: 2026-01-01, end: 2026-12-31 } }]',
    );
    const incoming = parse('{ licensee: a, apps: [x1, x2], term: { start: 2026-01-01, end: 2026-12-31 } }');
    expect(appConflicts(stored, incoming)).toEqual(['a: app "x2" is already covered by stored licensee "b"']);
  });
});

describe('parseRecipientsFile', () => {
  it('parses the example registry (IPv4 and IPv6 ranges) and it compiles', () => {
    const r = parseRecipientsFile(fixture('audit-recipients.yaml'), 'recipients.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.registry).toEqual({
      government: {
        cidrs: ['198.51.100.0/24', '2001:db8:a000::/36'],
        organisations: ['dept-of-examples', 'example-agency'],
      },
      'data-broker': { cidrs: ['192.0.2.128/25'], organisations: ['acme-brokerage'] },
    });
    const m = compileRegistry(r.registry);
    expect(m.categoriesFor('2001:db8:a001::17', undefined)).toEqual(['government']);
  });

  it('defaults missing lists to [] and reports every invalid CIDR with its path', () => {
    const ok = parseRecipientsFile('gov:\n  organisations: [o]\nbrokers: {}\nempty:\n', 'r.yaml');
    if (!ok.ok) throw new Error(ok.errors.join('\n'));
    expect(ok.registry).toEqual({
      gov: { cidrs: [], organisations: ['o'] },
      brokers: { cidrs: [], organisations: [] },
      empty: { cidrs: [], organisations: [] },
    });
    const errors = errorsOf(
      parseRecipientsFile(
        'government:\n  cidrs: [1.2.3.0/24, 300.1.1.1/8, "2001:db8::/129", 10.1/8, "fe80::1%eth0/64", "10.0.0.0/33", 7]\n  organisations: [x, ""]\n  colour: red\n"bad name": {}\nother: 5\n',
        'r.yaml',
      ),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        'government.cidrs[1]: invalid CIDR "300.1.1.1/8" (bad IPv4 address)',
        'government.cidrs[2]: invalid CIDR "2001:db8::/129" (prefix length over 128)',
        'government.cidrs[3]: invalid CIDR "10.1/8" (bad IPv4 address)',
        'government.cidrs[4]: invalid CIDR "fe80::1%eth0/64" (bad IPv6 address)',
        'government.cidrs[5]: invalid CIDR "10.0.0.0/33" (prefix length over 32)',
        'government.cidrs[6]: expected a CIDR string, got 7',
        'government.organisations[1]: expected a non-empty string, got ""',
        'government.colour: unknown field',
        'other: expected a mapping (cidrs, organisations), got 5',
      ]),
    );
    expect(errors.some((e) => e.startsWith('["bad name"]: expected a recipient category name'))).toBe(true);
    expect(errors).toHaveLength(10);
  });

  it('accepts what the ingest matcher compiles', () => {
    for (const c of [
      '0.0.0.0/0',
      '::/0',
      '10.0.0.1',
      '2001:db8::1',
      '::ffff:192.0.2.0/120',
      '192.0.2.1/32',
    ]) {
      expect(cidrProblem(c)).toBeUndefined();
      expect(() => compileRegistry({ x: { cidrs: [c], organisations: [] } })).not.toThrow();
    }
  });

  it('refuses a list at the top', () => {
    expect(errorsOf(parseRecipientsFile('- a\n', 'r.yaml'))).toEqual([
      '(root): expected a mapping of recipient categories, got a list',
    ]);
  });
});
