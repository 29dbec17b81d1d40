/**
 * Use case: reprocessing days. Every stored log object that contributes committed usage to a day
 * in [from, to] is read again (with the current recipients registry), in key order, one at a time.
 * `reingest` is how one object is read again: the CLI invokes the ingest function (locally the
 * same handler in this process, against a deployed stack Lambda Invoke).
 */
import { compareStrings } from '../core/support.ts';
import type { IngestResult } from './ingest-object.ts';
import type { CommittedUsage } from './ports.ts';

/** The keys of the objects behind the committed usage of [from, to], sorted, each once. */
export async function objectsToReprocess(usage: CommittedUsage, from: string, to: string): Promise<string[]> {
  const rows = await usage.queryUsage({ from, to });
  return [...new Set(rows.flatMap((r) => r.sources.map((s) => s.key)))].sort(compareStrings);
}

export async function reprocessDays(
  deps: { usage: CommittedUsage; reingest: (key: string) => Promise<IngestResult> },
  from: string,
  to: string,
): Promise<IngestResult[]> {
  const results: IngestResult[] = [];
  for (const key of await objectsToReprocess(deps.usage, from, to)) results.push(await deps.reingest(key));
  return results;
}
