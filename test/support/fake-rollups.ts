/**
 * Rollups over FakeUsage's per-object rows, as RollupStore answers them (core/rollup.ts
 * buildRollup + rollupRow per app-day), with the split side (RollupSplit): the day token is the
 * day's change time, a rollup is "stored" once built and rebuilt when its day's token moved.
 * `rebuilt` lists every app-day built, so tests see which part rebuilt what; each row served
 * remembers its rollup's content digest (digests()).
 */
import type { RollupSplit, RollupUsage } from '../../functions/audit/ports.ts';
import { estimateObjects } from '../../functions/core/audit-parts.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import { buildRollup, type Rollup, rollupRow, rowDigests } from '../../functions/core/rollup.ts';
import { compareStrings } from '../../functions/core/support.ts';
import type { FakeUsage } from './fakes.ts';

export class FakeRollups implements RollupUsage, RollupSplit {
  readonly split: RollupSplit = this;
  readonly stored = new Map<string, Rollup>();
  readonly rebuilt: string[] = [];
  private readonly digestOf = new WeakMap<object, string>();
  constructor(private readonly ledger: FakeUsage) {}

  digests(rows: readonly UsageRow[]): Map<string, string> {
    return rowDigests(rows, this.digestOf);
  }

  async dayTokens(from: string, to: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [day, at] of [...this.ledger.changed].sort())
      if (day >= from && day <= to) out.set(day, `1@${at}`);
    return out;
  }

  private listApps(from: string, to: string): string[] {
    const month = (d: string) => d.slice(0, 7);
    const apps = this.ledger.rows
      .filter((r) => month(r.day) >= month(from) && month(r.day) <= month(to))
      .map((r) => r.app);
    return [...new Set(apps)].sort(compareStrings);
  }

  async refreshApps(from: string, to: string, pick: (listed: readonly string[]) => readonly string[]) {
    const tokens = await this.dayTokens(from, to);
    const apps = pick(this.listApps(from, to));
    const rows: (UsageRow & { sourceCount: number })[] = [];
    for (const app of apps) {
      for (const [day, token] of tokens) {
        const k = `${day}\u0000${app}`;
        let r = this.stored.get(k);
        if (r?.token !== token) {
          r = buildRollup(app, day, await this.ledger.queryUsage({ from: day, to: day, apps: [app] }), token);
          this.stored.set(k, r);
          this.rebuilt.push(`${app}/${day}`);
        }
        if (r.requests > 0 || r.records > 0 || r.sourceCount > 0) {
          const row = rollupRow(r);
          if (r.digest !== undefined) this.digestOf.set(row, r.digest);
          rows.push(row);
        }
      }
    }
    rows.sort((a, b) => compareStrings(a.app, b.app) || compareStrings(a.day, b.day));
    return { rows, tokens };
  }

  async usage(from: string, to: string): Promise<UsageRow[]> {
    return (await this.refreshApps(from, to, (all) => all)).rows;
  }

  async *parts(app: string, from: string, to: string): AsyncIterable<UsageRow> {
    yield* await this.ledger.queryUsage({ from, to, apps: [app] });
  }

  async objectsPerAppDay(from: string, to: string): Promise<Map<string, Map<string, number>>> {
    return estimateObjects(this.listApps(from, to), await this.dayTokens(from, to), this.stored);
  }
}
