import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { createAuditHandler, LEASE_MARGIN_MS } from '../../../functions/audit/create-handler.ts';
import { MANIFEST, parseJson } from '../../../functions/audit/ports.ts';
import {
  auditDates,
  CHAIN_LEASE,
  LEASE_MS,
  LeaseHeldError,
  nightlyDates,
} from '../../../functions/audit/run-audit.ts';
import { sha256Hex } from '../../../functions/core/audit/format.ts';
import type { Manifest } from '../../../functions/core/audit/report.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { auditWorld, usageRow, NOW as WORLD_NOW } from '../../support/audit-world.ts';
import type { FakeReports } from '../../support/fakes.ts';

const NOW = WORLD_NOW;

/** The fan-out tests' world (fixture agreements, usage on 11-24 … 11-27), on demand. */
function world() {
  const w = auditWorld();
  return { ...w, deps: { ...w.deps, trigger: 'on-demand' as const } };
}

const manifestText = (reports: FakeReports, date: string): string =>
  reports.folders.get(date)?.get(MANIFEST) ?? '';

describe('audit leases', () => {
  it('takes each date’s lease and the chain’s for the run, then releases them all', async () => {
    const w = world();
    const results = await auditDates(w.deps, ['2026-11-26', '2026-11-27']);
    expect(results.map((r) => [r.date, r.written, r.skipped])).toEqual([
      ['2026-11-27', true, undefined],
      ['2026-11-26', true, undefined],
    ]);
    expect(w.control.leaseLog).toEqual([
      'acquire 2026-11-27',
      'acquire 2026-11-26',
      `acquire ${CHAIN_LEASE}`,
      `release ${CHAIN_LEASE}`,
      'release 2026-11-26',
      'release 2026-11-27',
    ]);
    for (const name of ['2026-11-26', '2026-11-27', CHAIN_LEASE])
      expect(w.control.leases.get(name)?.expiresAt).toBe(0);
    // A released lease is taken again at once.
    expect((await auditDates(w.deps, ['2026-11-27']))[0]?.skipped).toBeUndefined();
  });

  it('skips a date another run holds, with the holder’s expiry, and audits the others', async () => {
    const w = world();
    const until = NOW.getTime() + 60_000;
    w.control.leases.set('2026-11-26', { owner: 'another-run', expiresAt: until });
    const results = await auditDates(w.deps, ['2026-11-25', '2026-11-26', '2026-11-27']);
    expect(results).toEqual([
      { date: '2026-11-27', findings: expect.any(Number), written: true },
      {
        date: '2026-11-26',
        findings: 0,
        written: false,
        skipped: 'lease held by another audit run until 2026-11-28T02:01:00.000Z',
      },
      { date: '2026-11-25', findings: expect.any(Number), written: true },
    ]);
    expect(await w.reports.listDates()).toEqual(['2026-11-25', '2026-11-27']);
    expect(w.reports.puts.some((p) => p.startsWith('2026-11-26/'))).toBe(false);
    // The other run's lease is left as it is.
    expect(w.control.leases.get('2026-11-26')).toEqual({ owner: 'another-run', expiresAt: until });
    expect(await w.reports.latest()).toBe('2026-11-27');
  });

  it('the nightly run goes on past a held date', async () => {
    const w = world();
    w.control.leases.set('2026-11-27', { owner: 'another-run', expiresAt: NOW.getTime() + 1 });
    const results = await auditDates(w.deps, await nightlyDates(w.deps, NOW));
    expect(results.map((r) => [r.date, r.skipped !== undefined])).toEqual([
      ['2026-11-27', true],
      ['2026-11-26', false],
      ['2026-11-25', false],
      ['2026-11-24', false],
    ]);
  });

  it('takes over a lease that has expired', async () => {
    const w = world();
    w.control.leases.set('2026-11-27', { owner: 'crashed-run', expiresAt: NOW.getTime() - 1 });
    const [result] = await auditDates(w.deps, ['2026-11-27']);
    expect(result).toEqual({ date: '2026-11-27', findings: expect.any(Number), written: true });
    expect(w.control.leases.get('2026-11-27')?.owner).not.toBe('crashed-run');
  });

  it('a lease lasts LEASE_MS (longer than the function’s 900 s timeout) unless deps say otherwise', async () => {
    const w = world();
    let seen = 0;
    const acquire = w.control.acquireLease.bind(w.control);
    w.control.acquireLease = async (name, owner, now, expiresAt) => {
      seen = expiresAt - now;
      return acquire(name, owner, now, expiresAt);
    };
    await auditDates(w.deps, ['2026-11-27']);
    expect(seen).toBe(LEASE_MS);
    expect(LEASE_MS).toBeGreaterThan(900_000 - 1);
  });

  it('two concurrent runs of the same date: one audits it, the other skips it', async () => {
    const w = world();
    const [a, b] = await Promise.all([
      auditDates(w.deps, ['2026-11-27']),
      auditDates(w.deps, ['2026-11-27']),
    ]);
    const both = [...a, ...b];
    expect(both.filter((r) => r.written)).toHaveLength(1);
    expect(both.filter((r) => r.skipped)).toEqual([
      {
        date: '2026-11-27',
        findings: 0,
        written: false,
        skipped: `lease held by another audit run until ${new Date(NOW.getTime() + LEASE_MS).toISOString()}`,
      },
    ]);
    // The report was written once.
    expect(w.reports.puts.filter((p) => p === `2026-11-27/${MANIFEST}`)).toHaveLength(1);
    expect(w.control.chain.filter((c) => c.date === '2026-11-27')).toHaveLength(1);
  });

  it('waits for the chain’s lease, and fails naming it when another run never lets go', async () => {
    const w = world();
    w.control.leases.set(CHAIN_LEASE, { owner: 'another-run', expiresAt: NOW.getTime() + 5_000 });
    const err = await auditDates(w.deps, ['2026-11-27']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect(String(err)).toBe(
      'LeaseHeldError: chain: lease held by another audit run until 2026-11-28T02:00:05.000Z; the reports are written, the next run re-links them',
    );
    // latest.json is not moved without the chain's lease, and the date's lease is released.
    expect(w.reports.puts).not.toContain('latest.json');
    expect(w.control.leases.get('2026-11-27')?.expiresAt).toBe(0);

    // Released by the other run while this one waits: it goes on.
    const v = world();
    v.control.leases.set(CHAIN_LEASE, { owner: 'another-run', expiresAt: NOW.getTime() + 5_000 });
    let tries = 0;
    v.deps.sleep = async () => {
      if (++tries === 3) await v.control.releaseLease(CHAIN_LEASE, 'another-run');
    };
    await auditDates(v.deps, ['2026-11-27']);
    expect(tries).toBe(3);
    expect(await v.reports.latest()).toBe('2026-11-27');
  });
});

describe('newest first', () => {
  it('audits a range newest first, and leaves the same bytes as auditing it date by date oldest first', async () => {
    const dates = ['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27'];
    const w = world();
    const results = await auditDates(w.deps, dates);
    expect(results.map((r) => r.date)).toEqual([...dates].reverse());
    // Each report's files are written newest first (the manifests re-linked afterwards).
    const firstPut = (d: string) => w.reports.puts.indexOf(`${d}/${MANIFEST}`);
    expect(dates.map(firstPut)).toEqual([...dates.map(firstPut)].sort((a, b) => b - a));
    // The chain links each manifest to its predecessor's bytes.
    for (const [i, d] of dates.entries()) {
      const m = parseJson<Manifest>(manifestText(w.reports, d));
      const before = dates[i - 1];
      expect(m?.previous_manifest_sha256).toBe(before ? sha256Hex(manifestText(w.reports, before)) : null);
    }
    const oneByOne = world();
    for (const d of dates) await auditDates(oneByOne.deps, [d]);
    expect(w.reports.snapshot()).toEqual(oneByOne.reports.snapshot());
    expect(w.reports.latestText).toBe(oneByOne.reports.latestText);
  });

  it('reads usage once per month of the run, not once per date', async () => {
    const w = world();
    w.usage.rows.push(usageRow('nw-search', '2026-10-30', 7));
    const reads: string[] = [];
    const query = w.usage.queryUsage.bind(w.usage);
    w.usage.queryUsage = async (opts) => {
      reads.push(`${opts.from}..${opts.to}`);
      return query(opts);
    };
    await auditDates(w.deps, ['2026-10-30', '2026-10-31', '2026-11-25', '2026-11-26', '2026-11-27']);
    expect(reads).toEqual(['2026-11-01..2026-11-27', '2026-10-01..2026-10-31']);
    // The same bytes as one date per run (each reading its own window).
    const oneByOne = world();
    oneByOne.usage.rows.push(usageRow('nw-search', '2026-10-30', 7));
    for (const d of ['2026-10-30', '2026-10-31', '2026-11-25', '2026-11-26', '2026-11-27'])
      await auditDates(oneByOne.deps, [d]);
    expect(w.reports.snapshot()).toEqual(oneByOne.reports.snapshot());
  });

  it('the nightly run: yesterday first, then the stale and missing dates newest to oldest', async () => {
    const w = world();
    expect(await nightlyDates(w.deps, NOW)).toEqual(['2026-11-27', '2026-11-26', '2026-11-25', '2026-11-24']);
  });
});

describe('audit handler and leases', () => {
  function handler(w: ReturnType<typeof world>) {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'audit' });
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    return createAuditHandler({
      ...w.deps,
      now: () => new Date('2026-11-28T02:00:05Z'),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
    });
  }

  it('a request for one date another run holds fails with one line', async () => {
    const w = world();
    w.control.leases.set('2026-11-27', { owner: 'another-run', expiresAt: NOW.getTime() + 60_000 });
    const err = await handler(w)({ date: '2026-11-27' }, lambdaContext('audit')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect(String(err)).toBe(
      'LeaseHeldError: 2026-11-27: lease held by another audit run until 2026-11-28T02:01:00.000Z',
    );
  });

  it('the handler’s leases outlast the invocation’s remaining time by LEASE_MARGIN_MS', async () => {
    const w = world();
    const spans: number[] = [];
    const acquire = w.control.acquireLease.bind(w.control);
    w.control.acquireLease = async (name, owner, now, expiresAt) => {
      spans.push(expiresAt - now);
      return acquire(name, owner, now, expiresAt);
    };
    // lambdaContext answers 900 s remaining.
    await handler(w)({ date: '2026-11-27' }, lambdaContext('audit'));
    expect(spans).toEqual([900_000 + LEASE_MARGIN_MS, 900_000 + LEASE_MARGIN_MS]);
  });

  it('a {from, to} request audits the range in one invocation, naming the skipped date', async () => {
    const w = world();
    w.control.leases.set('2026-11-26', { owner: 'another-run', expiresAt: NOW.getTime() + 60_000 });
    const out = await handler(w)({ from: '2026-11-25', to: '2026-11-27' }, lambdaContext('audit'));
    expect(out.reports.map((r) => [r.date, r.written, r.skipped])).toEqual([
      ['2026-11-27', true, undefined],
      ['2026-11-26', false, 'lease held by another audit run until 2026-11-28T02:01:00.000Z'],
      ['2026-11-25', true, undefined],
    ]);
  });
});
