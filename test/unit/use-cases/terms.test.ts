/**
 * Versioned terms (issue 11) through the use cases, against in-memory fakes of the ports: loads
 * append versions (never overwrite), reports name the versions they used, a change of terms makes
 * the nightly run re-audit the reports it alters and write a restatement, and verify accepts the
 * restatement while a rewrite without one is still caught.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { storeAgreements, storeRecipients } from '../../../functions/audit/load-agreements.ts';
import { MANIFEST, parseJson } from '../../../functions/audit/ports.ts';
import { type AuditDeps, auditDates, nightlyDates } from '../../../functions/audit/run-audit.ts';
import { agreementHistory } from '../../../functions/audit/terms-store.ts';
import { verifyStoredReports } from '../../../functions/audit/verify-reports.ts';
import { parseAgreementsFile } from '../../../functions/core/audit/agreements.ts';
import { recomputeContentSha256 } from '../../../functions/core/audit/chain.ts';
import { sha256Hex, stableJson } from '../../../functions/core/audit/format.ts';
import type { Manifest } from '../../../functions/core/audit/report.ts';
import type { RestatementFile } from '../../../functions/core/audit/restatement.ts';
import { agreementHash } from '../../../functions/core/audit/terms.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { FakeControl, FakeReports, FakeUsage } from '../../support/fakes.ts';

const FIXTURE = readFileSync(new URL('../../fixtures/agreements.yaml', import.meta.url), 'utf8');
const fabrikam = (daily: number | null) =>
  [
    'licensee: fabrikam',
    'apps: [fab-lab]',
    'term: { start: 2026-06-01, end: 2027-05-31 }',
    'paid_through: null',
    `quotas: { monthly_records: 500000${daily === null ? '' : `, daily_records: ${daily}`} }`,
    'rate: { per_1000_records: 1.20, currency: USD }',
  ].join('\n');

const by = (at: string, more: { effectiveFrom?: string; note?: string } = {}) => ({
  by: 'alice',
  at,
  ...more,
});

function row(app: string, day: string, records: number): UsageRow {
  const counts = { requests: 10, records, bytes: 0, errors: 0 };
  return {
    app,
    day,
    ...counts,
    endpoints: { 'GET /x': counts },
    categories: {},
    sources: [{ key: `logs/${day}`, gen: 'g1' }],
  };
}

function world() {
  const usage = new FakeUsage();
  const control = new FakeControl();
  const reports = new FakeReports();
  const clock = { now: new Date('2026-11-01T00:00:00Z') };
  const deps: AuditDeps = { usage, control, reports, now: () => clock.now, trigger: 'schedule' };
  const nightly = async (time: string) => {
    clock.now = new Date(time);
    return auditDates(deps, await nightlyDates(deps, clock.now));
  };
  const verify = async () =>
    verifyStoredReports(reports, await control.anchors(), await control.anchorContents());
  return { usage, control, reports, clock, deps, nightly, verify };
}

const reportJson = (reports: FakeReports, date: string) =>
  JSON.parse(reports.folders.get(date)?.get('report.json') ?? '{}');

describe('loads append versions', () => {
  it('a first version is in force from the beginning, a change from today, an identical reload appends nothing', async () => {
    const control = new FakeControl();
    expect((await storeAgreements(control, fabrikam(null), 'a.yaml', by('2026-11-01T09:00:00Z'))).ok).toBe(
      true,
    );
    await storeAgreements(
      control,
      fabrikam(1000),
      'a.yaml',
      by('2026-11-20T09:00:00Z', { note: 'daily cap' }),
    );
    await storeAgreements(control, fabrikam(1000), 'a.yaml', by('2026-11-21T09:00:00Z'));
    const history = await agreementHistory(control, 'fabrikam');
    expect(history.map((v) => [v.seq, v.effective_from, v.by, v.at, v.note])).toEqual([
      [1, null, 'alice', '2026-11-01T09:00:00Z', null],
      [2, '2026-11-20', 'alice', '2026-11-20T09:00:00Z', 'daily cap'],
    ]);
    expect(history[1]?.hash).toBe(agreementHash(history[1]?.agreement as never));
    expect(control.agreements.get('fabrikam')?.quotas.daily_records).toBe(1000);
  });

  it('keeps an agreement stored before versioning as version 1, from the beginning', async () => {
    const control = new FakeControl();
    const parsed = parseAgreementsFile(fabrikam(null), 'a.yaml');
    if (!parsed.ok) throw new Error('fixture');
    await control.putAgreements(parsed.agreements); // as before versioned terms
    expect((await agreementHistory(control, 'fabrikam')).map((v) => [v.seq, v.effective_from, v.at])).toEqual(
      [[0, null, null]],
    );
    await storeAgreements(
      control,
      fabrikam(5),
      'a.yaml',
      by('2026-11-20T09:00:00Z', { effectiveFrom: '2026-11-18' }),
    );
    expect(
      (await agreementHistory(control, 'fabrikam')).map((v) => [
        v.seq,
        v.effective_from,
        v.note,
        v.agreement.quotas,
      ]),
    ).toEqual([
      [1, null, 'stored before versioned terms', { monthly_records: 500000 }],
      [2, '2026-11-18', null, { monthly_records: 500000, daily_records: 5 }],
    ]);
  });

  it('a retroactive correction is appended but does not replace newer terms as the current ones', async () => {
    const control = new FakeControl();
    await storeAgreements(control, fabrikam(null), 'a.yaml', by('2026-11-01T09:00:00Z'));
    await storeAgreements(
      control,
      fabrikam(10),
      'a.yaml',
      by('2026-11-20T09:00:00Z', { effectiveFrom: '2026-12-01' }),
    );
    await storeAgreements(
      control,
      fabrikam(7),
      'a.yaml',
      by('2026-11-21T09:00:00Z', { effectiveFrom: '2026-11-10' }),
    );
    expect(control.agreementVersionItems.map((v) => [v.seq, v.effective_from])).toEqual([
      [1, null],
      [2, '2026-12-01'],
      [3, '2026-11-10'],
    ]);
    expect(control.agreements.get('fabrikam')?.quotas.daily_records).toBe(10);
  });

  it('the registry too: each load a version, with who, when and why', async () => {
    const control = new FakeControl();
    await storeRecipients(
      control,
      'government:\n  cidrs: [198.51.100.0/24]\n',
      'r.yaml',
      undefined,
      by('2026-11-01T00:00:00Z'),
    );
    await storeRecipients(
      control,
      'data-broker:\n  cidrs: [192.0.2.0/24]\n',
      'r.yaml',
      undefined,
      by('2026-11-02T00:00:00Z', { note: 'n' }),
    );
    expect(
      control.registryVersionItems.map((v) => [
        v.seq,
        v.effective_from,
        v.by,
        v.note,
        Object.keys(v.registry),
      ]),
    ).toEqual([
      [1, null, 'alice', null, ['government']],
      [2, '2026-11-02', 'alice', 'n', ['data-broker']],
    ]);
  });
});

describe('audits under versioned terms', () => {
  async function amended() {
    const w = world();
    const loaded = await storeAgreements(w.control, FIXTURE, 'a.yaml', by('2026-11-01T00:00:00Z'));
    expect(loaded.ok).toBe(true);
    w.usage.rows.push(row('fab-lab', '2026-11-20', 900), row('fab-lab', '2026-11-26', 900));
    for (const d of ['2026-11-20', '2026-11-26']) w.usage.changed.set(d, `${d}T12:00:00.000Z`);
    await w.nightly('2026-11-28T02:00:00Z');
    return w;
  }

  it('every report names the hashes of the versions it used', async () => {
    const w = await amended();
    const versions = await w.control.agreementVersions();
    const hashOf = (l: string) => versions.find((v) => v.licensee === l)?.hash;
    expect(reportJson(w.reports, '2026-11-27').terms).toEqual({
      agreements: [
        {
          licensee: 'fabrikam',
          seq: 1,
          effective_from: null,
          hash: hashOf('fabrikam'),
          first_day: '2026-11-01',
          last_day: '2026-11-27',
        },
        {
          licensee: 'northwind',
          seq: 1,
          effective_from: null,
          hash: hashOf('northwind'),
          first_day: '2026-11-01',
          last_day: '2026-11-27',
        },
      ],
      registry: [],
    });
    // No registry: the prohibited category of northwind is a gap, named under data quality.
    expect(reportJson(w.reports, '2026-11-27').data_quality.registry_gaps).toEqual([
      {
        licensee: 'northwind',
        category: 'government',
        first_day: '2026-11-01',
        last_day: '2026-11-27',
        days: 27,
      },
    ]);
  });

  it('a change of terms re-audits the reports it alters and writes a restatement that verify accepts', async () => {
    const w = await amended();
    const before = new Map(w.reports.snapshot());
    await storeAgreements(
      w.control,
      fabrikam(500),
      'a.yaml',
      by('2026-11-28T12:00:00Z', { effectiveFrom: '2026-11-21', note: 'daily cap of 500' }),
    );
    const dates = await nightlyDates(w.deps, new Date('2026-11-29T02:00:00Z'));
    // Yesterday, then every report whose window the new version governs (from the 21st on).
    expect(dates).toEqual([
      '2026-11-28',
      '2026-11-27',
      '2026-11-26',
      '2026-11-25',
      '2026-11-24',
      '2026-11-23',
      '2026-11-22',
      '2026-11-21',
    ]);
    await w.nightly('2026-11-29T02:00:00Z');

    // Reports from before the 21st are untouched; the 26th's daily finding is new in the 26th's report on.
    expect(w.reports.folders.get('2026-11-20')?.get('report.json')).toBe(
      before.get('2026-11-20/report.json'),
    );
    // The 22nd's findings are the same, but the report now names the new version: a restatement
    // with the reason and no changed finding.
    const r22 = parseJson<RestatementFile>(w.reports.folders.get('2026-11-22')?.get('restatement.json'));
    expect(r22?.restatements.map((r) => [r.reasons.terms.length, r.findings])).toEqual([[1, []]]);
    const restated = parseJson<RestatementFile>(w.reports.folders.get('2026-11-27')?.get('restatement.json'));
    const [entry] = restated?.restatements ?? [];
    expect(restated?.report_date).toBe('2026-11-27');
    expect(entry?.previous_manifest_sha256).toBe(sha256Hex(before.get(`2026-11-27/${MANIFEST}`) ?? ''));
    expect(
      entry?.reasons.terms.map((t) => [t.kind, t.licensee, t.seq, t.effective_from, t.note, t.by]),
    ).toEqual([['agreement', 'fabrikam', 2, '2026-11-21', 'daily cap of 500', 'alice']]);
    expect(entry?.reasons.usage_days).toEqual([]);
    expect(entry?.findings.map((f) => [f.rule, f.metric, f.old, f.new?.observed, f.new?.limit])).toEqual([
      ['quota_exceeded', 'daily_records', null, 900, 500],
    ]);
    const manifest = parseJson<Manifest>(w.reports.folders.get('2026-11-27')?.get(MANIFEST));
    expect(manifest?.files['restatement.json']).toBe(
      sha256Hex(w.reports.folders.get('2026-11-27')?.get('restatement.json') ?? ''),
    );
    expect(entry?.content_sha256).toBe(manifest?.content_sha256);

    // A re-audit of an old date uses the versions in force then.
    expect(reportJson(w.reports, '2026-11-20').terms.agreements.map((t: { seq: number }) => t.seq)).toEqual([
      1, 1,
    ]);
    expect(
      reportJson(w.reports, '2026-11-27').terms.agreements.map((t: { licensee: string; seq: number }) => [
        t.licensee,
        t.seq,
      ]),
    ).toEqual([
      ['fabrikam', 1],
      ['fabrikam', 2],
      ['northwind', 1],
    ]);

    const verified = await w.verify();
    expect(verified.problems).toEqual([]);
    expect(verified.restated?.map((r) => r.date)).toEqual(dates.slice(1).reverse());
  });

  it('a rewrite without a restatement is still caught, even with its anchor appended', async () => {
    const w = await amended();
    // An insider drops a finding, re-hashes everything and appends an anchor for it.
    const files = await w.reports.readAll('2026-11-27');
    const findings = (files.get('findings.jsonl') ?? '')
      .split('\n')
      .filter(Boolean)
      .slice(1)
      .map((l) => `${l}\n`)
      .join('');
    files.set('findings.jsonl', findings);
    const m = parseJson<Manifest>(files.get(MANIFEST)) as Manifest;
    const content = recomputeContentSha256(files) as string;
    const forged = `${stableJson({ ...m, files: { ...m.files, 'findings.jsonl': sha256Hex(findings) }, content_sha256: content }, 2)}\n`;
    await w.reports.write('2026-11-27', [
      { name: 'findings.jsonl', body: findings, contentType: 'application/x-ndjson' },
      { name: MANIFEST, body: forged, contentType: 'application/json' },
    ]);
    await w.control.anchorManifest('2026-11-27', sha256Hex(forged), '2026-11-28T03:00:00Z', content);
    const { problems } = await w.verify();
    expect(problems.map((p) => p.problem)).toContainEqual(
      expect.stringMatching(
        /^report\.json: rewritten after it was anchored \(content [0-9a-f]{64} → [0-9a-f]{64}\) without a restatement saying why$/,
      ),
    );
  });
});
