/**
 * The artefacts that are deployed, run: the esbuild bundles that `cdk synth` produces for both
 * functions are loaded (as Lambda loads index.mjs) and invoked against the emulators. This
 * catches what only shows in a bundle (module format, lazily required SDK parts, missing files).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import { type Emulators, encodeS3Key, lambdaContext, startEmulators } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { AUDIT_FUNCTION, INGEST_FUNCTION } from '../../functions/shared/resources.ts';
import { logicalId, synth } from '../infra/helpers.ts';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const dir = mkdtempSync(join(tmpdir(), 'auditor-bundles-'));
let emulators: Emulators;
const handlers: Record<string, Handler> = {};

beforeAll(async () => {
  const s = synth({ bundle: true });
  emulators = await startEmulators({ dataDir: join(dir, 'state'), logLevel: 'SILENT' });
  // What Lambda would set (table and bucket names), pointed at the emulators.
  Object.assign(process.env, emulators.env);
  for (const fn of [INGEST_FUNCTION, AUDIT_FUNCTION]) {
    const resource = s.template.toJSON().Resources[logicalId(s.template, 'AWS::Lambda::Function', fn.id)];
    const file = join(s.outdir, resource.Metadata['aws:asset:path'] as string, 'index.mjs');
    handlers[fn.id] = ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler;
  }
  rmSync(s.outdir, { recursive: true, force: true });
}, 180_000);

afterAll(async () => {
  await emulators?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the deployed bundles', () => {
  it('ingest: an SQS-wrapped S3 notification becomes usage', async () => {
    const key = 'logs/bundle/drop 1.jsonl';
    const line = {
      timestamp: '2026-11-26T10:00:00Z',
      app_id: 'bundle-app',
      endpoint: 'GET /x',
      status: 200,
      records: 9,
    };
    const put = await emulators.s3.send(
      new PutObjectCommand({ Bucket: emulators.env.LOG_BUCKET, Key: key, Body: `${JSON.stringify(line)}\n` }),
    );
    const notification = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: emulators.env.LOG_BUCKET },
            object: { key: encodeS3Key(key), eTag: put.ETag?.replace(/"/g, ''), sequencer: '0A1B' },
          },
        },
      ],
    };
    const out = await handlers[INGEST_FUNCTION.id]?.(
      { Records: [{ messageId: 'm1', eventSource: 'aws:sqs', body: JSON.stringify(notification) }] },
      lambdaContext('ingest'),
    );
    expect(out).toEqual({ batchItemFailures: [] });
    const rows = await new UsageStore(
      documentClient(emulators.dynamo),
      emulators.env.USAGE_TABLE as string,
    ).queryUsage({
      from: '2026-11-26',
      to: '2026-11-26',
    });
    expect(rows.map((r) => [r.app, r.requests, r.records])).toEqual([['bundle-app', 1, 9]]);
  });

  it('audit: an on-demand date writes its report', async () => {
    const out = (await handlers[AUDIT_FUNCTION.id]?.({ date: '2026-11-26' }, lambdaContext('audit'))) as {
      reports: { date: string; written: boolean }[];
    };
    expect(out.reports).toEqual([{ date: '2026-11-26', findings: 1, written: true }]);
    const reports = new ReportStore(new S3Objects(emulators.s3), emulators.env.REPORTS_BUCKET as string);
    expect(await reports.latest()).toBe('2026-11-26');
    expect(await reports.readFile('2026-11-26', 'findings.jsonl')).toContain('"unknown_app"');
  });
});
