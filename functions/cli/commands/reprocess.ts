/**
 * `auditor reprocess --from D1 --to D2`: reads again every stored log object that contributes
 * usage to those days, with the current recipients registry, replacing its contribution
 * (idempotent: the same object version writes the same items).
 */
import type { IngestResult } from '../../ingest/ingest-object.ts';
import { CliError, parseDate } from '../errors.ts';
import type { Runtime } from '../runtime.ts';

export async function reprocess(rt: Runtime, opts: { from: string; to: string }): Promise<IngestResult[]> {
  const [from, to] = [parseDate(opts.from, '--from'), parseDate(opts.to, '--to')];
  if (from > to) throw new CliError(`--from ${from} is after --to ${to}`);
  const rows = await rt.usage.queryUsage({ from, to });
  const keys = [...new Set(rows.flatMap((r) => r.sources.map((s) => s.key)))].sort();
  const results: IngestResult[] = [];
  for (const key of keys) results.push(await rt.reingest(key));
  return results;
}
