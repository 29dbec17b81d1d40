/** `auditor recipients load FILE`. */
import type { Command } from 'commander';
import type { RecipientsRegistry } from '../../core/types.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { readText, refuse } from '../input.ts';

/** Validates the whole file first; replaces the stored registry only if it is valid. */
export async function loadRecipients(rt: Runtime, file: string): Promise<RecipientsRegistry> {
  const { storeRecipients } = await import('../../audit/load-agreements.ts');
  const loaded = await storeRecipients(rt.control, await readText(file), file);
  if (!loaded.ok) refuse(file, loaded.errors);
  return loaded.value;
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('recipients')
    .description('the recipients registry')
    .command('load')
    .description('validate and store the recipients registry (replaces the current one)')
    .argument('<file>')
    .action(async (file: string) => {
      const registry = await run((rt) => loadRecipients(rt, file));
      process.stdout.write(
        `loaded ${Object.keys(registry).length} recipient categor${Object.keys(registry).length === 1 ? 'y' : 'ies'}: ${Object.keys(registry).join(', ')}\n` +
          'logs ingested from now on use it; to re-attribute stored logs run `auditor reprocess --from D1 --to D2`\n',
      );
    });
}
