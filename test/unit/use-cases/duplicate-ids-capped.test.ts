/**
 * report.json data_quality.duplicate_request_ids.within_objects_capped (issue 11 item 5): present
 * (true) only when some object behind the window's usage had more request_ids than ingest counted
 * (its manifest's requestIds.capped), so that within_objects reads as a lower bound.
 */
import { describe, expect, it } from 'vitest';
import { auditDates } from '../../../functions/audit/run-audit.ts';
import { markCapped, withinObjectsCapped } from '../../../functions/core/audit/duplicate-ids.ts';
import { KMV_METHOD } from '../../../functions/core/kmv.ts';
import type { ObjectManifest, UsageRow } from '../../../functions/core/ledger.ts';
import { auditWorld, usageRow } from '../../support/audit-world.ts';

const DATE = '2026-11-27';
const KEY = 'logs/big.jsonl';

/** A row of the object KEY, whose evidence counts `duplicates` repeated request_ids. */
function row(duplicates: number | undefined): UsageRow {
  return {
    ...usageRow('nw-search', '2026-11-26', 100),
    sources: [{ key: KEY, gen: 'g1' }],
    evidence: { lines: [], endpoints: {}, categories: {}, ...(duplicates ? { duplicates } : {}) },
  };
}

function manifest(key: string, requestIds: ObjectManifest['requestIds']): ObjectManifest {
  return {
    key,
    gen: 'g1',
    wid: 'g1.1',
    seq: '1',
    status: 'ingested',
    format: 'jsonl',
    compressed: false,
    lines: 10,
    counted: 10,
    rejected: 0,
    chunks: 1,
    registryHash: 'empty',
    ingestedAt: '2026-11-26T10:00:00.000Z',
    ...(requestIds ? { requestIds } : {}),
  };
}

/** DATE's report.json data_quality and report.html, audited on fakes holding `rows` and `manifests`. */
async function report(rows: UsageRow[], manifests: ObjectManifest[], problems: string[] = []) {
  const { usage, reports, deps } = auditWorld();
  usage.rows = rows;
  for (const m of manifests) usage.manifests.set(m.key, m);
  for (const k of problems) usage.dataQuality.set(k, DATE);
  await auditDates(deps, [DATE]);
  const folder = reports.folders.get(DATE);
  return {
    dup: JSON.parse(folder?.get('report.json') ?? '{}').data_quality.duplicate_request_ids,
    html: folder?.get('report.html') ?? '',
  };
}

const CAPPED = { ids: 7_000_001, duplicates: 3, capped: true as const };

describe('data_quality.duplicate_request_ids.within_objects_capped', () => {
  it('is true when an object behind the usage was capped, and report.html says "at least"', async () => {
    const { dup, html } = await report([row(3)], [manifest(KEY, CAPPED)]);
    expect(dup).toEqual({
      within_objects: 3,
      across_objects_estimate: 0,
      method: KMV_METHOD,
      within_objects_capped: true,
    });
    expect(html).toContain('3 line(s) repeat a request_id of the same object (at least:');
  });

  it('is absent when no object was capped (the report keeps its bytes)', async () => {
    const { dup, html } = await report([row(3)], [manifest(KEY, { ids: 10, duplicates: 3 })]);
    expect(dup).toEqual({ within_objects: 3, across_objects_estimate: 0, method: KMV_METHOD });
    expect(html).toContain('3 line(s) repeat a request_id of the same object (exact)');
    expect((await report([row(undefined)], [manifest(KEY, undefined)])).dup).toBeUndefined();
  });

  it('says a capped count found no duplicate: zero is then a lower bound too', async () => {
    const { dup } = await report([row(undefined)], [manifest(KEY, { ...CAPPED, duplicates: 0 })]);
    expect(dup).toEqual({
      within_objects: 0,
      across_objects_estimate: 0,
      method: KMV_METHOD,
      within_objects_capped: true,
    });
  });

  it('ignores a capped object that is not behind the window usage (a data-quality key only)', async () => {
    const other = 'logs/elsewhere.jsonl';
    const { dup } = await report(
      [row(undefined)],
      [manifest(KEY, undefined), manifest(other, CAPPED)],
      [other],
    );
    expect(dup).toBeUndefined();
  });
});

describe('withinObjectsCapped / markCapped', () => {
  it('looks only at the given source keys, and marks without changing the counts', () => {
    const ms = [manifest('a', { ids: 1, duplicates: 0 }), manifest('b', CAPPED)];
    expect(withinObjectsCapped(ms, ['a'])).toBe(false);
    expect(withinObjectsCapped(ms, ['a', 'b'])).toBe(true);
    expect(withinObjectsCapped([], ['b'])).toBe(false);
    const d = { within_objects: 2, across_objects_estimate: 5, method: KMV_METHOD };
    expect(markCapped(d, false)).toBe(d);
    expect(markCapped(undefined, false)).toBeUndefined();
    expect(markCapped(d, true)).toEqual({ ...d, within_objects_capped: true });
  });
});
