import { describe, expect, it } from 'vitest';
import type { StoredRegistry } from '../../../functions/adapters/control-store.ts';
import { cachedRegistry } from '../../../functions/ingest/registry-cache.ts';

describe('cachedRegistry', () => {
  it('re-reads after the TTL or when asked for a fresh registry, and recompiles only a changed one', async () => {
    let now = 0;
    let stored: StoredRegistry = { registry: {}, hash: 'h1' };
    let reads = 0;
    const getRegistry = async () => {
      reads++;
      return stored;
    };
    const get = cachedRegistry({ getRegistry }, 60_000, () => now);

    const first = await get();
    expect(first.matcher.categoriesFor('198.51.100.1', undefined)).toEqual([]);
    stored = { registry: { government: { cidrs: ['198.51.100.0/24'], organisations: [] } }, hash: 'h2' };
    now = 59_999;
    expect((await get()).hash).toBe('h1');
    expect(reads).toBe(1);
    const fresh = await get({ fresh: true });
    expect(fresh.matcher.categoriesFor('198.51.100.1', undefined)).toEqual(['government']);
    now = 200_000;
    const same = await get();
    expect(same.hash).toBe('h2');
    expect(reads).toBe(3);
    expect(same.matcher).toBe(fresh.matcher); // same registry hash: not compiled again
  });
});
