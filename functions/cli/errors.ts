import { isRealDate } from '../core/audit/format.ts';

/** An error the user can act on: printed as one line, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Validates a YYYY-MM-DD calendar date (real dates only). */
export function parseDate(value: string, what: string): string {
  if (isRealDate(value)) return value;
  throw new CliError(`${what}: expected a date YYYY-MM-DD, got "${value}"`);
}

export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}
