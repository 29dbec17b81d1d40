/**
 * The audit's in-memory world for the fan-out tests: the fixture agreements and usage of
 * nw-search on 2026-11-24 … 11-27, the clock at 2026-11-28T02:00Z, sleeping that only yields.
 */
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { vi } from 'vitest';
import { createAuditHandler } from '../../functions/audit/create-handler.ts';
import { createFanOutStepHandler, routeAuditEvents } from '../../functions/audit/fan-out-handler.ts';
import type { AuditDeps } from '../../functions/audit/run-audit.ts';
import { parseAgreementsFile } from '../../functions/core/audit/agreements.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import { FakeControl, FakeReports, FakeUsage } from './fakes.ts';

const AGREEMENTS = readFileSync(new URL('../fixtures/agreements.yaml', import.meta.url), 'utf8');
export const NOW = new Date('2026-11-28T02:00:00Z');
export const DAYS = ['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27'];

/** One usage row of `app` on `day`: 10 requests of `records` records, one endpoint, one source. */
export function usageRow(app: string, day: string, records: number): UsageRow {
  const counts = { requests: 10, records, bytes: 100 * records, errors: 0 };
  return {
    app,
    day,
    ...counts,
    endpoints: { 'GET /2/tweets/search/recent': counts },
    categories: {},
    sources: [{ key: `logs/${day}.jsonl`, gen: `g-${day}` }],
  };
}

export function auditWorld() {
  const usage = new FakeUsage();
  const control = new FakeControl();
  const reports = new FakeReports();
  const parsed = parseAgreementsFile(AGREEMENTS, 'agreements.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  for (const a of parsed.agreements) control.agreements.set(a.licensee, a);
  for (const day of DAYS) {
    usage.rows.push(usageRow('nw-search', day, 500));
    usage.changed.set(day, `${day}T10:00:00.000Z`);
  }
  const deps: AuditDeps = {
    usage,
    control,
    reports,
    now: () => NOW,
    sleep: () => new Promise<void>((r) => setTimeout(r, 0)),
  };
  return { usage, control, reports, deps };
}

/** The audit function as deployed (functions/shared/compose.ts): steps and direct requests, over `deps`. */
export function auditFunction(deps: AuditDeps) {
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'audit' });
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const full = { ...deps, logger: new Logger({ logLevel: 'SILENT' }), metrics };
  return routeAuditEvents(createAuditHandler(full), createFanOutStepHandler(full));
}
