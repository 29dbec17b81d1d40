/**
 * Rollups in the usage table (core/rollup.ts): one app-day's committed usage summed, with its top
 * objects and their count, in parts under the item size limit.
 *
 *   rollup part   pk RU#<yyyy-mm>   sk <day>#<app>#<part, 5 digits>   { app, day, part, of, token, usage…,
 *                                                                       top, sourceCount, digest (part 0) }
 *
 * A cache, never a second source of truth: a rollup counts only when its token is its day's
 * change token (UsageStore.dayTokens, `<rev>@<changedAt>`: every commit that changes the day bumps
 * rev after the commit). A stale or missing rollup is rebuilt from the ledger (queryUsage, with its
 * exactly-once read) and tagged with the token read BEFORE that read began, so a commit landing
 * during the rebuild leaves a rollup whose token is already behind the day's: it is rebuilt again
 * on the next read, never taken as fresh. Every app listed for the month gets a rollup for every
 * day with a marker (an empty one when it had no usage that day), so a stale rollup of an app whose
 * usage went away is replaced too. A rollup stored without a content digest (core/rollup.ts; stored
 * before digests were kept) counts as stale: it is rebuilt once, with its digest.
 *
 * Each row served (usage, refreshApps) remembers the digest of the rollup it came from: digests()
 * answers them (RollupSplit: a split date's join compares them with its parts').
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EvidenceChangedError } from '../audit/evidence.ts';
import type { RollupSplit, RollupUsage } from '../audit/ports.ts';
import { addDays } from '../core/audit/format.ts';
import { leanRow } from '../core/audit-duplicates.ts';
import { estimateObjects } from '../core/audit-parts.ts';
import { monthsBetween, type UsageRow } from '../core/ledger.ts';
import type { RowEvidence } from '../core/request-evidence.ts';
import {
  buildRollup,
  joinRollup,
  ROLLUP_PART_FIELDS,
  ROLLUP_TOP_SOURCES,
  type Rollup,
  type RollupPart,
  rollupRow,
  rowDigests,
  splitRollup,
} from '../core/rollup.ts';
import { compareAppDay } from '../core/usage-math.ts';
import {
  batchGet,
  batchWrite,
  DEFAULT_RETRY,
  mapLimit,
  queryPartition,
  type RetryPolicy,
} from './dynamo-batch.ts';
import type { UsageStore } from './usage-store.ts';

/** What rebuilding needs of the ledger (UsageStore; tests wrap it). */
export type RollupSource = Pick<UsageStore, 'queryUsage' | 'dayTokens' | 'listApps' | 'committedParts'>;

/** A window's usage read from rollups. */
export interface RollupWindow {
  /** Usage rows (app-days with usage), by app then day; sources = the day's top objects. */
  rows: (UsageRow & { sourceCount: number })[];
  /** The day tokens the rollups were checked against (read first). */
  tokens: Map<string, string>;
  /** How many app-day rollups were stale or missing and rebuilt. */
  rebuilt: number;
}

/** How many distinct objects the rows of one window name at most (see window). */
export const ROW_SOURCES_BUDGET = 2_000;

/** The most days one rebuild reads at once (its per-object rows are in memory together). */
export const REBUILD_DAYS = 7;

interface StaleRollup {
  app: string;
  day: string;
  token: string;
}

/** Stale app-days in runs of at most REBUILD_DAYS consecutive days of one month. */
function rebuildRuns(stale: readonly StaleRollup[]): StaleRollup[][] {
  const byDay = new Map<string, StaleRollup[]>();
  for (const s of stale) byDay.set(s.day, [...(byDay.get(s.day) ?? []), s]);
  const runs: StaleRollup[][] = [];
  let run: StaleRollup[] = [];
  let first = '';
  let last = '';
  for (const day of [...byDay.keys()].sort()) {
    if (
      run.length > 0 &&
      (day !== addDays(last, 1) ||
        day >= addDays(first, REBUILD_DAYS) ||
        day.slice(0, 7) !== first.slice(0, 7))
    ) {
      runs.push(run);
      run = [];
    }
    if (run.length === 0) first = day;
    run.push(...(byDay.get(day) ?? []));
    last = day;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

const partSk = (day: string, app: string, part: number) => `${day}#${app}#${String(part).padStart(5, '0')}`;

/** What the rollups' reads project (ROLLUP_PART_FIELDS): the window's, the lean window's, counts, tops. */
const WINDOW_FIELDS = ['pk', 'sk', ...ROLLUP_PART_FIELDS];
export const LEAN_FIELDS = [...WINDOW_FIELDS.filter((f) => f !== 'ev'), 'ev.k', 'ev.d'];
const COUNT_FIELDS = [
  'pk',
  'sk',
  'app',
  'day',
  'part',
  'of',
  'token',
  'sourceCount',
  'requests',
  'records',
  'bytes',
  'errors',
];
export const TOP_FIELDS = ['app', 'day', 'token', 'digest', 'top'];
/** Whether a stored rollup (or its part 0) is fresh: its day's token, and a content digest. */
const isFresh = (r: { token: string; digest?: string }, token: string | undefined): boolean =>
  r.token === token && r.digest !== undefined;

export class RollupStore implements RollupUsage, RollupSplit {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ledger: RollupSource,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** App-day rebuilds run at once. */
    private readonly concurrency = 8,
  ) {}

  /** The token of the rollup behind each lean row served (evidence() reads that rollup again). */
  private readonly tokenOf = new WeakMap<object, string>();

  /** The content digest of the rollup behind each row served (digests()). */
  private readonly digestOf = new WeakMap<object, string>();

  /** RollupUsage: what splitting a report date into parts needs (audit/parts.ts). */
  readonly split: RollupSplit = this;

  /** RollupSplit: objects behind each listed app-day, from the stored rollups and day markers. */
  async objectsPerAppDay(from: string, to: string): Promise<Map<string, Map<string, number>>> {
    const [tokens, apps, stored] = await Promise.all([
      this.ledger.dayTokens(from, to),
      this.ledger.listApps(from, to),
      // Only the object counts and tokens are needed: no top lists are kept.
      this.stored(from, to, { countsOnly: true }),
    ]);
    return estimateObjects(apps, tokens, stored);
  }

  /** RollupSplit: the content digest of each row's rollup, by `<app>\0<day>` (rows this store served). */
  digests(rows: readonly UsageRow[]): Map<string, string> {
    return rowDigests(rows, this.digestOf);
  }

  /** RollupSplit: the rows of the picked apps, their stale rollups rebuilt (window). */
  refreshApps(
    from: string,
    to: string,
    pick: (listed: readonly string[]) => readonly string[],
  ): Promise<RollupWindow> {
    return this.window(from, to, pick, true);
  }

  /** RollupUsage: the window's usage rows (stale rollups rebuilt first). */
  async usage(from: string, to: string): Promise<UsageRow[]> {
    return (await this.window(from, to, undefined, true)).rows;
  }

  /**
   * RollupUsage: the request-level evidence of some lean rows (usage()), read again from their
   * rollups; EvidenceChangedError when a rollup is no longer the one the row came from.
   */
  evidence(rows: readonly UsageRow[]): Promise<(RowEvidence | undefined)[]> {
    return mapLimit(rows, this.concurrency, async (row) => {
      const prefix = `${row.day}#${row.app}#`;
      const parts: RollupPart[] = [];
      for await (const item of queryPartition(this.doc, this.table, `RU#${row.day.slice(0, 7)}`, {
        from: prefix,
        to: prefix,
      }))
        parts.push(item as unknown as RollupPart);
      const r = joinRollup(parts);
      const token = this.tokenOf.get(row);
      const digest = this.digestOf.get(row);
      if (
        !r ||
        (token !== undefined && r.token !== token) ||
        (digest !== undefined && r.digest !== digest) ||
        r.requests !== row.requests ||
        r.records !== row.records
      )
        throw new EvidenceChangedError(
          `the rollup of ${row.app} on ${row.day} changed while the evidence was read`,
        );
      return r.evidence;
    });
  }

  /** RollupUsage: one app's committed per-object usage, streamed (UsageStore.committedParts). */
  parts(app: string, from: string, to: string): AsyncIterable<UsageRow> {
    return this.ledger.committedParts(app, from, to);
  }

  /**
   * The stored rollups of [from, to] (fresh or not), by `<day>\0<app>`. Given the window's day
   * tokens and apps (window()), only those apps' rollups are kept, and every attribute but the top
   * lists is read (ROLLUP_PART_FIELDS): the rollups come with `top` empty and window() reads the
   * lists of the rows that name objects (at 1M objects a month the lists are about half the bytes
   * of the month's rollups, and dynalite's read time went from 7.5 to 4.4 s). `countsOnly`: only
   * usage totals, object counts and tokens. Without either: every attribute.
   */
  async stored(
    from: string,
    to: string,
    window?: { tokens: ReadonlyMap<string, string>; apps: ReadonlySet<string> } | { countsOnly: true },
    lean = false,
  ): Promise<Map<string, Rollup>> {
    const parts = new Map<string, RollupPart[]>();
    const projection = !window
      ? undefined
      : 'countsOnly' in window
        ? COUNT_FIELDS
        : lean
          ? LEAN_FIELDS
          : WINDOW_FIELDS;
    for (const month of monthsBetween(from, to)) {
      for await (const item of queryPartition(
        this.doc,
        this.table,
        `RU#${month}`,
        { from, to },
        projection,
      )) {
        const p = item as unknown as RollupPart;
        // Another part's apps (a date split by licensee) are never looked up: not kept at all.
        if (window && 'apps' in window && !window.apps.has(p.app)) continue;
        // Not read: an empty list stands for it (window() reads the lists the rows name).
        if (window && p.part === 0) p.top = [];
        // Lean: only the sketch and the exact duplicate count of the evidence are read (data quality).
        if (lean && p.ev) p.ev = { ...p.ev, s: [] };
        const k = `${p.day}\u0000${p.app}`;
        const list = parts.get(k) ?? [];
        parts.set(k, list);
        list.push(p);
      }
    }
    const out = new Map<string, Rollup>();
    for (const [k, list] of parts) {
      const r = joinRollup(list);
      if (r) out.set(k, r);
    }
    return out;
  }

  /**
   * Reads the top lists of `rollups` (sorted by app then day; those in `unread` have none yet) as
   * far as rows name objects: until ROW_SOURCES_BUDGET distinct objects are named (see window).
   * Each read takes the fewest next rows that could name what is missing (each names at most its
   * object count, and at most ROLLUP_TOP_SOURCES), in BatchGets of 100. A list whose rollup is no
   * longer the one read (another token, or the same token and another digest) is an
   * EvidenceChangedError.
   */
  private async readTops(rollups: readonly Rollup[], unread: ReadonlySet<Rollup>): Promise<void> {
    const named = new Set<string>();
    let i = 0;
    while (i < rollups.length && named.size < ROW_SOURCES_BUDGET) {
      let missing = ROW_SOURCES_BUDGET - named.size;
      let j = i;
      while (j < rollups.length && missing > 0)
        missing -= Math.min((rollups[j++] as Rollup).sourceCount, ROLLUP_TOP_SOURCES);
      const next = rollups.slice(i, j);
      const wanted = next.filter((r) => unread.has(r));
      if (wanted.length > 0) {
        const items = await batchGet(
          this.doc,
          this.table,
          wanted.map((r) => ({ pk: `RU#${r.day.slice(0, 7)}`, sk: partSk(r.day, r.app, 0) })),
          this.retry,
          4,
          TOP_FIELDS,
        );
        const found = new Map(items.map((it) => [`${it.day}\u0000${it.app}`, it]));
        for (const r of wanted) {
          const it = found.get(`${r.day}\u0000${r.app}`);
          // Two rebuilds may tag the same token (a commit racing one): the digest tells them apart.
          if (!it || it.token !== r.token || it.digest !== r.digest || !Array.isArray(it.top))
            throw new EvidenceChangedError(`the rollup of ${r.app} on ${r.day} changed while it was read`);
          r.top = it.top as Rollup['top'];
        }
      }
      for (const r of next) {
        if (named.size >= ROW_SOURCES_BUDGET) break;
        for (const s of r.top) named.add(`${s.key}\u0000${s.gen}`);
      }
      i = j;
    }
  }

  /**
   * Usage of [from, to] from rollups: the day tokens first, then every app-day's rollup, each one
   * whose token is not its day's rebuilt from the ledger and stored. Lean (the audit's read): the
   * rows keep no request-level evidence, only its duplicate counts (core/audit-duplicates.ts
   * leanRow); evidence() reads a row's again.
   */
  async window(
    from: string,
    to: string,
    pick: (listed: readonly string[]) => readonly string[] = (listed) => listed,
    lean = false,
  ): Promise<RollupWindow> {
    const tokens = await this.ledger.dayTokens(from, to);
    const apps = pick(await this.ledger.listApps(from, to));
    const stored = await this.stored(from, to, { tokens, apps: new Set(apps) }, lean);
    const rollups: Rollup[] = [];
    // The stored rollups taken, whose top lists are not read yet.
    const unread = new Set<Rollup>();
    const stale: StaleRollup[] = [];
    for (const [day, token] of [...tokens].sort()) {
      for (const app of apps) {
        const r = stored.get(`${day}\u0000${app}`);
        if (r && isFresh(r, token)) {
          rollups.push(r);
          unread.add(r);
        } else stale.push({ app, day, token });
      }
    }
    stored.clear();
    // One ledger read per run of up to REBUILD_DAYS stale days (their stale apps together).
    const rebuiltDays = await mapLimit(rebuildRuns(stale), this.concurrency, (run) => this.rebuildRun(run));
    for (const list of rebuiltDays) rollups.push(...list);
    // Rows name their day's top objects until ROW_SOURCES_BUDGET distinct objects are named (the
    // report lists at most 1,000 of them); later rows name none (sourceCount still says how many).
    const kept = rollups
      .filter((r) => r.requests > 0 || r.records > 0 || r.sourceCount > 0)
      .sort(compareAppDay);
    await this.readTops(kept, unread);
    const named = new Set<string>();
    const rows = kept.map((r) => {
      const row = lean ? leanRow(rollupRow(r)) : rollupRow(r);
      if (lean) this.tokenOf.set(row, r.token);
      if (r.digest !== undefined) this.digestOf.set(row, r.digest);
      if (named.size >= ROW_SOURCES_BUDGET) row.sources = [];
      else for (const s of row.sources) named.add(`${s.key}\u0000${s.gen}`);
      r.top = [];
      return row;
    });
    return { rows, tokens, rebuilt: stale.length };
  }

  /**
   * Rebuilds one app-day's rollup from the committed usage and stores it with `token`, which the
   * caller read before this read began.
   */
  async rebuild(app: string, day: string, token: string): Promise<Rollup> {
    const rows = await this.ledger.queryUsage({ from: day, to: day, apps: [app], perSource: true });
    const rollup = buildRollup(app, day, rows, token);
    await this.put(rollup);
    return rollup;
  }

  /**
   * Rebuilds the rollups of a run of stale app-days (consecutive days) from one read of the ledger,
   * each tagged with its day's token read before that read (see rebuild).
   */
  async rebuildRun(run: readonly StaleRollup[]): Promise<Rollup[]> {
    const days = run.map((s) => s.day).sort();
    const apps = [...new Set(run.map((s) => s.app))].sort();
    const rows = await this.ledger.queryUsage({
      from: days[0] as string,
      to: days.at(-1) as string,
      apps,
      perSource: true,
    });
    const byCell = new Map<string, UsageRow[]>();
    for (const r of rows) {
      const k = `${r.day}\u0000${r.app}`;
      const list = byCell.get(k) ?? [];
      byCell.set(k, list);
      list.push(r);
    }
    const out = run.map((s) =>
      buildRollup(s.app, s.day, byCell.get(`${s.day}\u0000${s.app}`) ?? [], s.token),
    );
    await mapLimit(out, 4, (r) => this.put(r));
    return out;
  }

  /** Stores a rollup's parts (parts of an earlier, longer rollup left behind are ignored on read). */
  async put(rollup: Rollup): Promise<void> {
    const keyOf = (part: number) => ({
      pk: `RU#${rollup.day.slice(0, 7)}`,
      sk: partSk(rollup.day, rollup.app, part),
    });
    const parts = splitRollup(rollup, keyOf);
    await batchWrite(
      this.doc,
      this.table,
      parts.map((p) => ({ PutRequest: { Item: { ...keyOf(p.part), ...p } } })),
      this.retry,
    );
  }
}
