/**
 * Finding events on the real emulators (s3rver for the reports, dynalite and DynamoDB Local for the
 * control table): each audit run publishes one event per change; a re-run that changes nothing
 * publishes nothing; a crash between recording the outbox and the state, or a failed delivery,
 * neither loses nor doubles an event; a month's findings are not "resolved" by the next month's
 * first report; an older re-audit publishes nothing. EventBridge and SNS are stub clients that
 * record the calls (and fail entries on demand).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PutEventsCommand, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import type { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestTopicTarget, EventBusTarget } from '../../functions/adapters/event-bus.ts';
import type { FindingEventTable } from '../../functions/adapters/finding-event-store.ts';
import { auditOneDate, linkRun } from '../../functions/audit/fan-out.ts';
import { FindingEventDeliveryError, FindingEvents } from '../../functions/audit/finding-events.ts';
import { type AuditDeps, auditDates } from '../../functions/audit/run-audit.ts';
import { parseAgreementsFile } from '../../functions/core/audit/agreements.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import { type DynamoBackend, type Emulators, startEmulators } from '../../functions/local/stack.ts';
import { auditDeps, createStores, type Stores } from '../../functions/shared/compose.ts';
import { loadStoreConfig } from '../../functions/shared/config.ts';
import { BACKENDS } from '../support/emulators.ts';
import { FakeUsage } from '../support/fakes.ts';

const AGREEMENTS = readFileSync(new URL('../fixtures/agreements.yaml', import.meta.url), 'utf8');

function row(app: string, day: string, records: number): UsageRow {
  const counts = { requests: 10, records, bytes: 100 * records, errors: 0 };
  return {
    app,
    day,
    ...counts,
    endpoints: { 'GET /2/tweets/search/recent': counts },
    categories: {},
    sources: [{ key: `logs/${day}.jsonl`, gen: `g-${day}` }],
  };
}

/** EventBridge stub: records every entry; `failNext` ids fail once each with a throttling error code. */
class StubBus {
  calls: { DetailType?: string; Detail?: string; Source?: string; EventBusName?: string }[][] = [];
  failNext = new Set<string>();
  failAlways = new Set<string>();
  /** Every entry fails while set. */
  down = false;
  async send(cmd: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = cmd.input.Entries ?? [];
    this.calls.push(entries);
    return {
      $metadata: {},
      FailedEntryCount: 0,
      Entries: entries.map((e, i) => {
        const id = JSON.parse(e.Detail ?? '{}').event_id as string;
        if (this.down || this.failAlways.has(id) || this.failNext.delete(id))
          return { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' };
        return { EventId: `eb-${this.calls.length}-${i}` };
      }),
    };
  }
  /** Every event id delivered, in order. */
  delivered(): string[] {
    return this.calls.flat().map((e) => JSON.parse(e.Detail ?? '{}').event_id as string);
  }
}

class StubTopic {
  messages: { Subject?: string; Message?: string; TopicArn?: string }[] = [];
  async send(cmd: PublishCommand): Promise<unknown> {
    this.messages.push(cmd.input);
    return {};
  }
}

describe.each(BACKENDS)('finding events on %s', (backend: DynamoBackend) => {
  let dir: string;
  let emulators: Emulators;
  let stores: Stores;
  /** The DynamoDB commands the audit sends (the audit role has PutItem and Query on the control table). */
  const commands = new Set<string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `auditor-events-${backend}-`));
    emulators = await startEmulators({ dataDir: dir, dynamo: backend });
    emulators.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        commands.add(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'commandLog' },
    );
    stores = createStores(emulators, loadStoreConfig(emulators.env));
    const parsed = parseAgreementsFile(AGREEMENTS, 'agreements.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    await stores.control.putAgreements(parsed.agreements);
  }, 120_000);

  afterAll(async () => {
    await emulators?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One world per test: its own month (so tests do not share state) and stubs. */
  function world(month: string, opts: { store?: FindingEventTable } = {}) {
    const usage = new FakeUsage();
    const bus = new StubBus();
    const topic = new StubTopic();
    let now = new Date(`${month}-28T02:00:00Z`);
    const noSleep = async () => undefined;
    const sink = () =>
      new FindingEvents({
        store: opts.store ?? stores.events,
        targets: [
          new EventBusTarget(bus, 'bus', {
            maxAttempts: 3,
            baseDelayMs: 1,
            maxDelayMs: 1,
            sleep: noSleep,
            random: () => 0,
          }),
        ],
        digest: new DigestTopicTarget(topic, 'arn:aws:sns:us-east-1:000000000000:digest'),
        now: () => now,
        sleep: noSleep,
      });
    const run = async (dates: string[], at?: string) => {
      if (at) now = new Date(at);
      // Usage comes from the in-memory reader (no rollups over the real usage table).
      const { rollups: _rollups, ...real } = auditDeps(stores, { now: () => now });
      const deps: AuditDeps = {
        ...real,
        usage,
        events: sink(),
        sleep: noSleep,
      };
      return auditDates(deps, dates);
    };
    /** The state machine's way: each step (audit-date, link) in its own process, so its own sink. */
    const steps = async (date: string, at: string) => {
      now = new Date(at);
      const deps = (): AuditDeps => ({
        ...auditDeps(stores, { now: () => now }),
        rollups: undefined,
        usage,
        events: sink(),
        sleep: noSleep,
      });
      const result = await auditOneDate({ ...deps(), trigger: 'on-demand' }, date);
      return { result, link: () => linkRun(deps(), [result]) };
    };
    return { usage, bus, topic, run, steps };
  }

  it('publishes one event per finding, then nothing on a re-run; a change past the threshold is one Changed event', async () => {
    const w = world('2026-11');
    for (const day of ['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27'])
      w.usage.rows.push(row('nw-search', day, 500), row('unregistered-bot', day, 1));
    const [first] = await w.run(['2026-11-27']);
    const opened = w.bus.delivered();
    expect(opened.length).toBe(first?.findings);
    expect(opened.length).toBeGreaterThan(1);
    const entries = w.bus.calls.flat();
    expect(new Set(entries.map((e) => e.Source))).toEqual(new Set(['usage-auditor']));
    expect(new Set(entries.map((e) => e.DetailType))).toEqual(new Set(['Finding Opened']));
    expect(new Set(entries.map((e) => e.EventBusName))).toEqual(new Set(['bus']));
    for (const c of w.bus.calls) expect(c.length).toBeLessThanOrEqual(10);
    // unpaid_usage is high: a digest went out naming it.
    expect(w.topic.messages).toHaveLength(1);
    expect(w.topic.messages[0]?.Message).toContain('OPENED high unpaid_usage northwind records: 2,000');

    // The same date again, and again: the report is unchanged and nothing is published.
    await w.run(['2026-11-27']);
    await w.run(['2026-11-27'], '2026-11-28T09:00:00Z');
    expect(w.bus.delivered()).toEqual(opened);
    expect(w.topic.messages).toHaveLength(1);

    // The next night: unpaid records 2,000 → 2,500 (+25%), the other findings only grow their period.
    w.usage.rows.push(row('nw-search', '2026-11-28', 500));
    await w.run(['2026-11-28'], '2026-11-29T02:00:00Z');
    const changed = w.bus.calls.flat().slice(opened.length);
    expect(changed.map((e) => e.DetailType)).toEqual(['Finding Changed']);
    const detail = JSON.parse(changed[0]?.Detail ?? '{}');
    expect(detail).toMatchObject({
      change: 'changed',
      version: 2,
      report_date: '2026-11-28',
      changed: ['observed', 'amount_owed'],
      finding: { rule: 'unpaid_usage', observed: 2500, period_end: '2026-11-28' },
      previous: { observed: 2000, report_date: '2026-11-27', severity: 'high' },
    });
    // And a re-run of that night publishes nothing more.
    await w.run(['2026-11-28'], '2026-11-29T03:00:00Z');
    expect(w.bus.calls.flat()).toHaveLength(opened.length + 1);

    // The usage of unregistered-bot disappears (reprocessed away): its unknown_app finding resolves.
    w.usage.rows = w.usage.rows.filter((r) => r.app !== 'unregistered-bot');
    await w.run(['2026-11-28'], '2026-11-29T04:00:00Z');
    const last = w.bus.calls.flat().slice(opened.length + 1);
    expect(last.map((e) => [e.DetailType, JSON.parse(e.Detail ?? '{}').finding.rule])).toEqual([
      ['Finding Resolved', 'unknown_app'],
    ]);
    // An older date of the month (late-data re-audit) is not compared: nothing is published.
    await w.run(['2026-11-25'], '2026-11-29T05:00:00Z');
    expect(w.bus.calls.flat()).toHaveLength(opened.length + 2);
    // Agreements were put with BatchWriteItem by the test; the audit and its events used these only.
    expect([...commands].filter((c) => c !== 'BatchWriteItemCommand').sort()).toEqual([
      'PutItemCommand',
      'QueryCommand',
    ]);
  });

  it('a crash between the outbox and the state: the retry publishes each change exactly once', async () => {
    const events = stores.events;
    let crash = true;
    const crashing = Object.create(events, {
      putFindingStates: {
        value: async (...args: Parameters<FindingEventTable['putFindingStates']>) => {
          if (crash) {
            crash = false;
            throw new Error('injected crash');
          }
          return events.putFindingStates(...args);
        },
      },
    }) as FindingEventTable;
    const w = world('2026-10', { store: crashing });
    // October is paid for: an app without a use case and an unknown app make the findings.
    for (const day of ['2026-10-20', '2026-10-21'])
      w.usage.rows.push(row('nw-insights', day, 700), row('bot-10', day, 1));
    await expect(w.run(['2026-10-21'], '2026-10-22T02:00:00Z')).rejects.toThrow('injected crash');
    expect(w.bus.delivered()).toEqual([]);
    await w.run(['2026-10-21'], '2026-10-22T02:30:00Z');
    const ids = w.bus.delivered();
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id.endsWith('.v1'))).toBe(true);
    await w.run(['2026-10-21'], '2026-10-22T03:00:00Z');
    expect(w.bus.delivered()).toEqual(ids);
  });

  it('a crash after the outbox, then a retry on different data: the crashed change is never delivered and the real later change is', async () => {
    const events = stores.events;
    let crash = false;
    const crashing = Object.create(events, {
      putFindingStates: {
        value: async (...args: Parameters<FindingEventTable['putFindingStates']>) => {
          if (crash) {
            crash = false;
            throw new Error('injected crash');
          }
          return events.putFindingStates(...args);
        },
      },
    }) as FindingEventTable;
    const w = world('2026-06', { store: crashing });
    w.usage.rows.push(row('fab-lab', '2026-06-10', 500));
    await w.run(['2026-06-10'], '2026-06-11T02:00:00Z');
    const opened = w.bus.delivered();
    const digests = w.topic.messages.length;
    // The night of the 11th: unpaid records double, and the run crashes before the state is put.
    const late = row('fab-lab', '2026-06-11', 500);
    w.usage.rows.push(late);
    crash = true;
    await expect(w.run(['2026-06-11'], '2026-06-12T02:00:00Z')).rejects.toThrow('injected crash');
    // The retry sees different data (that usage was reprocessed away): no change, nothing is published.
    w.usage.rows = w.usage.rows.filter((r) => r !== late);
    await w.run(['2026-06-11'], '2026-06-12T02:30:00Z');
    expect(w.bus.delivered()).toEqual(opened);
    expect(w.topic.messages).toHaveLength(digests);
    expect((await events.outbox('2026-06')).filter((r) => r.status === 'pending')).toEqual([]);
    // The 12th really doubles them: that Changed event (v2) and its digest are delivered.
    w.usage.rows.push(row('fab-lab', '2026-06-12', 500));
    await w.run(['2026-06-12'], '2026-06-13T02:00:00Z');
    const changed = w.bus.calls
      .flat()
      .slice(opened.length)
      .map((e) => [e.DetailType, JSON.parse(e.Detail ?? '{}')] as const)
      .filter(([, d]) => d.finding.rule === 'unpaid_usage');
    expect(changed.map(([t, d]) => [t, d.report_date, d.version, d.finding.observed])).toEqual([
      ['Finding Changed', '2026-06-12', 2, 1000],
    ]);
    expect(w.topic.messages).toHaveLength(digests + 1);
    expect(w.topic.messages.at(-1)?.Subject).toContain('2026-06-12');
  });

  it('state machine: a re-audit of a month-end older than last month is delivered by Link; its statements are written even when delivery fails', async () => {
    const w = world('2026-04');
    for (const day of ['2026-04-29', '2026-04-30'])
      w.usage.rows.push(row('nw-insights', day, 700), row('bot-4', day, 1));
    // June 3rd: April's last day audited (late data), two months back: this process records, Link delivers.
    const { link } = await w.steps('2026-04-30', '2026-06-03T02:00:00Z');
    w.bus.down = true;
    await expect(link()).rejects.toBeInstanceOf(FindingEventDeliveryError);
    expect(await stores.reports.readStatement('northwind', '2026-04', 'statement.csv')).toBeDefined();
    expect((await stores.events.outbox('2026-04')).some((r) => r.status === 'pending')).toBe(true);
    // Link retried (a new process): April's events go out.
    w.bus.down = false;
    const before = w.bus.calls.length;
    await link();
    const sent = w.bus.calls.slice(before).flat();
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((e) => JSON.parse(e.Detail ?? '{}').report_date === '2026-04-30')).toBe(true);
    expect((await stores.events.outbox('2026-04')).every((r) => r.status === 'sent')).toBe(true);
  });

  it('a target that refuses an event for good (a webhook 4xx): marked rejected, never sent to it again', async () => {
    const w = world('2026-03');
    for (const day of ['2026-03-10', '2026-03-11']) w.usage.rows.push(row('nw-insights', day, 700));
    const posts: string[] = [];
    const hook = {
      name: 'webhook',
      async deliver(evs: readonly { id: string }[]) {
        posts.push(...evs.map((e) => e.id));
        return {
          delivered: new Set<string>(),
          rejected: new Set(evs.map((e) => e.id)),
          errors: ['HTTP 400'],
        };
      },
    };
    const sink = (at: string) =>
      new FindingEvents({
        store: stores.events,
        targets: [hook],
        now: () => new Date(at),
        sleep: async () => {},
      });
    const first = sink('2026-03-12T02:00:00Z');
    const { audit } = await import('../../functions/core/audit/rules.ts');
    const parsed = parseAgreementsFile(AGREEMENTS, 'agreements.yaml');
    if (!parsed.ok) throw new Error('agreements');
    await first.record(
      '2026-03-11',
      audit({ reportDate: '2026-03-11', agreements: parsed.agreements, usage: w.usage.rows }),
    );
    await expect(first.flush()).rejects.toThrow('rejected by a target');
    const tried = posts.length;
    expect(tried).toBeGreaterThan(0);
    const rows = (await stores.events.outbox('2026-03')).filter((r) => r.kind === 'event');
    expect(rows.map((r) => [r.status, r.rejected_by])).toEqual(rows.map(() => ['rejected', ['webhook']]));
    // The next night: nothing is POSTed again, and the run does not fail for it.
    await sink('2026-03-13T02:00:00Z').flush();
    expect(posts).toHaveLength(tried);
  });

  it('partial PutEvents failures: only the failed entries are sent again; one that keeps failing stays pending for the next run', async () => {
    const w = world('2026-09');
    for (const day of ['2026-09-10', '2026-09-11'])
      w.usage.rows.push(row('nw-insights', day, 700), row('bot-9', day, 1));
    // The ids are deterministic (<finding_id>.v1): the pure diff of the same findings gives them.
    const [flaky, broken] = await (async () => {
      const { diffFindings } = await import('../../functions/core/audit/events.ts');
      const { audit } = await import('../../functions/core/audit/rules.ts');
      const parsed = parseAgreementsFile(AGREEMENTS, 'agreements.yaml');
      if (!parsed.ok) throw new Error('agreements');
      const fs = audit({ reportDate: '2026-09-11', agreements: parsed.agreements, usage: w.usage.rows });
      return diffFindings([], fs).map((c) => `${c.finding_id}.v1`);
    })();
    w.bus.failNext.add(flaky as string);
    w.bus.failAlways.add(broken as string);
    const err = await w.run(['2026-09-11'], '2026-09-12T02:00:00Z').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FindingEventDeliveryError);
    expect((err as Error).message).toContain(`${broken}: ThrottlingException: slow down (after 3 attempts)`);
    // The first call had every entry; the retries only the failed ones.
    expect(w.bus.calls[0]).toHaveLength(2);
    expect(w.bus.calls.slice(1).map((c) => c.map((e) => JSON.parse(e.Detail ?? '{}').event_id))).toEqual([
      [flaky, broken],
      [broken],
    ]);
    const outbox = await stores.events.outbox('2026-09');
    expect(outbox.filter((r) => r.status === 'pending').map((r) => r.id)).toEqual([broken]);
    // The next run (nothing changed) sends only the one left pending.
    w.bus.failAlways.clear();
    const before = w.bus.calls.length;
    await w.run(['2026-09-11'], '2026-09-12T03:00:00Z');
    expect(
      w.bus.calls
        .slice(before)
        .flat()
        .map((e) => JSON.parse(e.Detail ?? '{}').event_id),
    ).toEqual([broken]);
    expect((await stores.events.outbox('2026-09')).every((r) => r.status === 'sent')).toBe(true);
  });

  it('month rollover: the 1st of a month opens its own findings and resolves none of the previous month', async () => {
    const w = world('2026-07');
    for (const day of ['2026-07-30', '2026-07-31']) w.usage.rows.push(row('nw-insights', day, 700));
    await w.run(['2026-07-31'], '2026-08-01T02:00:00Z');
    const july = w.bus.calls.flat().length;
    expect(july).toBeGreaterThan(0);
    w.usage.rows.push(row('nw-insights', '2026-08-01', 700));
    await w.run(['2026-08-01'], '2026-08-02T02:00:00Z');
    const august = w.bus.calls.flat().slice(july);
    expect(august.length).toBeGreaterThan(0);
    expect(new Set(august.map((e) => e.DetailType))).toEqual(new Set(['Finding Opened']));
    expect(august.every((e) => JSON.parse(e.Detail ?? '{}').report_date === '2026-08-01')).toBe(true);
  });
});
