/**
 * BatchWriteItem / BatchGetItem with the retries DynamoDB asks for: UnprocessedItems and
 * UnprocessedKeys are sent again with exponential backoff and full jitter, and throttling errors
 * are retried the same way (on top of the SDK's own retries). Give up after `maxAttempts`, with an
 * error that says how many items were left.
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  random: Math.random,
};

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

function isThrottle(err: unknown): boolean {
  return err instanceof Error && THROTTLING.has(err.name);
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(policy.random() * cap);
}

export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Writes all requests (25 per call, `concurrency` calls at once). */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy = DEFAULT_RETRY,
  concurrency = 4,
): Promise<void> {
  await mapLimit(chunk(requests, 25), concurrency, async (batch) => {
    let pending: WriteRequest[] = batch;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
        if (pending.length === 0) return;
      } catch (err) {
        if (!isThrottle(err)) throw err;
      }
      if (attempt + 1 >= policy.maxAttempts) {
        throw new Error(
          `BatchWriteItem on ${table}: ${pending.length} item(s) still unprocessed after ${policy.maxAttempts} attempts`,
        );
      }
      await policy.sleep(backoff(policy, attempt));
    }
  });
}

/** Reads all keys (100 per call); returns the items found, in no particular order. */
export async function batchGet(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  policy: RetryPolicy = DEFAULT_RETRY,
  concurrency = 4,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  await mapLimit(chunk(keys, 100), concurrency, async (batch) => {
    let pending: Record<string, unknown>[] = batch;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await doc.send(
          new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
        );
        found.push(...((out.Responses?.[table] ?? []) as Record<string, unknown>[]));
        pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
        if (pending.length === 0) return;
      } catch (err) {
        if (!isThrottle(err)) throw err;
      }
      if (attempt + 1 >= policy.maxAttempts) {
        throw new Error(
          `BatchGetItem on ${table}: ${pending.length} key(s) still unprocessed after ${policy.maxAttempts} attempts`,
        );
      }
      await policy.sleep(backoff(policy, attempt));
    }
  });
  return found;
}
