/**
 * Finding events, pure (functions/core/audit/events.ts): the diff between a month's published
 * state and a report's findings, on hand-made cases (threshold edges, reopen, resolve), the size
 * bound of an event, the digest; and fast-check properties of the diff.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyChanges,
  boundDetail,
  DETAIL_TYPES,
  diffFindings,
  digestOf,
  EVENT_SOURCE,
  eventOf,
  type FindingLine,
  type FindingState,
  significantFields,
  stateAfter,
  valuesOf,
} from '../../../functions/core/audit/events.ts';
import type { Severity } from '../../../functions/core/audit/types.ts';

function line(id: string, over: Partial<FindingLine> = {}): FindingLine {
  return {
    report_date: '2026-11-27',
    finding_id: id,
    licensee: 'northwind',
    rule: 'quota_exceeded',
    severity: 'high',
    metric: 'monthly_records',
    subject: null,
    period_start: '2026-11-01',
    period_end: '2026-11-27',
    observed: 1000,
    limit: 800,
    excess: 200,
    amount_owed: null,
    currency: null,
    apps: [{ app_id: 'nw-search', value: 1000, share: 1 }],
    detail: 'over the monthly quota',
    evidence: { sources: [{ key: 'logs/a.jsonl', gen: 'g1' }], source_count: 1, truncated: false },
    ...over,
  };
}

const open = (l: FindingLine, version = 1): FindingState => ({
  finding_id: l.finding_id,
  status: 'open',
  version,
  line: l,
});

describe('diffFindings', () => {
  it('a new finding opens at version 1 with no previous values', () => {
    const [c, ...rest] = diffFindings([], [line('f1')]);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'opened', finding_id: 'f1', version: 1, previous: null, changed: [] });
  });

  it('the same findings again: no change', () => {
    expect(diffFindings([open(line('f1'))], [line('f1')])).toEqual([]);
  });

  it('a period_end that grows night after night with the same numbers is not a change', () => {
    const next = line('f1', { report_date: '2026-11-28', period_end: '2026-11-28' });
    expect(diffFindings([open(line('f1'))], [next])).toEqual([]);
  });

  it('observed moving by just under the threshold is no change; by exactly the threshold it is', () => {
    const prev = [open(line('f1', { observed: 1000, excess: null }))];
    expect(diffFindings(prev, [line('f1', { observed: 1099, excess: null })], 10)).toEqual([]);
    const [c] = diffFindings(prev, [line('f1', { observed: 1100, excess: null })], 10);
    expect(c).toMatchObject({ kind: 'changed', version: 2, changed: ['observed'] });
    expect(c?.previous).toMatchObject({ observed: 1000 });
    // downwards too
    expect(diffFindings(prev, [line('f1', { observed: 900, excess: null })], 10)[0]?.changed).toEqual([
      'observed',
    ]);
  });

  it('excess and amount_owed do not make a change on their own: a quota just exceeded grows its excess by many percent', () => {
    // limit 800: observed 810 → 830 (+2.5%) moves excess 10 → 30 (+200%): no change.
    const prev = [open(line('f1', { observed: 810, excess: 10, amount_owed: 1, currency: 'USD' }))];
    expect(
      diffFindings(prev, [line('f1', { observed: 830, excess: 30, amount_owed: 2, currency: 'USD' })], 10),
    ).toEqual([]);
    // observed +10%: a change, listing every value that moved by the threshold.
    expect(
      diffFindings(prev, [line('f1', { observed: 891, excess: 91, amount_owed: 1, currency: 'USD' })], 10)[0]
        ?.changed,
    ).toEqual(['observed', 'excess']);
  });

  it('drift below the threshold accumulates against the published value, not the last one seen', () => {
    const published = open(line('f1', { observed: 1000, excess: null }));
    // 1000 -> 1060 (6%): no change, so the state keeps 1000; 1060 -> 1110 is 11% of 1000.
    expect(diffFindings([published], [line('f1', { observed: 1060, excess: null })], 10)).toEqual([]);
    expect(diffFindings([published], [line('f1', { observed: 1110, excess: null })], 10)).toHaveLength(1);
  });

  it('a severity change is a change whatever the numbers; so are limit, currency and null ↔ number', () => {
    const prev = [open(line('f1'))];
    expect(diffFindings(prev, [line('f1', { severity: 'medium' })])[0]?.changed).toEqual(['severity']);
    expect(diffFindings(prev, [line('f1', { limit: 900 })])[0]?.changed).toEqual(['limit']);
    expect(diffFindings(prev, [line('f1', { amount_owed: 1.5, currency: 'USD' })])[0]?.changed).toEqual([
      'amount_owed',
      'currency',
    ]);
  });

  it('from 0 any move is a change; threshold 0 makes every difference one', () => {
    const zero = [open(line('f1', { observed: 0, excess: 0 }))];
    expect(diffFindings(zero, [line('f1', { observed: 1, excess: 0 })], 50)[0]?.changed).toEqual([
      'observed',
    ]);
    const prev = [open(line('f1'))];
    expect(diffFindings(prev, [line('f1', { observed: 1001 })], 0)[0]?.changed).toEqual(['observed']);
  });

  it('an open finding absent from the report resolves, with its last line; a resolved one reopens', () => {
    const last = line('f1');
    const [r] = diffFindings([open(last, 3)], []);
    expect(r).toMatchObject({ kind: 'resolved', version: 4, line: last, previous: valuesOf(last) });
    const resolved: FindingState = { ...open(last, 4), status: 'resolved' };
    expect(diffFindings([resolved], [])).toEqual([]);
    const [o] = diffFindings([resolved], [line('f1', { observed: 5 })]);
    expect(o).toMatchObject({ kind: 'opened', version: 5, previous: valuesOf(last) });
  });

  it('changes come sorted by finding_id, a duplicated finding_id counts once', () => {
    const out = diffFindings([open(line('b'))], [line('c'), line('a'), line('a', { observed: 3 })]);
    expect(out.map((c) => [c.kind, c.finding_id])).toEqual([
      ['opened', 'a'],
      ['resolved', 'b'],
      ['opened', 'c'],
    ]);
  });
});

describe('events', () => {
  it('source, detail-type per change, id <finding_id>.v<version>, detail with the line and the previous values', () => {
    const [c] = diffFindings([open(line('f1'))], [line('f1', { severity: 'critical' })]);
    if (!c) throw new Error('no change');
    const e = eventOf(c, '2026-11-28', '2026-11-29T02:00:00.000Z');
    expect(e).toEqual({
      id: 'f1.v2',
      source: EVENT_SOURCE,
      'detail-type': 'Finding Changed',
      time: '2026-11-29T02:00:00.000Z',
      detail: {
        event_id: 'f1.v2',
        change: 'changed',
        version: 2,
        report_date: '2026-11-28',
        changed: ['severity'],
        finding: line('f1', { severity: 'critical' }),
        previous: valuesOf(line('f1')),
      },
    });
    expect(Object.values(DETAIL_TYPES)).toEqual(['Finding Opened', 'Finding Changed', 'Finding Resolved']);
  });

  it('a detail over the bound loses the listed sources, then the apps, and says how many', () => {
    const sources = Array.from({ length: 20 }, (_, i) => ({ key: `logs/${'k'.repeat(1000)}${i}`, gen: 'g' }));
    const apps = Array.from({ length: 200 }, (_, i) => ({
      app_id: `app-${'x'.repeat(100)}-${i}`,
      value: 1,
      share: 0,
    }));
    const big = line('f1', { apps, evidence: { sources, source_count: 99, truncated: true } });
    const [c] = diffFindings([], [big]);
    if (!c) throw new Error('no change');
    const detail = eventOf(c, '2026-11-27', 't').detail;
    expect(JSON.stringify(detail).length).toBeGreaterThan(30_000);
    const cut = boundDetail(detail, 40_000);
    expect(cut.finding.evidence).toEqual({ sources: [], source_count: 99, truncated: true });
    expect(cut.finding.apps).toHaveLength(200);
    expect(cut.truncated).toEqual({ apps: 0, sources: 20 });
    const cut2 = boundDetail(detail, 10_000);
    expect(cut2.finding.apps).toEqual([]);
    expect(cut2.truncated).toEqual({ apps: 200, sources: 20 });
    expect(JSON.stringify(cut2).length).toBeLessThanOrEqual(10_000);
    expect(boundDetail(eventOf(diffFindings([], [line('f2')])[0] as never, 'd', 't').detail).truncated).toBe(
      undefined,
    );
  });
});

describe('digestOf', () => {
  const ev = (id: string, severity: Severity, prev?: Severity) => {
    const state = prev ? [open(line(id, { severity: prev }))] : [];
    const [c] = diffFindings(state, [line(id, { severity })]);
    if (!c) throw new Error('no change');
    return eventOf(c, '2026-11-27', 't');
  };

  it('critical and high changes only (a change down from high included); none: no digest', () => {
    expect(digestOf('2026-11-27', [ev('a', 'medium'), ev('b', 'low')])).toBeUndefined();
    const d = digestOf('2026-11-27', [ev('a', 'critical'), ev('b', 'low'), ev('c', 'medium', 'high')]);
    expect(d?.event_ids).toEqual(['a.v1', 'c.v2']);
    expect(d?.subject).toBe('usage-auditor 2026-11-27: critical/high findings 1 opened, 1 changed');
    expect(d?.message).toContain(
      'OPENED critical quota_exceeded northwind monthly_records: 1,000 of 800 [a]',
    );
    expect(d?.message).toContain(
      'CHANGED medium quota_exceeded northwind monthly_records: 1,000 of 800 (was high, 1,000) [c]',
    );
    expect(d?.id).toMatch(/^digest-2026-11-27-[0-9a-f]{16}$/);
    // The same events give the same digest id.
    expect(digestOf('2026-11-27', [ev('a', 'critical'), ev('c', 'medium', 'high')])?.id).toBe(d?.id);
  });
});

// -- properties ---------------------------------------------------------------------------------

const arbLine = fc
  .record({
    id: fc.constantFrom('f1', 'f2', 'f3', 'f4', 'f5', 'f6'),
    severity: fc.constantFrom<Severity>('critical', 'high', 'medium', 'low'),
    observed: fc.integer({ min: 0, max: 2000 }),
    excess: fc.option(fc.integer({ min: 0, max: 500 })),
    owed: fc.option(fc.integer({ min: 0, max: 100_000 }).map((c) => c / 100)),
  })
  .map((r) =>
    line(r.id, { severity: r.severity, observed: r.observed, excess: r.excess, amount_owed: r.owed }),
  );
/** One report's findings: distinct finding ids. */
const arbReport = fc.uniqueArray(arbLine, { selector: (l) => l.finding_id, maxLength: 6 });
/** A state reached from nothing through a few reports. */
const arbState = fc.array(arbReport, { maxLength: 4 }).map((reports) => {
  let state = new Map<string, FindingState>();
  for (const r of reports) state = applyChanges(state.values(), diffFindings(state.values(), r, 10));
  return [...state.values()];
});
const arbThreshold = fc.constantFrom(0, 5, 10, 50);

describe('diff properties', () => {
  it('diff of a report against the state it produced is empty (a re-run publishes nothing)', () => {
    fc.assert(
      fc.property(arbState, arbReport, arbThreshold, (state, report, t) => {
        const next = applyChanges(state, diffFindings(state, report, t));
        expect(diffFindings(next.values(), report, t)).toEqual([]);
      }),
    );
  });

  it('diff of X with X is empty', () => {
    fc.assert(
      fc.property(arbReport, arbThreshold, (report, t) => {
        expect(
          diffFindings(
            report.map((l) => open(l)),
            report,
            t,
          ),
        ).toEqual([]);
      }),
    );
  });

  it('with threshold 0, applying the changes reproduces the report: open lines = its findings', () => {
    fc.assert(
      fc.property(arbState, arbReport, (state, report) => {
        const next = applyChanges(state, diffFindings(state, report, 0));
        const openLines = [...next.values()].filter((s) => s.status === 'open').map((s) => s.line);
        const byId = (a: FindingLine, b: FindingLine) => (a.finding_id < b.finding_id ? -1 : 1);
        expect(openLines.sort(byId)).toEqual([...report].sort(byId));
      }),
    );
  });

  it('every finding id of the report ends open, every other one resolved or untouched; versions grow by one', () => {
    fc.assert(
      fc.property(arbState, arbReport, arbThreshold, (state, report, t) => {
        const changes = diffFindings(state, report, t);
        const before = new Map(state.map((s) => [s.finding_id, s]));
        for (const c of changes) {
          expect(c.version).toBe((before.get(c.finding_id)?.version ?? 0) + 1);
          expect(stateAfter(c).status).toBe(c.kind === 'resolved' ? 'resolved' : 'open');
        }
        const next = applyChanges(state, changes);
        for (const l of report) expect(next.get(l.finding_id)?.status).toBe('open');
        for (const [id, s] of next)
          if (!report.some((l) => l.finding_id === id)) expect(s.status).toBe('resolved');
        // one change at most per finding
        expect(new Set(changes.map((c) => c.finding_id)).size).toBe(changes.length);
      }),
    );
  });

  it('a change is reported exactly when a severity or limit differs or a number moves by the threshold', () => {
    fc.assert(
      fc.property(arbLine, arbLine, arbThreshold, (a, b0, t) => {
        const b = { ...b0, finding_id: a.finding_id };
        const changes = diffFindings([open(a)], [b], t);
        expect(changes.length > 0).toBe(significantFields(valuesOf(a), valuesOf(b), t).length > 0);
      }),
    );
  });
});
