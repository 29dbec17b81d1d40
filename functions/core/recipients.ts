/**
 * Recipient categories (SPEC §2, §3): a request belongs to a category when its client_ip lies in
 * one of the category's CIDR ranges (IPv4 or IPv6) or its on_behalf_of equals one of the
 * category's organisations.
 *
 * The registry is compiled once into disjoint, sorted address segments per family, each carrying
 * the (interned, frozen, sorted) set of categories covering it, so a lookup is a binary search.
 * Addresses are parsed by hand-written strict parsers (checked against ipaddr.js in the tests):
 * measured on log data, parsing + search costs less than a Map lookup keyed by the (fresh) address
 * string, so results are cached per address only in a small bounded map for IPv6, whose parse is
 * the dearer one. Pure: no I/O, no AWS.
 */
import ipaddr from 'ipaddr.js';
import { compareStrings } from './support.ts';
import type { RecipientsRegistry } from './types.ts';

export interface RecipientMatcher {
  /** Categories of a request, sorted, without duplicates (a shared frozen array: do not mutate). */
  categoriesFor(ip: string | undefined, org: string | undefined): readonly string[];
}

/** A parsed client address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are normalised to IPv4. */
export type ParsedIp =
  | { kind: 'ipv4' /** the address as an unsigned 32-bit integer */; value: number }
  | { kind: 'ipv6' /** the address as a 128-bit integer */; value: bigint };

const NONE: readonly string[] = Object.freeze([]);

/**
 * Strict address parser: IPv4 only as dotted four-part decimal without leading zeros
 * (`10.0.0.1`, not `10.1` or `010.0.0.1`); IPv6 in RFC 4291 text form (hex groups, one `::`, an
 * optional dotted IPv4 tail), without a zone id. Returns undefined for anything else.
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.indexOf(':') === -1) {
    const value = parseIpv4(text);
    return value === undefined ? undefined : { kind: 'ipv4', value };
  }
  const groups = parseIpv6(text);
  if (groups === undefined) return undefined;
  const mapped = mappedIpv4(groups);
  if (mapped !== undefined) return { kind: 'ipv4', value: mapped };
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return { kind: 'ipv6', value };
}

/** True when `text` is an address parseIp accepts. */
export function isValidIp(text: string): boolean {
  return text.indexOf(':') === -1 ? parseIpv4(text) !== undefined : parseIpv6(text) !== undefined;
}

/** Dotted four-part decimal, each part 0–255 without leading zeros, as an unsigned 32-bit integer. */
function parseIpv4(text: string): number | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255 || ++parts > 4) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || (digits === 1 && part === 0)) return undefined;
      part = part * 10 + d;
      digits++;
    }
  }
  return parts === 4 ? value : undefined;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The eight 16-bit groups of an IPv6 address in RFC 4291 text form, or undefined. */
function parseIpv6(text: string): number[] | undefined {
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const groups: number[] = [];
  let gap = -1; // index in groups where "::" stands
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let v = 0;
    let h = hexValue(text.charCodeAt(i));
    while (h >= 0 && i - start < 4) {
      v = v * 16 + h;
      i++;
      h = i < n ? hexValue(text.charCodeAt(i)) : -1;
    }
    if (i < n && text.charCodeAt(i) === 46) {
      // A dotted IPv4 tail: the last 32 bits.
      if (groups.length > 6) return undefined;
      const v4 = parseIpv4(text.slice(start));
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 & 0xffff);
      i = n;
      break;
    }
    if (i === start || groups.length === 8) return undefined;
    groups.push(v);
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap !== -1) return undefined;
      gap = groups.length;
      i++;
    } else if (i === n) return undefined;
  }
  if (gap === -1) return groups.length === 8 ? groups : undefined;
  if (groups.length > 7) return undefined;
  const zeros = new Array<number>(8 - groups.length).fill(0);
  groups.splice(gap, 0, ...zeros);
  return groups;
}

/** The IPv4 address of ::ffff:a.b.c.d, else undefined. */
function mappedIpv4(g: number[]): number | undefined {
  if (g[0] !== 0 || g[1] !== 0 || g[2] !== 0 || g[3] !== 0 || g[4] !== 0 || g[5] !== 0xffff) return undefined;
  return (g[6] as number) * 65536 + (g[7] as number);
}

/** The canonical text of a parsed address (dotted decimal, or RFC 5952 for IPv6). */
export function formatIp(ip: ParsedIp): string {
  if (ip.kind === 'ipv4') {
    const v = ip.value;
    return `${Math.floor(v / 16_777_216)}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return new ipaddr.IPv6(groupsOf(ip.value)).toRFC5952String();
}

function groupsOf(value: bigint): number[] {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  return parts;
}

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

/**
 * Compile a registry. Throws an Error naming the category and the CIDR when a range is invalid.
 * A CIDR with host bits set (10.1.2.3/8) is taken as its network (10.0.0.0/8); an IPv6 range
 * inside ::ffff:0:0/96 is taken as the IPv4 range it maps.
 */
export function compileRegistry(registry: RecipientsRegistry): RecipientMatcher {
  const v4: Interval<number>[] = [];
  const v6: Interval<bigint>[] = [];
  const byOrg = new Map<string, string[]>();
  for (const category of Object.keys(registry).sort(compareStrings)) {
    const entry = registry[category];
    if (!entry) continue;
    for (const cidr of entry.cidrs ?? []) {
      const range = parseCidr(cidr);
      if (!range) {
        throw new Error(`recipients registry: category ${category}: invalid CIDR ${JSON.stringify(cidr)}`);
      }
      if (range.kind === 'ipv4') v4.push({ start: range.start, end: range.end, category });
      else v6.push({ start: range.start, end: range.end, category });
    }
    for (const org of entry.organisations ?? []) {
      const list = byOrg.get(org) ?? [];
      if (!list.includes(category)) list.push(category);
      byOrg.set(org, list);
    }
  }
  const interned = new Map<string, readonly string[]>();
  const orgCats = new Map<string, readonly string[]>();
  for (const [org, list] of byOrg) orgCats.set(org, internSet(list, interned));
  const table4 = buildSegments(v4, 0, interned);
  const table6 = toWordTable(buildSegments(v6, 0n, interned));
  const v6Cache = new BoundedCache<readonly string[]>(IPV6_CACHE_SIZE);
  // Union of an address's and an organisation's categories, keyed by the two interned sets.
  const unions = new Map<readonly string[], Map<readonly string[], readonly string[]>>();

  const byIp = (ip: string): readonly string[] => {
    if (ip.indexOf(':') === -1) {
      const v = parseIpv4(ip);
      return v === undefined ? NONE : lookup(table4, v);
    }
    let cats = v6Cache.get(ip);
    if (cats === undefined) {
      const groups = parseIpv6(ip);
      if (groups === undefined) cats = NONE;
      else {
        const mapped = mappedIpv4(groups);
        cats = mapped !== undefined ? lookup(table4, mapped) : lookupWords(table6, groups);
      }
      v6Cache.set(ip, cats);
    }
    return cats;
  };

  return {
    categoriesFor(ip, org) {
      const fromIp = ip === undefined || ip === '' ? NONE : byIp(ip);
      const fromOrg = org === undefined ? undefined : orgCats.get(org);
      if (fromOrg === undefined || fromOrg === fromIp) return fromIp;
      if (fromIp.length === 0) return fromOrg;
      let inner = unions.get(fromIp);
      if (inner === undefined) {
        inner = new Map();
        unions.set(fromIp, inner);
      }
      let union = inner.get(fromOrg);
      if (union === undefined) {
        union = internSet([...new Set([...fromIp, ...fromOrg])], interned);
        inner.set(fromOrg, union);
      }
      return union;
    },
  };
}

/** A matcher that knows no category (no registry loaded). */
export const EMPTY_MATCHER: RecipientMatcher = Object.freeze({ categoriesFor: () => NONE });

type Range = { kind: 'ipv4'; start: number; end: number } | { kind: 'ipv6'; start: bigint; end: bigint };

/** `address/bits` (or a bare address: one host), strictly parsed. */
function parseCidr(cidr: unknown): Range | undefined {
  if (typeof cidr !== 'string') return undefined;
  const text = cidr.trim();
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const bitsText = slash === -1 ? undefined : text.slice(slash + 1);
  if (bitsText !== undefined && !/^[0-9]{1,3}$/.test(bitsText)) return undefined;
  const addr = parseIp(addrText);
  if (!addr) return undefined;
  const isMapped = addrText.indexOf(':') !== -1 && addr.kind === 'ipv4';
  if (addr.kind === 'ipv4' && !isMapped) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const start = Math.floor(addr.value / size) * size;
    return { kind: 'ipv4', start, end: start + size };
  }
  const value = addr.kind === 'ipv4' ? IPV4_MAPPED_PREFIX + BigInt(addr.value) : addr.value;
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (bits > 128) return undefined;
  const size = 1n << BigInt(128 - bits);
  const start = (value / size) * size;
  const end = start + size;
  if (bits >= 96 && start >> 32n === IPV4_MAPPED_PREFIX >> 32n) {
    // An IPv4-mapped range: addresses are normalised to IPv4 before lookup.
    return { kind: 'ipv4', start: Number(start - IPV4_MAPPED_PREFIX), end: Number(end - IPV4_MAPPED_PREFIX) };
  }
  return { kind: 'ipv6', start, end: end > IPV6_SPACE ? IPV6_SPACE : end };
}
