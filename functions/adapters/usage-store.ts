/**
 * DynamoDB usage store: exactly-once ingestion in effect, without transactions.
 *
 * Items (one table, pk/sk strings):
 *   contribution  pk U#<app>#<yyyy-mm>   sk <day>#<h(key)>#<gen>   one object's usage of one app on one day
 *   manifest      pk O#<key>             sk M                      the committed version (gen) of an object
 *   app index     pk APPS#<yyyy-mm>      sk <app>                  apps seen in a month
 *   day marker    pk DAYS#<yyyy-mm>      sk <day>                  when that day's usage last changed
 *   data quality  pk DQ#<yyyy-mm>        sk <key>                  objects processed that month with
 *                                                                   rejected lines, quarantined or empty
 *
 * A contribution is written with put (idempotent: the same object version always yields the same
 * item), then the manifest is committed with one conditional put that switches the object's
 * committed version. Readers count a contribution only when its gen is the committed gen of its
 * object, so an object's usage changes all at once, a crash before the commit leaves nothing
 * counted, and a retry rewrites the same items. Contributions of the replaced version are deleted
 * after the commit; the list of what is left to delete stays in the manifest until done.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DayUsage, SourceRef } from '../core/types.ts';
import { compareAppDay, sumDayUsage } from '../core/usage-math.ts';
import { batchGet, batchWrite, DEFAULT_RETRY, type RetryPolicy, type WriteRequest } from './dynamo-batch.ts';

export type ObjectStatus = 'ingested' | 'empty' | 'quarantined';

export interface ObjectManifest {
  key: string;
  gen: string;
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
  /** `<app>/<day>` of every contribution of this gen. */
  partitions: string[];
  /** sha256 of the recipients registry the object was attributed with. */
  registryHash: string;
  ingestedAt: string;
  /** Contributions of replaced versions still to delete. */
  cleanup?: { gen: string; partitions: string[] }[];
}

/** Usage of one app on one day, summed over the committed objects behind it. */
export interface UsageRow extends DayUsage {
  sources: SourceRef[];
}

export type CommitResult =
  | { committed: true; previous: ObjectManifest | undefined }
  | { committed: false; current: ObjectManifest | undefined };

const PAD = 40;
export function orderToken(sequencer: string | undefined): string {
  return (sequencer ?? '').toUpperCase().padStart(PAD, '0');
}

export function partitionOf(app: string, day: string): string {
  return `${app}/${day}`;
}

function splitPartition(p: string): { app: string; day: string } {
  const i = p.lastIndexOf('/');
  return { app: p.slice(0, i), day: p.slice(i + 1) };
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function contributionKey(objectKey: string, gen: string, app: string, day: string) {
  return { pk: `U#${app}#${day.slice(0, 7)}`, sk: `${day}#${keyHash(objectKey)}#${gen}` };
}

const manifestKey = (key: string) => ({ pk: `O#${key}`, sk: 'M' });

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

export class UsageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  async getManifest(key: string): Promise<ObjectManifest | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: manifestKey(key), ConsistentRead: true }),
    );
    return out.Item ? fromManifestItem(out.Item) : undefined;
  }

  /** Puts one object version's contributions and the month app index. Idempotent. */
  async writeContributions(key: string, gen: string, usage: readonly DayUsage[]): Promise<void> {
    const requests: WriteRequest[] = usage.map((u) => ({
      PutRequest: { Item: { ...contributionKey(key, gen, u.app, u.day), key, gen, ...u } },
    }));
    const months = new Set<string>();
    for (const u of usage) {
      const k = `${u.day.slice(0, 7)}\u0000${u.app}`;
      if (months.has(k)) continue;
      months.add(k);
      requests.push({ PutRequest: { Item: { pk: `APPS#${u.day.slice(0, 7)}`, sk: u.app } } });
    }
    await batchWrite(this.doc, this.table, requests, this.retry);
  }

  async deleteContributions(key: string, gen: string, partitions: readonly string[]): Promise<void> {
    const requests: WriteRequest[] = partitions.map((p) => {
      const { app, day } = splitPartition(p);
      return { DeleteRequest: { Key: contributionKey(key, gen, app, day) } };
    });
    await batchWrite(this.doc, this.table, requests, this.retry);
  }

  /** Records that usage of these days changed at `at` (read by the late-data re-audit). */
  async markDaysChanged(days: Iterable<string>, at: string): Promise<void> {
    const requests: WriteRequest[] = [...new Set(days)].sort().map((day) => ({
      PutRequest: { Item: { pk: `DAYS#${day.slice(0, 7)}`, sk: day, changedAt: at } },
    }));
    await batchWrite(this.doc, this.table, requests, this.retry);
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

  /** The committed manifests of these objects (missing ones are left out). */
  async getManifests(keys: readonly string[]): Promise<ObjectManifest[]> {
    const items = await batchGet(this.doc, this.table, [...new Set(keys)].map(manifestKey), this.retry);
    return items.map(fromManifestItem).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
   * Switches the object's committed version to `manifest.gen`, unless a later version (higher seq)
   * is already committed. On success returns the manifest it replaced.
   */
  async commit(manifest: ObjectManifest): Promise<CommitResult> {
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...manifestKey(manifest.key), ...manifest },
          ConditionExpression: 'attribute_not_exists(pk) OR seq <= :seq',
          ExpressionAttributeValues: { ':seq': manifest.seq },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { committed: true, previous: out.Attributes ? fromManifestItem(out.Attributes) : undefined };
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
        return { committed: false, current: await this.getManifest(manifest.key) };
      }
      throw err;
    }
  }

  /** Drops the pending-cleanup list once its deletions are done, if `gen` is still committed. */
  async finishCleanup(key: string, gen: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: manifestKey(key),
          UpdateExpression: 'REMOVE cleanup',
          ConditionExpression: 'gen = :gen',
          ExpressionAttributeValues: { ':gen': gen },
        }),
      );
    } catch (err) {
      if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
    }
  }

  async deleteManifest(key: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: manifestKey(key) }));
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
   * Usage per app and day in [from, to], counting only committed object versions, with the
   * objects behind each number.
   */
  async queryUsage(opts: { from: string; to: string; apps?: readonly string[] }): Promise<UsageRow[]> {
    const apps = opts.apps ?? (await this.listApps(opts.from, opts.to));
    const items: Record<string, unknown>[] = [];
    for (const app of apps) {
      for (const month of monthsBetween(opts.from, opts.to)) {
        for await (const item of this.query(`U#${app}#${month}`, opts.from, opts.to)) items.push(item);
      }
    }
    const keys = [...new Set(items.map((i) => i.key as string))];
    const manifests = await batchGet(this.doc, this.table, keys.map(manifestKey), this.retry);
    const committed = new Map<string, string>();
    for (const m of manifests) {
      if (m.status === 'ingested') committed.set(m.key as string, m.gen as string);
    }
    const live = items.filter((i) => committed.get(i.key as string) === i.gen);
    const sources = new Map<string, SourceRef[]>();
    for (const i of live) {
      const k = `${i.app}\u0000${i.day}`;
      const list = sources.get(k) ?? [];
      sources.set(k, list);
      list.push({ key: i.key as string, gen: i.gen as string });
    }
    return sumDayUsage(live.map(toDayUsage))
      .map((u) => ({
        ...u,
        sources: (sources.get(`${u.app}\u0000${u.day}`) ?? []).sort((a, b) =>
          a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
        ),
      }))
      .sort(compareAppDay);
  }

  private async *query(pk: string, from?: string, to?: string): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: from && to ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk',
          ExpressionAttributeValues:
            from && to ? { ':pk': pk, ':from': from, ':to': `${to}\uffff` } : { ':pk': pk },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      yield* out.Items ?? [];
      start = out.LastEvaluatedKey;
    } while (start);
  }
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
