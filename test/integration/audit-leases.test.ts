import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlStore } from '../../functions/adapters/control-store.ts';
import { BACKENDS, loggedControlStore, startTestBed, type TestBed } from '../support/emulators.ts';

describe.each(BACKENDS)('audit leases on %s', (backend) => {
  let bed: TestBed;
  let control: ControlStore;
  const commands: string[] = [];
  beforeAll(async () => {
    bed = await startTestBed(backend);
    control = loggedControlStore(bed, commands);
  }, 60_000);
  afterAll(async () => bed?.stop());

  it('acquires, refuses another owner until expiry, takes over an expired lease, releases', async () => {
    const t = Date.parse('2026-11-28T02:00:00Z');
    expect(await control.acquireLease('2026-11-27', 'run-a', t, t + 1000)).toBeUndefined();
    // Held: the other owner and its expiry.
    expect(await control.acquireLease('2026-11-27', 'run-b', t + 10, t + 2000)).toEqual({
      owner: 'run-a',
      expiresAt: t + 1000,
    });
    // Its own owner takes it again.
    expect(await control.acquireLease('2026-11-27', 'run-a', t + 20, t + 1500)).toBeUndefined();
    // Expired: another run takes it over; the old owner's release then leaves it alone.
    expect(await control.acquireLease('2026-11-27', 'run-b', t + 1501, t + 3000)).toBeUndefined();
    await control.releaseLease('2026-11-27', 'run-a');
    expect(await control.acquireLease('2026-11-27', 'run-c', t + 1600, t + 4000)).toEqual({
      owner: 'run-b',
      expiresAt: t + 3000,
    });
    // Released by its owner: free at once.
    await control.releaseLease('2026-11-27', 'run-b');
    expect(await control.acquireLease('2026-11-27', 'run-c', t + 1700, t + 4000)).toBeUndefined();
    // Leases of different names are independent.
    expect(await control.acquireLease('chain', 'run-a', t, t + 1000)).toBeUndefined();
    expect(new Set(commands)).toEqual(new Set(['PutItemCommand', 'QueryCommand']));
  });
});
