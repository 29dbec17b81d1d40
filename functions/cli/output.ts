import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type Table from 'cli-table3';
import { terminalSafe } from './terminal-safe.ts';

// Loaded when first used, so that `auditor --help` does not pay for them.
const require = createRequire(import.meta.url);
const tableClass = (): typeof Table => require('cli-table3');
const progress = (): typeof cliProgress => require('cli-progress');

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const fmt = (n: number): string => n.toLocaleString('en-US');

/** Writes one line of text that may quote data (made terminal safe, see terminal-safe.ts). */
export function writeLine(text: string): void {
  process.stdout.write(`${terminalSafe(text)}\n`);
}

/** A table for people: every string cell (and heading) is made terminal safe; numbers are formatted. */
export function printTable(
  head: string[],
  rows: (string | number)[][],
  numeric: ReadonlySet<number> = new Set(),
): void {
  const table = new (tableClass())({
    head: head.map(terminalSafe),
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    colAligns: head.map((_, i) => (numeric.has(i) ? 'right' : 'left')),
  });
  for (const r of rows) table.push(r.map((c) => (typeof c === 'number' ? fmt(c) : terminalSafe(c))));
  process.stdout.write(`${table.toString()}\n`);
}

/** A progress bar on stderr when a person is watching (a terminal) and there is more than one step. */
export function progressBar(format: string, show: boolean): cliProgress.SingleBar | undefined {
  if (!show || !process.stderr.isTTY) return undefined;
  const { Presets, SingleBar } = progress();
  return new SingleBar({ format, hideCursor: true }, Presets.shades_classic);
}
