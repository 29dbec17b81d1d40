/**
 * Client addresses as the registry matches them: hand-written strict parsers (checked against
 * ipaddr.js in the tests), fast enough for the reader's hot path. Pure: no I/O, no AWS.
 */

/** A parsed client address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are normalised to IPv4. */
export type ParsedIp =
  | { kind: 'ipv4' /** the address as an unsigned 32-bit integer */; value: number }
  | { kind: 'ipv6' /** the address as a 128-bit integer */; value: bigint };

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
export function parseIpv4(text: string): number | undefined {
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
export function parseIpv6(text: string): number[] | undefined {
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
export function mappedIpv4(g: number[]): number | undefined {
  if (g[0] !== 0 || g[1] !== 0 || g[2] !== 0 || g[3] !== 0 || g[4] !== 0 || g[5] !== 0xffff) return undefined;
  return (g[6] as number) * 65536 + (g[7] as number);
}

/** The IPv4 address a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address embeds, else undefined. */
export function embeddedIpv4(g: number[]): number | undefined {
  const g0 = g[0] as number;
  if (g0 === 0x2002) return (g[1] as number) * 65536 + (g[2] as number);
  if (g0 === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0)
    return (g[6] as number) * 65536 + (g[7] as number);
  return undefined;
}
