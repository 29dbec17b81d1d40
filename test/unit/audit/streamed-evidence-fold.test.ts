/**
 * Streamed evidence (audit/evidence.ts) for a finding whose window row the audit's distinct-value
 * bound folded: an approved organisation seen rarely is folded into `(other organisations)` in the
 * window row, while the rollup and the per-object parts still name it. The evidence must add up to
 * the finding's observed value, not fail the audit as "changed while read".
 */
import { describe, expect, it } from 'vitest';
import { streamedSources } from '../../../functions/audit/evidence.ts';
import { auditWithEvidence } from '../../../functions/core/audit/rules.ts';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import { buildRollup, rollupRow } from '../../../functions/core/rollup.ts';
import type { RecipientsRegistry } from '../../../functions/core/types.ts';
import { agreement, rowsFromRequests } from './helpers.ts';

const registry: RecipientsRegistry = {
  government: { cidrs: ['198.51.100.0/24'], organisations: ['dept-of-examples'] },
};

describe('streamed evidence when the bound folds an approved organisation', () => {
  it('adds up to observed (2,000), names only the object with unapproved requests, and does not throw', async () => {
    const a = agreement({
      prohibited_recipients: ['government'],
      approved_organisations: ['dept-of-examples'],
    });
    const requestsA = [];
    for (let i = 0; i < 1000; i++)
      for (let k = 0; k < 2; k++)
        requestsA.push({ app: 'a1', day: '2026-03-02', ip: '198.51.100.1', org: `org-${i}` });
    const withSource = (rows: UsageRow[], key: string): UsageRow[] =>
      rows.map((r) => ({ ...r, sources: [{ key, gen: '1' }] }));
    const perObject = [
      ...withSource(rowsFromRequests(registry, requestsA), 'logs/a'),
      ...withSource(
        rowsFromRequests(registry, [
          { app: 'a1', day: '2026-03-02', ip: '198.51.100.1', org: 'dept-of-examples' },
        ]),
        'logs/b',
      ),
    ];
    const row = rollupRow(buildRollup('a1', '2026-03-02', perObject, 'token'));
    const found = auditWithEvidence({ reportDate: '2026-03-02', agreements: [a], usage: [row] }).filter(
      (x) => x.finding.rule === 'prohibited_recipient',
    );
    expect(found).toHaveLength(1);
    const [f] = found;
    expect(f?.finding.observed).toBe(2000);
    expect(f?.spec).toBeDefined();
    const parts = {
      async *of(app: string) {
        for (const p of perObject) if (p.app === app) yield p;
      },
    };
    const sources = await streamedSources(parts, f?.spec as NonNullable<typeof f>['spec'] & object);
    expect(sources).toEqual([{ key: 'logs/a', gen: '1', contribution: 2000 }]);
  });
});
