/**
 * Recipient categories (SPEC §2, §3): a request belongs to a category when its client_ip lies in
 * one of the category's CIDR ranges (IPv4 or IPv6) or its on_behalf_of equals one of the
 * category's organisations.
 *
 * Matching rules (docs/RELIABILITY.md also lists what is NOT matched):
 *  - CIDRs are parsed by parseCidr, the ONE parser: `auditor recipients load` validates with it
 *    and compileRegistry compiles with it, so anything that loads also compiles.
 *  - IPv4-mapped client addresses (::ffff:a.b.c.d) are IPv4 clients. A CIDR in IPv6 form that
 *    covers (part of) ::ffff:0:0/96 (`::/0`, `::ffff:0:0/96`, `::ffff:10.0.0.0/104`) also covers
 *    the corresponding IPv4 addresses: the overlap is compiled as an IPv4 range.
 *  - NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056) client addresses embed an
 *    IPv4 address: such a client belongs to the categories of its IPv6 address AND of the
 *    embedded IPv4 address (the union).
 *  - Organisations match after normaliseOrg (Unicode NFKC, case-folded with toLowerCase,
 *    whitespace incl. NBSP collapsed to one space, trimmed) on both sides; the original text is
 *    kept for display.
 *
 * The registry is compiled once into disjoint, sorted address segments per family, each carrying
 * the (interned, frozen, sorted) set of categories covering it, so a lookup is a binary search.
 * Addresses are parsed by hand-written strict parsers (checked against ipaddr.js in the tests):
 * measured on log data, parsing + search costs less than a Map lookup keyed by the (fresh) address
 * string, so results are cached per address only in a small bounded map for IPv6, whose parse is
 * the dearer one. Pure: no I/O, no AWS.
 */
import {
  embeddedIpv4,
  isValidIp,
  mappedIpv4,
  type ParsedIp,
  parseIp,
  parseIpv4,
  parseIpv6,
} from './ip-address.ts';
import { compareStrings, normaliseOrg } from './support.ts';
import type { RecipientsRegistry } from './types.ts';

export interface RecipientMatcher {
  /** Categories of a request, sorted, without duplicates (a shared frozen array: do not mutate). */
  categoriesFor(ip: string | undefined, org: string | undefined): readonly string[];
  /**
   * The categories of a client address, or undefined when `isValidIp(ip)` is false: validation and
   * lookup in one parse (the reader's hot path). `uncached`: the caller keeps the results itself
   * (the reader's fast paths, by the address's bytes), so the per-address cache is skipped.
   */
  classifyIp?(ip: string, uncached?: boolean): readonly string[] | undefined;
}

const NONE: readonly string[] = Object.freeze([]);
/** Cache marker of an address that does not parse (distinct from NONE, a valid address in no category). */
const INVALID: readonly string[] = Object.freeze([]);

/** A bounded cache with O(1) operations: two generations; when the young one is full it becomes the old one. */
class BoundedCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  constructor(private readonly half: number) {}
  get(key: string): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }
  set(key: string, value: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}

/** One family's address space cut into disjoint segments [starts[i], starts[i+1]). */
interface SegmentTable<T extends number | bigint> {
  starts: T[];
  /** Categories of segment i (a shared frozen array; NONE outside every range). */
  cats: (readonly string[])[];
}

interface Interval<T> {
  start: T;
  /** Exclusive end. */
  end: T;
  category: string;
}

function buildSegments<T extends number | bigint>(
  intervals: Interval<T>[],
  zero: T,
  interned: Map<string, readonly string[]>,
): SegmentTable<T> {
  const events: { at: T; category: string; delta: 1 | -1 }[] = [];
  for (const iv of intervals) {
    events.push({ at: iv.start, category: iv.category, delta: 1 });
    events.push({ at: iv.end, category: iv.category, delta: -1 });
  }
  events.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
  const starts: T[] = [zero];
  const cats: (readonly string[])[] = [NONE];
  const active = new Map<string, number>();
  let i = 0;
  while (i < events.length) {
    const at = (events[i] as { at: T }).at;
    while (i < events.length && (events[i] as { at: T }).at === at) {
      const e = events[i] as { category: string; delta: 1 | -1 };
      const n = (active.get(e.category) ?? 0) + e.delta;
      if (n === 0) active.delete(e.category);
      else active.set(e.category, n);
      i++;
    }
    const set = internSet([...active.keys()], interned);
    if (starts[starts.length - 1] === at) cats[cats.length - 1] = set;
    else if (cats[cats.length - 1] !== set) {
      starts.push(at);
      cats.push(set);
    }
  }
  return { starts, cats };
}

function internSet(categories: string[], interned: Map<string, readonly string[]>): readonly string[] {
  if (categories.length === 0) return NONE;
  categories.sort(compareStrings);
  const key = categories.join('\u0000');
  let set = interned.get(key);
  if (!set) {
    set = Object.freeze(categories);
    interned.set(key, set);
  }
  return set;
}

function lookup<T extends number | bigint>(table: SegmentTable<T>, value: T): readonly string[] {
  // Last segment whose start ≤ value (starts[0] is the family's zero, so one always exists).
  let lo = 0;
  let hi = table.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((table.starts[mid] as T) <= value) lo = mid;
    else hi = mid - 1;
  }
  return table.cats[lo] ?? NONE;
}

const IPV4_MAPPED_PREFIX = 0xffffn << 32n;
const IPV6_SPACE = 1n << 128n;

/** The IPv6 segment table as four 32-bit words per start, for lookups without BigInt. */
interface WordTable {
  words: Float64Array;
  cats: (readonly string[])[];
}

function toWordTable(table: SegmentTable<bigint>): WordTable {
  // A segment starting at 2^128 (the end of ::/0) holds no address.
  const starts = table.starts.filter((s) => s < IPV6_SPACE);
  const words = new Float64Array(starts.length * 4);
  starts.forEach((start, i) => {
    for (let w = 0; w < 4; w++) words[i * 4 + w] = Number((start >> BigInt((3 - w) * 32)) & 0xffffffffn);
  });
  return { words, cats: table.cats.slice(0, starts.length) };
}

function lookupWords(table: WordTable, g: number[]): readonly string[] {
  const a0 = (g[0] as number) * 65536 + (g[1] as number);
  const a1 = (g[2] as number) * 65536 + (g[3] as number);
  const a2 = (g[4] as number) * 65536 + (g[5] as number);
  const a3 = (g[6] as number) * 65536 + (g[7] as number);
  const w = table.words;
  let lo = 0;
  let hi = table.cats.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    const k = mid * 4;
    const b0 = w[k] as number;
    const b1 = w[k + 1] as number;
    const b2 = w[k + 2] as number;
    const b3 = w[k + 3] as number;
    // start[mid] <= address ?
    const le = b0 !== a0 ? b0 < a0 : b1 !== a1 ? b1 < a1 : b2 !== a2 ? b2 < a2 : b3 <= a3;
    if (le) lo = mid;
    else hi = mid - 1;
  }
  return table.cats[lo] ?? NONE;
}

/** Bounded per-address cache size (two generations of this many entries). */
const IPV6_CACHE_SIZE = 16_384;
/** Bounded per-organisation cache size (two generations of this many entries). */
const ORG_CACHE_SIZE = 4_096;

export { isValidIp, normaliseOrg, type ParsedIp, parseIp };

/**
 * Compile a registry. Throws an Error naming the category and the CIDR when a range is invalid
 * (parseCidr refuses it; the registry loader refuses the same CIDRs, so a loaded registry always
 * compiles). See the module comment for what matches.
 */
export function compileRegistry(registry: RecipientsRegistry): RecipientMatcher {
  const v4: Interval<number>[] = [];
  const v6: Interval<bigint>[] = [];
  const byOrg = new Map<string, string[]>();
  for (const category of Object.keys(registry).sort(compareStrings)) {
    const entry = registry[category];
    if (!entry) continue;
    for (const cidr of entry.cidrs ?? []) {
      const parsed = parseCidr(cidr);
      if (!parsed.ok) {
        throw new Error(`recipients registry: category ${category}: invalid CIDR ${JSON.stringify(cidr)}`);
      }
      const { ipv4, ipv6 } = parsed.range;
      if (ipv4) v4.push({ ...ipv4, category });
      if (ipv6) v6.push({ ...ipv6, category });
    }
    for (const org of entry.organisations ?? []) {
      const key = normaliseOrg(org);
      const list = byOrg.get(key) ?? [];
      if (!list.includes(category)) list.push(category);
      byOrg.set(key, list);
    }
  }
  const interned = new Map<string, readonly string[]>();
  const orgCats = new Map<string, readonly string[]>();
  for (const [org, list] of byOrg) orgCats.set(org, internSet(list, interned));
  const table4 = buildSegments(v4, 0, interned);
  const table6 = toWordTable(buildSegments(v6, 0n, interned));
  const v6Cache = new BoundedCache<readonly string[]>(IPV6_CACHE_SIZE);
  const orgCache = new BoundedCache<readonly string[]>(ORG_CACHE_SIZE);
  // Union of two interned sets, keyed by the two sets.
  const unions = new Map<readonly string[], Map<readonly string[], readonly string[]>>();
  const unite = (a: readonly string[], b: readonly string[]): readonly string[] => {
    if (a === b || b.length === 0) return a;
    if (a.length === 0) return b;
    let inner = unions.get(a);
    if (inner === undefined) {
      inner = new Map();
      unions.set(a, inner);
    }
    let union = inner.get(b);
    if (union === undefined) {
      union = internSet([...new Set([...a, ...b])], interned);
      inner.set(b, union);
    }
    return union;
  };

  const classify = (ip: string, uncached = false): readonly string[] | undefined => {
    if (ip.indexOf(':') === -1) {
      const v = parseIpv4(ip);
      return v === undefined ? undefined : lookup(table4, v);
    }
    let cats = uncached ? undefined : v6Cache.get(ip);
    if (cats === undefined) {
      const groups = parseIpv6(ip);
      if (groups === undefined) cats = INVALID;
      else {
        const mapped = mappedIpv4(groups);
        if (mapped !== undefined) cats = lookup(table4, mapped);
        else {
          cats = lookupWords(table6, groups);
          const embedded = embeddedIpv4(groups);
          if (embedded !== undefined) cats = unite(cats, lookup(table4, embedded));
        }
      }
      if (!uncached) v6Cache.set(ip, cats);
    }
    return cats === INVALID ? undefined : cats;
  };
  const byIp = (ip: string): readonly string[] => classify(ip) ?? NONE;

  const byOrgName = (org: string): readonly string[] => {
    let cats = orgCache.get(org);
    if (cats === undefined) {
      cats = orgCats.get(normaliseOrg(org)) ?? NONE;
      orgCache.set(org, cats);
    }
    return cats;
  };

  return {
    classifyIp: classify,
    categoriesFor(ip, org) {
      const fromIp = ip === undefined || ip === '' ? NONE : byIp(ip);
      if (org === undefined || orgCats.size === 0) return fromIp;
      return unite(fromIp, byOrgName(org));
    },
  };
}

/** A matcher that knows no category (no registry loaded). */
export const EMPTY_MATCHER: RecipientMatcher = Object.freeze({ categoriesFor: () => NONE });

/** What a CIDR covers: an IPv4 and/or an IPv6 interval, each [start, end) (end exclusive). */
export interface CidrRange {
  ipv4?: { start: number; end: number };
  ipv6?: { start: bigint; end: bigint };
}

export type CidrParse = { ok: true; range: CidrRange } | { ok: false; problem: string };

const MAPPED_END = IPV4_MAPPED_PREFIX + (1n << 32n);

/**
 * THE CIDR parser (registry load and compile both use it): `address/bits`, or a bare address (one
 * host). The address as parseIp accepts it (IPv4 dotted four-part decimal without leading zeros;
 * IPv6 in RFC 4291 text form, no zone id), no surrounding whitespace; bits 0–32 or 0–128, decimal.
 * Host bits are ignored (10.1.2.3/8 is 10.0.0.0/8). The part of an IPv6 range inside
 * ::ffff:0:0/96 is (also) the IPv4 range it maps. Either the range or why the text is refused.
 */
export function parseCidr(cidr: unknown): CidrParse {
  if (typeof cidr !== 'string') return { ok: false, problem: 'expected a CIDR string' };
  const slash = cidr.indexOf('/');
  const addrText = slash === -1 ? cidr : cidr.slice(0, slash);
  const bitsText = slash === -1 ? undefined : cidr.slice(slash + 1);
  if (bitsText !== undefined && !/^[0-9]{1,3}$/.test(bitsText))
    return { ok: false, problem: 'bad prefix length' };
  if (addrText.indexOf(':') === -1) {
    const value = parseIpv4(addrText);
    if (value === undefined) return { ok: false, problem: 'bad IPv4 address' };
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (bits > 32) return { ok: false, problem: 'prefix length over 32' };
    const size = 2 ** (32 - bits);
    const start = Math.floor(value / size) * size;
    return { ok: true, range: { ipv4: { start, end: start + size } } };
  }
  const groups = parseIpv6(addrText);
  if (groups === undefined) return { ok: false, problem: 'bad IPv6 address' };
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (bits > 128) return { ok: false, problem: 'prefix length over 128' };
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  const size = 1n << BigInt(128 - bits);
  const start = (value / size) * size;
  const end = start + size;
  const range: CidrRange = {};
  const lo = start > IPV4_MAPPED_PREFIX ? start : IPV4_MAPPED_PREFIX;
  const hi = end < MAPPED_END ? end : MAPPED_END;
  // The IPv4-mapped part: mapped client addresses are looked up as IPv4.
  if (lo < hi) range.ipv4 = { start: Number(lo - IPV4_MAPPED_PREFIX), end: Number(hi - IPV4_MAPPED_PREFIX) };
  // A range wholly inside ::ffff:0:0/96 needs no IPv6 part (no IPv6 lookup lands there).
  if (!(lo === start && hi === end)) range.ipv6 = { start, end: end > IPV6_SPACE ? IPV6_SPACE : end };
  return { ok: true, range };
}
