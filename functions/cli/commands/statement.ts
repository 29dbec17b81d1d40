/**
 * `auditor statement LICENSEE --month YYYY-MM [--out DIR]`: the licensee's statement of the month
 * (functions/audit/statements.ts), written as statement-L-YYYY-MM.html and .csv in DIR (default: the
 * current folder). It is rendered from the month's last report (a statement to date before the
 * month has ended) and holds nothing about any other licensee.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { LICENSEE_ID_RE } from '../../core/support.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError } from '../errors.ts';
import { printJson, writeLine } from '../output.ts';

const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export interface StatementWritten {
  licensee: string;
  month: string;
  through: string;
  complete: boolean;
  html: string;
  csv: string;
}

export async function writeStatement(
  rt: Runtime,
  licensee: string,
  month: string,
  outDir = '.',
): Promise<StatementWritten> {
  if (!LICENSEE_ID_RE.test(licensee))
    throw new CliError(`licensee: expected a licensee id, got "${licensee}"`);
  if (!MONTH_RE.test(month)) throw new CliError(`--month: expected a month YYYY-MM, got "${month}"`);
  const { buildStatement } = await import('../../audit/statements.ts');
  const built = await buildStatement(rt.reports, licensee, month);
  if (typeof built === 'string') throw new CliError(built);
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const out = { html: '', csv: '' };
  for (const f of built.files) {
    const path = join(dir, `statement-${licensee}-${month}.${f.name.endsWith('.csv') ? 'csv' : 'html'}`);
    await writeFile(path, f.body);
    out[f.name.endsWith('.csv') ? 'csv' : 'html'] = path;
  }
  return { licensee, month, through: built.input.through, complete: built.input.complete, ...out };
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('statement')
    .description("a licensee's usage statement of a month (HTML and CSV), for that licensee only")
    .argument('<licensee>')
    .requiredOption('--month <month>', 'YYYY-MM')
    .option('--out <dir>', 'folder to write the two files to (default: the current folder)')
    .option('--json', 'print JSON')
    .action(async (licensee: string, opts: { month: string; out?: string; json?: boolean }) => {
      const w = await run((rt) => writeStatement(rt, licensee, opts.month, opts.out));
      if (opts.json) {
        printJson({ statement: w });
        return;
      }
      writeLine(
        `statement of ${w.licensee} for ${w.month} (${w.complete ? 'whole month' : `month to date, through ${w.through}`}):`,
      );
      writeLine(w.html);
      writeLine(w.csv);
    });
}
