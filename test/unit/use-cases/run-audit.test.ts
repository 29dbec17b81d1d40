/**
 * The audit use case (functions/audit/run-audit.ts) against in-memory fakes of its ports: the
 * nightly run, the late-data re-audit, idempotent re-runs and the chain / latest.json bookkeeping.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANIFEST, parseJson } from '../../../functions/audit/ports.ts';
import {
  type AuditDeps,
  auditDates,
  ChainMismatchError,
  nightlyDates,
  rechain,
} from '../../../functions/audit/run-audit.ts';
import { parseAgreementsFile } from '../../../functions/core/audit/agreements.ts';
import { recomputeContentSha256 } from '../../../functions/core/audit/chain.ts';
import { addDays, daysFrom, sha256Hex, stableJson } from '../../../functions/core/audit/format.ts';
import type { Manifest } from '../../../functions/core/audit/report.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { FakeControl, FakeReports, FakeUsage } from '../../support/fakes.ts';

const AGREEMENTS = readFileSync(new URL('../../fixtures/agreements.yaml', import.meta.url), 'utf8');

function row(app: string, day: string, records: number, key = `logs/${day}.jsonl`): UsageRow {
  const counts = { requests: 10, records, bytes: 100 * records, errors: 0 };
  return {
    app,
    day,
    ...counts,
    endpoints: { 'GET /2/tweets/search/recent': counts },
    categories: {},
    sources: [{ key, gen: `g-${day}` }],
  };
}

/** Fakes with the fixture agreements loaded, and a clock the test moves. */
function world() {
  const usage = new FakeUsage();
  const control = new FakeControl();
  const reports = new FakeReports();
  const parsed = parseAgreementsFile(AGREEMENTS, 'agreements.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  for (const a of parsed.agreements) control.agreements.set(a.licensee, a);
  const clock = { now: new Date('2026-11-01T00:00:00Z') };
  const deps: AuditDeps = { usage, control, reports, now: () => clock.now, trigger: 'schedule' };
  /** The nightly run as the schedule fires at `time`. */
  const nightly = async (time: string) => {
    clock.now = new Date(time);
    return auditDates(deps, await nightlyDates(deps, clock.now));
  };
  return { usage, control, reports, clock, deps, nightly };
}

const manifestOf = (reports: FakeReports, date: string): Manifest | undefined =>
  parseJson<Manifest>(reports.folders.get(date)?.get(MANIFEST));

describe('auditDates / nightlyDates against fakes of the ports', () => {
  it('the nightly run audits yesterday, records when it read the usage and moves latest.json', async () => {
    const w = world();
    w.usage.rows.push(row('nw-search', '2026-11-26', 500), row('unregistered-bot', '2026-11-27', 5));

    expect(await nightlyDates(w.deps, new Date('2026-11-28T02:00:00Z'))).toEqual(['2026-11-27']);
    const results = await w.nightly('2026-11-28T02:00:00Z');

    expect(results).toEqual([{ date: '2026-11-27', findings: expect.any(Number), written: true }]);
    expect(results[0]?.findings).toBeGreaterThan(0);
    expect(await w.reports.listDates()).toEqual(['2026-11-27']);
    expect(await w.reports.latest()).toBe('2026-11-27');
    expect(w.reports.latestText).toBe('{"report_date":"2026-11-27"}\n');
    // The manifest is written after the files it hashes, latest.json after the report.
    const puts = w.reports.puts;
    expect(puts.indexOf(`2026-11-27/${MANIFEST}`)).toBe(puts.length - 2);
    expect(puts.at(-1)).toBe('latest.json');
    const manifest = manifestOf(w.reports, '2026-11-27');
    expect(manifest?.previous_manifest_sha256).toBeNull();
    expect(w.control.reports.get('2026-11-27')).toEqual({
      writtenAt: '2026-11-28T02:00:00.000Z',
      contentSha256: manifest?.content_sha256,
    });
    const report = JSON.parse(w.reports.folders.get('2026-11-27')?.get('report.json') ?? '{}');
    expect(report.run).toEqual({ generated_at: '2026-11-28T02:00:00.000Z', trigger: 'schedule' });
  });

  it('re-audits an earlier date whose window’s usage changed after its report, and only that one', async () => {
    const w = world();
    w.usage.rows.push(row('nw-search', '2026-11-05', 100), row('nw-search', '2026-11-18', 100));
    await w.nightly('2026-11-11T02:00:00Z'); // 2026-11-10
    await w.nightly('2026-11-21T02:00:00Z'); // 2026-11-20
    const before = w.reports.snapshot();

    // Late data for 2026-11-15 lands after both reports were written: only 11-20's window has it.
    w.usage.rows.push(row('nw-search', '2026-11-15', 3_000_000, 'logs/late.jsonl'));
    w.usage.changed.set('2026-11-15', '2026-11-25T09:00:00.000Z');
    // A change older than the report it falls in does not make that report stale.
    w.usage.changed.set('2026-11-04', '2026-11-06T00:00:00.000Z');

    // Of the dates with a report, only 11-20 is stale (11-10 is not). The other dates from the
    // first day with usage (11-04) on have no report at all, so the nightly run audits them too.
    const noReport = daysFrom('2026-11-04', '2026-11-26').filter(
      (d) => d !== '2026-11-10' && d !== '2026-11-20',
    );
    // Newest first: yesterday, then the others from the newest to the oldest.
    expect(await nightlyDates(w.deps, new Date('2026-11-28T02:00:00Z'))).toEqual([
      '2026-11-27',
      ...[...noReport, '2026-11-20'].sort().reverse(),
    ]);
    const results = await w.nightly('2026-11-28T02:00:00Z');
    expect(results.filter((r) => !noReport.includes(r.date)).map((r) => [r.date, r.written])).toEqual([
      ['2026-11-27', true],
      ['2026-11-20', true],
    ]);
    const after = w.reports.snapshot();
    for (const name of ['findings.jsonl', 'usage.jsonl', MANIFEST])
      expect(after.get(`2026-11-20/${name}`)).not.toBe(before.get(`2026-11-20/${name}`));
    // 11-10's files are unchanged; only its manifest is re-linked (to the new 11-09 report).
    for (const [k, v] of before)
      if (k.startsWith('2026-11-10/') && !k.endsWith(MANIFEST)) expect(after.get(k)).toBe(v);
    expect(manifestOf(w.reports, '2026-11-10')?.content_sha256).toBe(
      parseJson<Manifest>(before.get(`2026-11-10/${MANIFEST}`))?.content_sha256,
    );
    expect(w.control.reports.get('2026-11-20')?.writtenAt).toBe('2026-11-28T02:00:00.000Z');
    expect(w.control.reports.get('2026-11-10')?.writtenAt).toBe('2026-11-11T02:00:00.000Z');

    // Now checked after the change: the next night finds nothing stale.
    expect(await nightlyDates(w.deps, new Date('2026-11-29T02:00:00Z'))).toEqual(['2026-11-28']);
  });

  it('a re-run of the same dates rewrites nothing: every file stays byte-identical', async () => {
    const w = world();
    w.usage.rows.push(row('nw-search', '2026-11-26', 500), row('fab-lab', '2026-11-27', 900_000));
    w.usage.manifests.set('logs/bad.jsonl.gz', {
      key: 'logs/bad.jsonl.gz',
      gen: 'g1',
      wid: 'g1.1.empty',
      seq: '1',
      status: 'quarantined',
      format: null,
      compressed: true,
      lines: 3,
      counted: 0,
      rejected: 0,
      reason: 'truncated gzip',
      chunks: 1,
      registryHash: 'empty',
      ingestedAt: '2026-11-27T10:00:00.000Z',
    });
    w.usage.dataQuality.set('logs/bad.jsonl.gz', '2026-11-27');
    const first = await w.nightly('2026-11-28T02:00:00Z');
    const files = w.reports.snapshot();
    const latest = w.reports.latestText;
    expect(files.get('2026-11-27/report.json')).toContain('logs/bad.jsonl.gz');
    const puts = w.reports.puts.length;

    w.clock.now = new Date('2026-11-29T07:30:00Z');
    const again = await auditDates({ ...w.deps, trigger: 'on-demand' }, ['2026-11-27']);
    expect(again).toEqual(first.map((r) => ({ ...r, written: false })));
    expect(w.reports.snapshot()).toEqual(files);
    expect(w.reports.latestText).toBe(latest);
    expect(w.reports.puts).toHaveLength(puts);
    // It was checked again, though: the late-data check compares with this read.
    expect(w.control.reports.get('2026-11-27')?.writtenAt).toBe('2026-11-29T07:30:00.000Z');
  });

  it('keeps the manifests chained in date order and latest.json on the newest report', async () => {
    const w = world();
    w.usage.rows.push(row('nw-search', '2026-11-05', 100), row('nw-search', '2026-11-15', 100));
    await auditDates(w.deps, ['2026-11-20', '2026-11-10']);
    const m10 = w.reports.folders.get('2026-11-10')?.get(MANIFEST) ?? '';
    expect(manifestOf(w.reports, '2026-11-10')?.previous_manifest_sha256).toBeNull();
    expect(manifestOf(w.reports, '2026-11-20')?.previous_manifest_sha256).toBe(sha256Hex(m10));
    expect(await w.reports.latest()).toBe('2026-11-20');

    // An earlier date audited later: the later manifests are re-linked (only the manifests), and
    // latest.json stays on the newest date.
    const before = w.reports.snapshot();
    w.reports.puts.length = 0;
    await auditDates(w.deps, ['2026-11-05']);
    const m05 = w.reports.folders.get('2026-11-05')?.get(MANIFEST) ?? '';
    const relinked10 = w.reports.folders.get('2026-11-10')?.get(MANIFEST) ?? '';
    expect(manifestOf(w.reports, '2026-11-05')?.previous_manifest_sha256).toBeNull();
    expect(manifestOf(w.reports, '2026-11-10')?.previous_manifest_sha256).toBe(sha256Hex(m05));
    expect(manifestOf(w.reports, '2026-11-20')?.previous_manifest_sha256).toBe(sha256Hex(relinked10));
    expect(manifestOf(w.reports, '2026-11-10')?.content_sha256).toBe(
      parseJson<Manifest>(m10)?.content_sha256,
    );
    expect(w.reports.puts.filter((p) => !p.startsWith('2026-11-05/'))).toEqual([
      `2026-11-10/${MANIFEST}`,
      `2026-11-20/${MANIFEST}`,
    ]);
    for (const [k, v] of before) if (!k.endsWith(MANIFEST)) expect(w.reports.snapshot().get(k)).toBe(v);
    expect(await w.reports.latest()).toBe('2026-11-20');

    // Chained already: rechain changes nothing.
    expect(await rechain(w.deps)).toEqual([]);

    // A damaged or missing latest.json is mended by the next run, even one that writes nothing.
    w.reports.latestText = '{not json';
    await auditDates(w.deps, ['2026-11-10']);
    expect(w.reports.latestText).toBe('{"report_date":"2026-11-20"}\n');
    w.reports.latestText = undefined;
    await auditDates(w.deps, []);
    expect(await w.reports.latest()).toBe('2026-11-20');
  });

  it('never re-links over a damaged manifest: it fails naming the date and the file', async () => {
    const w = world();
    await auditDates(w.deps, ['2026-11-10', '2026-11-20']);
    w.reports.folders.get('2026-11-10')?.set(MANIFEST, 'damaged');
    const before = w.reports.snapshot();
    await expect(rechain(w.deps)).rejects.toThrow(/2026-11-10\/manifest\.json: sha256 .* anchor/);
    await expect(auditDates(w.deps, ['2026-11-20'])).rejects.toThrow(ChainMismatchError);
    expect(w.reports.snapshot()).toEqual(before);
  });
});

describe('the anchored chain (control-table anchors) against fakes', () => {
  /** Three reports, 11-10, 11-20 and 11-25, written by on-demand audits. */
  async function threeReports() {
    const w = world();
    w.usage.rows.push(row('nw-search', '2026-11-05', 100), row('unregistered-bot', '2026-11-08', 5));
    w.clock.now = new Date('2026-11-26T08:00:00Z');
    await auditDates(w.deps, ['2026-11-10', '2026-11-20', '2026-11-25']);
    return w;
  }

  /** The thorough forger: drops the first finding, re-hashes it and content_sha256 in the manifest. */
  function dropFinding(reports: FakeReports, date: string): void {
    const folder = reports.folders.get(date);
    const lines = (folder?.get('findings.jsonl') ?? '').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    const tampered = lines
      .slice(1)
      .map((l) => `${l}\n`)
      .join('');
    folder?.set('findings.jsonl', tampered);
    const m = parseJson<Manifest>(folder?.get(MANIFEST));
    if (!m || !folder) throw new Error('no manifest');
    m.files['findings.jsonl'] = sha256Hex(tampered);
    m.content_sha256 = recomputeContentSha256(folder) ?? '';
    folder.set(MANIFEST, `${stableJson(m, 2)}\n`);
  }

  it('records every manifest written, append-only, the newest per date being its anchor', async () => {
    const w = await threeReports();
    const sha = (date: string) => sha256Hex(w.reports.folders.get(date)?.get(MANIFEST) ?? '');
    expect(await w.control.anchors()).toEqual(
      new Map(['2026-11-10', '2026-11-20', '2026-11-25'].map((d) => [d, sha(d)])),
    );
    // An earlier date audited: 11-10's manifest is re-linked, and anchored again (seq 2).
    const first10 = sha('2026-11-10');
    await auditDates(w.deps, ['2026-11-05']);
    expect(
      w.control.chain.filter((a) => a.date === '2026-11-10').map((a) => [a.seq, a.manifestSha256]),
    ).toEqual([
      [1, first10],
      [2, sha('2026-11-10')],
    ]);
    expect((await w.control.anchors()).get('2026-11-10')).toBe(sha('2026-11-10'));
    // Re-running changes nothing and appends nothing.
    const items = w.control.chain.length;
    await auditDates(w.deps, ['2026-11-05', '2026-11-10']);
    expect(w.control.chain).toHaveLength(items);
  });

  it('a report forged consistently (finding dropped, manifest re-hashed) is never chained over', async () => {
    const w = await threeReports();
    dropFinding(w.reports, '2026-11-10');
    const before = w.reports.snapshot();
    const anchors = w.control.chain.length;
    // The audit of a later date checks every anchored manifest first; so does the nightly run.
    for (const run of [() => auditDates(w.deps, ['2026-11-25']), () => w.nightly('2026-11-26T02:00:00Z')]) {
      const err = await run().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChainMismatchError);
      expect(err).toMatchObject({ date: '2026-11-10', file: MANIFEST });
      expect(String(err)).toMatch(
        /2026-11-10\/manifest\.json: sha256 [0-9a-f]{64} is not the control table's anchor/,
      );
    }
    await expect(rechain(w.deps, '2026-11-20')).rejects.toThrow(/2026-11-10\/manifest\.json/);
    expect(w.reports.snapshot()).toEqual(before);
    expect(w.control.chain).toHaveLength(anchors);
  });

  it('a file changed behind an intact manifest fails the audit of its part of the chain, naming the file', async () => {
    const w = await threeReports();
    w.reports.folders.get('2026-11-20')?.set('usage.jsonl', 'forged\n');
    const before = w.reports.snapshot();
    // 11-20 is the predecessor of 11-25: its files are checked before 11-25 is linked to it.
    await expect(auditDates(w.deps, ['2026-11-25'])).rejects.toMatchObject({
      date: '2026-11-20',
      file: 'usage.jsonl',
    });
    expect(w.reports.snapshot()).toEqual(before);
  });

  it('a deleted date folder whose anchor exists fails the audit; a date never audited is skipped', async () => {
    const w = await threeReports();
    w.reports.folders.delete('2026-11-20');
    const before = w.reports.snapshot();
    await expect(auditDates(w.deps, ['2026-11-25'])).rejects.toThrow(
      /2026-11-20\/manifest\.json: missing; the control table anchors [0-9a-f]{64}/,
    );
    expect(w.reports.snapshot()).toEqual(before);

    // No anchor, no folder (a date never audited): the chain simply goes from 11-10 to 11-25.
    const v = await threeReports();
    expect(await v.control.anchors()).not.toContain('2026-11-15');
    await auditDates(v.deps, ['2026-11-25']);
    const m10 = v.reports.folders.get('2026-11-10')?.get(MANIFEST) ?? '';
    expect(manifestOf(v.reports, '2026-11-20')?.previous_manifest_sha256).toBe(sha256Hex(m10));
  });

  it('re-links only forward from the run’s earliest date', async () => {
    const w = await threeReports();
    // An old link broken (as by a run interrupted long ago) is not mended by a later run ...
    const m20 = parseJson<Manifest>(w.reports.folders.get('2026-11-20')?.get(MANIFEST));
    if (!m20) throw new Error('no manifest');
    const broken = `${stableJson({ ...m20, previous_manifest_sha256: null }, 2)}\n`;
    w.reports.folders.get('2026-11-20')?.set(MANIFEST, broken);
    await w.control.anchorManifest('2026-11-20', sha256Hex(broken), '2026-11-26T09:00:00.000Z');
    await auditDates(w.deps, ['2026-11-25']);
    expect(w.reports.folders.get('2026-11-20')?.get(MANIFEST)).toBe(broken);
    // ... but by a run from that date on.
    await auditDates(w.deps, ['2026-11-20']);
    const m10 = w.reports.folders.get('2026-11-10')?.get(MANIFEST) ?? '';
    expect(manifestOf(w.reports, '2026-11-20')?.previous_manifest_sha256).toBe(sha256Hex(m10));
  });
});

describe('nightlyDates: dates with no report yet', () => {
  it('audits every date of the last 35 days with no report, from the first day with usage on', async () => {
    const w = world();
    // An empty system: only yesterday (an empty report), never 35 of them.
    expect(await nightlyDates(w.deps, new Date('2026-11-28T02:00:00Z'))).toEqual(['2026-11-27']);

    w.usage.changed.set('2026-11-20', '2026-11-20T10:00:00.000Z');
    w.usage.changed.set('2026-11-22', '2026-11-22T10:00:00.000Z');
    w.control.reports.set('2026-11-21', { writtenAt: '2026-11-23T02:00:00.000Z', contentSha256: 'x' });
    w.control.reports.set('2026-11-23', { writtenAt: '2026-11-24T02:00:00.000Z', contentSha256: 'x' });
    expect(await nightlyDates(w.deps, new Date('2026-11-28T02:00:00Z'))).toEqual([
      '2026-11-27',
      '2026-11-26',
      '2026-11-25',
      '2026-11-24',
      '2026-11-22',
      '2026-11-20',
    ]);
    // Usage before the 35 days (in the oldest date's month): only the last 35 days are audited.
    w.usage.changed.set('2026-10-05', '2026-10-05T10:00:00.000Z');
    const dates = await nightlyDates(w.deps, new Date('2026-11-28T02:00:00Z'));
    expect(dates.at(-1)).toBe(addDays('2026-11-27', -35));
    expect(dates).toHaveLength(36 - 2);
  });
});
