/**
 * The use cases the CLI shares: storing agreements (whole-file, with the app-conflict policy) and
 * the recipients registry, and choosing what to reprocess. Against fakes of their ports.
 */
import { describe, expect, it } from 'vitest';
import { storeAgreements, storeRecipients } from '../../../functions/audit/load-agreements.ts';
import type { RegistryStore } from '../../../functions/audit/ports.ts';
import type { RecipientsRegistry } from '../../../functions/core/types.ts';
import type { IngestResult } from '../../../functions/ingest/ingest-object.ts';
import { objectsToReprocess, reprocessDays } from '../../../functions/ingest/reprocess.ts';
import { FakeControl, FakeUsage } from '../../support/fakes.ts';

const agreementYaml = (licensee: string, apps: string[]) => `
- licensee: ${licensee}
  name: ${licensee}
  apps: [${apps.join(', ')}]
  term: { start: 2026-01-01, end: 2026-12-31 }
  quotas: {}
  rate: { per_1000_records: 1, currency: USD }
`;

describe('storeAgreements', () => {
  it('stores a valid file whole, replacing each licensee’s previous agreement', async () => {
    const control = new FakeControl();
    const first = await storeAgreements(control, agreementYaml('acme', ['a1', 'a2']), 'a.yaml');
    expect(first.ok).toBe(true);
    const again = await storeAgreements(control, agreementYaml('acme', ['a2', 'a3']), 'a.yaml');
    expect(again.ok).toBe(true);
    expect((await control.listAgreements()).map((a) => [a.licensee, a.apps.map((x) => x.id)])).toEqual([
      ['acme', ['a2', 'a3']],
    ]);
  });

  it('refuses an app that another stored licensee has, and stores nothing', async () => {
    const control = new FakeControl();
    await storeAgreements(control, agreementYaml('acme', ['a1']), 'a.yaml');
    const text = agreementYaml('globex', ['g1']) + agreementYaml('initech', ['a1']);
    const out = await storeAgreements(control, text, 'b.yaml');
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.errors.join('\n')).toContain('a1');
    expect((await control.listAgreements()).map((a) => a.licensee)).toEqual(['acme']);
  });

  it('refuses an invalid file with its parse errors, and stores nothing', async () => {
    const control = new FakeControl();
    const out = await storeAgreements(control, '- licensee: Not Valid\n', 'bad.yaml');
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.errors.length).toBeGreaterThan(0);
    expect(control.agreements.size).toBe(0);
  });
});

describe('storeRecipients', () => {
  it('stores a valid registry and refuses an invalid one', async () => {
    const stored: RecipientsRegistry[] = [];
    const control: RegistryStore = {
      putRegistry: async (r) => {
        stored.push(r);
      },
    };
    const ok = await storeRecipients(control, 'government:\n  cidrs: [198.51.100.0/24]\n', 'r.yaml');
    expect(ok).toEqual({
      ok: true,
      value: { government: { cidrs: ['198.51.100.0/24'], organisations: [] } },
    });
    expect(await storeRecipients(control, 'government: 12\n', 'r.yaml')).toMatchObject({ ok: false });
    expect(stored).toHaveLength(1);
  });
});

describe('reprocess', () => {
  it('reads again each object behind the committed usage of the days, once, in key order', async () => {
    const usage = new FakeUsage();
    const row = (app: string, day: string, keys: string[]) => ({
      app,
      day,
      requests: 1,
      records: 0,
      bytes: 0,
      errors: 0,
      endpoints: {},
      categories: {},
      sources: keys.map((key) => ({ key, gen: 'g' })),
    });
    usage.rows.push(
      row('a', '2026-11-02', ['logs/b', 'logs/a']),
      row('b', '2026-11-02', ['logs/b']),
      row('a', '2026-11-05', ['logs/c']),
    );
    expect(await objectsToReprocess(usage, '2026-11-01', '2026-11-03')).toEqual(['logs/a', 'logs/b']);
    const calls: string[] = [];
    const reingest = async (key: string): Promise<IngestResult> => {
      calls.push(key);
      return { outcome: 'ingested', key };
    };
    const results = await reprocessDays({ usage, reingest }, '2026-11-01', '2026-11-30');
    expect(calls).toEqual(['logs/a', 'logs/b', 'logs/c']);
    expect(results.map((r) => r.key)).toEqual(calls);
  });
});
