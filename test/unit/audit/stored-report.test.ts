/**
 * auditDate's look at the report already stored for its date (audit/stored-report.ts): the files
 * are checked against the manifest on streamed sha256, never read whole (evidence files included),
 * with verifyReport's checks; a rewrite with other content reads only what its restatement needs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANIFEST } from '../../../functions/audit/ports.ts';
import { type AuditDeps, auditDate } from '../../../functions/audit/run-audit.ts';
import { storedReportIntact } from '../../../functions/audit/stored-report.ts';
import { parseAgreementsFile } from '../../../functions/core/audit/agreements.ts';
import { sha256Hex, stableJson } from '../../../functions/core/audit/format.ts';
import { REPORT_FILES } from '../../../functions/core/audit/report.ts';
import { verifyReport } from '../../../functions/core/audit/verify-report.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { FakeControl, FakeReports, FakeUsage } from '../../support/fakes.ts';

const D = '2026-11-04';

/** FakeReports that records every file read whole and refuses to read a folder whole. */
class WatchedReports extends FakeReports {
  read: string[] = [];
  override async readFile(date: string, name: string): Promise<string | undefined> {
    this.read.push(`${date}/${name}`);
    return super.readFile(date, name);
  }
  override async readAll(date: string): Promise<Map<string, string>> {
    throw new Error(`readAll(${date}): the audit must not hold a stored folder`);
  }
}

/** A stored folder: the report files, one evidence file and the manifest hashing them. */
function folder(files: Record<string, string> = {}): Map<string, string> {
  const bodies: Record<string, string> = {
    'report.json': `${JSON.stringify({ report_date: D })}\n`,
    'evidence/f-1.jsonl': '{"contribution":1,"gen":"g","key":"k"}\n',
    ...Object.fromEntries(REPORT_FILES.filter((n) => n !== 'report.json').map((n) => [n, `${n}\n`])),
    ...files,
  };
  const hashes = Object.fromEntries(Object.entries(bodies).map(([n, b]) => [n, sha256Hex(b)]));
  const manifest = { report_date: D, files: hashes, previous_manifest_sha256: null, content_sha256: 'c' };
  return new Map([...Object.entries(bodies), [MANIFEST, `${stableJson(manifest, 2)}\n`]]);
}

async function intact(f: Map<string, string>): Promise<{ ok: boolean; read: string[] }> {
  const reports = new WatchedReports();
  reports.folders.set(D, f);
  const ok = await storedReportIntact(reports, D, f.get(MANIFEST) ?? '');
  return { ok, read: reports.read };
}

describe('storedReportIntact', () => {
  it('accepts an intact folder reading only report.json whole, as verifyReport does', async () => {
    const f = folder();
    expect(verifyReport(f)).toEqual([]);
    expect(await intact(f)).toEqual({ ok: true, read: [`${D}/report.json`] });
  });

  it('refuses what verifyReport refuses', async () => {
    const cases: Map<string, string>[] = [];
    // An evidence file changed behind the manifest.
    cases.push(new Map([...folder(), ['evidence/f-1.jsonl', 'tampered\n']]));
    // A file the manifest does not cover.
    cases.push(new Map([...folder(), ['evidence/extra.jsonl', 'x\n']]));
    // A listed file missing.
    const missing = folder();
    missing.delete('evidence/f-1.jsonl');
    cases.push(missing);
    // report.json naming another date, consistently re-hashed.
    cases.push(folder({ 'report.json': `${JSON.stringify({ report_date: '2026-11-05' })}\n` }));
    // A report file the manifest does not list.
    const unlisted = folder();
    const m = JSON.parse(unlisted.get(MANIFEST) ?? '{}');
    delete m.files['findings.csv'];
    unlisted.set(MANIFEST, JSON.stringify(m));
    cases.push(unlisted);
    for (const f of cases) {
      expect(verifyReport(f)).not.toEqual([]);
      expect((await intact(f)).ok).toBe(false);
    }
  });
});

describe('auditDate and the stored report', () => {
  it('re-audits without reading the stored folder whole; a rewrite reads only what its restatement needs', async () => {
    const usage = new FakeUsage();
    const control = new FakeControl();
    const reports = new WatchedReports();
    const text = readFileSync(new URL('../../fixtures/agreements.yaml', import.meta.url), 'utf8');
    const parsed = parseAgreementsFile(text, 'agreements.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    for (const a of parsed.agreements) control.agreements.set(a.licensee, a);
    const row = (records: number): UsageRow => {
      const counts = { requests: 10, records, bytes: 100, errors: 0 };
      return {
        app: 'nw-search',
        day: D,
        ...counts,
        endpoints: { 'GET /2/tweets/search/recent': counts },
        categories: {},
        sources: [{ key: `logs/${D}.jsonl`, gen: 'g' }],
      };
    };
    usage.rows.push(row(500));
    const deps: AuditDeps = { usage, control, reports, now: () => new Date('2026-11-05T01:00:00Z') };
    expect((await auditDate(deps, D, [])).written).toBe(true);
    const first = new Map(reports.folders.get(D));
    reports.read = [];
    expect((await auditDate(deps, D, [])).written).toBe(false);
    expect(reports.folders.get(D)).toEqual(first);
    expect(reports.read.filter((n) => n.startsWith(`${D}/`)).sort()).toEqual([
      `${D}/${MANIFEST}`,
      `${D}/report.json`,
    ]);

    usage.rows.push(row(7));
    reports.read = [];
    expect((await auditDate(deps, D, [])).written).toBe(true);
    expect(reports.folders.get(D)?.has('restatement.json')).toBe(true);
    expect(reports.read.filter((n) => n.startsWith(`${D}/`)).sort()).toEqual([
      `${D}/findings.jsonl`,
      `${D}/${MANIFEST}`,
      `${D}/restatement.json`,
    ]);
  });
});
