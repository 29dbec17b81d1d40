/**
 * Use case: finding events. After each report date is audited, its findings are compared with the
 * findings last published for its month (functions/core/audit/events.ts), and every change is
 * written to an outbox in the control table; at the end of the run the outbox is delivered.
 *
 * Which reports are compared. Per month M (YYYY-MM) the control table keeps a head: the newest
 * report date of M compared so far. A report date D of M is compared when D ≥ head(M); D then
 * becomes the head. An older date of M (a re-audit for late data, a backfill run newest first) is
 * not compared: the head's report holds the same month to date and more. A report is compared only
 * with its own month's state, so on the 1st of a month the previous month's findings (whose ids
 * carry their month, or day) are neither carried over nor "resolved": they end with the month. They
 * can still change or resolve if the month's last report (its head) is audited again, e.g. for late
 * data arriving after the month ended.
 *
 * Exactly once per change, at least once per delivery:
 *   1. under a lease per month (`LEASE` / `events#YYYY-MM`), read head and state, diff;
 *   2. put one outbox row per change, keyed by finding_id and the version it creates (so a change
 *      has one id, `<finding_id>.v<version>`), plus one digest row; a put never overwrites a row
 *      already sent;
 *   3. put the new states of the changed findings, then the head.
 *   A crash after 2 leaves the states as they were: the retry computes the same changes (same ids),
 *   whose rows are overwritten while still pending, so nothing is lost or doubled. A re-run that
 *   changes nothing writes nothing. Delivery (flush) marks a row per target as it delivers it and
 *   `sent` once every configured target has it; a crash between a delivery and its mark means that
 *   target gets the event again on the next run, so consumers de-duplicate on `detail.event_id`.
 */

import {
  DEFAULT_CHANGE_THRESHOLD_PERCENT,
  diffFindings,
  digestOf,
  eventIdOf,
  eventOf,
  type FindingChange,
  type FindingLine,
  type FindingState,
  stateAfter,
} from '../core/audit/events.ts';
import { addDays } from '../core/audit/format.ts';
import { compareStrings } from '../core/support.ts';
import type {
  AuditLeases,
  DigestTarget,
  EventTarget,
  FindingEventSink,
  FindingEventStore,
  OutboxRow,
} from './ports.ts';

export interface FindingEventsDeps {
  store: FindingEventStore & AuditLeases;
  /** Where events go (none: they are only recorded, as on the local stack). */
  targets: readonly EventTarget[];
  /** Where the digest of critical and high changes goes. */
  digest?: DigestTarget;
  now: () => Date;
  /** Change threshold, percent of the published value (default 10). */
  thresholdPercent?: number;
  /** Waits between tries for a month's lease (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /** Owner id of this run's leases. */
  owner?: string;
}

/** Events were recorded but some could not be delivered; they stay pending for the next run. */
export class FindingEventDeliveryError extends Error {
  override name = 'FindingEventDeliveryError';
}

/**
 * How long the events lease of a month lasts (one record() takes seconds), and how often a run
 * tries for it, a second apart: a lease left by a crashed run lapses while its retry waits.
 */
export const EVENTS_LEASE_MS = 60 * 1000;
export const EVENTS_LEASE_TRIES = 60;

const monthOf = (date: string): string => date.slice(0, 7);

/** `<finding_id>.v<version>` → its parts. */
function parseEventId(id: string): { finding_id: string; version: number } | undefined {
  const m = /^(.*)\.v(\d+)$/.exec(id);
  return m?.[1] !== undefined && m[2] !== undefined ? { finding_id: m[1], version: Number(m[2]) } : undefined;
}

/**
 * A pending row is committed when the state of each of its findings reached the version its event
 * made: record() puts the states after the rows, so a row of a run that crashed in between is not
 * (and never is, unless a retry makes the same change again and so puts the row again).
 */
function isCommitted(row: OutboxRow, states: ReadonlyMap<string, number>): boolean {
  const ids = row.kind === 'event' ? [row.id] : (row.digest?.event_ids ?? []);
  return ids.every((id) => {
    const e = parseEventId(id);
    return e !== undefined && (states.get(e.finding_id) ?? 0) >= e.version;
  });
}

const versions = (states: readonly FindingState[]): Map<string, number> =>
  new Map(states.map((s) => [s.finding_id, s.version]));

/** The pending rows of a crashed run that the changes now being recorded do not put again. */
function uncommitted(
  rows: readonly OutboxRow[],
  states: readonly FindingState[],
  changes: readonly FindingChange[],
): OutboxRow[] {
  const v = versions(states);
  const again = new Set(changes.map(eventIdOf));
  return rows.filter(
    (r) => r.status === 'pending' && !isCommitted(r, v) && !(r.kind === 'event' && again.has(r.id)),
  );
}

export class FindingEvents implements FindingEventSink {
  private readonly months = new Set<string>();
  private readonly owner: string;

  constructor(private readonly deps: FindingEventsDeps) {
    this.owner = deps.owner ?? `events-${Math.random().toString(36).slice(2, 10)}`;
  }

  private async lease(name: string): Promise<void> {
    const sleep = this.deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let i = 0; i < EVENTS_LEASE_TRIES; i++) {
      if (i > 0) await sleep(1000);
      const now = this.deps.now().getTime();
      const held = await this.deps.store.acquireLease(name, this.owner, now, now + EVENTS_LEASE_MS);
      if (held === undefined) return;
    }
    throw new FindingEventDeliveryError(`${name}: lease held by another audit run; no events were recorded`);
  }

  async record(date: string, findings: readonly FindingLine[]): Promise<void> {
    const { store } = this.deps;
    const month = monthOf(date);
    const leaseName = `events#${month}`;
    await this.lease(leaseName);
    try {
      this.months.add(month);
      const head = await store.eventsHead(month);
      if (head !== undefined && date < head) return;
      const states = await store.findingStates(month);
      const changes = diffFindings(
        states,
        findings,
        this.deps.thresholdPercent ?? DEFAULT_CHANGE_THRESHOLD_PERCENT,
      );
      // Rows a crashed run put whose changes this diff does not make again never happened.
      const orphans = uncommitted(await store.outbox(month), states, changes);
      for (const r of orphans) await store.markOutbox(month, { ...r, status: 'superseded' });
      if (changes.length > 0) {
        const time = this.deps.now().toISOString();
        const events = changes.map((c) => eventOf(c, date, time));
        const row = (r: Pick<OutboxRow, 'kind' | 'id'> & Partial<OutboxRow>): OutboxRow => ({
          report_date: date,
          recorded_at: time,
          status: 'pending',
          sent_to: [],
          ...r,
        });
        const digest = digestOf(date, events);
        await store.putOutbox(month, [
          ...events.map((event) => row({ kind: 'event', id: event.id, event })),
          ...(digest ? [row({ kind: 'digest', id: digest.id, digest })] : []),
        ]);
        // The state keeps the line as published (bounded like the event's).
        await store.putFindingStates(
          month,
          changes.map((c, i) => ({ ...stateAfter(c), line: events[i]?.detail.finding ?? c.line })),
        );
      }
      if (head !== date) await store.setEventsHead(month, date);
    } finally {
      await store.releaseLease(leaseName, this.owner);
    }
  }

  /**
   * Delivers the pending rows of the months recorded in this run (by this instance, or, on the
   * state machine, whose Link step runs in another process, the months of the run's reports given
   * as `extraMonths`), this month and the previous one (so a run that crashed before delivering is
   * caught up by the next night's run).
   */
  async flush(extraMonths: readonly string[] = []): Promise<void> {
    const { store, targets, digest } = this.deps;
    const now = this.deps.now();
    const today = now.toISOString().slice(0, 10);
    const months = new Set([
      ...this.months,
      ...extraMonths,
      monthOf(today),
      monthOf(addDays(`${monthOf(today)}-01`, -1)),
    ]);
    const pending: { month: string; row: OutboxRow }[] = [];
    for (const month of [...months].sort()) {
      const rows = (await store.outbox(month)).filter((r) => r.status === 'pending');
      // A row whose change was never committed (its run crashed before the state) is not delivered.
      const v = rows.length > 0 ? versions(await store.findingStates(month)) : new Map<string, number>();
      for (const row of rows) if (isCommitted(row, v)) pending.push({ month, row });
    }
    pending.sort(
      (a, b) => compareStrings(a.row.recorded_at, b.row.recorded_at) || compareStrings(a.row.id, b.row.id),
    );
    const marks = (r: OutboxRow) => r.sent_to.length + (r.rejected_by?.length ?? 0);
    const before = new Map(pending.map((p) => [p.row, marks(p.row)]));
    let rejected = 0;
    const errors: string[] = [];
    const events = pending.filter((p) => p.row.kind === 'event');
    for (const target of targets) {
      const todo = events.filter(
        (p) => !p.row.sent_to.includes(target.name) && !(p.row.rejected_by ?? []).includes(target.name),
      );
      if (todo.length === 0) continue;
      const out = await target.deliver(todo.flatMap((p) => (p.row.event ? [p.row.event] : [])));
      for (const p of todo) {
        if (out.delivered.has(p.row.id)) p.row.sent_to = [...p.row.sent_to, target.name];
        else if (out.rejected?.has(p.row.id)) {
          p.row.rejected_by = [...(p.row.rejected_by ?? []), target.name];
          rejected++;
        }
      }
      errors.push(...out.errors.map((e) => `${target.name}: ${e}`));
    }
    for (const p of pending.filter((x) => x.row.kind === 'digest')) {
      if (!digest || p.row.sent_to.includes(digest.name) || !p.row.digest) continue;
      try {
        await digest.deliver(p.row.digest);
        p.row.sent_to = [...p.row.sent_to, digest.name];
      } catch (err) {
        errors.push(`${digest.name}: ${p.row.id}: ${(err as Error).message}`);
      }
    }
    const sentAt = this.deps.now().toISOString();
    let left = 0;
    for (const p of pending) {
      const wanted = p.row.kind === 'event' ? targets.map((t) => t.name) : digest ? [digest.name] : [];
      const done = wanted.every((n) => p.row.sent_to.includes(n) || (p.row.rejected_by ?? []).includes(n));
      if (!done) left++;
      if (!done && marks(p.row) === before.get(p.row)) continue;
      await store.markOutbox(p.month, {
        ...p.row,
        status: !done ? 'pending' : (p.row.rejected_by ?? []).length > 0 ? 'rejected' : 'sent',
        ...(done ? { sent_at: sentAt } : {}),
      });
    }
    if (left > 0)
      throw new FindingEventDeliveryError(
        `${left} finding event(s) not delivered; they stay pending for the next audit run: ${errors.slice(0, 5).join('; ')}`,
      );
    // A refusal is final (that target is not sent the event again) but fails this run, once.
    if (rejected > 0)
      throw new FindingEventDeliveryError(
        `${rejected} finding event(s) rejected by a target (final: not sent to it again; see auditor alerts): ${errors.slice(0, 5).join('; ')}`,
      );
  }
}
