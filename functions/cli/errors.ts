import { isRealDate } from '../core/audit/format.ts';
import { terminalSafe } from './terminal-safe.ts';

/**
 * An error the user can act on: printed as one line, exit code 1. The message is made terminal
 * safe (it often quotes data: keys, file names, values from a file): control characters and bidi
 * overrides show as escapes, so it stays one line. `details` are further lines under it (each
 * made safe the same way), for errors that list several problems.
 */
export class CliError extends Error {
  override name = 'CliError';
  /** The process's exit code when this error ends a command. */
  exitCode = 1;
  constructor(message: string, details: readonly string[] = []) {
    super([terminalSafe(message), ...details.map((d) => `  ${terminalSafe(d)}`)].join('\n'));
  }
}

/** Validates a YYYY-MM-DD calendar date (real dates only). */
export function parseDate(value: string, what: string): string {
  if (isRealDate(value)) return value;
  throw new CliError(`${what}: expected a date YYYY-MM-DD, got "${value}"`);
}

export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}
