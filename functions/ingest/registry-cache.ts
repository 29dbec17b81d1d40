/**
 * The recipients registry as the ingest path uses it: compiled once per registry version and
 * re-read at most every `ttlMs` (a warm Lambda sees a newly loaded registry within a minute), or
 * at once when asked for a fresh one (reprocessing after `auditor recipients load`).
 */
import { compileRegistry, type RecipientMatcher } from '../core/recipients.ts';
import type { RegistryReader, RegistrySource } from './ports.ts';

export function cachedRegistry(
  control: RegistryReader,
  ttlMs = 60_000,
  clock: () => number = Date.now,
): RegistrySource {
  let cached: { matcher: RecipientMatcher; hash: string; at: number } | undefined;
  return async (opts) => {
    if (cached && !opts?.fresh && clock() - cached.at < ttlMs) return cached;
    const stored = await control.getRegistry();
    const matcher = cached?.hash === stored.hash ? cached.matcher : compileRegistry(stored.registry);
    cached = { matcher, hash: stored.hash, at: clock() };
    return cached;
  };
}
