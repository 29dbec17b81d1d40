/**
 * An audit world for split dates: four licensees (gamma with 8× the objects of the others, delta
 * sharing the app al-2 with alpha), an app no agreement covers, per-object usage on 2026-11-01 …
 * 11-05 with quota and endpoint findings, over FakeRollups (and, when `split`, MemoryPartResults).
 */
import { MemoryPartResults } from '../../functions/adapters/part-store.ts';
import type { AuditDeps } from '../../functions/audit/run-audit.ts';
import type { Agreement } from '../../functions/core/audit/agreements.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import { FakeRollups } from './fake-rollups.ts';
import { FakeControl, FakeReports, FakeUsage } from './fakes.ts';

export const PARTS_NOW = new Date('2026-11-06T02:00:00Z');
export const PARTS_DAYS = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];
export const PARTS_DATE = '2026-11-05';

const APPS: Record<string, string[]> = {
  alpha: ['al-1', 'al-2'],
  beta: ['be-1'],
  delta: ['de-1', 'al-2'],
  gamma: ['ga-1', 'ga-2'],
};

/** Objects per app and day. */
export const objectsOf = (app: string): number => (app.startsWith('ga-') ? 40 : 5);

function agreementOf(licensee: string): Agreement {
  return {
    licensee,
    name: licensee,
    apps: (APPS[licensee] ?? []).map((id) => ({ id, use_case: 'search' })),
    term: { start: '2026-01-01', end: '2026-12-31' },
    quotas: { monthly_records: 400, daily_records: 90 },
    endpoints: ['GET /ok'],
    prohibited_recipients: [],
    approved_organisations: [],
    rate: { per_1000_records: 0.75, currency: 'USD' },
  };
}

function objectRow(app: string, day: string, o: number): UsageRow {
  const records = 1 + ((o * 7 + Number(day.slice(8))) % 5);
  const bad = o % 3 === 0 ? 1 : 0;
  const counts = (requests: number, recs: number) => ({
    requests,
    records: recs,
    bytes: 10 * recs,
    errors: 0,
  });
  return {
    app,
    day,
    requests: 1 + bad,
    records,
    bytes: 10 * records,
    errors: 0,
    endpoints: {
      'GET /ok': counts(1, records),
      ...(bad ? { 'GET /no': counts(1, 0) } : {}),
    },
    categories: {},
    sources: [{ key: `logs/${day}/${app}-${String(o).padStart(3, '0')}.jsonl`, gen: `g${o % 2}` }],
  };
}

export function partsWorld(opts: { split?: boolean; partObjects?: number } = {}) {
  const usage = new FakeUsage();
  const control = new FakeControl();
  const reports = new FakeReports();
  const rollups = new FakeRollups(usage);
  const partResults = new MemoryPartResults();
  for (const licensee of Object.keys(APPS)) control.agreements.set(licensee, agreementOf(licensee));
  const apps = [...new Set([...Object.values(APPS).flat(), 'rogue'])];
  for (const day of PARTS_DAYS) {
    for (const app of apps) for (let o = 0; o < objectsOf(app); o++) usage.rows.push(objectRow(app, day, o));
    usage.changed.set(day, `${day}T23:00:00.000Z`);
  }
  const deps: AuditDeps = {
    usage,
    control,
    reports,
    rollups,
    now: () => PARTS_NOW,
    sleep: () => new Promise<void>((r) => setTimeout(r, 0)),
    ...(opts.split ? { partResults, partObjects: opts.partObjects ?? 120 } : {}),
  };
  return { usage, control, reports, rollups, partResults, deps };
}
