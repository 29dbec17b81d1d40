/**
 * The ingest ledger's domain rules, pure (no AWS, no I/O): what a write of one object version is
 * called, how versions are ordered, what a committed manifest holds, how a write's contributions
 * are listed, and what a new commit has left to clean up. The DynamoDB usage store
 * (functions/adapters/usage-store.ts) stores these shapes; the ingest use case applies the rules.
 */
import type { RejectClassCount } from './reject-classes.ts';
import { type RowEvidence, type StoredEvidence, splitEvidence } from './request-evidence.ts';
import { compareStrings, ownValue, setOwn } from './support.ts';
import type { CategoryCounts, Counts, DayUsage, SourceRef } from './types.ts';
import { emptyDayUsage } from './usage-math.ts';

export type ObjectStatus = 'ingested' | 'empty' | 'quarantined';

/** A write whose contributions are to be deleted: its wid and how many part-list items it has. */
export interface WriteRef {
  wid: string;
  chunks: number;
}

/** The committed write of one log object: what it counted and where its problems are listed. */
export interface ObjectManifest {
  key: string;
  /** S3 version id when the bucket is versioned, else the ETag. */
  gen: string;
  /** Write id of the committed contributions. */
  wid: string;
  /** Ordering token (padded S3 sequencer): a lower one never replaces a higher one. */
  seq: string;
  status: ObjectStatus;
  format: 'jsonl' | 'csv' | null;
  compressed: boolean;
  lines: number;
  counted: number;
  rejected: number;
  reason?: string;
  /** Where the rejected lines are listed, in the reports bucket. */
  rejectsKey?: string;
  /** Rejected lines per reason class (reject-classes.ts: bounded), most first; absent without rejects. */
  rejectReasons?: RejectClassCount[];
  /**
   * How many rejected lines the rejects file lists, when the file reached its byte bound and lists
   * fewer than `rejected` (absent otherwise).
   */
  rejectsWritten?: number;
  quarantineKey?: string;
  /** Number of part-list items of this wid. */
  chunks: number;
  /** sha256 of the recipients registry the object was attributed with. */
  registryHash: string;
  ingestedAt: string;
  /** Replaced writes whose contributions are still to delete. */
  cleanup?: WriteRef[];
  /** The ETag of the version read (absent in manifests written before it was recorded). */
  etag?: string;
  /** S3 LastModified of the version read, ISO (absent in manifests written before it was recorded). */
  modified?: string;
  /**
   * Request_ids of the counted lines (issue 11 item 5): how many lines had one, how many of those
   * repeat one of an earlier line of the object (exact), and `capped` when more than
   * MAX_FINGERPRINTS had one (duplicates is then a lower bound). Absent before evidence was kept.
   */
  requestIds?: { ids: number; duplicates: number; capped?: true };
}

/** Usage of one app on one day, summed over the committed objects behind it. */
export interface UsageRow extends DayUsage {
  sources: SourceRef[];
  /** Request-level evidence of the row (request-evidence.ts), when its objects were read with it. */
  evidence?: RowEvidence;
}

export type CommitResult = { committed: true } | { committed: false; current: ObjectManifest | undefined };

/** One contribution item's place: `<app>/<day>/<part>`. */
export type Entry = string;

const PAD = 40;
/** Left-pads an S3 sequencer so that string order is event order (as S3 documents). */
export function orderToken(sequencer: string | undefined): string {
  return (sequencer ?? '').toUpperCase().padStart(PAD, '0');
}

/** Names one object version read with one recipients registry. */
export function writeId(gen: string, seq: string, registryHash: string): string {
  return `${gen}.${seq.replace(/^0+/, '') || '0'}.${registryHash.slice(0, 12)}`;
}

export const entryOf = (app: string, day: string, part: number): Entry => `${app}/${day}/${part}`;

/** The app, day and part an entry names (app ids may not contain '/', but the split is from the right). */
export function parseEntry(e: Entry): { app: string; day: string; part: number } {
  const j = e.lastIndexOf('/');
  const i = e.lastIndexOf('/', j - 1);
  return { app: e.slice(0, i), day: e.slice(i + 1, j), part: Number(e.slice(j + 1)) };
}

export const dayOfEntry = (e: Entry): string => parseEntry(e).day;

/** Entries per part-list item: well under 400 KB even with 128-character app ids. */
export const ENTRIES_PER_CHUNK = 2000;

/**
 * A write's entries cut into part lists (at least one, possibly empty): at most `size` entries
 * each, and at most `maxBytes` of list by DynamoDB's size rules.
 */
export function chunkEntries(
  entries: readonly Entry[],
  size = ENTRIES_PER_CHUNK,
  maxBytes = ITEM_BUDGET_BYTES - 2_048,
): Entry[][] {
  const chunks: Entry[][] = [];
  let current: Entry[] = [];
  let bytes = LIST_OVERHEAD;
  for (const e of entries) {
    const b = 1 + utf8Bytes(e);
    if (current.length > 0 && (current.length >= size || bytes + b > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = LIST_OVERHEAD;
    }
    current.push(e);
    bytes += b;
  }
  chunks.push(current);
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// Item sizes, by DynamoDB's rules: an item is the sum of its attribute names (UTF-8 bytes) and
// values; a string is its UTF-8 bytes, a number about one byte per two significant digits plus
// one (at most 21), a boolean or null 1 byte, a map or list 3 bytes plus 1 byte per element plus
// its elements (a map's names included).

/** DynamoDB's item size limit. */
export const ITEM_LIMIT_BYTES = 400 * 1024;
/** What any one item written by the ledger may measure: the limit less a 15 % safety margin. */
export const ITEM_BUDGET_BYTES = 348_000;
const LIST_OVERHEAD = 3;

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function numberBytes(n: number): number {
  const digits =
    String(Math.abs(n))
      .replace(/[.e+-]/g, '')
      .replace(/^0+/, '').length || 1;
  return Math.min(21, Math.ceil(digits / 2) + 2);
}

/** The size of one attribute value. */
export function valueBytes(v: unknown): number {
  if (typeof v === 'string') return utf8Bytes(v);
  if (typeof v === 'number') return numberBytes(v);
  if (typeof v === 'boolean' || v === null || v === undefined) return 1;
  if (v instanceof Uint8Array) return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + 1 + valueBytes(x), LIST_OVERHEAD);
  if (typeof v === 'object') {
    let n = LIST_OVERHEAD;
    for (const [k, x] of Object.entries(v)) if (x !== undefined) n += 1 + utf8Bytes(k) + valueBytes(x);
    return n;
  }
  return utf8Bytes(String(v));
}

/** The size of an item: every attribute's name plus value. */
export function itemBytes(item: Readonly<Record<string, unknown>>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) if (v !== undefined) n += utf8Bytes(k) + valueBytes(v);
  return n;
}

/**
 * Splits one app-day's usage into parts whose stored size (DynamoDB's rules, UTF-8 bytes) stays
 * within `budget` once `fixedBytes` (the item's key and other attributes) are added. The counters
 * go in part 0; endpoints, category totals and per-organisation counts are packed into the parts.
 * Summing the parts gives the usage back exactly.
 */
export function splitUsageForItems(u: DayUsage, fixedBytes: number, budget = ITEM_BUDGET_BYTES): DayUsage[] {
  const base = (c: Counts): DayUsage => ({ app: u.app, day: u.day, ...c, endpoints: {}, categories: {} });
  const overhead =
    fixedBytes +
    itemBytes({ ...base({ requests: u.requests, records: u.records, bytes: u.bytes, errors: u.errors }) });
  const parts: DayUsage[] = [];
  let current = base(u);
  let size = overhead;
  const room = (bytes: number) => {
    if (size + bytes > budget && size > overhead) {
      parts.push(current);
      current = base({ requests: 0, records: 0, bytes: 0, errors: 0 });
      size = overhead;
    }
    size += bytes;
  };
  for (const [ep, c] of Object.entries(u.endpoints)) {
    room(1 + utf8Bytes(ep) + valueBytes(c));
    setOwn(current.endpoints, ep, c);
  }
  const header = (cat: string, c: { requests: number; records: number }) =>
    1 + utf8Bytes(cat) + valueBytes({ requests: c.requests, records: c.records, orgs: {} });
  const category = (cat: string): CategoryCounts => {
    const had = ownValue(current.categories, cat);
    if (had) return had;
    return setOwn(current.categories, cat, { requests: 0, records: 0, orgs: {} });
  };
  for (const [cat, c] of Object.entries(u.categories)) {
    room(header(cat, c));
    const into = category(cat);
    into.requests = c.requests;
    into.records = c.records;
    for (const [org, o] of Object.entries(c.orgs)) {
      const cost = 1 + utf8Bytes(org) + valueBytes(o);
      const before = current;
      room(cost);
      // A new part needs the category's own entry again (with zero totals) to hold the org.
      if (current !== before) size += header(cat, { requests: 0, records: 0 });
      setOwn(category(cat).orgs, org, o);
    }
  }
  parts.push(current);
  return parts;
}

/**
 * One app-day's evidence as stored parts (request-evidence.ts splitEvidence): the first goes into
 * `last` (the app-day's last usage part) when it fits there, the others are parts of their own
 * with zero usage. Returns the parts of their own.
 */
export function evidenceForItems(
  u: DayUsage,
  ev: RowEvidence,
  fixed: number,
  last: DayUsage & { ev?: StoredEvidence },
  limit = ITEM_BUDGET_BYTES,
): (DayUsage & { ev: StoredEvidence })[] {
  const zero = emptyDayUsage(u.app, u.day);
  const budget = limit - fixed - itemBytes({ ...zero }) - 8;
  const parts = splitEvidence(ev, budget, valueBytes);
  const first = parts[0];
  if (first && fixed + itemBytes({ ...last }) + 3 + valueBytes(first) <= limit) {
    last.ev = first;
    parts.shift();
  }
  return parts.map((p) => ({ ...zero, ev: p }));
}

// ---------------------------------------------------------------------------------------------
// Reasons (quarantine, rejects) come from the data and can be as long as a line: every stored
// reason is bounded.

/** The most characters of a reason that are stored (the rest is counted, not kept). */
export const MAX_REASON_CHARS = 500;

/** `reason`, cut to MAX_REASON_CHARS with "…(N more chars)" when longer. */
export function boundReason(reason: string, max = MAX_REASON_CHARS): string {
  if (reason.length <= max) return reason;
  // Never cut a surrogate pair in two.
  let end = max;
  const code = reason.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${reason.slice(0, end)}…(${reason.length - end} more chars)`;
}

/**
 * Keeps a manifest item within the budget: the reason is already bounded and the key is at most
 * 1,024 bytes, so only a long pending-cleanup list (cleanups interrupted many times) can grow it;
 * the oldest entries are then dropped (their contributions were never counted: only the committed
 * write's are, so dropping one leaves stray items, never a wrong total). Returns the dropped refs.
 */
export function fitManifest(
  item: Record<string, unknown> & { cleanup?: WriteRef[] },
  budget = ITEM_BUDGET_BYTES,
): WriteRef[] {
  const dropped: WriteRef[] = [];
  let size = itemBytes(item);
  while (size > budget && item.cleanup && item.cleanup.length > 0) {
    const ref = item.cleanup.shift() as WriteRef;
    dropped.push(ref);
    size -= 1 + valueBytes(ref);
    if (item.cleanup.length === 0) delete item.cleanup;
  }
  if (itemBytes(item) > budget)
    throw new Error(`manifest of ${String(item.key).slice(0, 200)} would exceed ${budget} bytes`);
  return dropped;
}

/**
 * Whether a version last modified at `modified` is older than what `before` committed (by S3's
 * LastModified). Used where the S3 sequencer cannot tell: a write made without one (reprocess,
 * reconcile) keeps its predecessor's order token, so a late event for an intermediate version
 * would pass the token check; its LastModified does not.
 */
export function olderThanCommitted(before: ObjectManifest | undefined, modified: Date | undefined): boolean {
  if (!before?.modified || !modified) return false;
  return modified.getTime() < Date.parse(before.modified);
}

/** The months (YYYY-MM) from `from`'s to `to`'s, both dates YYYY-MM-DD. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, m] = [Number(from.slice(0, 4)), Number(from.slice(5, 7))];
  const end = to.slice(0, 7);
  for (;;) {
    const month = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`;
    if (month > end) return out;
    out.push(month);
    m++;
    if (m === 13) [y, m] = [y + 1, 1];
  }
}

/**
 * The writes a commit of `wid` replaces: what `before` still had to clean up, plus `before`'s own
 * write, never `wid` itself.
 */
export function cleanupAfter(before: ObjectManifest | undefined, wid: string): WriteRef[] {
  return [...(before?.cleanup ?? []), ...(before ? [{ wid: before.wid, chunks: before.chunks }] : [])].filter(
    (c) => c.wid !== wid,
  );
}

/** Sorts manifests (or anything keyed) by key, in code-unit order. */
export const byKey = <T extends { key: string }>(a: T, b: T): number => compareStrings(a.key, b.key);
