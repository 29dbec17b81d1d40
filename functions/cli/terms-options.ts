/**
 * The options every terms change takes (`agreements load`, `recipients load`): --effective-from and
 * --note, and who makes the change (identity.ts).
 */
import type { Command } from 'commander';
import type { TermsChange } from '../audit/terms-store.ts';
import { isRealDate } from '../core/audit/format.ts';
import type { Runtime } from './context.ts';
import { CliError } from './errors.ts';
import { osUser } from './identity.ts';

export interface TermsOptions {
  effectiveFrom?: string;
  note?: string;
}

/** Adds --effective-from and --note to a load command. */
export function termsOptions(cmd: Command): Command {
  return cmd
    .option(
      '--effective-from <date>',
      'first day the new terms are in force, YYYY-MM-DD (default: today; a first version: from the beginning)',
    )
    .option('--note <text>', 'why the terms change (recorded with the version)');
}

/** The change these options describe, made now by the caller. */
export async function termsChange(rt: Runtime, opts: TermsOptions, at = new Date()): Promise<TermsChange> {
  if (opts.effectiveFrom !== undefined && !isRealDate(opts.effectiveFrom))
    throw new CliError(
      `--effective-from: expected a date YYYY-MM-DD, got ${JSON.stringify(opts.effectiveFrom)}`,
    );
  if (opts.note !== undefined && opts.note.length > 1000)
    throw new CliError('--note: at most 1000 characters');
  return {
    by: rt.identity ? await rt.identity() : osUser(),
    at: at.toISOString(),
    note: opts.note ?? null,
    ...(opts.effectiveFrom !== undefined ? { effectiveFrom: opts.effectiveFrom } : {}),
  };
}
