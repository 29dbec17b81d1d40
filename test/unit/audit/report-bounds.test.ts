/**
 * Report bounds at scale (issue 10): every findings.jsonl line within MAX_FINDING_LINE_BYTES,
 * report.json's sources capped with sources_truncated, evidence files listed in the manifest, and
 * reports within the bounds unchanged.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalFinding,
  MAX_FINDING_APPS,
  MAX_FINDING_LINE_BYTES,
  REPORT_MAX_SOURCES,
  renderReport,
  summariseDataQuality,
} from '../../../functions/core/audit/report.ts';
import { audit, type Finding } from '../../../functions/core/audit/rules.ts';
import { agreement, row } from './helpers.ts';

const D = '2026-11-05';

function hugeFinding(): Finding {
  const [f] = audit({
    reportDate: D,
    agreements: [agreement({ licensee: 'acme', quotas: { monthly_records: 1 } })],
    usage: [row('app-1', '2026-11-01', { records: 10 })],
  });
  if (!f) throw new Error('expected a finding');
  return {
    ...f,
    detail: 'x'.repeat(5_000),
    subject: '\u0001'.repeat(3_000),
    apps: Array.from({ length: 300 }, (_, i) => ({ app_id: `a${'p'.repeat(120)}${i}`, value: i, share: 0 })),
    evidence: {
      sources: Array.from({ length: 20 }, (_, i) => ({
        key: `${String(i).padStart(2, '0')}${'\u0002'.repeat(1_000)}`,
        gen: '\u0003'.repeat(1_000),
      })),
      source_count: 1_000_000,
      truncated: true,
    },
  };
}

describe('report bounds', () => {
  it('keeps every findings.jsonl line within MAX_FINDING_LINE_BYTES', () => {
    const f = canonicalFinding(hugeFinding());
    const line = `${JSON.stringify(f)}\n`;
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_FINDING_LINE_BYTES);
    expect(f.apps).toHaveLength(MAX_FINDING_APPS);
    expect(f.detail.length).toBe(1_000);
    expect(f.evidence.sources.length).toBeLessThan(20);
    expect(f.evidence).toMatchObject({ source_count: 1_000_000, truncated: true });
  });

  it('leaves a finding within the bounds as it is', () => {
    const [f] = audit({
      reportDate: D,
      agreements: [agreement({ licensee: 'acme', quotas: { monthly_records: 1 } })],
      usage: [row('app-1', '2026-11-01', { records: 10 })],
    });
    expect(canonicalFinding(f as Finding)).toEqual(f);
  });

  it('caps report.json sources and lists evidence files in the manifest', () => {
    const usage = [row('app-1', '2026-11-01', { records: 10 })];
    (usage[0] as { sources: { key: string; gen: string }[] }).sources = Array.from(
      { length: REPORT_MAX_SOURCES + 5 },
      (_, i) => ({ key: `k${String(i).padStart(5, '0')}`, gen: 'g' }),
    );
    const rendered = renderReport({
      reportDate: D,
      agreements: [],
      usage,
      findings: [],
      dataQuality: summariseDataQuality([]),
      run: {},
      previousManifestSha256: null,
      extraFiles: { 'evidence/abc.jsonl': 'f'.repeat(64) },
      sourcesTruncated: true,
    });
    const report = JSON.parse(rendered.files.find((x) => x.name === 'report.json')?.body ?? '{}');
    expect(report.sources).toHaveLength(REPORT_MAX_SOURCES);
    expect(report.sources_truncated).toBe(true);
    expect(report.data_quality.objects_truncated).toBe(true);
    expect(Object.keys(rendered.manifest.files)).toEqual([
      'evidence/abc.jsonl',
      'findings.csv',
      'findings.jsonl',
      'report.html',
      'report.json',
      'usage.jsonl',
    ]);
  });
});
