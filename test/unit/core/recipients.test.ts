import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  compileRegistry,
  EMPTY_MATCHER,
  isValidIp,
  normaliseOrg,
  parseCidr,
  parseIp,
} from '../../../functions/core/recipients.ts';
import { formatIp } from '../../support/format-ip.ts';
import { sampleRegistry } from './helpers.ts';

describe('parseIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['::FFFF:c633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:c633:6407', '198.51.100.7'],
  ])('%s is %s', (text, canonical) => {
    const parsed = parseIp(text);
    expect(parsed && formatIp(parsed)).toBe(canonical);
    expect(isValidIp(text)).toBe(true);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.04',
    '256.0.0.1',
    '0x1.2.3.4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::1',
    'g::1',
    '1:',
    ':1',
    '1::2:',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::ffff:1.2.3',
    '::ffff:01.2.3.4',
    'localhost',
  ])('%j is invalid', (text) => {
    expect(parseIp(text)).toBeUndefined();
    expect(isValidIp(text)).toBe(false);
  });

  it('IPv4 values', () => {
    expect(parseIp('198.51.100.7')).toEqual({
      kind: 'ipv4',
      value: 198 * 2 ** 24 + 51 * 2 ** 16 + 100 * 256 + 7,
    });
    expect(parseIp('2001:db8::1')).toEqual({ kind: 'ipv6', value: (0x20010db8n << 96n) | 1n });
  });

  it('agrees with ipaddr.js on arbitrary IPv6-looking text (ipaddr.js zone ids aside)', () => {
    const char = fc.constantFrom(...'0123456789abcdefABCDEF:::'.split(''));
    const text = fc.oneof(
      fc.array(char, { minLength: 1, maxLength: 40 }).map((a) => a.join('')),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).chain((groups) =>
        fc.integer({ min: 0, max: 8 }).chain((gapAt) =>
          fc.integer({ min: 0, max: 8 - gapAt }).map((gapLen) => {
            const hex = groups.map((g) => g.toString(16));
            if (gapLen < 2) return hex.join(':');
            return `${hex.slice(0, gapAt).join(':')}::${hex.slice(gapAt + gapLen).join(':')}`;
          }),
        ),
      ),
    );
    fc.assert(
      fc.property(text, (t) => {
        let theirs: string | undefined;
        try {
          const a = ipaddr.IPv6.parse(t);
          theirs = a.isIPv4MappedAddress() ? a.toIPv4Address().toString() : a.toNormalizedString();
        } catch {
          theirs = undefined;
        }
        const mine = parseIp(t);
        const mineText =
          mine === undefined
            ? undefined
            : mine.kind === 'ipv4'
              ? formatIp(mine)
              : ipaddr.IPv6.parse(formatIp(mine)).toNormalizedString();
        expect(mineText).toBe(theirs);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with ipaddr.js on arbitrary IPv4 four-part decimal', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 4, maxLength: 4 }), (parts) => {
        const t = parts.join('.');
        const mine = parseIp(t);
        expect(mine && formatIp(mine)).toBe(ipaddr.IPv4.isValidFourPartDecimal(t) ? t : undefined);
      }),
    );
  });
});

/**
 * The documented matching rules (module comment of core/recipients.ts) on top of ipaddr.js: an
 * IPv4 client (or an IPv4-mapped one, which ipaddr.parse keeps as IPv6) also matches an IPv6 range
 * covering its mapped address; a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) client also matches
 * what the IPv4 address it embeds matches as an IPv4 client.
 */
function referenceMatch(
  client: ipaddr.IPv4 | ipaddr.IPv6,
  range: [ipaddr.IPv4 | ipaddr.IPv6, number],
): boolean {
  const v4 =
    client.kind() === 'ipv4'
      ? (client as ipaddr.IPv4)
      : (client as ipaddr.IPv6).isIPv4MappedAddress()
        ? (client as ipaddr.IPv6).toIPv4Address()
        : undefined;
  if (v4) {
    if (range[0].kind() === 'ipv4') return v4.match(range);
    return v4.toIPv4MappedAddress().match(range);
  }
  const v6 = client as ipaddr.IPv6;
  if (range[0].kind() === 'ipv6' && v6.match(range)) return true;
  const p = v6.parts;
  let embedded: number[] | undefined;
  if (p[0] === 0x2002) embedded = [p[1] ?? 0, p[2] ?? 0];
  else if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0)
    embedded = [p[6] ?? 0, p[7] ?? 0];
  if (!embedded) return false;
  const [hi = 0, lo = 0] = embedded;
  // The embedded address as an IPv4 client of its own.
  return referenceMatch(new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]), range);
}

describe('compileRegistry', () => {
  const matcher = compileRegistry(sampleRegistry());

  it('matches IPv4, IPv6 and IPv4-mapped addresses and organisations', () => {
    expect(matcher.categoriesFor('198.51.100.0', undefined)).toEqual(['government']);
    expect(matcher.categoriesFor('198.51.100.255', undefined)).toEqual(['government']);
    expect(matcher.categoriesFor('198.51.101.0', undefined)).toEqual([]);
    expect(matcher.categoriesFor('192.0.2.128', undefined)).toEqual(['data-broker']);
    expect(matcher.categoriesFor('192.0.2.127', undefined)).toEqual([]);
    expect(matcher.categoriesFor('::ffff:192.0.2.200', undefined)).toEqual(['data-broker']);
    expect(matcher.categoriesFor('2001:db8:a000::', undefined)).toEqual(['government']);
    expect(matcher.categoriesFor('2001:DB8:AFFF:FFFF:FFFF:FFFF:FFFF:FFFF', undefined)).toEqual([
      'government',
    ]);
    expect(matcher.categoriesFor('2001:db8:9fff:ffff:ffff:ffff:ffff:ffff', undefined)).toEqual([]);
    expect(matcher.categoriesFor('2001:db8:b000::', undefined)).toEqual([]);
    expect(matcher.categoriesFor(undefined, 'example-agency')).toEqual(['government']);
    expect(matcher.categoriesFor(undefined, 'acme-brokerage')).toEqual(['data-broker']);
    // Organisations match case-insensitively (issue 8 #13c; byte-exact before).
    expect(matcher.categoriesFor(undefined, 'Example-Agency')).toEqual(['government']);
    expect(matcher.categoriesFor(undefined, 'example agency')).toEqual([]);
    expect(matcher.categoriesFor('198.51.100.1', 'acme-brokerage')).toEqual(['data-broker', 'government']);
    expect(matcher.categoriesFor('198.51.100.1', 'example-agency')).toEqual(['government']);
    expect(matcher.categoriesFor('not an ip', undefined)).toEqual([]);
    expect(matcher.categoriesFor(undefined, undefined)).toEqual([]);
    expect(matcher.categoriesFor('', '')).toEqual([]);
  });

  it('overlapping ranges and organisations in several categories: sorted, no duplicates', () => {
    const m = compileRegistry({
      zeta: { cidrs: ['10.0.0.0/8', '2001:db8::/32'], organisations: ['shared'] },
      alpha: { cidrs: ['10.1.0.0/16', '10.1.2.3', '2001:db8:1::/48'], organisations: ['shared', 'solo'] },
      mid: { cidrs: ['0.0.0.0/0', '::/0'], organisations: [] },
      mapped: { cidrs: ['::ffff:172.16.0.0/108'], organisations: [] },
    });
    expect(m.categoriesFor('10.1.2.3', undefined)).toEqual(['alpha', 'mid', 'zeta']);
    expect(m.categoriesFor('10.2.0.0', 'solo')).toEqual(['alpha', 'mid', 'zeta']);
    expect(m.categoriesFor('11.0.0.0', 'shared')).toEqual(['alpha', 'mid', 'zeta']);
    expect(m.categoriesFor('2001:db8:1::5', undefined)).toEqual(['alpha', 'mid', 'zeta']);
    expect(m.categoriesFor('2001:db9::', undefined)).toEqual(['mid']);
    expect(m.categoriesFor('172.16.5.5', undefined)).toEqual(['mapped', 'mid']);
    expect(m.categoriesFor('::ffff:172.31.255.255', undefined)).toEqual(['mapped', 'mid']);
    expect(m.categoriesFor('172.32.0.0', undefined)).toEqual(['mid']);
    expect(m.categoriesFor('255.255.255.255', undefined)).toEqual(['mid']);
    expect(m.categoriesFor('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', undefined)).toEqual(['mid']);
  });

  it('host bits in a CIDR are ignored', () => {
    const m = compileRegistry({ c: { cidrs: ['10.1.2.3/8', '2001:db8::1/32'], organisations: [] } });
    expect(m.categoriesFor('10.200.0.1', undefined)).toEqual(['c']);
    expect(m.categoriesFor('2001:db8:ffff::', undefined)).toEqual(['c']);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '2001:db8::/129', 'nonsense', '10.0.0.0/', '10.0.0.0/-1', '::/1/2'])(
    'throws naming the bad CIDR %j',
    (cidr) => {
      expect(() =>
        compileRegistry({ government: { cidrs: ['10.0.0.0/8', cidr], organisations: [] } }),
      ).toThrow(`recipients registry: category government: invalid CIDR ${JSON.stringify(cidr)}`);
    },
  );

  it('an empty registry and EMPTY_MATCHER know nothing', () => {
    expect(compileRegistry({}).categoriesFor('10.0.0.1', 'x')).toEqual([]);
    expect(EMPTY_MATCHER.categoriesFor('198.51.100.1', 'example-agency')).toEqual([]);
  });

  it('is consistent for repeated lookups (caches) and across many addresses', () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40_000; i++) {
        const ip = `2001:db8:a${(i % 4096).toString(16).padStart(3, '0')}::${(i % 9973).toString(16)}`;
        expect(matcher.categoriesFor(ip, undefined)).toEqual(['government']);
      }
    }
  });

  it('agrees with ipaddr.js range matching on random registries and addresses', () => {
    const v4 = fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 })).map(([v, bits]) => {
      const a = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
      return `${a}/${bits}`;
    });
    // Groups, sometimes starting with the IPv4-mapped, NAT64 or 6to4 prefix.
    const special = fc.constantFrom<number[]>(
      [],
      [0, 0, 0, 0, 0, 0xffff],
      [0x64, 0xff9b, 0, 0, 0, 0],
      [0x2002],
    );
    const v6 = fc
      .tuple(
        special,
        fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 128 }),
      )
      .map(
        ([head, g, bits]) =>
          `${[...head, ...g.slice(head.length)].map((x) => x.toString(16)).join(':')}/${bits}`,
      );
    const registry = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd'),
      fc.record({
        cidrs: fc.array(fc.oneof(v4, v6), { maxLength: 4 }),
        organisations: fc.constant<string[]>([]),
      }),
    );
    const addressNear = (cidr: string) =>
      fc.nat(0xffff).map((noise) => {
        const [addr] = cidr.split('/');
        if (addr?.includes(':')) {
          const parts = ipaddr.IPv6.parse(addr).parts;
          parts[7] = ((parts[7] ?? 0) ^ noise) & 0xffff;
          return new ipaddr.IPv6(parts).toString();
        }
        const o = ipaddr.IPv4.parse(addr ?? '0.0.0.0').octets;
        o[3] = ((o[3] ?? 0) ^ noise) & 255;
        o[2] = ((o[2] ?? 0) ^ (noise >> 8)) & 255;
        const [a = 0, b = 0, c = 0, d = 0] = o;
        const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
        // The same IPv4 address as such, IPv4-mapped, NAT64 or 6to4.
        return [
          o.join('.'),
          `::ffff:${o.join('.')}`,
          `64:ff9b::${hex(a, b)}:${hex(c, d)}`,
          `2002:${hex(a, b)}:${hex(c, d)}::${(noise & 0xff).toString(16)}`,
        ][noise % 4] as string;
      });
    fc.assert(
      fc.property(
        registry.chain((r) => {
          const all = Object.values(r).flatMap((c) => c.cidrs);
          const addr = all.length > 0 ? fc.oneof(...all.map(addressNear)) : fc.constant('10.0.0.1');
          return fc.tuple(fc.constant(r), fc.array(addr, { minLength: 1, maxLength: 10 }));
        }),
        ([reg, addresses]) => {
          const m = compileRegistry(reg);
          for (const address of addresses) {
            const ip = ipaddr.parse(address);
            const expected = Object.entries(reg)
              .filter(([, c]) => c.cidrs.some((cidr) => referenceMatch(ip, ipaddr.parseCIDR(cidr))))
              .map(([name]) => name)
              .sort();
            expect(m.categoriesFor(address, undefined)).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('recipient matching edges (issue 8 #13)', () => {
  it('(a) an IPv6 range covering ::ffff:0:0/96 also matches the IPv4 clients it maps', () => {
    const m = compileRegistry({
      all6: { cidrs: ['::/0'], organisations: [] },
      mapped: { cidrs: ['::ffff:0:0/96'], organisations: [] },
      ten: { cidrs: ['::ffff:10.0.0.0/104'], organisations: [] },
      low: { cidrs: ['::/64'], organisations: [] },
      doc: { cidrs: ['2001:db8::/32'], organisations: [] },
    });
    expect(m.categoriesFor('10.1.2.3', undefined)).toEqual(['all6', 'low', 'mapped', 'ten']);
    expect(m.categoriesFor('::ffff:10.1.2.3', undefined)).toEqual(['all6', 'low', 'mapped', 'ten']);
    expect(m.categoriesFor('::ffff:a01:203', undefined)).toEqual(['all6', 'low', 'mapped', 'ten']);
    expect(m.categoriesFor('11.0.0.0', undefined)).toEqual(['all6', 'low', 'mapped']);
    expect(m.categoriesFor('2001:db8::1', undefined)).toEqual(['all6', 'doc']);
    // Outside ::ffff:0:0/96 an IPv6 range stays IPv6 only.
    expect(
      compileRegistry({ d: { cidrs: ['2001:db8::/32'], organisations: [] } }).categoriesFor(
        '1.2.3.4',
        undefined,
      ),
    ).toEqual([]);
  });

  it('(b) NAT64 and 6to4 clients match IPv4 ranges by the address they embed, and IPv6 ranges by their own', () => {
    const m = compileRegistry({
      gov: { cidrs: ['198.51.100.0/24'], organisations: [] },
      nat64: { cidrs: ['64:ff9b::/96'], organisations: [] },
      sixto4: { cidrs: ['2002::/16'], organisations: [] },
    });
    expect(m.categoriesFor('64:ff9b::198.51.100.7', undefined)).toEqual(['gov', 'nat64']);
    expect(m.categoriesFor('64:ff9b::c633:6407', undefined)).toEqual(['gov', 'nat64']);
    expect(m.categoriesFor('64:ff9b::c633:6507', undefined)).toEqual(['nat64']);
    expect(m.categoriesFor('2002:c633:6407::1', undefined)).toEqual(['gov', 'sixto4']);
    expect(m.categoriesFor('2002:c633:6507::1', undefined)).toEqual(['sixto4']);
    // Not matched: the local-use NAT64 prefix (RFC 8215), Teredo, IPv4-compatible addresses.
    expect(m.categoriesFor('64:ff9b:1::c633:6407', undefined)).toEqual([]);
    expect(m.categoriesFor('2001:0:4136:e378:8000:63bf:39cc:9bf8', undefined)).toEqual([]);
    expect(m.categoriesFor('::198.51.100.7', undefined)).toEqual([]);
    // An IPv6 range written in NAT64 form does not match native IPv4 clients.
    const n = compileRegistry({ x: { cidrs: ['64:ff9b::c633:6400/120'], organisations: [] } });
    expect(n.categoriesFor('198.51.100.7', undefined)).toEqual([]);
    expect(n.categoriesFor('64:ff9b::198.51.100.7', undefined)).toEqual(['x']);
  });

  it('(c) organisations match after NFKC, case folding and whitespace collapsing, on both sides', () => {
    expect(normaliseOrg('  ACME\u00a0\u00a0Brokerage\t')).toBe('acme brokerage');
    expect(normaliseOrg('ＡＣＭＥ Brokerage')).toBe('acme brokerage');
    const m = compileRegistry({
      broker: { cidrs: [], organisations: ['Acme Brokerage'] },
      gov: { cidrs: ['10.0.0.0/8'], organisations: ['example-agency '] },
    });
    for (const org of [
      'Acme Brokerage',
      'acme brokerage',
      'ACME BROKERAGE ',
      'acme\u00a0brokerage',
      'ａｃｍｅ  brokerage',
    ])
      expect(m.categoriesFor(undefined, org)).toEqual(['broker']);
    expect(m.categoriesFor(undefined, 'acmebrokerage')).toEqual([]);
    expect(m.categoriesFor(undefined, 'Example-Agency')).toEqual(['gov']);
    expect(m.categoriesFor('10.0.0.1', 'ACME brokerage')).toEqual(['broker', 'gov']);
    // Repeated lookups (cached) give the same shared array.
    expect(m.categoriesFor(undefined, 'ACME BROKERAGE ')).toBe(m.categoriesFor(undefined, 'ACME BROKERAGE '));
  });
});

describe('parseCidr (the one parser of load and compile, issue 8 #1)', () => {
  it.each([
    ['::ffff:01.2.3.4', 'bad IPv6 address'],
    ['::ffff:1.2.3.04/128', 'bad IPv6 address'],
    ['fe80::1%eth0', 'bad IPv6 address'],
    [' 10.0.0.0/8', 'bad IPv4 address'],
    ['10.0.0.0/8 ', 'bad prefix length'],
    ['00001::/16', 'bad IPv6 address'],
    ['10.0.0.0/+8', 'bad prefix length'],
    ['::/0129', 'bad prefix length'],
  ])('refuses %j (%s), and compileRegistry refuses it too', (cidr, problem) => {
    expect(parseCidr(cidr)).toEqual({ ok: false, problem });
    expect(() => compileRegistry({ c: { cidrs: [cidr], organisations: [] } })).toThrow(/invalid CIDR/);
  });
});

describe('classifyIp (validation and lookup in one parse, the reader hot path)', () => {
  it('is undefined exactly when isValidIp is false, and otherwise equals categoriesFor(ip)', () => {
    const m = compileRegistry(sampleRegistry());
    const classify = m.classifyIp?.bind(m);
    expect(classify).toBeDefined();
    const near = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4Extended(),
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '::ffff:01.2.3.4',
        '64:ff9b::c633:6401',
        '2002:c633:6401::1',
        '::',
        '1.2.3',
        'fe80::1%eth0',
      ),
    );
    fc.assert(
      fc.property(near, (ip) => {
        // Twice: the second answer comes from the cache; then once without it.
        for (let i = 0; i < 3; i++) {
          const got = classify?.(ip, i === 2);
          if (!isValidIp(ip)) expect(got).toBeUndefined();
          else expect(got).toEqual(m.categoriesFor(ip, undefined));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
