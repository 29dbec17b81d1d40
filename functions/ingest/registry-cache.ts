/**
 * The recipients registry as the ingest path uses it: compiled once per registry version and
 * re-read at most every `ttlMs` (a warm Lambda sees a newly loaded registry within a minute), or
 * at once when asked for a fresh one (reprocessing after `auditor recipients load`).
 */
import type { ControlStore } from '../adapters/control-store.ts';
import { compileRegistry, type RecipientMatcher } from '../core/recipients.ts';

export function cachedRegistry(
  control: Pick<ControlStore, 'getRegistry'>,
  ttlMs = 60_000,
  clock: () => number = Date.now,
): (opts?: { fresh?: boolean }) => Promise<{ matcher: RecipientMatcher; hash: string }> {
  let cached: { matcher: RecipientMatcher; hash: string; at: number } | undefined;
  return async (opts) => {
    if (cached && !opts?.fresh && clock() - cached.at < ttlMs) return cached;
    const stored = await control.getRegistry();
    const matcher = cached?.hash === stored.hash ? cached.matcher : compileRegistry(stored.registry);
    cached = { matcher, hash: stored.hash, at: clock() };
    return cached;
  };
}
