/**
 * Evidence streamed from per-object parts over rollup rows (audit/evidence.ts): the same findings
 * and full lists as the audit over per-object rows, each list written as evidence/ID.jsonl, files
 * already stored with the same bytes not rewritten, and a change under the read detected.
 */
import { describe, expect, it } from 'vitest';
import { auditWithStreamedEvidence, EvidenceChangedError } from '../../../functions/audit/evidence.ts';
import type { ReportFileBody, RollupUsage } from '../../../functions/audit/ports.ts';
import { sha256Hex } from '../../../functions/core/audit/format.ts';
import { evidenceFileName, evidenceJsonl } from '../../../functions/core/audit/report.ts';
import { type AuditUsageRow, audit, auditWithEvidence } from '../../../functions/core/audit/rules.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { sumDayUsage } from '../../../functions/core/usage-math.ts';
import { agreement, row } from './helpers.ts';

const D = '2026-11-04';

function perObject(): AuditUsageRow[] {
  const rows: AuditUsageRow[] = [];
  for (let d = 1; d <= 4; d++) {
    const day = `2026-11-0${d}`;
    for (let o = 0; o < 30; o++) {
      for (const app of ['a-1', 'a-2']) {
        rows.push(
          row(app, day, {
            requests: 1 + o,
            records: 10 * ((o * 7 + d) % 13),
            endpoints: {
              'GET /ok': { requests: 1 + o, records: 10 * ((o * 7 + d) % 13) },
              'GET /no': { requests: o % 3 },
            },
            categories: {
              government: {
                requests: o % 4,
                records: 1,
                orgs: o % 2 ? { 'ok-org': { requests: 1, records: 0 } } : {},
              },
            },
            sources: [{ key: `logs/${day}/obj-${String(o).padStart(2, '0')}.gz`, gen: `g${o % 3}` }],
          }),
        );
      }
    }
  }
  return rows;
}

const agreements = [
  agreement({
    licensee: 'acme',
    apps: [
      { id: 'a-1', use_case: null },
      { id: 'a-2', use_case: 'x' },
    ],
    quotas: { monthly_records: 100, daily_records: 50 },
    endpoints: ['GET /ok'],
    prohibited_recipients: ['government'],
    approved_organisations: ['ok-org'],
  }),
];

/** Rollup rows (sums per app-day, no per-object parts) and the parts streamed per app. */
function rollups(
  rows: AuditUsageRow[],
  tamper?: (r: UsageRow) => UsageRow,
): { rows: AuditUsageRow[]; parts: RollupUsage } {
  const sums = sumDayUsage(rows).map((u) => ({ ...u, sources: [] }));
  return {
    rows: sums,
    parts: {
      usage: async () => sums,
      async *parts(app, from, to) {
        for (const r of rows) if (r.app === app && r.day >= from && r.day <= to) yield tamper ? tamper(r) : r;
      },
    },
  };
}

describe('streamed evidence', () => {
  it('gives the findings and full lists of the audit over per-object rows, one file each', async () => {
    const input = { reportDate: D, agreements, usage: perObject() };
    const expected = auditWithEvidence(input);
    expect(expected.length).toBeGreaterThan(3);
    const r = rollups(input.usage);
    const written: { name: string; text: string }[] = [];
    const write = async (f: ReportFileBody) => {
      let text = '';
      if (typeof f.body === 'string') text = f.body;
      else for await (const c of f.body) text += c;
      written.push({ name: f.name, text });
    };
    const out = await auditWithStreamedEvidence(r.parts, { ...input, usage: r.rows }, {}, write);
    expect(out.findings).toEqual(audit(input));
    for (const { finding, sources } of expected) {
      const name = evidenceFileName(finding.finding_id);
      const text = [...evidenceJsonl(sources)].join('');
      expect(written.find((w) => w.name === name)?.text).toBe(text);
      expect(out.files[name]).toBe(sha256Hex(text));
    }
    // Stored with the same bytes: nothing is written again.
    const again: string[] = [];
    await auditWithStreamedEvidence(r.parts, { ...input, usage: r.rows }, out.files, async (f) => {
      again.push(f.name);
    });
    expect(again).toEqual([]);
  });

  it('reads each app once for all the findings of its licensee', async () => {
    const input = { reportDate: D, agreements, usage: perObject() };
    const r = rollups(input.usage);
    const reads: string[] = [];
    const parts: RollupUsage = {
      usage: r.parts.usage,
      parts(app, from, to) {
        reads.push(app);
        return r.parts.parts(app, from, to);
      },
    };
    const out = await auditWithStreamedEvidence(
      parts,
      { ...input, usage: r.rows },
      {},
      async () => undefined,
    );
    expect(out.findings).toEqual(audit(input));
    expect(out.findings.length).toBeGreaterThan(3);
    expect(reads.sort()).toEqual(['a-1', 'a-2']);
  });

  it('throws when the parts no longer add up to the rollups', async () => {
    const input = { reportDate: D, agreements, usage: perObject() };
    const r = rollups(input.usage, (u) =>
      u.sources[0]?.key.endsWith('obj-05.gz') ? { ...u, records: u.records + 1 } : u,
    );
    await expect(
      auditWithStreamedEvidence(r.parts, { ...input, usage: r.rows }, {}, async () => undefined),
    ).rejects.toThrow(EvidenceChangedError);
  });
});
