/** `auditor usage`: usage per app and day, from the committed aggregates. */
import type { Command } from 'commander';
import type { UsageRow } from '../../core/ledger.ts';
import { type CommandContext, collect } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError, parseDate, todayUtc } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

export interface UsageOptions {
  licensee?: string;
  app?: string[];
  from?: string;
  to?: string;
}

export async function queryUsage(rt: Runtime, opts: UsageOptions, now = new Date()): Promise<UsageRow[]> {
  const to = opts.to ? parseDate(opts.to, '--to') : todayUtc(now);
  const from = opts.from ? parseDate(opts.from, '--from') : `${to.slice(0, 7)}-01`;
  if (from > to) throw new CliError(`--from ${from} is after --to ${to}`);
  let apps: string[] | undefined = opts.app?.length ? [...opts.app] : undefined;
  if (opts.licensee) {
    const agreement = await rt.control.getAgreement(opts.licensee);
    if (!agreement) throw new CliError(`--licensee: no agreement loaded for "${opts.licensee}"`);
    const covered = agreement.apps.map((a) => a.id);
    apps = apps ? apps.filter((a) => covered.includes(a)) : covered;
  }
  return rt.usage.queryUsage({ from, to, ...(apps ? { apps } : {}) });
}

export function printUsage(rows: readonly UsageRow[], json: boolean): void {
  if (json) {
    printJson({
      usage: rows.map((r) => ({
        app_id: r.app,
        date: r.day,
        requests: r.requests,
        records: r.records,
        bytes: r.bytes,
        errors: r.errors,
        endpoints: r.endpoints,
        categories: r.categories,
        sources: r.sources,
      })),
    });
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('no usage in that period\n');
    return;
  }
  printTable(
    ['app', 'date', 'requests', 'records', 'bytes', 'errors', 'recipient categories (requests)'],
    rows.map((r) => [
      r.app,
      r.day,
      r.requests,
      r.records,
      r.bytes,
      r.errors,
      Object.entries(r.categories)
        .map(([c, v]) => `${c}: ${v.requests.toLocaleString('en-US')}`)
        .join(', '),
    ]),
    new Set([2, 3, 4, 5]),
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('usage')
    .description('usage per app and day (default: this month to date)')
    .option('--licensee <licensee>', "only this licensee's apps")
    .option('--app <app>', 'only this app (repeatable)', collect)
    .option('--from <date>', 'first day, YYYY-MM-DD')
    .option('--to <date>', 'last day, YYYY-MM-DD')
    .option('--json', 'print JSON')
    .action(
      async (opts: { licensee?: string; app?: string[]; from?: string; to?: string; json?: boolean }) => {
        printUsage(await run((rt) => queryUsage(rt, opts)), opts.json === true);
      },
    );
}
