/** Test helper: the canonical text of a parsed address (dotted decimal, or RFC 5952 for IPv6). */
import ipaddr from 'ipaddr.js';
import type { ParsedIp } from '../../functions/core/recipients.ts';

export function formatIp(ip: ParsedIp): string {
  if (ip.kind === 'ipv4') {
    const v = ip.value;
    return `${Math.floor(v / 16_777_216)}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(groups).toRFC5952String();
}
