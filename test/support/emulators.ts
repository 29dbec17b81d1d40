/**
 * Emulators for integration tests: s3rver plus dynalite or DynamoDB Local, in a temp folder,
 * with the same tables and buckets as the real stack.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import { DEFAULT_LIMITS } from '../../functions/core/log-reader.ts';
import { compileRegistry } from '../../functions/core/recipients.ts';
import type { RecipientsRegistry } from '../../functions/core/types.ts';
import type { IngestDeps } from '../../functions/ingest/ingest-object.ts';
import {
  type DynamoBackend,
  type Emulators,
  localName,
  startEmulators,
} from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { LOG_BUCKET, REPORTS_BUCKET } from '../../functions/shared/resources.ts';

export const BACKENDS: DynamoBackend[] = ['dynalite', 'local'];

export interface TestBed {
  emulators: Emulators;
  doc: DynamoDBDocumentClient;
  store: UsageStore;
  objects: S3Objects;
  logBucket: string;
  reportsBucket: string;
  usageTable: string;
  deps(overrides?: Partial<IngestDeps>): IngestDeps;
  /** Puts an object in the log bucket; returns its ETag (unquoted). */
  put(key: string, body: string | Uint8Array): Promise<string>;
  /**
   * Deletes an object's manifest with a raw DeleteItem (no role of the stack may do this; tests use
   * it to start a key afresh or to simulate a lost manifest).
   */
  deleteManifest(key: string): Promise<void>;
  /** Every item of the usage table under a partition-key prefix. */
  scan(prefix: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startTestBed(
  backend: DynamoBackend,
  registry: RecipientsRegistry = {},
): Promise<TestBed> {
  const dir = mkdtempSync(join(tmpdir(), `auditor-${backend}-`));
  const emulators = await startEmulators({ dataDir: dir, dynamo: backend });
  const doc = documentClient(emulators.dynamo);
  const usageTable = emulators.env.USAGE_TABLE as string;
  const store = new UsageStore(doc, usageTable);
  const objects = new S3Objects(emulators.s3);
  const logBucket = localName(LOG_BUCKET.id);
  const reportsBucket = localName(REPORTS_BUCKET.id);
  const matcher = compileRegistry(registry);
  return {
    emulators,
    doc,
    store,
    objects,
    logBucket,
    reportsBucket,
    usageTable,
    deps: (overrides = {}) => ({
      objects,
      writer: objects,
      store,
      reportsBucket,
      registry: async () => ({ matcher, hash: 'test' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-28T03:00:00Z'),
      ...overrides,
    }),
    async put(key, body) {
      const out = await emulators.s3.send(new PutObjectCommand({ Bucket: logBucket, Key: key, Body: body }));
      return (out.ETag ?? '').replace(/"/g, '');
    },
    async deleteManifest(key) {
      await doc.send(new DeleteCommand({ TableName: usageTable, Key: { pk: `O#${key}`, sk: 'M' } }));
    },
    async scan(prefix) {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(new ScanCommand({ TableName: usageTable, ExclusiveStartKey: start }));
        for (const i of out.Items ?? []) if (String(i.pk).startsWith(prefix)) items.push(i);
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async stop() {
      await emulators.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A ControlStore on the bed's control table whose client records the name of every DynamoDB
 * command it sends into `commands` (to assert which calls a store makes: the audit role's grants).
 */
export function loggedControlStore(bed: TestBed, commands: string[]): ControlStore {
  const client = new DynamoDBClient({
    endpoint: bed.emulators.env.AUDITOR_DYNAMODB_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'commandLog' },
  );
  return new ControlStore(documentClient(client), bed.emulators.env.CONTROL_TABLE ?? '');
}
