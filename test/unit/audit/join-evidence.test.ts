/**
 * A split date's join after usage changed under its parts (functions/audit/parts.ts): it takes a
 * part's evidence for every finding whose app-days' content (the rollups' digests, core/rollup.ts)
 * and terms are unchanged, and computes the rest itself; the report stays byte-identical to an
 * unsplit audit's over the same final usage.
 */
import { describe, expect, it } from 'vitest';
import { auditInProcess } from '../../../functions/audit/fan-out.ts';
import { auditPart, cellsDigest, joinDate, type PartOutcome } from '../../../functions/audit/parts.ts';
import type { EvidenceSpec } from '../../../functions/core/audit/types.ts';
import type { PartPlan } from '../../../functions/core/audit-parts.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { PARTS_DATE, PARTS_NOW, partsWorld } from '../../support/parts-world.ts';

const PLAN: PartPlan[] = [
  { part: 0, of: 4, first: 'alpha', last: 'beta' },
  { part: 1, of: 4, first: 'delta', last: 'delta' },
  { part: 2, of: 4, first: 'gamma', last: 'gamma' },
  { part: 3, of: 4, unlicensed: true },
];

type World = ReturnType<typeof partsWorld>;
type Change = (w: World) => void;

/** The world's rollups built once (so the planner sizes from stored rollups, as on a later night). */
async function warmed(split: boolean): Promise<World> {
  const w = partsWorld({ split });
  await w.rollups.usage('2026-11-01', PARTS_DATE);
  w.rollups.rebuilt.length = 0;
  return w;
}

/** Counts the per-object rows streamed (RollupUsage.parts), by app, from now on. */
function countParts(w: World): Map<string, number> {
  const read = new Map<string, number>();
  const parts = w.rollups.parts.bind(w.rollups);
  w.rollups.parts = async function* (app, from, to) {
    for await (const row of parts(app, from, to)) {
      read.set(app, (read.get(app) ?? 0) + 1);
      yield row;
    }
  };
  return read;
}

/**
 * Every part of the date, then `change` (usage committed after the parts ran), then the join,
 * counting the objects the join reads; and the same date audited unsplit over the final usage.
 */
async function joinAfter(change: Change) {
  const w = await warmed(true);
  const outcomes: PartOutcome[] = [];
  for (const part of PLAN) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
  change(w);
  const read = countParts(w);
  const result = await joinDate({ ...w.deps, trigger: 'on-demand' }, 'run-1', PARTS_DATE, outcomes);
  const whole = await warmed(false);
  change(whole);
  await auditInProcess({ ...whole.deps, trigger: 'on-demand' }, { kind: 'dates', dates: [PARTS_DATE] });
  return {
    result,
    read,
    folder: w.reports.folders.get(PARTS_DATE),
    unsplit: whole.reports.folders.get(PARTS_DATE),
  };
}

const row = (w: World, app: string, day: string, key: string): UsageRow => {
  const r = w.usage.rows.find((x) => x.app === app && x.day === day && x.sources[0]?.key === key);
  if (!r) throw new Error(`no row ${app} ${day} ${key}`);
  return r;
};

/** Whether some file of the folder names `text`. */
const names = (folder: ReadonlyMap<string, string> | undefined, text: string): boolean =>
  [...(folder?.values() ?? [])].some((body) => body.includes(text));

describe('the join of a split date after a late commit', () => {
  it('one late object for one app: the join reads that app’s objects only; the unsplit report’s bytes, with the object', async () => {
    // A late log for yesterday (D) of beta's app, an unauthorized endpoint among its requests.
    const late: Change = (w) => {
      const like = row(w, 'be-1', PARTS_DATE, `logs/${PARTS_DATE}/be-1-000.jsonl`);
      w.usage.rows.push({ ...like, sources: [{ key: 'logs/late/be-1.jsonl', gen: 'g9' }] });
      w.usage.changed.set(PARTS_DATE, '2026-11-06T01:00:00.000Z');
    };
    const out = await joinAfter(late);
    expect(out.result.findings).toBeGreaterThan(0);
    // Beta's findings (their app-days include be-1 on D) are computed again; every other
    // finding's evidence (alpha's and delta's in the same part, gamma's, rogue's) is its part's.
    expect([...out.read.keys()]).toEqual(['be-1']);
    expect(out.folder).toEqual(out.unsplit);
    expect(names(out.folder, 'logs/late/be-1.jsonl')).toBe(true);
  });

  it('an object read again with the same sums (a new generation): that finding’s evidence is computed again and names it', async () => {
    // Same counts, so the same finding numbers (fingerprints): only the content digest tells.
    const key = 'logs/2026-11-02/be-1-000.jsonl';
    const regen: Change = (w) => {
      const r = row(w, 'be-1', '2026-11-02', key);
      r.sources = [{ key, gen: 'g7' }];
      w.usage.changed.set('2026-11-02', '2026-11-06T01:00:00.000Z');
    };
    const out = await joinAfter(regen);
    expect([...out.read.keys()]).toEqual(['be-1']);
    expect(out.folder).toEqual(out.unsplit);
    const evidence = [...(out.folder ?? new Map<string, string>())].filter(([n]) =>
      n.startsWith('evidence/'),
    );
    expect(evidence.some(([, body]) => body.includes(key) && body.includes('"g7"'))).toBe(true);
  });

  it('a day’s token moved with no app-day’s content changed: every finding’s evidence is its part’s', async () => {
    const out = await joinAfter((w) => w.usage.changed.set('2026-11-03', '2026-11-06T01:00:00.000Z'));
    expect(out.read).toEqual(new Map());
    expect(out.folder).toEqual(out.unsplit);
  });

  it('terms changed after the parts: the join computes every finding’s evidence itself', async () => {
    const out = await joinAfter((w) => {
      const beta = w.control.agreements.get('beta');
      if (beta) w.control.agreements.set('beta', { ...beta, name: 'Beta Ltd' });
    });
    expect(out.read.size).toBeGreaterThan(1);
    expect(out.folder).toEqual(out.unsplit);
  });
});

describe('the join’s terms', () => {
  it('are read once: the terms its parts’ evidence is checked against are the ones the audit uses', async () => {
    const w = await warmed(true);
    const outcomes: PartOutcome[] = [];
    for (const part of PLAN) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
    let reads = 0;
    const versions = w.control.agreementVersions.bind(w.control);
    w.control.agreementVersions = async () => {
      reads++;
      return versions();
    };
    await joinDate({ ...w.deps, trigger: 'on-demand' }, 'run-1', PARTS_DATE, outcomes);
    expect(reads).toBe(1);
  });

  it('are read after the instant the report records as read (a version stored meanwhile is a later change)', async () => {
    const w = await warmed(true);
    const outcomes: PartOutcome[] = [];
    for (const part of PLAN) outcomes.push(await auditPart(w.deps, 'run-1', PARTS_DATE, part));
    // A clock a second on at every look.
    let t = PARTS_NOW.getTime();
    const now = () => {
      t += 1_000;
      return new Date(t);
    };
    let termsAt = '';
    const versions = w.control.agreementVersions.bind(w.control);
    w.control.agreementVersions = async () => {
      termsAt ||= new Date(t).toISOString();
      return versions();
    };
    await joinDate({ ...w.deps, now, trigger: 'on-demand' }, 'run-1', PARTS_DATE, outcomes);
    const recorded = w.control.reports.get(PARTS_DATE)?.writtenAt ?? '';
    expect(recorded).not.toBe('');
    expect(recorded <= termsAt).toBe(true);
  });
});

describe('cellsDigest', () => {
  const spec = (cells: { app: string; day: string }[]): EvidenceSpec =>
    ({ cells, value: () => 0, counts: () => false }) as unknown as EvidenceSpec;
  const digests = new Map([
    ['a\u00002026-11-01', 'd1'],
    ['a\u00002026-11-02', 'd2'],
    ['b\u00002026-11-01', 'd3'],
  ]);
  const cells = [
    { app: 'a', day: '2026-11-02' },
    { app: 'b', day: '2026-11-01' },
  ];

  it('is the cells’ content under the terms: order-free, changed by a digest or the terms', () => {
    const base = cellsDigest(spec(cells), digests, 't');
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(cellsDigest(spec([...cells].reverse()), digests, 't')).toBe(base);
    expect(cellsDigest(spec(cells), new Map([...digests, ['b\u00002026-11-01', 'd4']]), 't')).not.toBe(base);
    // Another app-day of the same app is not one of the cells: it does not count.
    expect(cellsDigest(spec(cells), new Map([...digests, ['a\u00002026-11-01', 'd9']]), 't')).toBe(base);
    expect(cellsDigest(spec(cells), digests, 'u')).not.toBe(base);
    expect(cellsDigest(spec([...cells, { app: 'a', day: '2026-11-01' }]), digests, 't')).not.toBe(base);
  });

  it('is unknown without a spec or with a cell whose digest is not known (never taken)', () => {
    expect(cellsDigest(undefined, digests, 't')).toBeUndefined();
    expect(cellsDigest(spec([{ app: 'c', day: '2026-11-01' }]), digests, 't')).toBeUndefined();
  });
});
