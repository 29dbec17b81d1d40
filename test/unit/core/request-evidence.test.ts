/**
 * Request-level evidence as stored and merged (issue 11 item 5): the stored parts give it back
 * within their byte budget; merging is the same however the rows are grouped; findings carry the
 * lines in the contract's shape and bounds; duplicates appear under data quality only when found.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalFinding,
  MAX_FINDING_LINE_BYTES,
  renderReport,
  summariseDataQuality,
} from '../../../functions/core/audit/report.ts';
import { audit, type Finding } from '../../../functions/core/audit/rules.ts';
import { EVIDENCE_MAX_LINES } from '../../../functions/core/audit/types.ts';
import { valueBytes } from '../../../functions/core/ledger.ts';
import { readLogObject } from '../../../functions/core/log-reader.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import {
  duplicateRequestIds,
  type EvidenceLine,
  joinEvidence,
  mergeEvidence,
  type RowEvidence,
  readEvidence,
  splitEvidence,
} from '../../../functions/core/request-evidence.ts';
import type { DayUsage } from '../../../functions/core/types.ts';
import { agreement, row } from '../audit/helpers.ts';
import { source } from './helpers.ts';

const D = '2026-11-05';
const sha = (n: number) => n.toString(16).padStart(64, '0');
const ev = (key: string, lines: number[], extra: Partial<RowEvidence> = {}): RowEvidence => {
  const l = lines.map((n): EvidenceLine => ({ key, gen: 'g', line: n, request_id: `r${n}`, sha256: sha(n) }));
  return { lines: l, endpoints: { '/x': l }, categories: { government: { '': l } }, ...extra };
};
const usage: DayUsage = {
  app: 'a',
  day: '2026-11-01',
  requests: 1,
  records: 1,
  bytes: 0,
  errors: 0,
  endpoints: { '/x': { requests: 1, records: 1, bytes: 0, errors: 0 } },
  categories: {},
};

describe('stored evidence', () => {
  it('splits into parts within the budget and joins back to the same evidence', () => {
    const big: RowEvidence = { lines: [], endpoints: {}, categories: {} };
    for (let e = 0; e < 300; e++)
      big.endpoints[`/e${e}`] = [1, 2, 3].map((n) => ({
        key: `logs/${'k'.repeat(200)}-${e % 7}`,
        gen: 'v'.repeat(32),
        line: e * 10 + n,
        request_id: n === 2 ? null : 'é'.repeat(128),
        sha256: sha(e * 10 + n),
      }));
    big.categories.c = {
      '': big.endpoints['/e1'] as EvidenceLine[],
      org: big.endpoints['/e2'] as EvidenceLine[],
    };
    big.duplicates = 3;
    big.sketch = { h: [1, 5, 9], m: [1, 2, 1] };
    const parts = splitEvidence(big, 60_000, valueBytes);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(valueBytes(p)).toBeLessThanOrEqual(60_000);
    expect(joinEvidence(parts)).toEqual(big);
  });

  it('merges the same whatever the grouping: the first N lines per key by key, gen, line', () => {
    const rowEv = fc
      .tuple(
        fc.constantFrom('k1', 'k2', 'k3'),
        fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 6 }),
      )
      .map(([k, ls]) =>
        ev(
          k,
          ls.sort((a, b) => a - b),
        ),
      );
    fc.assert(
      fc.property(fc.array(rowEv, { minLength: 1, maxLength: 6 }), fc.nat(6), (evs, cut) => {
        const at = Math.min(cut, evs.length);
        const whole = mergeEvidence(evs, usage);
        const grouped = mergeEvidence(
          [mergeEvidence(evs.slice(0, at), usage), mergeEvidence(evs.slice(at), usage)],
          usage,
        );
        expect(grouped).toEqual(whole);
        expect(whole?.lines.length).toBeLessThanOrEqual(5);
      }),
    );
  });
});

describe('findings with lines', () => {
  const withEv = (key: string, lines: number[], extra: Partial<RowEvidence> = {}) => ({
    ...row('stray', '2026-11-01', { requests: lines.length }),
    sources: [{ key, gen: 'g' }],
    evidence: ev(key, lines, extra),
  });

  it('gives unknown_app the first 5 lines per app-day, at most 20, by key, gen, line; other findings none', () => {
    const usageRows = Array.from({ length: 6 }, (_, i) => ({
      ...withEv(
        `k${i}`,
        [3, 1, 2, 6, 5, 4].map((n) => n + i),
      ),
      day: `2026-11-0${i + 1}`,
    }));
    const [f] = audit({ reportDate: D, agreements: [], usage: usageRows });
    expect(f?.rule).toBe('unknown_app');
    // 5 days of W × 5 lines each (the 6th line of a day is past EVIDENCE_LINES): the first 20.
    expect(f?.evidence.lines).toHaveLength(EVIDENCE_MAX_LINES);
    const keys = (f?.evidence.lines ?? []).map((l) => `${l.key}:${l.line}`);
    expect(keys.slice(0, 6)).toEqual(['k0:1', 'k0:2', 'k0:3', 'k0:4', 'k0:5', 'k1:2']);
    expect(keys.at(-1)).toBe('k3:8');
    const quota = audit({
      reportDate: D,
      agreements: [
        agreement({ licensee: 'acme', apps: [{ id: 'stray' }], quotas: { monthly_records: 1 } } as never),
      ],
      usage: usageRows,
    });
    for (const q of quota) expect(q.evidence).not.toHaveProperty('lines');
  });

  it('drops lines before sources when a findings line would pass MAX_FINDING_LINE_BYTES', () => {
    const [f] = audit({ reportDate: D, agreements: [], usage: [withEv('k', [1, 2, 3])] });
    const big: Finding = {
      ...(f as Finding),
      evidence: {
        ...(f as Finding).evidence,
        sources: Array.from({ length: 20 }, (_, i) => ({
          key: `${i}${'s'.repeat(1000)}`,
          gen: 'g'.repeat(1000),
        })),
        lines: Array.from({ length: 20 }, (_, i) => ({
          key: `${i}${'k'.repeat(1000)}`,
          gen: 'g'.repeat(1000),
          line: i + 1,
          request_id: 'r'.repeat(128),
          sha256: sha(i),
        })),
      },
    };
    const out = canonicalFinding(big);
    expect(Buffer.byteLength(`${JSON.stringify(out)}\n`)).toBeLessThanOrEqual(MAX_FINDING_LINE_BYTES);
    expect(out.evidence.sources).toHaveLength(20);
    expect(out.evidence.lines?.length ?? 0).toBeLessThan(20);
  });
});

describe('duplicate request_ids under data quality', () => {
  const render = (usageRows: Parameters<typeof audit>[0]['usage']) => {
    const dup = duplicateRequestIds(usageRows, '2026-11-01', D);
    const dataQuality = { ...summariseDataQuality([]), ...(dup ? { duplicate_request_ids: dup } : {}) };
    const files = renderReport({
      reportDate: D,
      agreements: [],
      usage: usageRows,
      findings: [],
      dataQuality,
      run: {},
      previousManifestSha256: null,
    }).files;
    return JSON.parse(files.find((x) => x.name === 'report.json')?.body ?? '{}').data_quality;
  };

  it('is absent without duplicates, and counts them within objects and across the objects of a day', () => {
    const one = { ...row('a', '2026-11-01', { requests: 2 }), sources: [{ key: 'k1', gen: 'g' }] };
    expect(render([one])).not.toHaveProperty('duplicate_request_ids');
    expect(render([{ ...one, evidence: ev('k1', [1], { sketch: { h: [1, 2] } }) }])).not.toHaveProperty(
      'duplicate_request_ids',
    );
    const rows = [
      { ...one, evidence: ev('k1', [1], { sketch: { h: [1, 2, 3] }, duplicates: 4 }) },
      { ...one, sources: [{ key: 'k2', gen: 'g' }], evidence: ev('k2', [1], { sketch: { h: [2, 3, 7] } }) },
      // Another day: its ids are not duplicates of the first day's.
      { ...one, day: '2026-11-02', evidence: ev('k3', [1], { sketch: { h: [1, 2, 3] } }) },
    ];
    expect(render(rows).duplicate_request_ids).toEqual({
      within_objects: 4,
      across_objects_estimate: 2,
      method: 'kmv-256',
    });
  });
});

describe('which lines are kept (rare keys are not crowded out)', () => {
  const DAY = '2026-11-20';
  const orgs = Array.from({ length: 21 }, (_, i) => `agency-${String(i).padStart(2, '0')}`);
  const ln = (i: number, ep: string, org?: string) =>
    JSON.stringify({
      timestamp: `${DAY}T10:00:00Z`,
      app_id: 'acme-app',
      endpoint: ep,
      status: 200,
      records: 1,
      client_ip: '192.0.2.1',
      ...(org ? { on_behalf_of: org } : {}),
      request_id: `r-${i}`,
    });

  it('a finding about a rare endpoint or an unapproved organisation shows its line past 20 approved ones and 200 busy endpoints', async () => {
    const lines = [
      ...orgs.map((o, i) => ln(i, '/ok', o)),
      ln(100, '/ok', 'zz-unapproved'),
      ln(101, '/ok', 'zz-unapproved'),
    ];
    for (let e = 0; e < 200; e++) for (let r = 0; r < 2; r++) lines.push(ln(1000 + e * 2 + r, `/ok${e}`));
    lines.push(ln(5000, '/bad'));
    const matcher = compileRegistry({ government: { cidrs: [], organisations: [...orgs, 'zz-unapproved'] } });
    const out = await readLogObject(source([Buffer.from(`${lines.join('\n')}\n`)]), {
      matcher,
      evidenceLines: 5,
    });
    if (out.status !== 'ingested') throw new Error(out.status);
    const src = { key: 'logs/x.jsonl', gen: 'v1' };
    const evs = readEvidence(src, out) ?? [];
    const usageRows = out.usage.map((u, i) => ({ ...u, sources: [src], evidence: evs[i] }));
    const terms = agreement({
      licensee: 'acme',
      apps: [{ id: 'acme-app', use_case: null }],
      endpoints: ['/ok', ...Array.from({ length: 200 }, (_, e) => `/ok${e}`)],
      prohibited_recipients: ['government'],
      approved_organisations: orgs,
    });
    const findings = audit({ reportDate: DAY, agreements: [terms], usage: usageRows });
    const lineNos = (rule: string) =>
      findings.find((f) => f.rule === rule)?.evidence.lines?.map((l) => l.line);
    expect(lineNos('prohibited_recipient')).toEqual([22]);
    expect(lineNos('unauthorized_endpoint')).toEqual([lines.length]);
  });
});
