/**
 * Deterministic JSON Lines logs with their totals computed by plain sums, and the committed totals
 * a usage store reports, for the exactly-once and reliability tests.
 */
import type { UsageStore } from '../../functions/adapters/usage-store.ts';
import { compareStrings, seededRandom } from '../../functions/core/support.ts';

/** A small deterministic log and its totals, computed here by plain sums. */
export function makeLog(seed: number, lines: number) {
  const rnd = seededRandom(seed);
  const apps = ['app-a', 'app-b', 'app-c'];
  const days = ['2026-10-31', '2026-11-01', '2026-11-02'];
  const totals = new Map<string, { requests: number; records: number; bytes: number; errors: number }>();
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const app = apps[Math.floor(rnd() * apps.length)] as string;
    const day = days[Math.floor(rnd() * days.length)] as string;
    const records = Math.floor(rnd() * 500);
    const bytes = Math.floor(rnd() * 100_000);
    const status = rnd() < 0.1 ? 503 : 200;
    out.push(
      JSON.stringify({
        timestamp: `${day}T12:00:00Z`,
        app_id: app,
        endpoint: 'GET /2/tweets/search/recent',
        status,
        records,
        bytes,
      }),
    );
    const k = `${app}/${day}`;
    const t = totals.get(k) ?? { requests: 0, records: 0, bytes: 0, errors: 0 };
    t.requests++;
    t.records += records;
    t.bytes += bytes;
    if (status >= 400) t.errors++;
    totals.set(k, t);
  }
  return { text: `${out.join('\n')}\n`, totals };
}

export type Totals = ReturnType<typeof makeLog>['totals'];

export function sumTotals(...all: Totals[]): Record<string, unknown> {
  const out = new Map<string, { requests: number; records: number; bytes: number; errors: number }>();
  for (const totals of all) {
    for (const [k, t] of totals) {
      const o = out.get(k) ?? { requests: 0, records: 0, bytes: 0, errors: 0 };
      o.requests += t.requests;
      o.records += t.records;
      o.bytes += t.bytes;
      o.errors += t.errors;
      out.set(k, o);
    }
  }
  return Object.fromEntries([...out].sort(([a], [b]) => compareStrings(a, b)));
}

export async function observed(store: UsageStore): Promise<Record<string, unknown>> {
  const rows = await store.queryUsage({ from: '2026-10-01', to: '2026-11-30' });
  return Object.fromEntries(
    rows.map((r) => [
      `${r.app}/${r.day}`,
      { requests: r.requests, records: r.records, bytes: r.bytes, errors: r.errors },
    ]),
  );
}

/** The committed totals of one object alone, per `app/day` (other tests' objects left out). */
export async function observedFor(store: UsageStore, key: string): Promise<Record<string, unknown>> {
  const rows = await store.queryUsage({ from: '2026-10-01', to: '2026-11-30', perSource: true });
  const mine = rows.filter((r) => r.sources[0]?.key === key);
  return Object.fromEntries(
    mine.map((r) => [
      `${r.app}/${r.day}`,
      { requests: r.requests, records: r.records, bytes: r.bytes, errors: r.errors },
    ]),
  );
}
