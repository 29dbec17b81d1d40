import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlStore } from '../../functions/adapters/control-store.ts';
import { BACKENDS, loggedControlStore, startTestBed, type TestBed } from '../support/emulators.ts';

describe.each(BACKENDS)('pending evidence writes on %s', (backend) => {
  let bed: TestBed;
  let control: ControlStore;
  const commands: string[] = [];
  beforeAll(async () => {
    bed = await startTestBed(backend);
    control = loggedControlStore(bed, commands);
  }, 60_000);
  afterAll(async () => bed?.stop());

  it('records by date and file, answers them until the date is settled, then only later ones', async () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    expect(await control.pendingOf('2026-11-05')).toEqual(new Map());
    await control.pendingEvidence('2026-11-05', 'evidence/f#1.jsonl', a);
    await control.pendingEvidence('2026-11-05', 'evidence/f#1.jsonl', b);
    await control.pendingEvidence('2026-11-05', 'evidence/g.jsonl', a);
    await control.pendingEvidence('2026-11-06', 'evidence/h.jsonl', b);
    expect(await control.pendingOf('2026-11-05')).toEqual(
      new Map([
        ['evidence/f#1.jsonl', new Set([a, b])],
        ['evidence/g.jsonl', new Set([a])],
      ]),
    );
    await control.settlePending('2026-11-05');
    expect(await control.pendingOf('2026-11-05')).toEqual(new Map());
    expect(await control.pendingOf('2026-11-06')).toEqual(new Map([['evidence/h.jsonl', new Set([b])]]));
    await control.pendingEvidence('2026-11-05', 'evidence/g.jsonl', b);
    expect(await control.pendingOf('2026-11-05')).toEqual(new Map([['evidence/g.jsonl', new Set([b])]]));

    const t = Date.parse('2026-11-28T02:00:00Z');
    expect(await control.leaseOf('2026-11-05')).toBeUndefined();
    await control.acquireLease('2026-11-05', 'run-a', t, t + 1000);
    expect(await control.leaseOf('2026-11-05')).toEqual({ owner: 'run-a', expiresAt: t + 1000 });
    expect(new Set(commands)).toEqual(new Set(['PutItemCommand', 'QueryCommand']));
  });
});
