/** Reading a file named on the command line, and refusing it whole. */
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.ts';

export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

export function refuse(file: string, errors: readonly string[]): never {
  const n = errors.length;
  throw new CliError(`${file}: refused, nothing was stored (${n} error${n === 1 ? '' : 's'}):`, errors);
}
