/** `auditor agreements load FILE | list` and `auditor recipients load FILE`. */
import { readFile } from 'node:fs/promises';
import {
  type Agreement,
  appConflicts,
  parseAgreementsFile,
  parseRecipientsFile,
} from '../../core/audit/agreements.ts';
import type { RecipientsRegistry } from '../../core/types.ts';
import { CliError } from '../errors.ts';
import { printJson, printTable } from '../output.ts';
import type { Runtime } from '../runtime.ts';

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

function refuse(file: string, errors: readonly string[]): never {
  const n = errors.length;
  throw new CliError(
    `${file}: refused, nothing was stored (${n} error${n === 1 ? '' : 's'}):\n${errors.map((e) => `  ${e}`).join('\n')}`,
  );
}

/** Validates the whole file first; stores nothing unless every agreement in it is valid. */
export async function loadAgreements(rt: Runtime, file: string): Promise<Agreement[]> {
  const parsed = parseAgreementsFile(await readText(file), file);
  if (!parsed.ok) refuse(file, parsed.errors);
  const conflicts = appConflicts(await rt.control.listAgreements(), parsed.agreements);
  if (conflicts.length > 0) refuse(file, conflicts);
  await rt.control.putAgreements(parsed.agreements);
  return parsed.agreements;
}

export async function loadRecipients(rt: Runtime, file: string): Promise<RecipientsRegistry> {
  const parsed = parseRecipientsFile(await readText(file), file);
  if (!parsed.ok) refuse(file, parsed.errors);
  await rt.control.putRegistry(parsed.registry);
  return parsed.registry;
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
      .sort((a, b) => (a.licensee < b.licensee ? -1 : 1))
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
