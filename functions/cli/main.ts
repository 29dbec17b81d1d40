/**
 * `auditor`: the command line of SPEC §6. Every command runs against the embedded local stack
 * (state under ./.auditor, --data-dir or AUDITOR_DATA_DIR) unless --stack names a deployed one.
 * The commands register themselves (commands/index.ts).
 */
import { Command, Option } from 'commander';
import type { CommandContext } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import type { GlobalOptions } from './context.ts';
import { CliError } from './errors.ts';

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

// The runtime (AWS SDK, emulators) loads only when a command runs, so `auditor --help` stays fast.
const ctx: CommandContext = {
  run: async (fn) => (await import('./runtime.ts')).withRuntime(program.opts<GlobalOptions>(), fn),
};
for (const command of COMMANDS) command.register(program, ctx);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`auditor: ${message}\n`);
  if (!(err instanceof CliError) && process.env.AUDITOR_DEBUG)
    process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
}
