/**
 * The finding lifecycle (functions/core/audit/lifecycle.ts): the state machine, the state each
 * report shows (waivers that expire, resolved findings that come back), where it appears in the
 * report files (and that a report without changes keeps its bytes), and which reports the nightly
 * run renders again after a change.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LifecycleLog, StoredLifecycleChange } from '../../../functions/audit/ports.ts';
import { type AuditDeps, auditDates, nightlyDates } from '../../../functions/audit/run-audit.ts';
import { parseAgreementsFile } from '../../../functions/core/audit/agreements.ts';
import {
  byFinding,
  datesToRerender,
  type LifecycleChange,
  lifecycleAt,
  planChange,
  TRANSITIONS,
  withLifecycle,
} from '../../../functions/core/audit/lifecycle.ts';
import { renderReport, summariseDataQuality } from '../../../functions/core/audit/report.ts';
import { audit } from '../../../functions/core/audit/rules.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { FakeControl, FakeReports, FakeUsage } from '../../support/fakes.ts';
import { agreement, row } from '../audit/helpers.ts';

const change = (over: Partial<LifecycleChange> = {}): LifecycleChange => ({
  seq: 1,
  action: 'ack',
  state: 'acknowledged',
  note: 'on it',
  until: null,
  by: 'alice',
  at: '2026-11-21T09:00:00.000Z',
  report_date: '2026-11-20',
  observed: 100,
  ...over,
});

const finding = { finding_id: 'f'.repeat(20), report_date: '2026-11-20', observed: 100 };
const req = (action: LifecycleChange['action'], over: { until?: string; note?: string } = {}) => ({
  action,
  note: over.note ?? 'why',
  until: over.until,
  by: 'bob',
  at: '2026-11-21T10:00:00.000Z',
  finding,
});

describe('the state machine', () => {
  it('allows every action on an open finding and gives each its state and the next seq', () => {
    for (const [action, state] of [
      ['ack', 'acknowledged'],
      ['dispute', 'disputed'],
      ['waive', 'waived'],
      ['resolve', 'resolved'],
    ] as const) {
      const plan = planChange([], req(action));
      expect(plan).toEqual({
        ok: true,
        change: {
          seq: 1,
          action,
          state,
          note: 'why',
          until: null,
          by: 'bob',
          at: '2026-11-21T10:00:00.000Z',
          report_date: '2026-11-20',
          observed: 100,
        },
      });
    }
    const second = planChange([change()], req('dispute'));
    expect(second.ok && second.change.seq).toBe(2);
  });

  it('refuses the same state again, anything on a resolved finding, and says what is allowed', () => {
    expect(planChange([change()], req('ack'))).toEqual({
      ok: false,
      error: `finding ${finding.finding_id} is acknowledged (report 2026-11-20): cannot ack it; allowed: dispute, waive, resolve`,
    });
    expect(planChange([change({ action: 'dispute', state: 'disputed' })], req('dispute')).ok).toBe(false);
    const resolved = [change({ action: 'resolve', state: 'resolved' })];
    for (const action of ['ack', 'dispute', 'waive', 'resolve'] as const) {
      const plan = planChange(resolved, req(action));
      expect(plan.ok).toBe(false);
      if (!plan.ok) expect(plan.error).toContain('a resolved finding reopens by itself when it comes back');
    }
    // A waiver can be replaced by a new one (a new end).
    expect(
      planChange([change({ action: 'waive', state: 'waived' })], req('waive', { until: '2026-12-31' })).ok,
    ).toBe(true);
    expect(TRANSITIONS.resolved).toEqual([]);
  });

  it('takes --until only with waive, as a real date not before the report date, and a note with text', () => {
    expect(planChange([], req('ack', { until: '2026-12-01' }))).toEqual({
      ok: false,
      error: '--until goes only with waive',
    });
    expect(planChange([], req('waive', { until: '2026-02-30' }))).toMatchObject({ ok: false });
    expect(planChange([], req('waive', { until: '2026-11-19' }))).toEqual({
      ok: false,
      error: '--until: 2026-11-19 is before the report date 2026-11-20 the waiver is made on',
    });
    const plan = planChange([], req('waive', { until: '2026-11-20' }));
    expect(plan.ok && plan.change.until).toBe('2026-11-20');
    expect(planChange([], req('ack', { note: ' \t' }))).toEqual({
      ok: false,
      error: '--note: expected some text',
    });
  });
});

describe('the state a report shows', () => {
  it('applies a change from its report date on, not to earlier reports', () => {
    const changes = [change()];
    expect(lifecycleAt(changes, '2026-11-19', 100)).toBeUndefined();
    expect(lifecycleAt(changes, '2026-11-20', 100)).toEqual({
      state: 'acknowledged',
      until: null,
      history: changes,
    });
    expect(lifecycleAt(changes, '2026-11-25', 180)?.state).toBe('acknowledged');
  });

  it('marks a waived finding with its waiver until the waiver ends, then as expired', () => {
    const changes = [change({ action: 'waive', state: 'waived', until: '2026-11-24' })];
    expect(lifecycleAt(changes, '2026-11-24', 100)).toMatchObject({ state: 'waived', until: '2026-11-24' });
    expect(lifecycleAt(changes, '2026-11-25', 100)).toMatchObject({
      state: 'waiver_expired',
      until: '2026-11-24',
    });
    // Without an end it never expires; an expired waiver allows every action again.
    expect(lifecycleAt([change({ action: 'waive', state: 'waived' })], '2026-11-30', 1)?.state).toBe(
      'waived',
    );
    expect(TRANSITIONS.waiver_expired).toEqual(['ack', 'dispute', 'waive', 'resolve']);
  });

  it('reopens a resolved finding whose observed value rises by more than 10% in a later report', () => {
    const changes = [change(), change({ seq: 2, action: 'resolve', state: 'resolved', observed: 100 })];
    expect(lifecycleAt(changes, '2026-11-20', 100)?.state).toBe('resolved');
    expect(lifecycleAt(changes, '2026-11-21', 100)?.state).toBe('resolved');
    // A month-to-date value that grows a little (up to 10%), or falls, stays resolved.
    expect(lifecycleAt(changes, '2026-11-21', 110)?.state).toBe('resolved');
    expect(lifecycleAt(changes, '2026-11-21', 90)?.state).toBe('resolved');
    expect(lifecycleAt(changes, '2026-11-21', 130)).toEqual({
      state: 'reopened',
      until: null,
      history: changes,
    });
    // Reopened, it can be worked again.
    const plan = planChange(changes, {
      ...req('ack'),
      finding: { ...finding, report_date: '2026-11-21', observed: 130 },
    });
    expect(plan.ok && plan.change).toMatchObject({
      seq: 3,
      state: 'acknowledged',
      report_date: '2026-11-21',
    });
  });

  it('names the reports a change reaches: from its report date to the month end, written before it', () => {
    const written = new Map([
      ['2026-10-31', '2026-11-01T02:00:00Z'],
      ['2026-11-19', '2026-11-20T02:00:00Z'],
      ['2026-11-20', '2026-11-21T02:00:00Z'],
      ['2026-11-21', '2026-11-22T02:00:00Z'],
      ['2026-11-22', '2026-11-23T02:00:00Z'],
    ]);
    // Made at 2026-11-22T09:00 on the report of 11-20: 11-20 and 11-21 were written before it, 11-22
    // after it, 11-19 is earlier than its report date and 10-31 in another month.
    expect(datesToRerender(written, [change({ at: '2026-11-22T09:00:00.000Z' })])).toEqual([
      '2026-11-20',
      '2026-11-21',
    ]);
    expect(datesToRerender(written, [])).toEqual([]);
  });
});

describe('lifecycle in the report files', () => {
  const agreements = [agreement({ quotas: { monthly_records: 100 }, paid_through: null })];
  const usage = [row('a1', '2026-11-02', { records: 90 }), row('a2', '2026-11-03', { records: 60 })];
  const render = (findings = audit({ reportDate: '2026-11-20', agreements, usage })) =>
    renderReport({
      reportDate: '2026-11-20',
      agreements,
      usage,
      findings,
      dataQuality: summariseDataQuality([]),
      run: { generated_at: '2026-11-21T02:00:00Z' },
      previousManifestSha256: null,
    });
  const bodies = (r: ReturnType<typeof render>) => new Map(r.files.map((f) => [f.name, f.body]));

  it('leaves every file byte-identical when no change applies', () => {
    const plain = audit({ reportDate: '2026-11-20', agreements, usage });
    const none = withLifecycle(plain, new Map(), '2026-11-20');
    const later = withLifecycle(
      plain,
      byFinding([{ ...change({ report_date: '2026-11-21' }), finding_id: plain[0]?.finding_id ?? '' }]),
      '2026-11-20',
    );
    expect(bodies(render(none))).toEqual(bodies(render(plain)));
    expect(bodies(render(later))).toEqual(bodies(render(plain)));
    expect(bodies(render(plain)).get('findings.jsonl')).not.toContain('lifecycle');
  });

  it('adds the state and history, last in the finding, to findings.jsonl, report.json and report.html, under the hash chain', () => {
    const plain = audit({ reportDate: '2026-11-20', agreements, usage });
    const target = plain.find((f) => f.rule === 'quota_exceeded');
    if (!target) throw new Error('no quota finding');
    const waiver = change({
      action: 'waive',
      state: 'waived',
      until: '2026-11-30',
      note: '<b>ok</b> by finance',
    });
    const changed = render(
      withLifecycle(plain, byFinding([{ ...waiver, finding_id: target.finding_id }]), '2026-11-20'),
    );
    const before = render(plain);
    const files = bodies(changed);
    const lines = (files.get('findings.jsonl') ?? '').trim().split('\n');
    const line = lines.find((l) => l.includes(target.finding_id)) ?? '';
    expect(
      line.endsWith(
        `"lifecycle":${JSON.stringify({ state: 'waived', until: '2026-11-30', history: [waiver] })}}`,
      ),
    ).toBe(true);
    // The other lines are as they were.
    const otherBefore = (bodies(before).get('findings.jsonl') ?? '')
      .trim()
      .split('\n')
      .filter((l) => !l.includes(target.finding_id));
    expect(lines.filter((l) => !l.includes(target.finding_id))).toEqual(otherBefore);
    const json = JSON.parse(files.get('report.json') ?? '{}') as {
      findings: { finding_id: string; lifecycle?: unknown }[];
    };
    expect(json.findings.find((f) => f.finding_id === target.finding_id)?.lifecycle).toMatchObject({
      state: 'waived',
    });
    const html = files.get('report.html') ?? '';
    expect(html).toContain('data-state="waived"');
    expect(html).toContain('waived until 2026-11-30');
    expect(html).toContain('&lt;b&gt;ok&lt;/b&gt; by finance');
    expect(html).not.toContain('<b>ok</b>');
    // findings.csv keeps its columns; the hash chain covers the change.
    expect(files.get('findings.csv')).toBe(bodies(before).get('findings.csv'));
    expect(changed.manifest.content_sha256).not.toBe(before.manifest.content_sha256);
  });
});

/** The control table's lifecycle items, in memory. */
class FakeLifecycle implements LifecycleLog {
  items: StoredLifecycleChange[] = [];
  async lifecycleChanges() {
    return [...this.items];
  }
  async findingChanges(id: string) {
    return this.items.filter((c) => c.finding_id === id);
  }
  async appendLifecycleChange(id: string, c: LifecycleChange) {
    if (this.items.some((i) => i.finding_id === id && i.seq === c.seq)) return false;
    this.items.push({ ...c, finding_id: id });
    return true;
  }
}

describe('when a change reaches the reports', () => {
  it('the nightly run renders again the reports of the month a change applies to, and they show it', async () => {
    const AGREEMENTS = readFileSync(new URL('../../fixtures/agreements.yaml', import.meta.url), 'utf8');
    const parsed = parseAgreementsFile(AGREEMENTS, 'agreements.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const usage = new FakeUsage();
    const control = new FakeControl();
    const reports = new FakeReports();
    const lifecycle = new FakeLifecycle();
    for (const a of parsed.agreements) control.agreements.set(a.licensee, a);
    const clock = { now: new Date('2026-11-21T02:00:00Z') };
    const deps: AuditDeps = { usage, control, reports, lifecycle, now: () => clock.now, trigger: 'schedule' };
    const counts = { requests: 10, records: 900_000, bytes: 1, errors: 0 };
    for (const day of ['2026-11-18', '2026-11-19', '2026-11-20']) {
      const r: UsageRow = {
        app: 'fab-lab',
        day,
        ...counts,
        endpoints: {},
        categories: {},
        sources: [{ key: `logs/${day}`, gen: 'g' }],
      };
      usage.rows.push(r);
      usage.changed.set(day, '2026-11-19T00:00:00Z');
    }
    await auditDates(deps, await nightlyDates(deps, clock.now));
    const unpaid = (date: string) =>
      (reports.folders.get(date)?.get('findings.jsonl') ?? '')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { rule: string; finding_id: string; lifecycle?: { state: string } })
        .find((f) => f.rule === 'unpaid_usage');
    const id = unpaid('2026-11-20')?.finding_id ?? '';
    expect(unpaid('2026-11-20')?.lifecycle).toBeUndefined();

    clock.now = new Date('2026-11-21T10:00:00Z');
    lifecycle.items.push({
      ...change({ report_date: '2026-11-20', at: clock.now.toISOString() }),
      finding_id: id,
    });
    clock.now = new Date('2026-11-22T02:00:00Z');
    const dates = await nightlyDates(deps, clock.now);
    expect(dates).toEqual(['2026-11-21', '2026-11-20']);
    const results = await auditDates(deps, dates);
    expect(results.map((r) => [r.date, r.written])).toEqual([
      ['2026-11-21', true],
      ['2026-11-20', true],
    ]);
    expect(unpaid('2026-11-20')?.lifecycle?.state).toBe('acknowledged');
    expect(unpaid('2026-11-21')?.lifecycle?.state).toBe('acknowledged');
    expect(unpaid('2026-11-19')?.lifecycle).toBeUndefined();
    // Picked up once: the next night re-renders nothing for it.
    clock.now = new Date('2026-11-23T02:00:00Z');
    expect(await nightlyDates(deps, clock.now)).toEqual(['2026-11-22']);
  });
});
