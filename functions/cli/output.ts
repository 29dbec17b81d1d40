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
