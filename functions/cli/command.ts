/**
 * How a CLI command plugs in: each module in commands/ exports `register(program, ctx)`, adding its
 * command (with sub-commands, options and action) to the program; commands/index.ts lists the
 * modules in the order `auditor --help` shows them.
 */
import type { Command } from 'commander';
import type { Runtime } from './context.ts';
import { CliError } from './errors.ts';

export interface CommandContext {
  /** Opens the runtime the global options name (local or --stack), runs `fn` on it, closes it. */
  run<T>(fn: (rt: Runtime) => Promise<T>): Promise<T>;
}

export interface CommandModule {
  register(program: Command, ctx: CommandContext): void;
}

/** Commander argument parser for a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Commander argument parser for a positive number of seconds. */
export const positiveNumber =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new CliError(`${what}: expected a positive number of seconds, got "${value}"`);
    return n;
  };
