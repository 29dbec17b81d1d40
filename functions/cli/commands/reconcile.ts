/**
 * `auditor reconcile [--from D1 --to D2]`: lists the log objects last modified in those days
 * (default: the last 2 days) and ingests every one that has no manifest, or whose manifest names
 * an older version than S3's current one (an S3 event that never arrived). The use case is
 * functions/ingest/reconcile.ts; the objects are ingested in this process with the same use case
 * the ingest function runs. A second run over the same days finds nothing.
 */
import type { Command } from 'commander';
import { DEFAULT_LIMITS } from '../../core/log-reader.ts';
import { ingestObject } from '../../ingest/ingest-object.ts';
import { defaultWindow, type ReconcileReport, reconcile } from '../../ingest/reconcile.ts';
import { cachedRegistry } from '../../ingest/registry-cache.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError, parseDate } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

export interface ReconcileOptions {
  from?: string;
  to?: string;
}

export function reconcileWindow(opts: ReconcileOptions, now = new Date()): { from: Date; to: Date } {
  if (opts.from === undefined && opts.to === undefined) return defaultWindow(now);
  if (opts.from === undefined || opts.to === undefined) throw new CliError('--from and --to go together');
  const [from, to] = [parseDate(opts.from, '--from'), parseDate(opts.to, '--to')];
  if (from > to) throw new CliError(`--from ${from} is after --to ${to}`);
  return { from: new Date(`${from}T00:00:00.000Z`), to: new Date(`${to}T23:59:59.999Z`) };
}

export async function runReconcile(
  rt: Pick<Runtime, 'objects' | 'usage' | 'control' | 'logBucket' | 'reportsBucket'>,
  opts: ReconcileOptions,
  now = new Date(),
): Promise<ReconcileReport> {
  const window = reconcileWindow(opts, now);
  const deps = {
    objects: rt.objects,
    writer: rt.objects,
    store: rt.usage,
    reportsBucket: rt.reportsBucket,
    registry: cachedRegistry(rt.control),
    limits: DEFAULT_LIMITS,
    now: () => new Date(),
  };
  return reconcile(
    {
      lister: rt.objects,
      manifests: rt.usage,
      objects: rt.objects,
      ingest: (req) => ingestObject(deps, req),
    },
    { bucket: rt.logBucket, ...window },
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('reconcile')
    .description(
      'ingest the log objects of these days that no S3 event brought in (default: the last 2 days)',
    )
    .option('--from <date>', 'first day (LastModified), YYYY-MM-DD')
    .option('--to <date>', 'last day (LastModified), YYYY-MM-DD')
    .option('--json', 'print JSON')
    .action(async (opts: ReconcileOptions & { json?: boolean }) => {
      const report = await run((rt) => runReconcile(rt, opts));
      if (opts.json) return printJson(report);
      process.stdout.write(
        `${report.listed} log object(s) in the window; ${report.found.length} not counted as they are now\n`,
      );
      if (report.found.length === 0) return;
      printTable(
        ['key', 'why', 'outcome', 'counted', 'rejected'],
        report.found.map((f) => [
          f.key,
          f.why,
          f.result?.outcome ?? 'deferred',
          f.result?.counted ?? 0,
          f.result?.rejected ?? 0,
        ]),
        new Set([3, 4]),
      );
    });
}
