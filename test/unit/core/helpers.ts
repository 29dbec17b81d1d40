/** Helpers for the core reader tests: byte sources cut into chunks, gzip. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { type ReadOptions, type ReadOutcome, readLogObject } from '../../../functions/core/log-reader.ts';
import type { UsageRecord } from '../../../functions/core/record.ts';
import type { RecipientsRegistry } from '../../../functions/core/types.ts';

export const fixture = (name: string): Buffer =>
  readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url)));

export const sampleRegistry = (): RecipientsRegistry =>
  parseYaml(fixture('recipients.yaml').toString('utf8')) as RecipientsRegistry;

/** How to cut a byte string: whole, fixed-size pieces, or at the given offsets. */
export type Chunking = 'whole' | number | number[];

export function cut(data: Buffer, chunking: Chunking): Buffer[] {
  if (chunking === 'whole') return [data];
  const offsets =
    typeof chunking === 'number'
      ? Array.from({ length: Math.ceil(data.length / chunking) - 1 }, (_, i) => (i + 1) * chunking)
      : [...new Set(chunking.filter((o) => o > 0 && o < data.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const o of [...offsets, data.length]) {
    out.push(data.subarray(prev, o));
    prev = o;
  }
  return out;
}

export async function* source(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

export function bytes(data: string | Buffer): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** Read `data` cut into chunks. */
export function read(
  data: string | Buffer,
  options?: ReadOptions,
  chunking: Chunking = 'whole',
): Promise<ReadOutcome> {
  return readLogObject(source(cut(bytes(data), chunking)), options);
}

export const gzip = (data: string | Buffer): Buffer => gzipSync(bytes(data));

/** Narrow an outcome to the ingested/empty shape (fails the test otherwise). */
export function ingested(outcome: ReadOutcome): Extract<ReadOutcome, { usage: unknown }> {
  if (outcome.status === 'quarantined') throw new Error(`unexpectedly quarantined: ${outcome.reason}`);
  return outcome;
}

/** One JSON line from a record. */
export const jl = (o: Record<string, unknown>): string => JSON.stringify(o);

/** A valid JSON record, with overrides (undefined removes a field). */
export function rec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    timestamp: '2026-11-27T10:00:00Z',
    app_id: 'app-1',
    endpoint: 'GET /2/users/by',
    status: 200,
    records: 1,
    bytes: 10,
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

/**
 * A fast path's record with its request_id as the general path holds it (a string in `requestId`,
 * no byte range): the fast paths point at the request_id's bytes in `line` instead.
 */
export function withRequestId(rec: UsageRecord, line: Buffer): UsageRecord {
  const requestId = rec.ridStart >= 0 ? line.toString('utf8', rec.ridStart, rec.ridEnd) : rec.requestId;
  return { ...rec, ridStart: -1, ridEnd: -1, requestId };
}
