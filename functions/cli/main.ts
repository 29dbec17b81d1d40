/**
 * `auditor`: the command line of SPEC §6. Every command runs against the embedded local stack
 * (state under ./.auditor, --data-dir or AUDITOR_DATA_DIR) unless --stack names a deployed one.
 */
import { Command, Option } from 'commander';
import { printUploads, upload } from './commands/upload.ts';
import { printUsage, queryUsage } from './commands/usage.ts';
import { CliError } from './errors.ts';
import { type GlobalOptions, withRuntime } from './runtime.ts';

const program = new Command('auditor')
  .description('Proves whether API data licensees keep to their agreements.')
  .addOption(new Option('--data-dir <dir>', 'state of the embedded local stack (default ./.auditor)').env('AUDITOR_DATA_DIR'))
  .option('--stack <name>', 'work against a deployed CloudFormation stack instead of the local one')
  .option('--region <region>', 'AWS region of --stack')
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

const globals = (): GlobalOptions => program.opts<GlobalOptions>();

program
  .command('upload')
  .description('put log files (or folders of them) under logs/ and wait until they are processed')
  .argument('<paths...>', 'files or folders')
  .option('--prefix <prefix>', 'sub-folder under logs/ for the keys')
  .option('--json', 'print JSON')
  .action(async (paths: string[], opts: { prefix?: string; json?: boolean }) => {
    const reports = await withRuntime(globals(), (rt) => upload(rt, paths, opts));
    printUploads(reports, opts.json === true);
  });

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

program
  .command('usage')
  .description('usage per app and day (default: this month to date)')
  .option('--licensee <licensee>', "only this licensee's apps")
  .option('--app <app>', 'only this app (repeatable)', collect)
  .option('--from <date>', 'first day, YYYY-MM-DD')
  .option('--to <date>', 'last day, YYYY-MM-DD')
  .option('--json', 'print JSON')
  .action(async (opts: { licensee?: string; app?: string[]; from?: string; to?: string; json?: boolean }) => {
    const rows = await withRuntime(globals(), (rt) => queryUsage(rt, opts));
    printUsage(rows, opts.json === true);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`auditor: ${message}\n`);
  if (!(err instanceof CliError) && process.env.AUDITOR_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
}
