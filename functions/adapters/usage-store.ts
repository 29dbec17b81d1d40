/**
 * DynamoDB usage store: exactly-once ingestion in effect, without transactions.
 *
 * Items (one table, pk/sk strings):
 *   contribution  pk U#<app>#<yyyy-mm>  sk <day>#<h(key)>#<wid>#<part>  one write's usage of one app-day
 *   manifest      pk O#<key>            sk M                            the committed write of an object
 *   part list     pk O#<key>            sk P#<wid>#<n>                  the contributions a write made
 *   app index     pk APPS#<yyyy-mm>     sk <app>                        apps seen in a month
 *   day marker    pk DAYS#<yyyy-mm>     sk <day>                        when that day's usage last changed
 *   data quality  pk DQ#<yyyy-mm>       sk <key>                        objects processed that month with
 *                                                                       rejects, quarantined or empty
 *
 * A write id (wid) names one object version read with one recipients registry: version id or
 * ETag, S3 sequencer and registry hash. Its part lists and contributions are written first
 * (idempotent puts: the same wid always yields the same items); then one conditional put of the
 * manifest switches the object to the new wid, on the condition that the manifest is still the
 * one read before. Readers count a contribution only when its wid is its object's committed wid,
 * and fill in, from the committed part list, any contribution their query read before it existed:
 * each object's usage changes all at once. A crash before the commit leaves nothing counted and the
 * retry rewrites the same items; what the commit replaced is listed in the manifest until deleted.
 *
 * The rules themselves (write id, order token, entries, manifest shape, what a commit replaces) are
 * the pure core's (functions/core/ledger.ts); this adapter stores them and implements the ports
 * UsageLedger (ingest) and UsageReader (audit, CLI).
 */
import { createHash } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { UsageReader } from '../audit/ports.ts';
import { boundDayUsage } from '../core/aggregate.ts';
import {
  byKey,
  type CommitResult,
  chunkEntries,
  type Entry,
  entryOf,
  evidenceForItems,
  fitManifest,
  ITEM_BUDGET_BYTES,
  itemBytes,
  monthsBetween,
  type ObjectManifest,
  parseEntry,
  splitUsageForItems,
  type UsageRow,
  type WriteRef,
} from '../core/ledger.ts';
import { DEFAULT_BOUNDS, type DistinctBounds } from '../core/reader/limits.ts';
import { joinEvidence, type RowEvidence, type StoredEvidence } from '../core/request-evidence.ts';
import { compareStrings } from '../core/support.ts';
import type { DayUsage, SourceRef } from '../core/types.ts';
import { compareAppDay, sumDayUsage } from '../core/usage-math.ts';
import type { UsageLedger } from '../ingest/ports.ts';
import {
  batchGet,
  batchWrite,
  DEFAULT_RETRY,
  mapLimit,
  queryPartition,
  type RetryPolicy,
  type WriteRequest,
} from './dynamo-batch.ts';

const keyHash = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 32);

function contributionKey(objectKey: string, wid: string, e: Entry) {
  const { app, day, part } = parseEntry(e);
  return { pk: `U#${app}#${day.slice(0, 7)}`, sk: `${day}#${keyHash(objectKey)}#${wid}#${part}` };
}

const manifestKey = (key: string) => ({ pk: `O#${key}`, sk: 'M' });
const chunkKey = (key: string, wid: string, n: number) => ({ pk: `O#${key}`, sk: `P#${wid}#${n}` });

/** Contribution items committedParts checks against their manifests at a time. */
const COMMITTED_PAGE = 500;

/** How many times queryUsage reads again when a commit lands during its read. */
export const QUERY_ATTEMPTS = 6;

const isConditionFailure = (err: unknown): boolean =>
  err instanceof Error && err.name === 'ConditionalCheckFailedException';

export class UsageStore implements UsageLedger, UsageReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** Distinct endpoints / organisations kept per app-day summed over objects (per-app-day rows). */
    private readonly bounds: DistinctBounds = DEFAULT_BOUNDS,
  ) {}

  async getManifest(key: string): Promise<ObjectManifest | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: manifestKey(key), ConsistentRead: true }),
    );
    return out.Item ? fromManifestItem(out.Item) : undefined;
  }

  /**
   * Puts one write's part lists, then its contributions (each app-day split into parts under
   * DynamoDB's item size limit) and the month app index. Idempotent. Returns the part-list count.
   * `evidence` (aligned with `usage`): each app-day's request-level evidence, stored in further
   * parts of zero usage with an `ev` attribute (request-evidence.ts splitEvidence), so that the
   * part lists, commits and cleanups cover them like any part.
   */
  async writeContributions(
    key: string,
    gen: string,
    wid: string,
    usage: readonly DayUsage[],
    evidence?: readonly (RowEvidence | undefined)[],
  ): Promise<number> {
    const items: { entry: Entry; piece: DayUsage & { ev?: StoredEvidence }; index: number }[] = [];
    for (const [n, u] of usage.entries()) {
      // Every attribute but the usage itself, measured with the longest part number it may get.
      const fixed = itemBytes({
        ...contributionKey(key, wid, entryOf(u.app, u.day, 99_999)),
        key,
        gen,
        wid,
        part: 99_999,
      });
      const pieces: (DayUsage & { ev?: StoredEvidence })[] = splitUsageForItems(u, fixed);
      const ev = evidence?.[n];
      if (ev) pieces.push(...evidenceForItems(u, ev, fixed, pieces.at(-1) as DayUsage));
      pieces.forEach((piece, index) => {
        items.push({ entry: entryOf(u.app, u.day, index), piece, index });
      });
    }
    const listFixed = itemBytes({ ...chunkKey(key, wid, 99_999), entries: [] });
    const parts = chunkEntries(
      items.map((i) => i.entry),
      undefined,
      ITEM_BUDGET_BYTES - listFixed,
    );
    const lists: WriteRequest[] = parts.map((slice, n) => ({
      PutRequest: { Item: { ...chunkKey(key, wid, n), entries: slice } },
    }));
    await batchWrite(this.doc, this.table, lists, this.retry);

    const requests: WriteRequest[] = items.map(({ entry, piece, index }) => ({
      PutRequest: { Item: { ...contributionKey(key, wid, entry), key, gen, wid, part: index, ...piece } },
    }));
    const months = new Set<string>();
    for (const u of usage) {
      const k = `${u.day.slice(0, 7)}\u0000${u.app}`;
      if (months.has(k)) continue;
      months.add(k);
      requests.push({ PutRequest: { Item: { pk: `APPS#${u.day.slice(0, 7)}`, sk: u.app } } });
    }
    await batchWrite(this.doc, this.table, requests, this.retry);
    return parts.length;
  }

  /** The contributions a write made (empty if its part lists are gone or were never written). */
  async entries(key: string, ref: WriteRef): Promise<Entry[]> {
    const keys = Array.from({ length: ref.chunks }, (_, n) => chunkKey(key, ref.wid, n));
    const items = await batchGet(this.doc, this.table, keys, this.retry);
    return items.flatMap((i) => (i.entries as Entry[] | undefined) ?? []);
  }

  /** Deletes a write's contributions, then its part lists. Idempotent. */
  async deleteWrite(key: string, ref: WriteRef): Promise<Entry[]> {
    const entries = await this.entries(key, ref);
    await batchWrite(
      this.doc,
      this.table,
      entries.map((e) => ({ DeleteRequest: { Key: contributionKey(key, ref.wid, e) } })),
      this.retry,
    );
    await batchWrite(
      this.doc,
      this.table,
      Array.from({ length: ref.chunks }, (_, n) => ({ DeleteRequest: { Key: chunkKey(key, ref.wid, n) } })),
      this.retry,
    );
    return entries;
  }

  /**
   * Records that usage of these days changed at `at`. A marker only moves forward, so a slow
   * writer never hides a later change.
   */
  async markDaysChanged(days: Iterable<string>, at: string): Promise<void> {
    await mapLimit([...new Set(days)].sort(), 4, async (day) => {
      const Key = { pk: `DAYS#${day.slice(0, 7)}`, sk: day };
      // `rev` counts every change (a rollup is fresh only at its day's rev, dayTokens), even one
      // whose clock is not ahead of changedAt.
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: 'SET changedAt = :at ADD rev :one',
            ConditionExpression: 'attribute_not_exists(changedAt) OR changedAt < :at',
            ExpressionAttributeValues: { ':at': at, ':one': 1 },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: 'ADD rev :one',
            ExpressionAttributeValues: { ':one': 1 },
          }),
        );
      }
    });
  }

  /**
   * Days in [from, to] with a token that changes with every change of their usage
   * (`<rev>@<changedAt>`): what a rollup of the day is checked against (rollup-store.ts).
   */
  async dayTokens(from: string, to: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const month of monthsBetween(from, to)) {
      for await (const item of this.query(`DAYS#${month}`, from, to)) {
        out.set(item.sk as string, `${Number(item.rev ?? 0)}@${item.changedAt as string}`);
      }
    }
    return out;
  }

  /**
   * The committed usage of one app on the days [from, to] of one month, per log object and day,
   * streamed in (day, object) order from paged queries: at most one page of items and its
   * manifests in memory. No read-again on a concurrent commit (queryUsage's guarantee): a caller
   * that needs the parts to match other figures compares their sums (audit/evidence.ts does).
   */
  async *committedParts(app: string, from: string, to: string): AsyncGenerator<UsageRow> {
    let page: Record<string, unknown>[] = [];
    let group: { id: string; source: SourceRef; items: Record<string, unknown>[] } | undefined;
    const self = this;
    async function* flush(items: Record<string, unknown>[]): AsyncGenerator<UsageRow> {
      const manifests = await self.getManifests([...new Set(items.map((i) => i.key as string))]);
      const wid = new Map(manifests.filter((m) => m.status === 'ingested').map((m) => [m.key, m.wid]));
      for (const i of items) {
        if (wid.get(i.key as string) !== i.wid) continue;
        const id = `${i.day}\u0000${i.key}`;
        if (group && group.id !== id) {
          yield* rowOf(group);
          group = undefined;
        }
        group ??= { id, source: { key: i.key as string, gen: i.gen as string }, items: [] };
        group.items.push(i);
      }
    }
    const rowOf = (g: NonNullable<typeof group>): UsageRow[] => {
      const evs = evidenceByDay(g.items);
      return sumDayUsage(g.items.map(toDayUsage)).map((u) => withEvidence(u, [g.source], evs));
    };
    for (const month of monthsBetween(from, to)) {
      for await (const item of this.query(`U#${app}#${month}`, from, to)) {
        page.push(item);
        if (page.length >= COMMITTED_PAGE) {
          yield* flush(page);
          page = [];
        }
      }
    }
    yield* flush(page);
    if (group) yield* rowOf(group);
  }

  /**
   * Lists an object with data-quality problems (rejects, quarantine, empty) under the month it was
   * processed, so reports can name it even when it counted for nothing.
   */
  async indexDataQuality(manifest: ObjectManifest): Promise<void> {
    const day = manifest.ingestedAt.slice(0, 10);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `DQ#${day.slice(0, 7)}`, sk: manifest.key, day, gen: manifest.gen },
      }),
    );
  }

  /** Keys of objects indexed by indexDataQuality with a processing day in [from, to]. */
  async dataQualityKeys(from: string, to: string): Promise<string[]> {
    const keys: string[] = [];
    for (const month of monthsBetween(from, to)) {
      for await (const item of this.query(`DQ#${month}`)) {
        const day = item.day as string;
        if (day >= from && day <= to) keys.push(item.sk as string);
      }
    }
    return keys;
  }

  /** The committed manifests of these objects (missing ones are left out), sorted by key. */
  async getManifests(keys: readonly string[]): Promise<ObjectManifest[]> {
    const items = await batchGet(this.doc, this.table, [...new Set(keys)].map(manifestKey), this.retry);
    return items.map(fromManifestItem).sort(byKey);
  }

  /** Days in [from, to] with the time their usage last changed. */
  async changedDays(from: string, to: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const month of monthsBetween(from, to)) {
      for await (const item of this.query(`DAYS#${month}`, from, to)) {
        out.set(item.sk as string, item.changedAt as string);
      }
    }
    return out;
  }

  /**
   * Switches the object's committed write to `manifest.wid`, on the condition that the manifest
   * is still `expected` (absent when undefined). On a failed condition returns what is there now.
   */
  async commit(manifest: ObjectManifest, expected: ObjectManifest | undefined): Promise<CommitResult> {
    const item: Record<string, unknown> & { cleanup?: WriteRef[] } = {
      ...manifestKey(manifest.key),
      ...manifest,
      ...(manifest.cleanup ? { cleanup: [...manifest.cleanup] } : {}),
    };
    fitManifest(item);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ...(expected
            ? { ConditionExpression: 'wid = :wid', ExpressionAttributeValues: { ':wid': expected.wid } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return { committed: true };
    } catch (err) {
      if (isConditionFailure(err)) return { committed: false, current: await this.getManifest(manifest.key) };
      throw err;
    }
  }

  /** Drops the pending-cleanup list once its deletions are done, if `wid` is still committed. */
  async finishCleanup(key: string, wid: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: manifestKey(key),
          UpdateExpression: 'REMOVE cleanup',
          ConditionExpression: 'wid = :wid',
          ExpressionAttributeValues: { ':wid': wid },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** Apps with usage in any month that overlaps [from, to]. */
  async listApps(from: string, to: string): Promise<string[]> {
    const apps = new Set<string>();
    for (const month of monthsBetween(from, to)) {
      for await (const item of this.query(`APPS#${month}`)) apps.add(item.sk as string);
    }
    return [...apps].sort();
  }

  /**
   * Usage per app and day in [from, to], counting only committed writes, with the objects behind
   * each number. Each object is counted as of the moment its manifest was read: contributions of
   * its committed write that the queries ran too early to see are fetched from its part lists.
   * A commit landing during the read (a manifest, the app list or a day marker of the range changed,
   * or a part list or contribution gone) makes the whole read start again, up to
   * QUERY_ATTEMPTS times, so an object is always counted as exactly one of its versions.
   */
  async queryUsage(opts: {
    from: string;
    to: string;
    apps?: readonly string[];
    /** One row per app, day and log object (for evidence per object) instead of per app and day. */
    perSource?: boolean;
  }): Promise<UsageRow[]> {
    let problem = '';
    for (let attempt = 0; attempt < QUERY_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.retry.sleep(Math.floor(this.retry.random() * 50 * 2 ** attempt));
      // Under a steady stream of commits the day markers may never hold still: the last attempt
      // relies on the manifests, part lists and app list alone.
      const read = await this.readUsageOnce(opts, attempt < QUERY_ATTEMPTS - 1);
      if (typeof read !== 'string') return this.rowsOf(read, opts.perSource === true);
      problem = read;
    }
    throw new Error(
      `usage of ${opts.from}..${opts.to} kept changing while it was read (${QUERY_ATTEMPTS} attempts): ${problem}`,
    );
  }

  /** One read of committed usage: the live contribution items, or what changed while reading. */
  private async readUsageOnce(
    opts: { from: string; to: string; apps?: readonly string[] },
    checkMarkers: boolean,
  ): Promise<Record<string, unknown>[] | string> {
    const markers = async () =>
      checkMarkers ? JSON.stringify([...(await this.changedDays(opts.from, opts.to))]) : '';
    const markersBefore = await markers();
    const listed = opts.apps ? undefined : await this.listApps(opts.from, opts.to);
    const apps = opts.apps ?? (listed as string[]);
    const wanted = new Set(apps);
    const items: Record<string, unknown>[] = [];
    for (const app of apps) {
      for (const month of monthsBetween(opts.from, opts.to)) {
        for await (const item of this.query(`U#${app}#${month}`, opts.from, opts.to)) items.push(item);
      }
    }
    const keys = [...new Set(items.map((i) => i.key as string))];
    const manifests = await this.getManifests(keys);
    const committed = new Map<string, ObjectManifest>();
    for (const m of manifests) if (m.status === 'ingested') committed.set(m.key, m);

    const live = items.filter((i) => committed.get(i.key as string)?.wid === i.wid);
    const seen = new Set(
      live.map((i) => `${i.key}\u0000${entryOf(i.app as string, i.day as string, i.part as number)}`),
    );
    const listKeys = [...committed.values()].flatMap((m) =>
      Array.from({ length: m.chunks }, (_, n) => chunkKey(m.key, m.wid, n)),
    );
    const lists = await batchGet(this.doc, this.table, listKeys, this.retry);
    if (lists.length !== listKeys.length) {
      return `${listKeys.length - lists.length} part list(s) of committed writes are missing from ${this.table}`;
    }
    const missing: Record<string, unknown>[] = [];
    for (const list of lists) {
      const m = committed.get((list.pk as string).slice(2));
      if (!m) continue;
      for (const e of (list.entries as Entry[] | undefined) ?? []) {
        const { app, day } = parseEntry(e);
        if (wanted.has(app) && day >= opts.from && day <= opts.to && !seen.has(`${m.key}\u0000${e}`)) {
          missing.push(contributionKey(m.key, m.wid, e));
        }
      }
    }
    if (missing.length > 0) {
      const fetched = await batchGet(this.doc, this.table, missing, this.retry);
      if (fetched.length !== missing.length) {
        return `${missing.length - fetched.length} committed contribution(s) are missing from ${this.table}`;
      }
      live.push(...fetched);
    }
    // Nothing may have changed since the read began: the same committed write of every object
    // seen, the same apps and the same day markers (a commit marks its days before deleting what
    // it replaced, so an object whose old items vanished before they were queried shows here).
    const widsOf = (ms: readonly ObjectManifest[]) => JSON.stringify(ms.map((m) => [m.key, m.wid]));
    if (widsOf(await this.getManifests(keys)) !== widsOf(manifests))
      return 'an object seen was committed again';
    if (listed && JSON.stringify(await this.listApps(opts.from, opts.to)) !== JSON.stringify(listed))
      return 'the apps with usage changed';
    if ((await markers()) !== markersBefore) return 'usage of a day in the range changed';
    return live;
  }

  private rowsOf(live: Record<string, unknown>[], perSource: boolean): UsageRow[] {
    if (perSource) {
      const byKey = new Map<string, Record<string, unknown>[]>();
      for (const i of live) {
        const list = byKey.get(i.key as string) ?? [];
        byKey.set(i.key as string, list);
        list.push(i);
      }
      const rows: UsageRow[] = [];
      for (const [key, items] of byKey) {
        const source = { key, gen: items[0]?.gen as string };
        const evs = evidenceByDay(items);
        for (const u of sumDayUsage(items.map(toDayUsage))) rows.push(withEvidence(u, [source], evs));
      }
      return rows.sort(
        (a, b) => compareAppDay(a, b) || compareStrings(a.sources[0]?.key ?? '', b.sources[0]?.key ?? ''),
      );
    }
    const sources = new Map<string, Map<string, SourceRef>>();
    for (const i of live) {
      const k = `${i.app}\u0000${i.day}`;
      const list = sources.get(k) ?? new Map<string, SourceRef>();
      sources.set(k, list);
      list.set(i.key as string, { key: i.key as string, gen: i.gen as string });
    }
    // Summed over objects, an app-day is held to the same distinct-value bounds as one object's.
    return sumDayUsage(live.map(toDayUsage))
      .map((u) => ({
        ...boundDayUsage(u, this.bounds).usage,
        sources: [...(sources.get(`${u.app}\u0000${u.day}`)?.values() ?? [])].sort(byKey),
      }))
      .sort(compareAppDay);
  }

  private query(pk: string, from?: string, to?: string): AsyncGenerator<Record<string, unknown>> {
    return queryPartition(this.doc, this.table, pk, from && to ? { from, to } : undefined);
  }
}

/** One object's row of an app-day, with its evidence when it has any (perSource rows only). */
function withEvidence(u: DayUsage, sources: SourceRef[], evs: Map<string, StoredEvidence[]>): UsageRow {
  const evidence = joinEvidence(evs.get(`${u.app}\u0000${u.day}`) ?? []);
  return { ...u, sources, ...(evidence ? { evidence } : {}) };
}

/** The stored evidence parts of some contribution items, by `<app>\0<day>`. */
function evidenceByDay(items: readonly Record<string, unknown>[]): Map<string, StoredEvidence[]> {
  const out = new Map<string, StoredEvidence[]>();
  for (const i of items) {
    if (i.ev === undefined) continue;
    const k = `${i.app}\u0000${i.day}`;
    const list = out.get(k) ?? [];
    out.set(k, list);
    list.push(i.ev as StoredEvidence);
  }
  return out;
}

function toDayUsage(i: Record<string, unknown>): DayUsage {
  return {
    app: i.app as string,
    day: i.day as string,
    requests: i.requests as number,
    records: i.records as number,
    bytes: i.bytes as number,
    errors: i.errors as number,
    endpoints: (i.endpoints ?? {}) as DayUsage['endpoints'],
    categories: (i.categories ?? {}) as DayUsage['categories'],
  };
}

function fromManifestItem(item: Record<string, unknown>): ObjectManifest {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as ObjectManifest;
}
