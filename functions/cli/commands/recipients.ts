/** `auditor recipients load FILE [--force]`. */
import type { Command } from 'commander';
import type { RecipientsLoaded } from '../../audit/load-agreements.ts';
import type { RecipientsRegistry } from '../../core/types.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError } from '../errors.ts';
import { whoAmI } from '../identity.ts';
import { readText, refuse } from '../input.ts';

/**
 * Validates the whole file first; replaces the stored registry only if it is valid and, unless
 * `force`, has every category that a stored agreement prohibits.
 */
export async function loadRecipientsFile(
  rt: Runtime,
  file: string,
  opts: { force?: boolean } = {},
): Promise<Extract<RecipientsLoaded, { ok: true }>> {
  const { storeRecipients } = await import('../../audit/load-agreements.ts');
  const force = opts.force ? { by: whoAmI(), at: new Date().toISOString() } : undefined;
  const loaded = await storeRecipients(rt.control, await readText(file), file, force);
  if (!loaded.ok) {
    if (loaded.needsForce)
      throw new CliError(`${file}: refused, nothing was stored: ${loaded.errors.join('; ')}`);
    refuse(file, loaded.errors);
  }
  return loaded;
}

/** loadRecipientsFile without --force: the stored registry. */
export async function loadRecipients(rt: Runtime, file: string): Promise<RecipientsRegistry> {
  return (await loadRecipientsFile(rt, file)).value;
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('recipients')
    .description('the recipients registry')
    .command('load')
    .description('validate and store the recipients registry (replaces the current one)')
    .argument('<file>')
    .option('--force', 'store it even if it drops categories that agreements prohibit (recorded)')
    .action(async (file: string, opts: { force?: boolean }) => {
      const { value: registry, forced } = await run((rt) => loadRecipientsFile(rt, file, opts));
      const { describeGaps } = await import('../../audit/load-agreements.ts');
      const names = Object.keys(registry);
      process.stdout.write(
        `loaded ${names.length} recipient categor${names.length === 1 ? 'y' : 'ies'}: ${names.join(', ')}\n` +
          (forced
            ? `forced: agreements still prohibit categories this registry drops: ${describeGaps(forced.dropped)}; ` +
              `recorded as forced by ${forced.by} at ${forced.at} (registry sha256 ${forced.hash})\n`
            : '') +
          'logs ingested from now on use it; to re-attribute stored logs run `auditor reprocess --from D1 --to D2`\n',
      );
    });
}
