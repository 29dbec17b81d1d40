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
import { sumDayUsage } from '../../functions/core/usage-math.ts';
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
    const strip = ({ sources: _s, ...u }: DayUsage & { sources?: unknown }) => u;
    expect(rows.map(strip)).toEqual(sumDayUsage(expected));
    // Offsets crossed midnight: usage landed on the UTC days, including the first one.
    expect(new Set(rows.map((r) => r.day))).toEqual(new Set(DAYS));
    // IPv6 clients in the registry's IPv6 ranges were attributed.
    expect(rows.some((r) => (r.categories.government?.requests ?? 0) > 0)).toBe(true);
  });
});
