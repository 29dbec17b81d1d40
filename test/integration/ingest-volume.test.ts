/**
 * Volume through the real path: 200k-line drops (JSON Lines and CSV, plain and gzip, epoch
 * milliseconds and offsets that cross UTC midnight, IPv6 clients) put in s3rver, ingested by the
 * handler from s3rver's notifications, read back from DynamoDB: every counter, endpoint and
 * recipient category equals the generator's independent totals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import type { DayUsage } from '../../functions/core/types.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { GENERATOR_RECIPIENTS, type GenerateOptions, generateLogs } from '../support/log-generator.ts';

const dir = mkdtempSync(join(tmpdir(), 'auditor-volume-'));
let stack: LocalStack;
let store: UsageStore;

beforeAll(async () => {
  stack = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
  const doc = documentClient(stack.dynamo);
  store = new UsageStore(doc, stack.env.USAGE_TABLE as string);
  await new ControlStore(doc, stack.env.CONTROL_TABLE as string).putRegistry(GENERATOR_RECIPIENTS);
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function at<T>(rec: Record<string, T>, key: string, init: () => T): T {
  if (!Object.hasOwn(rec, key)) rec[key] = init();
  return rec[key] as T;
}

/** The generator's rows summed per app and day with plain loops (not the code under test). */
function plainSum(rows: readonly DayUsage[]): Record<string, Omit<DayUsage, 'app' | 'day'>> {
  const out: Record<string, Omit<DayUsage, 'app' | 'day'>> = {};
  for (const r of rows) {
    const t = at(out, `${r.app}/${r.day}`, () => ({
      requests: 0,
      records: 0,
      bytes: 0,
      errors: 0,
      endpoints: {},
      categories: {},
    }));
    t.requests += r.requests;
    t.records += r.records;
    t.bytes += r.bytes;
    t.errors += r.errors;
    for (const [ep, c] of Object.entries(r.endpoints)) {
      const e = at(t.endpoints, ep, () => ({ requests: 0, records: 0, bytes: 0, errors: 0 }));
      e.requests += c.requests;
      e.records += c.records;
      e.bytes += c.bytes;
      e.errors += c.errors;
    }
    for (const [cat, c] of Object.entries(r.categories)) {
      const k = at(t.categories, cat, () => ({ requests: 0, records: 0, orgs: {} }));
      k.requests += c.requests;
      k.records += c.records;
      for (const [org, o] of Object.entries(c.orgs)) {
        const g = at(k.orgs, org, () => ({ requests: 0, records: 0 }));
        g.requests += o.requests;
        g.records += o.records;
      }
    }
  }
  return out;
}

const DAYS = ['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27'];
const CASES: (Pick<GenerateOptions, 'format' | 'timestamps'> & { gzip: boolean; seed: number })[] = [
  { format: 'jsonl', timestamps: 'epoch', gzip: false, seed: 1 },
  { format: 'jsonl', timestamps: 'offset', gzip: true, seed: 2 },
  { format: 'csv', timestamps: 'mixed', gzip: false, seed: 3 },
  { format: 'csv', timestamps: 'offset', gzip: true, seed: 4 },
];

describe('200k-line drops through s3rver, the ingest handler and dynalite', () => {
  it('gives totals equal to an independent computation for every format', async () => {
    const expected: DayUsage[] = [];
    for (const c of CASES) {
      const log = generateLogs({
        lines: 200_000,
        seed: c.seed,
        format: c.format,
        timestamps: c.timestamps,
        days: DAYS,
        ipv6Share: 0.3,
        badLineShare: 0.001,
      });
      expected.push(...log.expected);
      const key = `logs/volume/${c.format}-${c.timestamps}${c.gzip ? '.gz' : ''}`;
      await stack.s3.send(
        new PutObjectCommand({
          Bucket: stack.logBucket,
          Key: key,
          Body: c.gzip ? gzipSync(log.text) : log.text,
        }),
      );
      await stack.drain();
      expect(stack.takeErrors()).toEqual([]);
      expect(stack.results.get(key)).toMatchObject({ outcome: 'ingested', rejected: log.badLines.length });
      expect(stack.results.get(key)?.counted).toBe(200_000 - log.badLines.length);
    }
    const rows = await store.queryUsage({ from: '2026-11-01', to: '2026-11-30' });
    const byAppDay = (list: DayUsage[]) =>
      Object.fromEntries(list.map(({ app, day, ...u }) => [`${app}/${day}`, u]));
    const { sources: _s, ...first } = rows[0] ?? ({} as DayUsage & { sources: unknown });
    expect(Object.keys(first).sort()).toEqual([
      'app',
      'bytes',
      'categories',
      'day',
      'endpoints',
      'errors',
      'records',
      'requests',
    ]);
    expect(byAppDay(rows.map(({ sources: _x, ...u }) => u))).toEqual(plainSum(expected));
    // Offsets crossed midnight: usage landed on the UTC days, including the first one.
    expect(new Set(rows.map((r) => r.day))).toEqual(new Set(DAYS));
    // IPv6 clients in the registry's IPv6 ranges were attributed.
    expect(rows.some((r) => (r.categories.government?.requests ?? 0) > 0)).toBe(true);
  });
});
