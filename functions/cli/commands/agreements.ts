/** `auditor agreements load FILE [--effective-from D] [--note T] | list | history LICENSEE`. */
import type { Command } from 'commander';
import type { Agreement } from '../../core/audit/agreements.ts';
import { compareStrings } from '../../core/support.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError } from '../errors.ts';
import { readText, refuse } from '../input.ts';
import { printJson, printTable } from '../output.ts';
import { type TermsOptions, termsChange, termsOptions } from '../terms-options.ts';

/**
 * Validates the whole file first; stores nothing unless every agreement in it is valid. Each
 * agreement becomes a new version of its licensee's terms (`opts`: from when, and why).
 */
export async function loadAgreements(
  rt: Runtime,
  file: string,
  opts: TermsOptions = {},
): Promise<Agreement[]> {
  const { storeAgreements } = await import('../../audit/load-agreements.ts');
  const loaded = await storeAgreements(rt.control, await readText(file), file, await termsChange(rt, opts));
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

/** `agreements history LICENSEE`: every version of a licensee's terms, in the order loaded. */
export async function printHistory(rt: Runtime, licensee: string, json: boolean): Promise<void> {
  const { agreementHistory } = await import('../../audit/terms-store.ts');
  const versions = await agreementHistory(rt.control, licensee);
  if (versions.length === 0) throw new CliError(`no agreement for licensee ${JSON.stringify(licensee)}`);
  if (json) {
    printJson({ licensee, versions });
    return;
  }
  printTable(
    [
      'version',
      'effective from',
      'loaded at',
      'by',
      'note',
      'sha256',
      'monthly records',
      'daily records',
      'paid through',
    ],
    versions.map((v) => [
      v.seq,
      v.effective_from ?? '(beginning)',
      v.at ?? '(before versioning)',
      v.by ?? '—',
      v.note ?? '',
      v.hash.slice(0, 12),
      v.agreement.quotas.monthly_records ?? '—',
      v.agreement.quotas.daily_records ?? '—',
      v.agreement.paid_through === undefined ? 'fully paid' : (v.agreement.paid_through ?? 'never'),
    ]),
    new Set([0, 6, 7]),
  );
}

export function register(program: Command, { run }: CommandContext): void {
  const agreements = program.command('agreements').description('licensee agreements');
  termsOptions(
    agreements
      .command('load')
      .description(
        'validate and store agreements as new versions of their terms (YAML or JSON; refused whole if any is invalid)',
      )
      .argument('<file>'),
  ).action(async (file: string, opts: TermsOptions) => {
    const loaded = await run((rt) => loadAgreements(rt, file, opts));
    process.stdout.write(
      `loaded ${loaded.length} agreement(s): ${loaded.map((a) => a.licensee).join(', ')}\n`,
    );
  });
  agreements
    .command('history')
    .description('every version of a licensee’s terms: effective date, who, when, why, sha256')
    .argument('<licensee>')
    .option('--json', 'print JSON')
    .action(async (licensee: string, opts: { json?: boolean }) => {
      await run((rt) => printHistory(rt, licensee, opts.json === true));
    });
  agreements
    .command('list')
    .description('the stored agreements (each licensee’s newest terms)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      printAgreements(await run((rt) => rt.control.listAgreements()), opts.json === true);
    });
}
