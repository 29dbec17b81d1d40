import cliProgress from 'cli-progress';
import Table from 'cli-table3';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const fmt = (n: number): string => n.toLocaleString('en-US');

export function printTable(
  head: string[],
  rows: (string | number)[][],
  numeric: ReadonlySet<number> = new Set(),
): void {
  const table = new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    colAligns: head.map((_, i) => (numeric.has(i) ? 'right' : 'left')),
  });
  for (const r of rows) table.push(r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  process.stdout.write(`${table.toString()}\n`);
}

/** A progress bar on stderr when a person is watching (a terminal) and there is more than one step. */
export function progressBar(format: string, show: boolean): cliProgress.SingleBar | undefined {
  if (!show || !process.stderr.isTTY) return undefined;
  return new cliProgress.SingleBar({ format, hideCursor: true }, cliProgress.Presets.shades_classic);
}
