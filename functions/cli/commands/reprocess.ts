/**
 * `auditor reprocess --from D1 --to D2`: reads again every stored log object that contributes
 * usage to those days, with the current recipients registry, replacing its contribution
 * (idempotent: the same object version writes the same items). The choice of objects is the
 * reprocess use case's (functions/ingest/reprocess.ts).
 */
import type { Command } from 'commander';
import type { IngestResult } from '../../ingest/ingest-object.ts';
import { reprocessDays } from '../../ingest/reprocess.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError, parseDate } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

export async function reprocess(rt: Runtime, opts: { from: string; to: string }): Promise<IngestResult[]> {
  const [from, to] = [parseDate(opts.from, '--from'), parseDate(opts.to, '--to')];
  if (from > to) throw new CliError(`--from ${from} is after --to ${to}`);
  return reprocessDays(rt, from, to);
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('reprocess')
    .description('read again the stored logs behind these days, with the current recipients registry')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD')
    .option('--json', 'print JSON')
    .action(async (opts: { from: string; to: string; json?: boolean }) => {
      const results = await run((rt) => reprocess(rt, opts));
      if (opts.json) return printJson({ reprocessed: results });
      printTable(
        ['key', 'outcome', 'counted', 'rejected'],
        results.map((r) => [r.key, r.outcome, r.counted ?? 0, r.rejected ?? 0]),
        new Set([2, 3]),
      );
    });
}
