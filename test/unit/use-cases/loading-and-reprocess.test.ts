/**
 * The use cases the CLI shares: storing agreements (whole-file, with the app-conflict policy) and
 * the recipients registry, and choosing what to reprocess. Against fakes of their ports.
 */
import { describe, expect, it } from 'vitest';
import { storeAgreements, storeRecipients } from '../../../functions/audit/load-agreements.ts';
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
    const control = new FakeControl();
    const ok = await storeRecipients(control, 'government:\n  cidrs: [198.51.100.0/24]\n', 'r.yaml');
    expect(ok).toEqual({
      ok: true,
      value: { government: { cidrs: ['198.51.100.0/24'], organisations: [] } },
    });
    expect(await storeRecipients(control, 'government: 12\n', 'r.yaml')).toMatchObject({ ok: false });
    expect(control.registryPuts).toHaveLength(1);
  });
});

describe('strict loads (issue 11): a prohibited category names a category of the registry', () => {
  const registryYaml = 'government:\n  cidrs: [198.51.100.0/24]\ndata-broker:\n  cidrs: [192.0.2.0/24]\n';
  const prohibiting = (licensee: string, app: string, cats: string[]) =>
    `${agreementYaml(licensee, [app])}  prohibited_recipients: [${cats.join(', ')}]\n`;

  it('refuses agreements naming a category the stored registry lacks, whole file, with its path', async () => {
    const control = new FakeControl();
    expect((await storeRecipients(control, registryYaml, 'r.yaml')).ok).toBe(true);
    const text =
      prohibiting('acme', 'a1', ['government']) + prohibiting('globex', 'g1', ['data-broker', 'goverment']);
    expect(await storeAgreements(control, text, 'a.yaml')).toEqual({
      ok: false,
      errors: [
        '[1].prohibited_recipients[1]: unknown recipient category "goverment" (the registry has: government, data-broker)',
      ],
    });
    expect(control.agreements.size).toBe(0);
    expect((await storeAgreements(control, prohibiting('acme', 'a1', ['government']), 'a.yaml')).ok).toBe(
      true,
    );
  });

  it('names the category by its place in the file (one agreement, duplicates kept in the count)', async () => {
    const control = new FakeControl();
    await storeRecipients(control, 'government:\n  cidrs: [198.51.100.0/24]\n', 'r.yaml');
    const text = [
      'licensee: acme',
      'apps: [a1]',
      'term: { start: 2026-01-01, end: 2026-12-31 }',
      'prohibited_recipients: [government, government, data-broker]',
    ].join('\n');
    const out = await storeAgreements(control, text, 'one.yaml');
    expect(out).toEqual({
      ok: false,
      errors: [
        'prohibited_recipients[2]: unknown recipient category "data-broker" (the registry has: government)',
      ],
    });
  });

  it('accepts them while no registry was ever loaded; the registry load must then cover them', async () => {
    const control = new FakeControl();
    expect((await storeAgreements(control, prohibiting('acme', 'a1', ['goverment']), 'a.yaml')).ok).toBe(
      true,
    );
    expect(await storeRecipients(control, registryYaml, 'r.yaml')).toEqual({
      ok: false,
      needsForce: true,
      errors: [
        'agreements still prohibit recipient categories this registry drops: acme (goverment); fix those agreements first, or load it with --force',
      ],
    });
    expect(control.registry).toBeUndefined();
  });

  it('refuses a registry that drops a prohibited category unless forced, and records a forced load', async () => {
    const control = new FakeControl();
    await storeRecipients(control, registryYaml, 'r.yaml');
    await storeAgreements(
      control,
      prohibiting('zeta', 'z1', ['government', 'data-broker']) + prohibiting('acme', 'a1', ['government']),
      'a.yaml',
    );
    const narrower = 'data-broker:\n  cidrs: [192.0.2.0/24]\n';
    const refused = await storeRecipients(control, narrower, 'r2.yaml');
    expect(refused).toMatchObject({
      ok: false,
      errors: [
        'agreements still prohibit recipient categories this registry drops: acme (government), zeta (government); fix those agreements first, or load it with --force',
      ],
    });
    expect(control.registryPuts).toHaveLength(1);
    expect(control.forcedLoads).toEqual([]);

    const forced = await storeRecipients(control, narrower, 'r2.yaml', {
      by: 'alice',
      at: '2026-11-30T23:00:00Z',
    });
    const dropped = [
      { licensee: 'acme', categories: ['government'] },
      { licensee: 'zeta', categories: ['government'] },
    ];
    expect(forced).toEqual({
      ok: true,
      value: { 'data-broker': { cidrs: ['192.0.2.0/24'], organisations: [] } },
      forced: { by: 'alice', at: '2026-11-30T23:00:00Z', dropped, hash: 'hash-1' },
    });
    expect(control.forcedLoads).toEqual([
      { by: 'alice', at: '2026-11-30T23:00:00Z', dropped, registry: control.registry },
    ]);
    // Nothing dropped: --force records nothing.
    await storeRecipients(control, registryYaml, 'r.yaml', { by: 'alice', at: '2026-11-30T23:01:00Z' });
    expect(control.forcedLoads).toHaveLength(1);
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
