/**
 * The reader's bounds as the ingest use case and handler consume them (issue 8): the rejects file
 * is the same, line for line, when the rejects are spilled; the deadline the handler derives from
 * the Lambda context quarantines an object it cannot finish; nothing of it counts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, readLogObject } from '../../../functions/core/log-reader.ts';
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
