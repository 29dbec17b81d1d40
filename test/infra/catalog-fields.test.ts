/**
 * The Athena views read JSON fields by name: every field a view reads must be a field the report
 * writer really writes (a renamed field would otherwise turn a column silently null).
 */
import { describe, expect, it } from 'vitest';
import { renderReport, summariseDataQuality } from '../../functions/core/audit/report.ts';
import { audit } from '../../functions/core/audit/rules.ts';
import { FINDINGS_VIEW, USAGE_VIEW } from '../../infra/constructs/report-catalog.ts';
import { agreement, row } from '../unit/audit/helpers.ts';

function firstLine(name: string): Record<string, unknown> {
  const agreements = [agreement({ quotas: { monthly_records: 1 }, paid_through: null })];
  const usage = [row('a1', '2026-11-02', { requests: 3, records: 10 })];
  const { files } = renderReport({
    reportDate: '2026-11-03',
    agreements,
    usage,
    findings: audit({ reportDate: '2026-11-03', agreements, usage }),
    dataQuality: summariseDataQuality([]),
    run: {},
    previousManifestSha256: null,
  });
  const body = files.find((f) => f.name === name)?.body ?? '';
  return JSON.parse(body.split('\n')[0] ?? '{}') as Record<string, unknown>;
}

describe('Athena views and the files they read', () => {
  it.each([
    [FINDINGS_VIEW, 'findings.jsonl'],
    [USAGE_VIEW, 'usage.jsonl'],
  ])('every JSON field %s reads is written to its file', (view, file) => {
    const line = firstLine(file);
    const fields = view.columns.flatMap((c) =>
      [...c.expr.matchAll(/'\$\.([a-z_]+)'/g)].map((m) => m[1] as string),
    );
    expect(fields.length).toBeGreaterThan(5);
    for (const f of fields) expect(Object.keys(line), `${view.name} reads $.${f}`).toContain(f);
  });
});
