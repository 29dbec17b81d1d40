/**
 * The measurements that run in a child process of their own (so each one's peak RSS is its own,
 * and no case warms up the next): `runChild(mode, args)` forks this file, which runs the mode and
 * sends back its result.
 *
 *   read FILE          readLogObject on FILE (the generator's recipients registry)
 *   floor FILE         gunzip + finding every line break, nothing parsed: what any reader pays
 *   duckdb FILE        DuckDB, one thread, read_json + GROUP BY app, UTC day, endpoint
 *   ddb-writes FILE…   the local stack ingests each FILE; DynamoDB requests counted by operation
 */
import { fork } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { EVIDENCE_LINES } from '../../functions/core/evidence.ts';
import { readLogObject } from '../../functions/core/log-reader.ts';
import { GUNZIP_OPTIONS } from '../../functions/core/reader/decompress.ts';
import { compileRegistry } from '../../functions/core/recipients.ts';
import { GENERATOR_RECIPIENTS } from '../support/log-generator.ts';

const HIGH_WATER_MARK = 256 * 1024;

/** Totals that a correct reading of a generated file must reproduce. */
export interface Totals {
  requests: number;
  records: number;
}

export interface Timed {
  seconds: number;
  /** CPU time of the whole process (all its threads: zlib's, DuckDB's) over the same span. */
  cpuSeconds: number;
  maxRssMB: number;
}

export interface ReadResult extends Timed, Totals {
  status: string;
  lines: number;
  counted: number;
  rejected: number;
}

export interface FloorResult extends Timed {
  lines: number;
  bytes: number;
}

export interface DuckResult extends Timed, Totals {
  rows: number;
  apps: number;
  days: number;
}

export interface DdbWritesResult extends Timed, Totals {
  objects: number;
  /** HTTP requests dynalite received during the ingest, by DynamoDB operation. */
  requestsByOp: Record<string, number>;
  /** Items written: 1 per PutItem/UpdateItem/DeleteItem, the entries of each BatchWriteItem/TransactWriteItems. */
  writeItems: number;
  outcomes: string[];
}

const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export function writeRequests(byOp: Record<string, number>): number {
  return Object.entries(byOp).reduce((s, [op, n]) => s + (WRITE_OPS.has(op) ? n : 0), 0);
}

/** Wall and CPU time since the call. CPU time hardly depends on what else the machine runs. */
function stopwatch(): () => { seconds: number; cpuSeconds: number } {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      seconds: Number(process.hrtime.bigint() - wall) / 1e9,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  };
}
const maxRssMB = (): number => process.resourceUsage().maxRSS / 1024;

async function read([file = '']: string[]): Promise<ReadResult> {
  const stop = stopwatch();
  const outcome = await readLogObject(createReadStream(file, { highWaterMark: HIGH_WATER_MARK }), {
    matcher: compileRegistry(GENERATOR_RECIPIENTS),
    evidenceLines: EVIDENCE_LINES,
  });
  const time = stop();
  const ok = outcome.status !== 'quarantined';
  return {
    status: outcome.status,
    lines: outcome.lines,
    counted: ok ? outcome.counted : 0,
    rejected: ok ? outcome.rejected : 0,
    requests: ok ? outcome.usage.reduce((s, u) => s + u.requests, 0) : 0,
    records: ok ? outcome.usage.reduce((s, u) => s + u.records, 0) : 0,
    ...time,
    maxRssMB: maxRssMB(),
  };
}

async function floor([file = '']: string[]): Promise<FloorResult> {
  const stop = stopwatch();
  let lines = 0;
  let bytes = 0;
  let tail = 0; // bytes after the last line break
  // The reader's own gunzip settings: the floor is what the reader's decompression costs.
  const gunzip = createGunzip(GUNZIP_OPTIONS);
  for await (const chunk of createReadStream(file, { highWaterMark: HIGH_WATER_MARK }).pipe(gunzip)) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    let from = 0;
    for (let nl = buf.indexOf(10, from); nl !== -1; nl = buf.indexOf(10, from)) {
      lines++;
      from = nl + 1;
    }
    tail = from === 0 ? tail + buf.length : buf.length - from;
  }
  if (tail > 0) lines++;
  return { lines, bytes, ...stop(), maxRssMB: maxRssMB() };
}

/**
 * DuckDB's SQL for the same aggregate as the reader (app × UTC day × endpoint, app ids checked
 * against the reader's pattern); run on one thread.
 */
export function duckSql(file: string): string {
  return `
WITH src AS (
  SELECT * FROM read_json('${file.replace(/'/g, "''")}', format = 'newline_delimited', ignore_errors = true,
    columns = {timestamp: 'VARCHAR', app_id: 'VARCHAR', endpoint: 'VARCHAR', status: 'INTEGER',
               records: 'BIGINT', bytes: 'BIGINT'})
), dated AS (
  SELECT app_id, endpoint, status, records, bytes,
    CASE WHEN regexp_full_match(timestamp, '[0-9]+') THEN make_timestamp(timestamp::BIGINT * 1000)::DATE
         ELSE TRY_CAST(timestamp AS TIMESTAMPTZ)::DATE END AS day
  FROM src
)
SELECT app_id, day::VARCHAR AS day, endpoint, count(*)::BIGINT AS requests,
  sum(coalesce(records, 0))::BIGINT AS records, sum(bytes)::BIGINT AS bytes,
  count(*) FILTER (WHERE status >= 400)::BIGINT AS errors
FROM dated WHERE regexp_full_match(app_id, '[A-Za-z0-9._:-]{1,128}') AND day IS NOT NULL
GROUP BY ALL`;
}

async function duckdb([file = '']: string[]): Promise<DuckResult> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run('SET threads = 1');
  await conn.run("SET TimeZone = 'UTC'");
  const stop = stopwatch();
  const rows = (await conn.runAndReadAll(duckSql(file))).getRowObjects();
  const time = stop();
  conn.closeSync();
  return {
    rows: rows.length,
    apps: new Set(rows.map((r) => r.app_id)).size,
    days: new Set(rows.map((r) => r.day)).size,
    requests: rows.reduce((s, r) => s + Number(r.requests), 0),
    records: rows.reduce((s, r) => s + Number(r.records), 0),
    ...time,
    maxRssMB: maxRssMB(),
  };
}

/**
 * Counts what reaches dynalite (in this process) through Node's `http.server.request.start`
 * diagnostics channel: one count per HTTP request by its X-Amz-Target operation (retries
 * included), and the items of batch and transactional writes from a copy of the request body.
 */
function countDynamoRequests(): { byOp: Record<string, number>; items: () => number; stop(): void } {
  const byOp: Record<string, number> = {};
  let items = 0;
  const channel = diagnostics.channel('http.server.request.start');
  const onRequest = (message: unknown): void => {
    const req = (message as { request: IncomingMessage }).request;
    const target = req.headers['x-amz-target'];
    if (typeof target !== 'string' || !target.startsWith('DynamoDB_')) return;
    const op = target.slice(target.indexOf('.') + 1);
    byOp[op] = (byOp[op] ?? 0) + 1;
    if (op === 'PutItem' || op === 'UpdateItem' || op === 'DeleteItem') items++;
    if (op !== 'BatchWriteItem' && op !== 'TransactWriteItems') return;
    // dynalite attaches its own listeners in the same tick, before any data flows.
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
        RequestItems?: Record<string, unknown[]>;
        TransactItems?: unknown[];
      };
      if (body.TransactItems) items += body.TransactItems.length;
      for (const list of Object.values(body.RequestItems ?? {})) items += list.length;
    });
  };
  channel.subscribe(onRequest);
  return { byOp, items: () => items, stop: () => channel.unsubscribe(onRequest) };
}

async function ddbWrites(files: string[]): Promise<DdbWritesResult> {
  // Loaded here only: the reader's children stay free of the SDK and the emulators (peak RSS).
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { ControlStore } = await import('../../functions/adapters/control-store.ts');
  const { UsageStore } = await import('../../functions/adapters/usage-store.ts');
  const { startLocalStack } = await import('../../functions/local/stack.ts');
  const { documentClient } = await import('../../functions/shared/clients.ts');
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-ddb-writes-'));
  const stack = await startLocalStack({ dataDir, logLevel: 'SILENT' });
  try {
    const doc = documentClient(stack.dynamo);
    await new ControlStore(doc, stack.env.CONTROL_TABLE as string).putRegistry(GENERATOR_RECIPIENTS);
    const counter = countDynamoRequests();
    const stop = stopwatch();
    for (const [i, file] of files.entries()) {
      await stack.s3.send(
        new PutObjectCommand({
          Bucket: stack.logBucket,
          Key: `logs/bench/${i}-${basename(file)}`,
          Body: createReadStream(file),
          ContentLength: statSync(file).size,
        }),
      );
      await stack.drain(); // one object at a time: its requests are its own
    }
    const time = stop();
    counter.stop();
    const errors = stack.takeErrors();
    if (errors.length) throw errors[0]?.error;
    const rows = await new UsageStore(doc, stack.env.USAGE_TABLE as string).queryUsage({
      from: '2026-11-01',
      to: '2026-11-30',
    });
    return {
      objects: files.length,
      requestsByOp: counter.byOp,
      writeItems: counter.items(),
      outcomes: [...stack.results.values()].map((r) => r.outcome),
      requests: rows.reduce((s, r) => s + r.requests, 0),
      records: rows.reduce((s, r) => s + r.records, 0),
      ...time,
      maxRssMB: maxRssMB(),
    };
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const MODES = { read, floor, duckdb, 'ddb-writes': ddbWrites } as const;
type Modes = typeof MODES;
type ModeResult<M extends keyof Modes> = Awaited<ReturnType<Modes[M]>>;

/** Runs one measurement in a fresh child process (with this process's tsx loader). */
export function runChild<M extends keyof Modes>(mode: M, args: string[]): Promise<ModeResult<M>> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', mode, ...args], {
      execArgv: process.execArgv,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let result: ModeResult<M> | undefined;
    proc.on('message', (m) => {
      result = m as ModeResult<M>;
    });
    proc.on('error', reject);
    proc.on('exit', (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`bench child ${mode} exited with ${code}`)),
    );
  });
}

if (process.argv[2] === '--child') {
  const mode = process.argv[3] as keyof Modes;
  const args = process.argv.slice(4);
  const result = await MODES[mode](args);
  process.send?.(result, () => process.exit(0));
}
