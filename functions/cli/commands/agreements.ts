/** `auditor agreements load FILE | list`. */
import type { Command } from 'commander';
import type { Agreement } from '../../core/audit/agreements.ts';
import { compareStrings } from '../../core/support.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { readText, refuse } from '../input.ts';
import { printJson, printTable } from '../output.ts';

/** Validates the whole file first; stores nothing unless every agreement in it is valid. */
export async function loadAgreements(rt: Runtime, file: string): Promise<Agreement[]> {
  const { storeAgreements } = await import('../../audit/load-agreements.ts');
  const loaded = await storeAgreements(rt.control, await readText(file), file);
  if (!loaded.ok) refuse(file, loaded.errors);
  return loaded.value;
}

export function printAgreements(agreements: readonly Agreement[], json: boolean): void {
  if (json) {
    printJson({ agreements });
    return;
  }
  if (agreements.length === 0) {
    process.stdout.write('no agreements loaded\n');
    return;
  }
  printTable(
    [
      'licensee',
      'name',
      'apps',
      'term',
      'paid through',
      'monthly records',
      'monthly requests',
      'daily records',
    ],
    [...agreements]
      .sort((a, b) => compareStrings(a.licensee, b.licensee))
      .map((a) => [
        a.licensee,
        a.name,
        a.apps.length,
        `${a.term.start} … ${a.term.end}`,
        a.paid_through === undefined ? 'fully paid' : (a.paid_through ?? 'never'),
        a.quotas.monthly_records ?? '—',
        a.quotas.monthly_requests ?? '—',
        a.quotas.daily_records ?? '—',
      ]),
    new Set([2, 5, 6, 7]),
  );
}

export function register(program: Command, { run }: CommandContext): void {
  const agreements = program.command('agreements').description('licensee agreements');
  agreements
    .command('load')
    .description('validate and store agreements (YAML or JSON; refused whole if any is invalid)')
    .argument('<file>')
    .action(async (file: string) => {
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
      printAgreements(await run((rt) => rt.control.listAgreements()), opts.json === true);
    });
}
