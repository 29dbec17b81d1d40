/**
 * The reader's bounds as the ingest use case and handler consume them (issue 8): the rejects file
 * is the same, line for line, when the rejects are spilled; the deadline the handler derives from
 * the Lambda context quarantines an object it cannot finish; nothing of it counts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BOUNDS, DEFAULT_LIMITS, readLogObject } from '../../../functions/core/log-reader.ts';
import { EMPTY_MATCHER } from '../../../functions/core/recipients.ts';
import { createIngestHandler } from '../../../functions/ingest/create-handler.ts';
import {
  type IngestDeps,
  ingestObject,
  quarantineKeyFor,
  rejectLine,
  rejectsKeyFor,
} from '../../../functions/ingest/ingest-object.ts';
import type { ObjectReader, UsageLedger } from '../../../functions/ingest/ports.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { loadIngestConfig } from '../../../functions/shared/config.ts';

const body = (text: string): AsyncIterable<Uint8Array> => ({
  async *[Symbol.asyncIterator]() {
    for (let i = 0; i < text.length; i += 4096) yield Buffer.from(text.slice(i, i + 4096));
  },
});

function setup(text: string) {
  const written = new Map<string, string>();
  const committed: Record<string, unknown>[] = [];
  const store = {
    getManifest: async () => undefined,
    writeContributions: async () => 1,
    indexDataQuality: async () => undefined,
    commit: async (m: Record<string, unknown>) => {
      committed.push(m);
      return { committed: true, previous: undefined };
    },
    entries: async () => [],
    deleteWrite: async () => [],
    markDaysChanged: async () => undefined,
    finishCleanup: async () => undefined,
  } as unknown as UsageLedger;
  const objects: ObjectReader = {
    open: async () => ({
      body: body(text),
      etag: 'e1',
      versionId: 'v1',
      lastModified: undefined,
      size: text.length,
      abort: () => undefined,
    }),
  };
  const deps: IngestDeps = {
    objects,
    writer: {
      put: async (_b, key, content) => {
        written.set(key, String(content));
      },
      putStream: async (_b, key, chunks) => {
        let s = '';
        for await (const c of chunks) s += String(c);
        written.set(key, s);
      },
    },
    store,
    reportsBucket: 'reports',
    registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
    limits: DEFAULT_LIMITS,
    now: () => new Date('2026-11-28T00:00:00Z'),
  };
  return { deps, written, committed };
}

const GOOD = '{"timestamp":"2026-11-27T10:00:00Z","app_id":"a","endpoint":"GET /x","status":200}';
const req = { bucket: 'logs', key: 'logs/big.jsonl', versionId: 'v1', sequencer: '01' };

describe('ingest with the reader bounds', () => {
  it('writes the same rejects file, line for line, when most rejects were spilled', async () => {
    const lines = [GOOD];
    for (let i = 0; i < 3000; i++) lines.push(i % 7 === 0 ? GOOD : `{"bad ${i}`);
    const text = `${lines.join('\n')}\n`;
    const { deps, written, committed } = setup(text);
    const result = await ingestObject(deps, req);
    expect(result).toMatchObject({ outcome: 'ingested', rejected: 2571, counted: 430 });
    const all = await readLogObject(body(text), { maxHeldRejects: Number.MAX_SAFE_INTEGER });
    if (all.status === 'quarantined') throw new Error(all.reason);
    const expected = all.rejects.map((r) => rejectLine('logs/big.jsonl', 'v1', r)).join('');
    expect(written.get(rejectsKeyFor('logs/big.jsonl', 'v1'))).toBe(expected);
    expect(committed[0]).toMatchObject({ rejected: 2571, rejectsKey: rejectsKeyFor('logs/big.jsonl', 'v1') });
  });

  it('quarantines an object whose read passes the deadline; nothing of it counts', async () => {
    const { deps, written, committed } = setup(`${GOOD}\n${GOOD}\n`);
    const result = await ingestObject(deps, req, { deadline: Date.now() - 1 });
    expect(result).toMatchObject({
      outcome: 'quarantined',
      counted: 0,
      reason:
        "too large to finish within the function's time: read 0 lines (166 bytes) of the object before the deadline",
    });
    expect(JSON.parse(written.get(quarantineKeyFor('logs/big.jsonl', 'v1')) ?? '{}')).toMatchObject({
      reason: expect.stringMatching(/^too large to finish/),
    });
    expect(committed[0]).toMatchObject({ status: 'quarantined', counted: 0 });
  });

  it('the handler takes the deadline from the Lambda context minus the margin', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const { deps } = setup(`${GOOD}\n`);
    const make = (deadlineMarginMs: number) =>
      createIngestHandler({
        ...deps,
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: new Metrics({ namespace: 'Test', serviceName: 'ingest' }),
        deadlineMarginMs,
      });
    const context = { ...lambdaContext('ingest'), getRemainingTimeInMillis: () => 20_000 };
    const event = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: 'logs' },
            object: { key: 'logs/big.jsonl', versionId: 'v1', sequencer: '01' },
          },
        },
      ],
    };
    // 20 s left, 30 s margin: already past.
    const late = (await make(30_000)(event as never, context)) as { results: { outcome: string }[] };
    expect(late.results[0]?.outcome).toBe('quarantined');
    const inTime = (await make(1_000)(event as never, context)) as { results: { outcome: string }[] };
    expect(inTime.results[0]?.outcome).toBe('ingested');
  });

  it('in an SQS batch only the first object, which had the whole invocation, is quarantined at the deadline; a later one goes back to the queue untouched', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const { deps, committed } = setup(`${GOOD}\n`);
    const handler = createIngestHandler({
      ...deps,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'ingest' }),
      deadlineMarginMs: 30_000,
      minRemainingMs: 1_000,
    });
    const context = { ...lambdaContext('ingest'), getRemainingTimeInMillis: () => 20_000 };
    const sqsRecord = (messageId: string, key: string) => ({
      messageId,
      eventSource: 'aws:sqs',
      body: JSON.stringify({
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: 'logs' }, object: { key, versionId: 'v1', sequencer: '01' } },
          },
        ],
      }),
    });
    const response = (await handler(
      { Records: [sqsRecord('m1', 'logs/first.jsonl'), sqsRecord('m2', 'logs/second.jsonl')] } as never,
      context,
    )) as { batchItemFailures: { itemIdentifier: string }[] };
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    expect(committed).toHaveLength(1);
    expect(committed[0]).toMatchObject({ key: 'logs/first.jsonl', status: 'quarantined' });
  });

  it('reads the bounds and the margin from the environment', () => {
    const env = { USAGE_TABLE: 'u', CONTROL_TABLE: 'c', REPORTS_BUCKET: 'r' };
    expect(loadIngestConfig(env)).toMatchObject({
      bounds: { maxEndpointsPerDay: 10_000, maxOrganisationsPerCategory: 1_000 },
      deadlineMarginMs: 30_000,
    });
    expect(
      loadIngestConfig({
        ...env,
        MAX_ENDPOINTS_PER_DAY: '50',
        MAX_ORGANISATIONS_PER_CATEGORY: '5',
        DEADLINE_MARGIN_MS: '1000',
      }),
    ).toMatchObject({
      bounds: { maxEndpointsPerDay: 50, maxOrganisationsPerCategory: 5 },
      deadlineMarginMs: 1000,
    });
  });
});

describe('the write phase: rejects file bound and deadline (review of issue 8, items 2 and 3)', () => {
  const LONG = { ...req, key: `logs/${'k'.repeat(1015)}` };

  it('stops listing rejects past maxRejectsFileBytes, still counts them all, and says so in the file and the manifest', async () => {
    const bad = Array.from({ length: 2000 }, () => 'x');
    const { deps, written, committed } = setup(`${GOOD}\n${bad.join('\n')}\n`);
    const result = await ingestObject({ ...deps, maxRejectsFileBytes: 64 * 1024 }, LONG);
    expect(result).toMatchObject({ outcome: 'ingested', counted: 1, rejected: 2000 });
    const file = written.get(rejectsKeyFor(LONG.key, 'v1')) ?? '';
    const lines = file.trimEnd().split('\n');
    const listed = lines.length - 1;
    // Each line repeats the 1,020-character key: ~1.1 KB a line, so ~58 fit in 64 KiB.
    expect(Buffer.byteLength(file)).toBeLessThanOrEqual(64 * 1024 + 100);
    expect(listed).toBeGreaterThan(50);
    expect(listed).toBeLessThan(2000);
    expect(JSON.parse(lines[listed] ?? '')).toEqual({ truncated: true, written: listed, rejected: 2000 });
    expect(committed[0]).toMatchObject({ rejected: 2000, rejectsWritten: listed });
    const reasons = committed[0]?.rejectReasons as { lines: number }[];
    expect(reasons.reduce((n, r) => n + r.lines, 0)).toBe(2000);
  });

  it('a rejects file under the bound is unchanged and the manifest has no rejectsWritten', async () => {
    const { deps, written, committed } = setup(`${GOOD}\nx\ny\n`);
    await ingestObject({ ...deps, maxRejectsFileBytes: 64 * 1024 }, req);
    expect(written.get(rejectsKeyFor(req.key, 'v1'))?.split('\n')).toHaveLength(3);
    expect(committed[0]).not.toHaveProperty('rejectsWritten');
  });

  it('quarantines the object when the write deadline passes while the rejects file streams', async () => {
    const bad = Array.from({ length: 20_000 }, () => 'x');
    const { deps, written, committed } = setup(`${GOOD}\n${bad.join('\n')}\n`);
    let t = 0;
    const result = await ingestObject(deps, req, { writeDeadline: 2, now: () => ++t });
    expect(result).toMatchObject({ outcome: 'quarantined', counted: 0, lines: 20_001 });
    expect(result.reason).toMatch(
      /^too large to finish within the function's time: read all 20001 lines of the object, but could not write its rejects file of 20000 rejected lines/,
    );
    expect(committed).toHaveLength(1);
    expect(committed[0]).toMatchObject({ status: 'quarantined', counted: 0, rejected: 0 });
    expect(committed[0]).not.toHaveProperty('rejectsKey');
    expect(written.has(quarantineKeyFor(req.key, 'v1'))).toBe(true);
  });

  it('quarantines the object, writing no usage, when the write deadline has passed before the writes', async () => {
    const { deps, committed } = setup(`${GOOD}\n`);
    let contributions = 0;
    const store = {
      ...deps.store,
      writeContributions: async (...a: unknown[]) => {
        contributions += (a[3] as unknown[]).length;
        return 1;
      },
    } as UsageLedger;
    const result = await ingestObject({ ...deps, store }, req, { writeDeadline: 0, now: () => 1 });
    expect(result).toMatchObject({ outcome: 'quarantined', counted: 0 });
    expect(result.reason).toContain('had no time left to write its rejected lines and usage (1 app-days)');
    expect(contributions).toBe(0);
    expect(committed[0]).toMatchObject({ status: 'quarantined' });
  });

  it('quarantines an object with more endpoint and organisation entries than the bound; nothing of it counts', async () => {
    const text = ['a', 'b', 'c', 'd'].map((e) => GOOD.replace('GET /x', `GET /${e}`)).join('\n');
    const { deps, written, committed } = setup(text);
    const result = await ingestObject(
      { ...deps, bounds: { ...DEFAULT_BOUNDS, maxEntriesPerObject: 3 } },
      req,
    );
    const reason =
      'more than 3 distinct endpoint and organisation entries in one object (MAX_ENTRIES_PER_OBJECT): split the object or raise the bound, then reprocess it';
    expect(result).toMatchObject({ outcome: 'quarantined', counted: 0, reason });
    expect(JSON.parse(written.get(quarantineKeyFor('logs/big.jsonl', 'v1')) ?? '{}')).toMatchObject({
      reason,
    });
    expect(committed[0]).toMatchObject({ status: 'quarantined', counted: 0 });
  });

  it('reads MAX_REJECTS_FILE_BYTES (default 64 MiB), MAX_APP_DAYS_PER_OBJECT (default 10,000) and MAX_ENTRIES_PER_OBJECT (default 1,000,000)', () => {
    const env = { USAGE_TABLE: 'u', CONTROL_TABLE: 'c', REPORTS_BUCKET: 'r' };
    expect(loadIngestConfig(env).maxRejectsFileBytes).toBe(64 * 1024 ** 2);
    expect(loadIngestConfig({ ...env, MAX_REJECTS_FILE_BYTES: '4096' }).maxRejectsFileBytes).toBe(4096);
    expect(loadIngestConfig(env).bounds?.maxAppDaysPerObject).toBe(10_000);
    expect(loadIngestConfig({ ...env, MAX_APP_DAYS_PER_OBJECT: '7' }).bounds?.maxAppDaysPerObject).toBe(7);
    expect(loadIngestConfig(env).bounds?.maxEntriesPerObject).toBe(1_000_000);
    expect(loadIngestConfig({ ...env, MAX_ENTRIES_PER_OBJECT: '9' }).bounds?.maxEntriesPerObject).toBe(9);
  });
});
