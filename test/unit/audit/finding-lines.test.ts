/**
 * Lean audit rows (issue 11 item 5): the rows an audit keeps drop their line refs (leanRow keeps
 * their duplicate counts aside), and the findings' lines are read again for the apps behind the
 * findings that have lines only: the same findings, lines and duplicates as with the full rows.
 */
import { describe, expect, it } from 'vitest';
import { withFindingLines } from '../../../functions/audit/finding-lines.ts';
import { audit, auditWithEvidence } from '../../../functions/core/audit/rules.ts';
import { leanRow, windowDuplicates } from '../../../functions/core/audit-duplicates.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import {
  duplicateRequestIds,
  type EvidenceLine,
  type RowEvidence,
} from '../../../functions/core/request-evidence.ts';
import { agreement, row } from './helpers.ts';

const D = '2026-11-05';
const sha = (n: number) => n.toString(16).padStart(64, '0');
const ev = (key: string, lines: number[], extra: Partial<RowEvidence> = {}): RowEvidence => {
  const l = lines.map((n): EvidenceLine => ({ key, gen: 'g', line: n, request_id: `r${n}`, sha256: sha(n) }));
  return { lines: l, endpoints: { 'GET /x': l }, categories: { government: { '': l } }, ...extra };
};
const withEv = (
  app: string,
  day: string,
  key: string,
  lines: number[],
  extra: Partial<RowEvidence> = {},
) => ({
  ...row(app, day, {
    requests: lines.length,
    categories: { government: { requests: lines.length, records: 0 } },
  }),
  sources: [{ key, gen: 'g' }],
  evidence: ev(key, lines, extra),
});

describe('lean audit rows', () => {
  const full = [
    withEv('a1', '2026-11-01', 'k1', [4, 2, 9], { sketch: { h: [1, 2, 3] }, duplicates: 2 }),
    withEv('a1', '2026-11-02', 'k2', [1, 3], { sketch: { h: [2, 5, 8], m: [2, 1, 1] } }),
    withEv('b1', '2026-11-01', 'k3', [7], { sketch: { h: [1, 9] }, duplicates: 1 }),
    withEv('stray', '2026-11-03', 'k4', [5, 6], { sketch: { h: [3, 4], m: [1, 2] } }),
  ];
  const agreements = [
    agreement({ apps: [{ id: 'a1', use_case: 'search' }], prohibited_recipients: ['government'] }),
    agreement({ licensee: 'beta', apps: [{ id: 'b1', use_case: 'search' }] }),
  ];

  it('give the same findings, lines and duplicates, reading evidence only for the apps of findings with lines', async () => {
    const lean = full.map((r) => leanRow(r));
    for (const r of lean) expect(r).not.toHaveProperty('evidence');
    expect(windowDuplicates(lean, '2026-11-01', D)).toEqual(duplicateRequestIds(full, '2026-11-01', D));
    expect(windowDuplicates(lean, '2026-11-01', D)?.within_objects).toBe(3);

    const expected = audit({ reportDate: D, agreements, usage: full });
    expect(expected.filter((f) => (f.evidence.lines ?? []).length > 0).map((f) => f.rule)).toEqual([
      'prohibited_recipient',
      'unknown_app',
    ]);
    const asked: string[] = [];
    const read = async (rows: readonly UsageRow[]) =>
      rows.map((r) => {
        asked.push(`${r.app} ${r.day}`);
        return full[lean.indexOf(r as (typeof lean)[number])]?.evidence;
      });
    const input = { reportDate: D, agreements, usage: lean };
    // Without the evidence read the findings have no lines.
    expect(audit(input).some((f) => f.evidence.lines)).toBe(false);
    const items = await withFindingLines(read, input, auditWithEvidence(input));
    expect(items.map((x) => x.finding)).toEqual(expected);
    expect(asked.sort()).toEqual(['a1 2026-11-01', 'a1 2026-11-02', 'stray 2026-11-03']);
  });
});
