/**
 * The ingest handler's contract with Lambda, with the use case's dependencies faked (no network):
 * SQS batches report only the failed messages, a direct S3 notification fails as a whole, test
 * events and keys outside logs/ do nothing, and configuration fails fast naming what is missing.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../functions/core/log-reader.ts';
import { EMPTY_MATCHER } from '../../../functions/core/recipients.ts';
import { createIngestHandler } from '../../../functions/ingest/create-handler.ts';
import type { ObjectReader, ObjectWriter, UsageLedger } from '../../../functions/ingest/ports.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { ConfigError, loadIngestConfig } from '../../../functions/shared/config.ts';

const body = (text: string): AsyncIterable<Uint8Array> => ({
  async *[Symbol.asyncIterator]() {
    yield Buffer.from(text);
  },
});

/** An in-memory store that records commits; enough for the handler's paths. */
function fakeStore() {
  const manifests = new Map<string, { wid: string; gen: string; seq: string }>();
  const store = {
    getManifest: async (key: string) => manifests.get(key),
    writeContributions: async () => 1,
    indexDataQuality: async () => undefined,
    commit: async (m: { key: string; wid: string; gen: string; seq: string }) => {
      manifests.set(m.key, m);
      return { committed: true, previous: undefined };
    },
    entries: async () => [],
    deleteWrite: async () => [],
    markDaysChanged: async () => undefined,
    finishCleanup: async () => undefined,
  };
  return { store: store as unknown as UsageLedger, manifests };
}

function handler(objects: ObjectReader) {
  const { store, manifests } = fakeStore();
  const writer: ObjectWriter = { put: async () => undefined, putStream: async () => undefined };
  const h = createIngestHandler({
    objects,
    writer,
    store,
    reportsBucket: 'reports',
    registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
    limits: DEFAULT_LIMITS,
    now: () => new Date('2026-11-28T00:00:00Z'),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'ingest' }),
  });
  return { h, manifests };
}

const LINE = '{"timestamp":"2026-11-27T10:00:00Z","app_id":"a","endpoint":"GET /x","status":200}\n';
const objects: ObjectReader = {
  open: async (_bucket, key) => {
    if (key.includes('boom')) throw new Error(`S3 is down for ${key}`);
    return {
      body: body(LINE),
      etag: 'e1',
      versionId: undefined,
      lastModified: undefined,
      size: 10,
      abort: () => undefined,
    };
  },
};

const s3Event = (...keys: string[]) => ({
  Records: keys.map((key) => ({
    eventSource: 'aws:s3',
    eventName: 'ObjectCreated:Put',
    s3: { bucket: { name: 'logs' }, object: { key, eTag: 'e1', sequencer: '01' } },
  })),
});

describe('ingest handler', () => {
  it('reports only the failed SQS messages as batch item failures', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const { h, manifests } = handler(objects);
    const event = {
      Records: [
        { messageId: 'ok-1', eventSource: 'aws:sqs', body: JSON.stringify(s3Event('logs/a+b.jsonl')) },
        { messageId: 'bad-1', eventSource: 'aws:sqs', body: JSON.stringify(s3Event('logs/boom.jsonl')) },
        { messageId: 'test-1', eventSource: 'aws:sqs', body: JSON.stringify({ Event: 's3:TestEvent' }) },
        { messageId: 'bad-2', eventSource: 'aws:sqs', body: 'not json' },
      ],
    };
    const out = await h(event as never, lambdaContext('ingest'));
    const failed = (out as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures;
    expect(failed.map((f) => f.itemIdentifier).sort()).toEqual(['bad-1', 'bad-2']);
    expect([...manifests.keys()]).toEqual(['logs/a b.jsonl']);
  });

  it('fails a direct S3 notification as a whole, so Lambda retries it', async () => {
    const { h } = handler(objects);
    await expect(
      h(s3Event('logs/x.jsonl', 'logs/boom.jsonl') as never, lambdaContext('ingest')),
    ).rejects.toThrow(/S3 is down for logs\/boom.jsonl/);
  });

  it('returns what it made of each object, skipping folder markers and keys outside logs/', async () => {
    const { h } = handler(objects);
    const out = (await h(
      s3Event('logs/x.jsonl', 'logs/dir/', 'elsewhere/y.jsonl') as never,
      lambdaContext('ingest'),
    )) as {
      results: { key: string; outcome: string; counted?: number }[];
    };
    expect(out.results.map((r) => [r.key, r.outcome, r.counted])).toEqual([
      ['logs/x.jsonl', 'ingested', 1],
      ['logs/dir/', 'skipped', undefined],
      ['elsewhere/y.jsonl', 'skipped', undefined],
    ]);
  });
});

describe('ingest handler: SQS batches (issue 8 #6, #14)', () => {
  const sqs = (...keys: string[]) => ({
    Records: keys.map((key, i) => ({
      messageId: `m${i}`,
      eventSource: 'aws:sqs',
      body: JSON.stringify(s3Event(key)),
    })),
  });

  /** A reader that takes a while per object and records how many are open at once. */
  function slowObjects() {
    const state = { open: 0, max: 0, opened: [] as string[] };
    const reader: ObjectReader = {
      open: async (_bucket, key) => {
        state.open++;
        state.max = Math.max(state.max, state.open);
        state.opened.push(key);
        await new Promise((r) => setTimeout(r, 20));
        state.open--;
        if (key.includes('boom')) throw new Error(`S3 is down for ${key}`);
        return {
          body: body(`${LINE}not json\n`),
          etag: 'e1',
          versionId: undefined,
          lastModified: undefined,
          size: 10,
          abort: () => undefined,
        };
      },
    };
    return { reader, state };
  }

  it('processes the records of a batch one at a time', async () => {
    const { reader, state } = slowObjects();
    const { h } = handler(reader);
    const out = await h(
      sqs('logs/1.jsonl', 'logs/2.jsonl', 'logs/3.jsonl', 'logs/4.jsonl') as never,
      lambdaContext('ingest'),
    );
    expect((out as { batchItemFailures: unknown[] }).batchItemFailures).toEqual([]);
    expect(state.opened.length).toBe(4);
    expect(state.max).toBe(1);
  });

  it('leaves the records it has no time to start as batch item failures, without trying them', async () => {
    const { reader, state } = slowObjects();
    const { h } = handler(reader);
    // Each object takes 70 s of the invocation.
    const context = {
      ...lambdaContext('ingest'),
      getRemainingTimeInMillis: () => 130_000 - 70_000 * state.opened.length,
    };
    const out = await h(sqs('logs/1.jsonl', 'logs/2.jsonl', 'logs/3.jsonl') as never, context);
    // 130 s left before the first record, 60 s before the second, -10 s before the third.
    expect(state.opened).toEqual(['logs/1.jsonl', 'logs/2.jsonl']);
    expect((out as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures).toEqual([
      { itemIdentifier: 'm2' },
    ]);
  });

  it('emits RecordFailures, LinesRejected and RejectedLinePercent, and logs a failing record’s key and error', async () => {
    const { reader } = slowObjects();
    const { store } = fakeStore();
    const logger = new Logger({ logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'ingest' });
    const added: [string, number][] = [];
    const errors: unknown[][] = [];
    metrics.addMetric = ((name: string, _unit: unknown, value: number) => {
      added.push([name, value]);
    }) as Metrics['addMetric'];
    logger.error = ((...args: unknown[]) => {
      errors.push(args);
    }) as Logger['error'];
    const h = createIngestHandler({
      objects: reader,
      writer: { put: async () => undefined, putStream: async () => undefined },
      store,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-28T00:00:00Z'),
      logger,
      metrics,
    });
    await h(sqs('logs/ok.jsonl', 'logs/boom.jsonl') as never, lambdaContext('ingest'));
    expect(added).toContainEqual(['RecordFailures', 1]);
    expect(added).toContainEqual(['LinesRejected', 1]);
    expect(added).toContainEqual(['RejectedLinePercent', 50]);
    expect(added).toContainEqual(['Objects_ingested', 1]);
    expect(JSON.stringify(errors)).toContain('logs/boom.jsonl');
    expect(JSON.stringify(errors)).toContain('S3 is down');
  });
});

describe('configuration', () => {
  it('fails fast, naming every missing variable', () => {
    expect(() => loadIngestConfig({ USAGE_TABLE: 'u' })).toThrow(
      new ConfigError('missing environment variables: CONTROL_TABLE, REPORTS_BUCKET'),
    );
    expect(() =>
      loadIngestConfig({ USAGE_TABLE: 'u', CONTROL_TABLE: 'c', REPORTS_BUCKET: 'r', MAX_LINE_BYTES: 'lots' }),
    ).toThrow(/MAX_LINE_BYTES: expected a positive integer, got "lots"/);
    expect(loadIngestConfig({ USAGE_TABLE: 'u', CONTROL_TABLE: 'c', REPORTS_BUCKET: 'r' }).limits).toEqual(
      DEFAULT_LIMITS,
    );
  });
});
