/**
 * The ingest ledger's domain rules, pure (no AWS, no I/O): what a write of one object version is
 * called, how versions are ordered, what a committed manifest holds, how a write's contributions
 * are listed, and what a new commit has left to clean up. The DynamoDB usage store
 * (functions/adapters/usage-store.ts) stores these shapes; the ingest use case applies the rules.
 */
import { compareStrings } from './support.ts';
import type { DayUsage, SourceRef } from './types.ts';

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
  quarantineKey?: string;
  /** Number of part-list items of this wid. */
  chunks: number;
  /** sha256 of the recipients registry the object was attributed with. */
  registryHash: string;
  ingestedAt: string;
  /** Replaced writes whose contributions are still to delete. */
  cleanup?: WriteRef[];
}

/** Usage of one app on one day, summed over the committed objects behind it. */
export interface UsageRow extends DayUsage {
  sources: SourceRef[];
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

/** A write's entries cut into part lists (at least one, possibly empty). */
export function chunkEntries(entries: readonly Entry[], size = ENTRIES_PER_CHUNK): Entry[][] {
  const chunks = Math.max(1, Math.ceil(entries.length / size));
  return Array.from({ length: chunks }, (_, n) => entries.slice(n * size, (n + 1) * size));
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
