/**
 * Bounded evidence (issue 10): a finding lists at most EVIDENCE_MAX_SOURCES sources, the top ones
 * by contribution to its observed value, with the count of all; auditWithEvidence gives the full
 * ordered list; excused prohibited_recipient requests are never evidence.
 */
import { describe, expect, it } from 'vitest';
import {
  evidenceFileName,
  evidenceJsonl,
  renderReport,
  summariseDataQuality,
} from '../../../functions/core/audit/report.ts';
import {
  type AuditUsageRow,
  audit,
  auditWithEvidence,
  EVIDENCE_MAX_SOURCES,
} from '../../../functions/core/audit/rules.ts';
import { agreement, only, row, rowsFromRequests } from './helpers.ts';

const src = (i: number, gen = 'g') => ({ key: `logs/${String(i).padStart(2, '0')}.jsonl`, gen });

describe('bounded evidence', () => {
  it('is 20 sources at most', () => {
    expect(EVIDENCE_MAX_SOURCES).toBe(20);
  });

  // 25 objects of app a1 on 2026-03-02, object i delivering i + 1 records (objects 0 … 24):
  // the top 20 by records are objects 5 … 24.
  const a = agreement({ quotas: { monthly_records: 10 } });
  const usage: AuditUsageRow[] = Array.from({ length: 25 }, (_, i) =>
    row('a1', '2026-03-02', { requests: 1, records: i + 1, sources: [src(i)] }),
  );

  it('keeps the top 20 sources by contribution, listed by key, with the count of all', () => {
    const [f] = only(audit({ reportDate: '2026-03-02', agreements: [a], usage }), 'quota_exceeded');
    expect(f?.observed).toBe((25 * 26) / 2);
    expect(f?.evidence).toEqual({
      sources: Array.from({ length: 20 }, (_, i) => src(i + 5)),
      source_count: 25,
      truncated: true,
    });
  });

  it('breaks ties in contribution by key, then gen', () => {
    // 22 sources each with 1 request; the last two differ only by gen.
    const tied = [
      ...Array.from({ length: 20 }, (_, i) => row('zz', '2026-03-01', { sources: [src(i + 1)] })),
      row('zz', '2026-03-01', { sources: [src(0, 'b')] }),
      row('zz', '2026-03-01', { sources: [src(0, 'a')] }),
    ];
    const [f] = audit({ reportDate: '2026-03-01', agreements: [], usage: tied });
    expect(f?.evidence.sources).toEqual([
      src(0, 'a'),
      src(0, 'b'),
      ...Array.from({ length: 18 }, (_, i) => src(i + 1)),
    ]);
    expect(f?.evidence).toMatchObject({ source_count: 22, truncated: true });
  });

  it('is complete and not truncated with 20 sources or fewer', () => {
    const few = usage.slice(0, 20);
    const [f] = only(audit({ reportDate: '2026-03-02', agreements: [a], usage: few }), 'quota_exceeded');
    expect(f?.evidence).toEqual({
      sources: Array.from({ length: 20 }, (_, i) => src(i)),
      source_count: 20,
      truncated: false,
    });
  });

  it('auditWithEvidence gives the full list, by contribution, and the same findings as audit()', () => {
    const input = { reportDate: '2026-03-02', agreements: [a], usage };
    const full = auditWithEvidence(input);
    expect(full.map((x) => x.finding)).toEqual(audit(input));
    const q = full.find((x) => x.finding.rule === 'quota_exceeded');
    expect(q?.sources).toEqual(
      Array.from({ length: 25 }, (_, i) => ({ ...src(24 - i), contribution: 25 - i })),
    );
    // A source named by two rows sums their contributions.
    const twice = [...usage, row('a2', '2026-03-02', { requests: 1, records: 100, sources: [src(0)] })];
    const q2 = auditWithEvidence({ ...input, usage: twice }).find((x) => x.finding.rule === 'quota_exceeded');
    expect(q2?.sources[0]).toEqual({ ...src(0), contribution: 101 });
    expect(q2?.finding.evidence.source_count).toBe(25);
  });

  it('evidenceJsonl streams the full list, one source a line, for evidence/FINDING_ID.jsonl', () => {
    const q = auditWithEvidence({ reportDate: '2026-03-02', agreements: [a], usage }).find(
      (x) => x.finding.rule === 'quota_exceeded',
    );
    const lines = [...evidenceJsonl(q?.sources ?? [])];
    expect(lines).toHaveLength(25);
    expect(lines[0]).toBe('{"key":"logs/24.jsonl","gen":"g","contribution":25}\n');
    expect(lines[24]).toBe('{"key":"logs/00.jsonl","gen":"g","contribution":1}\n');
    expect(evidenceFileName('0123456789abcdef0123')).toBe('evidence/0123456789abcdef0123.jsonl');
  });

  it('findings.jsonl and report.json carry the bounded evidence', () => {
    const findings = audit({ reportDate: '2026-03-02', agreements: [a], usage });
    const { files } = renderReport({
      reportDate: '2026-03-02',
      agreements: [a],
      usage,
      findings,
      dataQuality: summariseDataQuality([]),
      run: {},
      previousManifestSha256: null,
    });
    const body = (n: string) => files.find((f) => f.name === n)?.body ?? '';
    const line = body('findings.jsonl')
      .split('\n')
      .find((l) => l.includes('"quota_exceeded"'));
    const jsonl = JSON.parse(line ?? '{}');
    expect(jsonl.evidence.sources).toHaveLength(20);
    expect(Object.keys(jsonl.evidence)).toEqual(['sources', 'source_count', 'truncated']);
    expect(jsonl.evidence).toMatchObject({ source_count: 25, truncated: true });
    const report = JSON.parse(body('report.json'));
    for (const f of report.findings) expect(f.evidence.sources.length).toBeLessThanOrEqual(20);
    expect(report.findings.find((f: { rule: string }) => f.rule === 'quota_exceeded').evidence).toEqual(
      jsonl.evidence,
    );
  });
});

describe('prohibited_recipient evidence (issue 10)', () => {
  const registry = {
    government: { cidrs: ['198.51.100.0/24'], organisations: ['dept-of-examples'] },
  };
  const a = agreement({
    prohibited_recipients: ['government'],
    approved_organisations: ['dept-of-examples'],
  });
  const excusedOnly = { key: 'logs/excused.jsonl', gen: 'e' };
  const mixed = { key: 'logs/mixed.jsonl', gen: 'm' };
  const plain = { key: 'logs/plain.jsonl', gen: 'p' };
  const usage = rowsFromRequests(registry, [
    // Every government request of this object is for the approved organisation: excused.
    { app: 'a1', day: '2026-03-01', ip: '198.51.100.1', org: 'dept-of-examples', source: excusedOnly },
    { app: 'a1', day: '2026-03-01', ip: '198.51.100.2', org: 'dept-of-examples', source: excusedOnly },
    // One excused and two not.
    { app: 'a2', day: '2026-03-01', ip: '198.51.100.1', org: 'dept-of-examples', source: mixed },
    { app: 'a2', day: '2026-03-01', ip: '198.51.100.3', source: mixed },
    { app: 'a2', day: '2026-03-01', ip: '198.51.100.4', source: mixed },
    { app: 'a1', day: '2026-03-02', ip: '198.51.100.5', source: plain },
  ]);

  it('names only objects with requests that are not excused, each with those requests', () => {
    const input = { reportDate: '2026-03-02', agreements: [a], usage };
    const [f] = only(audit(input), 'prohibited_recipient');
    expect(f?.observed).toBe(3);
    expect(f?.evidence).toEqual({ sources: [mixed, plain], source_count: 2, truncated: false });
    const full = auditWithEvidence(input).find((x) => x.finding.rule === 'prohibited_recipient');
    expect(full?.sources).toEqual([
      { ...mixed, contribution: 2 },
      { ...plain, contribution: 1 },
    ]);
  });

  it('an object with only excused requests is no evidence even on a day with counted requests', () => {
    // Same app and day for both objects: the day's row counts, but only one object contributed.
    const sameDay: AuditUsageRow[] = [
      row('a1', '2026-03-01', {
        categories: {
          government: { requests: 2, records: 0, orgs: { 'dept-of-examples': { requests: 2, records: 0 } } },
        },
        sources: [excusedOnly],
      }),
      row('a1', '2026-03-01', {
        categories: { government: { requests: 1, records: 0 } },
        sources: [plain],
      }),
    ];
    const [f] = only(
      audit({ reportDate: '2026-03-01', agreements: [a], usage: sameDay }),
      'prohibited_recipient',
    );
    expect(f?.observed).toBe(1);
    expect(f?.evidence.sources).toEqual([plain]);
  });
});
