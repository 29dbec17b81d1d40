/**
 * Issue 8 #1: what `auditor recipients load` / `auditor agreements load` accept must be what the
 * functions downstream accept. The registry loader validates CIDRs with the parser the ingest
 * matcher compiles with (core/recipients.ts parseCidr), so a registry line can no longer load and
 * then send every log object to the dead-letter queue. The parsers never throw: every outcome is
 * their result type.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storeRecipients } from '../../../functions/audit/load-agreements.ts';
import {
  cidrProblem,
  parseAgreementsFile,
  parseRecipientsFile,
} from '../../../functions/core/audit/agreements.ts';
import { audit } from '../../../functions/core/audit/rules.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import { FakeControl } from '../../support/fakes.ts';
import { row } from './helpers.ts';

/** Calls `f`; fails the test with the input when it throws. */
function noThrow<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}

const compiles = (cidr: string): boolean => {
  try {
    compileRegistry({ c: { cidrs: [cidr], organisations: [] } });
    return true;
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// Near-valid CIDRs: leading zeros, mapped/NAT64 forms, zone ids, prefix lengths out of range,
// whitespace, odd digits.

const octet = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`),
  fc.integer({ min: 256, max: 999 }).map(String),
  fc.constantFrom('0x1', '', '1e1', '٣', '１'),
);
const ipv4 = fc.array(octet, { minLength: 3, maxLength: 5 }).map((o) => o.join('.'));
const group = fc.oneof(
  fc.nat(0xffff).map((n) => n.toString(16)),
  fc.nat(0xffff).map((n) => n.toString(16).toUpperCase().padStart(5, '0')),
  fc.constantFrom('', 'g', 'ffff', 'FFFF', '0', '64', 'ff9b', '2002'),
);
const ipv6 = fc.oneof(
  fc.array(group, { minLength: 1, maxLength: 9 }).map((g) => g.join(':')),
  fc
    .tuple(fc.array(group, { maxLength: 4 }), fc.array(group, { maxLength: 4 }))
    .map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
  fc
    .tuple(fc.constantFrom('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:', '64:ff9b::', '::', '1::'), ipv4)
    .map(([p, v]) => p + v),
);
const zone = fc.constantFrom('', '', '', '%eth0', '%25', '%');
const bits = fc.oneof(
  fc.constant(''),
  fc.integer({ min: -5, max: 140 }).map((n) => `/${n}`),
  fc.integer({ min: 0, max: 128 }).map((n) => `/0${n}`),
  fc.constantFrom('/', '//8', '/ 8', '/8 ', '/８', '/1/2', '/0x8'),
);
const space = fc.constantFrom('', '', '', ' ', '\t', '\u00a0', '\n');
const nearCidr = fc
  .tuple(space, fc.oneof(ipv4, ipv6), zone, bits, space)
  .map(([a, addr, z, b, c]) => `${a}${addr}${z}${b}${c}`);
/** An IPv4-mapped or NAT64 address whose IPv4 part may have leading zeros (ipaddr.js took those). */
const mappedCidr = fc
  .tuple(
    fc.constantFrom('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:', '64:ff9b::'),
    fc.array(
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([n, zero]) => (zero ? `0${n}` : `${n}`)),
      { minLength: 4, maxLength: 4 },
    ),
    fc.oneof(
      fc.constant(''),
      fc.integer({ min: 96, max: 128 }).map((n) => `/${n}`),
    ),
  )
  .map(([prefix, octets, b]) => `${prefix}${octets.join('.')}${b}`);
const cidrText = fc.oneof(nearCidr, nearCidr, mappedCidr, fc.string(), fc.string({ unit: 'grapheme' }));

describe('recipients registry: load accepts ⇒ ingest compiles (issue 8 #1)', () => {
  it.each(['::ffff:01.2.3.4', '::ffff:1.2.3.04/128'])('refuses %j at load, naming its path', async (cidr) => {
    const text = `government:\n  cidrs: [198.51.100.0/24, "${cidr}"]\n`;
    const r = parseRecipientsFile(text, 'r.yaml');
    expect(r).toEqual({
      ok: false,
      errors: [`government.cidrs[1]: invalid CIDR ${JSON.stringify(cidr)} (bad IPv6 address)`],
    });
    const control = new FakeControl();
    const out = await storeRecipients(control, text, 'r.yaml');
    expect(out.ok).toBe(false);
    expect(control.registryPuts).toEqual([]);
  });

  it('a CIDR loads exactly when it compiles', () => {
    fc.assert(
      fc.property(cidrText, (cidr) => {
        expect(noThrow(() => cidrProblem(cidr)) === undefined).toBe(compiles(cidr));
      }),
      { numRuns: 5000 },
    );
  });

  it('parseRecipientsFile never throws, and whatever it accepts compileRegistry compiles', () => {
    const categoryName = fc.oneof(
      { arbitrary: fc.constantFrom('government', 'data-broker', 'x', 'constructor'), weight: 8 },
      { arbitrary: fc.constantFrom('__proto__', 'bad name'), weight: 1 },
      { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
    );
    const entry = fc.oneof(
      {
        arbitrary: fc.record(
          {
            cidrs: fc.array(fc.oneof(mappedCidr, cidrText), { maxLength: 3 }),
            organisations: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
        weight: 8,
      },
      { arbitrary: fc.constantFrom(null, 5, 'x', [], {}), weight: 1 },
    );
    const file = fc.oneof(
      fc.dictionary(categoryName, entry, { maxKeys: 4 }).map((reg) => JSON.stringify(reg)),
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(file, (text) => {
        const r = noThrow(() => parseRecipientsFile(text, 'r.yaml'));
        if (r.ok) noThrow(() => compileRegistry(r.registry));
        else for (const e of r.errors) expect(typeof e).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Agreements: parseAgreementsFile never throws; whatever it accepts the audit accepts.

const anyOf = (...values: unknown[]) => fc.constantFrom(...values);
/** Mostly `valid`, sometimes `odd`. */
const mostly = (valid: fc.Arbitrary<unknown>, odd: fc.Arbitrary<unknown>) =>
  fc.oneof({ arbitrary: valid, weight: 15 }, { arbitrary: odd, weight: 1 });
const oddNumber = mostly(
  anyOf(0, 1, 7, 100, 2 ** 53 - 1, 1e308, Number.MAX_VALUE, 0.001),
  anyOf(1.5, -1, 2 ** 53, null, '5', true),
);
const date = (...valid: string[]) =>
  mostly(anyOf(...valid), anyOf('2026-02-30', '2026-3-1', 20260301, null, ''));
const appId = mostly(anyOf('a1', 'a2', 'a3', 'A.b:c-1'), anyOf('', 'bad id', '\u001b[2J'));
const agreementArb = fc.record(
  {
    licensee: mostly(anyOf('acme', 'beta', 'a'.repeat(63)), anyOf('Bad_Id', '', 'a'.repeat(64))),
    name: mostly(fc.string({ minLength: 1, maxLength: 10 }), anyOf(' ', null, '')),
    apps: mostly(
      fc.uniqueArray(
        fc.oneof(
          appId,
          fc.record({ id: appId, use_case: fc.oneof(fc.string({ maxLength: 8 }), anyOf(null)) }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      anyOf(null, 'a1', []),
    ),
    term: mostly(
      fc.record({ start: date('2026-01-01', '2026-03-05'), end: date('2026-03-10', '2026-12-31') }),
      fc.record({ start: date('2026-12-31'), end: date('2026-01-01') }, { requiredKeys: [] }),
    ),
    paid_through: date('2026-03-01', '2025-12-31', '2026-03-31'),
    quotas: fc.record(
      { monthly_records: oddNumber, monthly_requests: oddNumber, daily_records: oddNumber },
      { requiredKeys: [] },
    ),
    endpoints: fc.array(fc.oneof(anyOf('GET /x', 'GET /ok'), fc.string({ minLength: 1, maxLength: 6 })), {
      maxLength: 3,
    }),
    prohibited_recipients: fc.array(mostly(anyOf('government', 'data-broker', 'x'), anyOf('', 'bad name')), {
      maxLength: 3,
    }),
    approved_organisations: fc.array(
      fc.oneof(anyOf('Ok', 'ok ', 'OK', 'ok'), fc.string({ minLength: 1, maxLength: 6 })),
      { maxLength: 3 },
    ),
    rate: fc.record(
      { per_1000_records: oddNumber, currency: mostly(anyOf('USD', 'EUR'), anyOf('usd', 'EURO')) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['licensee', 'apps', 'term'] },
);

const usageArb = fc.array(
  fc.record({
    app: fc.constantFrom('a1', 'a2', 'a3', 'zz'),
    day: fc.integer({ min: 1, max: 31 }),
    // Usage that ingestion can produce (its totals stay below 2^53; see usage-math.ts).
    requests: fc.integer({ min: 0, max: 1000 }),
    records: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(10 ** 12)),
    cat: fc.constantFrom('government', 'data-broker', 'x'),
    org: fc.constantFrom('ok', 'Ok', 'other', ''),
  }),
  { maxLength: 12 },
);

describe('agreements: parseAgreementsFile never throws, and the audit takes what it accepts', () => {
  it('on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const r = noThrow(() => parseAgreementsFile(text, 'a.yaml'));
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('on near-valid agreements, audited over some usage', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.oneof(agreementArb, fc.array(agreementArb, { minLength: 1, maxLength: 3 })),
        usageArb,
        fc.integer({ min: 1, max: 30 }),
        (file, usage, d) => {
          const r = noThrow(() => parseAgreementsFile(JSON.stringify(file), 'a.yaml'));
          if (!r.ok) return;
          accepted++;
          const rows = usage.map((u) =>
            row(u.app, `2026-03-${String(u.day).padStart(2, '0')}`, {
              requests: u.requests,
              records: u.records,
              categories: {
                [u.cat]: {
                  requests: u.requests,
                  records: u.records,
                  orgs: u.org ? { [u.org]: { requests: u.requests, records: u.records } } : {},
                },
              },
            }),
          );
          const reportDate = `2026-03-${String(d).padStart(2, '0')}`;
          noThrow(() => audit({ reportDate, agreements: r.agreements, usage: rows }));
        },
      ),
      { numRuns: 2000 },
    );
    // The generator is near enough to valid that the audit really runs.
    expect(accepted).toBeGreaterThan(20);
  });
});
