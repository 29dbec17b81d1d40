/**
 * Values of the fast paths known by their bytes: app ids, endpoints, client addresses (with their
 * recipient categories) and organisations. A value's string is made (and validated) the first
 * time its bytes are seen in an object; later lines find it by a hash of the bytes and a byte
 * comparison. Each lookup returns undefined for a value the general path would reject.
 */
import { isValidIp, type RecipientMatcher } from '../recipients.ts';
import { MAX_ENDPOINT_LENGTH, MAX_ORG_LENGTH } from '../record.ts';
import { ByteTable } from './bytes.ts';

export interface IpEntry {
  ip: string;
  /** Categories of the address alone (no on_behalf_of). */
  categories: readonly string[];
}

export interface OrgEntry {
  org: string;
  /** Categories of the organisation alone (no client_ip). */
  categories: readonly string[];
  /** Categories with a client address, by the address's own categories (see KnownValues.categories). */
  withIp: Map<readonly string[], readonly string[]> | undefined;
}

/** Distinct address category sets remembered per organisation (there are few: one per registry range mix). */
const MAX_IP_SETS_PER_ORG = 64;

/** The string of raw bytes buf[s, e) that hold an escape (format-specific), or undefined if invalid. */
export type DecodeEscaped = (buf: Buffer, s: number, e: number) => string | undefined;

export class KnownValues {
  private readonly apps = new ByteTable<string>();
  private readonly endpoints = new ByteTable<string>();
  private readonly ips = new ByteTable<IpEntry>();
  private readonly orgs = new ByteTable<OrgEntry>();
  private readonly noCategories: readonly string[];

  constructor(
    private readonly matcher: RecipientMatcher,
    private readonly decodeEscaped: DecodeEscaped,
  ) {
    this.noCategories = matcher.categoriesFor(undefined, undefined);
  }

  /** A valid app id (raw bytes buf[s, e), hash h), or undefined. */
  app(buf: Buffer, s: number, e: number, h: number, escaped: boolean): string | undefined {
    const found = this.apps.find(buf, s, e, h);
    if (found >= 0) return this.apps.values[found];
    if (escaped || !isAppId(buf, s, e)) return undefined;
    const app = buf.toString('latin1', s, e);
    this.apps.add(buf, s, e, h, app);
    return app;
  }

  /** A valid non-empty endpoint, or undefined. */
  endpoint(
    buf: Buffer,
    s: number,
    e: number,
    h: number,
    escaped: boolean,
    ascii: boolean,
  ): string | undefined {
    const found = this.endpoints.find(buf, s, e, h);
    if (found >= 0) return this.endpoints.values[found];
    const text = this.decode(buf, s, e, escaped, ascii);
    if (text === undefined || text === '' || text.length > MAX_ENDPOINT_LENGTH) return undefined;
    this.endpoints.add(buf, s, e, h, text);
    return text;
  }

  /** A valid address (non-empty bytes), or undefined. */
  ip(buf: Buffer, s: number, e: number, h: number, escaped: boolean, ascii: boolean): IpEntry | undefined {
    const found = this.ips.find(buf, s, e, h);
    if (found >= 0) return this.ips.values[found];
    const text = this.decode(buf, s, e, escaped, ascii);
    if (text === undefined) return undefined;
    // One parse validates and classifies the address (falls back for a matcher without classifyIp);
    // uncached: this table is the cache.
    const categories = this.matcher.classifyIp
      ? this.matcher.classifyIp(text, true)
      : isValidIp(text)
        ? this.matcher.categoriesFor(text, undefined)
        : undefined;
    if (categories === undefined) return undefined;
    const entry = { ip: text, categories };
    this.ips.add(buf, s, e, h, entry);
    return entry;
  }

  /** A valid organisation (non-empty bytes), or undefined. */
  org(buf: Buffer, s: number, e: number, h: number, escaped: boolean, ascii: boolean): OrgEntry | undefined {
    const found = this.orgs.find(buf, s, e, h);
    if (found >= 0) return this.orgs.values[found];
    const text = this.decode(buf, s, e, escaped, ascii);
    if (text === undefined || text === '' || text.length > MAX_ORG_LENGTH) return undefined;
    const entry: OrgEntry = {
      org: text,
      categories: this.matcher.categoriesFor(undefined, text),
      withIp: undefined,
    };
    this.orgs.add(buf, s, e, h, entry);
    return entry;
  }

  /**
   * The recipient categories of a request, as matcher.categoriesFor(ip, org) gives them. With both
   * an address and an organisation, the answer is remembered per organisation and per the
   * address's own categories: a request's categories are those of its address together with those
   * of its organisation (SPEC §2), so addresses in the same categories share the answer.
   */
  categories(ip: IpEntry | undefined, org: OrgEntry | undefined): readonly string[] {
    if (org === undefined) return ip === undefined ? this.noCategories : ip.categories;
    if (ip === undefined) return org.categories;
    let withIp = org.withIp;
    if (withIp === undefined) {
      withIp = new Map();
      org.withIp = withIp;
    }
    let both = withIp.get(ip.categories);
    if (both === undefined) {
      both = this.matcher.categoriesFor(ip.ip, org.org);
      if (withIp.size < MAX_IP_SETS_PER_ORG) withIp.set(ip.categories, both);
    }
    return both;
  }

  private decode(buf: Buffer, s: number, e: number, escaped: boolean, ascii: boolean): string | undefined {
    if (escaped) return this.decodeEscaped(buf, s, e);
    return buf.toString(ascii ? 'latin1' : 'utf8', s, e);
  }
}

/** SPEC §1 app id bytes: 1–128 of A–Z a–z 0–9 . _ : - */
function isAppId(buf: Uint8Array, s: number, e: number): boolean {
  if (e <= s || e - s > 128) return false;
  for (let i = s; i < e; i++) {
    const c = buf[i] as number;
    if (
      !(
        (c >= 97 && c <= 122) ||
        (c >= 65 && c <= 90) ||
        (c >= 48 && c <= 58) || // 0-9 and ':'
        c === 46 ||
        c === 95 ||
        c === 45
      )
    )
      return false;
  }
  return true;
}
