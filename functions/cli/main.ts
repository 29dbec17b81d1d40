/**
 * `auditor`: the command line of SPEC §6. Every command runs against the embedded local stack
 * (state under ./.auditor, --data-dir or AUDITOR_DATA_DIR) unless --stack names a deployed one.
 */
import { Command, Option } from 'commander';
import { RULES, SEVERITIES } from '../core/audit/rules.ts';
import { DEFAULT_UPLOAD_WAIT_SECONDS } from './defaults.ts';
import { CliError } from './errors.ts';
import type { GlobalOptions, Runtime } from './runtime.ts';

// Each command loads its modules when it runs, so `auditor --help` (and a mistyped command) loads
// neither the AWS SDK nor the emulators of the local stack.
const agreementsCommands = () => import('./commands/agreements.ts');
const reportsCommands = () => import('./commands/reports.ts');
const output = () => import('./output.ts');

// `auditor findings | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const program = new Command('auditor')
  .description('Proves whether API data licensees keep to their agreements.')
  .addOption(
    new Option('--data-dir <dir>', 'state of the embedded local stack (default ./.auditor)').env(
      'AUDITOR_DATA_DIR',
    ),
  )
  .option('--stack <name>', 'work against a deployed CloudFormation stack instead of the local one')
  .option('--region <region>', 'AWS region of --stack (default: AWS_REGION or the profile’s region)')
  .showHelpAfterError('(add --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) });

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const run = async <T>(fn: (rt: Runtime) => Promise<T>): Promise<T> => {
  const { withRuntime } = await import('./runtime.ts');
  return withRuntime(globals(), fn);
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const positiveNumber =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new CliError(`${what}: expected a positive number of seconds, got "${value}"`);
    return n;
  };

program
  .command('demo')
  .description('the whole story end to end on generated data (npm start)')
  .action(async () => {
    const { demo } = await import('./commands/demo.ts');
    await run(demo);
  });

const agreements = program.command('agreements').description('licensee agreements');
agreements
  .command('load')
  .description('validate and store agreements (YAML or JSON; refused whole if any is invalid)')
  .argument('<file>')
  .action(async (file: string) => {
    const { loadAgreements } = await agreementsCommands();
    const loaded = await run((rt) => loadAgreements(rt, file));
    process.stdout.write(
      `loaded ${loaded.length} agreement(s): ${loaded.map((a) => a.licensee).join(', ')}\n`,
    );
  });
agreements
  .command('list')
  .description('the stored agreements')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { printAgreements } = await agreementsCommands();
    printAgreements(await run((rt) => rt.control.listAgreements()), opts.json === true);
  });

program
  .command('recipients')
  .description('the recipients registry')
  .command('load')
  .description('validate and store the recipients registry (replaces the current one)')
  .argument('<file>')
  .action(async (file: string) => {
    const { loadRecipients } = await agreementsCommands();
    const registry = await run((rt) => loadRecipients(rt, file));
    process.stdout.write(
      `loaded ${Object.keys(registry).length} recipient categor${Object.keys(registry).length === 1 ? 'y' : 'ies'}: ${Object.keys(registry).join(', ')}\n` +
        'logs ingested from now on use it; to re-attribute stored logs run `auditor reprocess --from D1 --to D2`\n',
    );
  });

program
  .command('upload')
  .description('put log files (or folders of them) under logs/ and wait until they are processed')
  .argument('<paths...>', 'files or folders')
  .option('--prefix <prefix>', 'sub-folder under logs/ for the keys')
  .option(
    '--wait-seconds <seconds>',
    `with --stack: how long to wait for the ingest function (default ${DEFAULT_UPLOAD_WAIT_SECONDS})`,
    positiveNumber('--wait-seconds'),
  )
  .option('--json', 'print JSON')
  .action(async (paths: string[], opts: { prefix?: string; waitSeconds?: number; json?: boolean }) => {
    const { printUploads, upload } = await import('./commands/upload.ts');
    printUploads(await run((rt) => upload(rt, paths, opts)), opts.json === true);
  });

program
  .command('reprocess')
  .description('read again the stored logs behind these days, with the current recipients registry')
  .requiredOption('--from <date>', 'first day, YYYY-MM-DD')
  .requiredOption('--to <date>', 'last day, YYYY-MM-DD')
  .option('--json', 'print JSON')
  .action(async (opts: { from: string; to: string; json?: boolean }) => {
    const { reprocess } = await import('./commands/reprocess.ts');
    const { printJson, printTable } = await output();
    const results = await run((rt) => reprocess(rt, opts));
    if (opts.json) return printJson({ reprocessed: results });
    printTable(
      ['key', 'outcome', 'counted', 'rejected'],
      results.map((r) => [r.key, r.outcome, r.counted ?? 0, r.rejected ?? 0]),
      new Set([2, 3]),
    );
  });

program
  .command('audit')
  .description('audit report dates (default: the nightly run, yesterday plus late-data re-audits)')
  .option('--date <date>', 'one report date')
  .option('--from <date>', 'first report date')
  .option('--to <date>', 'last report date')
  .option('--json', 'print JSON')
  .action(async (opts: { date?: string; from?: string; to?: string; json?: boolean }) => {
    const { printAudit, runAudit } = await reportsCommands();
    printAudit(await run((rt) => runAudit(rt, opts)), opts.json === true);
  });

program
  .command('usage')
  .description('usage per app and day (default: this month to date)')
  .option('--licensee <licensee>', "only this licensee's apps")
  .option('--app <app>', 'only this app (repeatable)', collect)
  .option('--from <date>', 'first day, YYYY-MM-DD')
  .option('--to <date>', 'last day, YYYY-MM-DD')
  .option('--json', 'print JSON')
  .action(async (opts: { licensee?: string; app?: string[]; from?: string; to?: string; json?: boolean }) => {
    const { printUsage, queryUsage } = await import('./commands/usage.ts');
    printUsage(await run((rt) => queryUsage(rt, opts)), opts.json === true);
  });

const reports = program.command('reports').description('compliance reports');
reports
  .command('list')
  .description('report dates')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { listReports } = await reportsCommands();
    await run((rt) => listReports(rt, opts.json === true));
  });
reports
  .command('show')
  .description('one report (default: the latest); --json prints report.json')
  .option('--date <date>', 'report date')
  .option('--json', 'print report.json')
  .action(async (opts: { date?: string; json?: boolean }) => {
    const { showReport } = await reportsCommands();
    await run((rt) => showReport(rt, opts));
  });
reports
  .command('verify')
  .description('check every report file against its manifest and the manifests’ hash chain')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { verifyReports } = await reportsCommands();
    if (!(await run((rt) => verifyReports(rt, opts.json === true))))
      throw new CliError('verification failed');
  });

program
  .command('findings')
  .description('findings of a report (default: the latest)')
  .option('--date <date>', 'report date')
  .addOption(new Option('--rule <rule>', 'only this rule').choices(RULES))
  .option('--licensee <licensee>', 'only this licensee')
  .addOption(new Option('--severity <severity>', 'only this severity').choices(SEVERITIES))
  .option('--json', 'print JSON')
  .action(
    async (opts: { date?: string; rule?: string; licensee?: string; severity?: string; json?: boolean }) => {
      const { printFindings, queryFindings } = await reportsCommands();
      printFindings(await run((rt) => queryFindings(rt, opts)), opts.json === true);
    },
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`auditor: ${message}\n`);
  if (!(err instanceof CliError) && process.env.AUDITOR_DEBUG)
    process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
}
