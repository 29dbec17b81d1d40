/**
 * BatchWriteItem / BatchGetItem with the retries DynamoDB asks for: UnprocessedItems and
 * UnprocessedKeys are sent again with exponential backoff and full jitter, and throttling errors
 * are retried the same way (on top of the SDK's own retries). Give up after `maxAttempts`, with an
 * error that says how many items were left.
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';

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

export function backoff(policy: RetryPolicy, attempt: number): number {
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

/**
 * Sends `batch`, then whatever `send` reports as left over, with backoff, until nothing is left.
 * Throttling errors count as a try; other errors are thrown as they are.
 */
async function untilDone<T>(
  leftOver: (n: number) => string,
  batch: T[],
  policy: RetryPolicy,
  send: (pending: T[]) => Promise<T[]>,
): Promise<void> {
  let pending = batch;
  for (let attempt = 0; ; attempt++) {
    try {
      pending = await send(pending);
      if (pending.length === 0) return;
    } catch (err) {
      if (!isThrottle(err)) throw err;
    }
    if (attempt + 1 >= policy.maxAttempts) {
      throw new Error(`${leftOver(pending.length)} still unprocessed after ${policy.maxAttempts} attempts`);
    }
    await policy.sleep(backoff(policy, attempt));
  }
}

/** Writes all requests (25 per call, `concurrency` calls at once). */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy = DEFAULT_RETRY,
  concurrency = 4,
): Promise<void> {
  await mapLimit(chunk(requests, 25), concurrency, (batch) =>
    untilDone(
      (n) => `BatchWriteItem on ${table}: ${n} item(s)`,
      batch,
      policy,
      async (pending) => {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        return (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
      },
    ),
  );
}

/** Reads all keys (100 per call); returns the items found, in no particular order. */
export async function batchGet(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  policy: RetryPolicy = DEFAULT_RETRY,
  concurrency = 4,
  /** Only these attributes (document paths such as `ev.k` allowed); every attribute when absent. */
  projection?: readonly string[],
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  const only = projectionOf(projection);
  await mapLimit(chunk(keys, 100), concurrency, (batch) =>
    untilDone(
      (n) => `BatchGetItem on ${table}: ${n} key(s)`,
      batch,
      policy,
      async (pending) => {
        const out = await doc.send(
          new BatchGetCommand({
            RequestItems: { [table]: { Keys: pending, ConsistentRead: true, ...only } },
          }),
        );
        found.push(...((out.Responses?.[table] ?? []) as Record<string, unknown>[]));
        return (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
      },
    ),
  );
  return found;
}

/**
 * A ProjectionExpression and its names for attributes or document paths (`ev.k`: attribute ev's
 * member k), every name through a placeholder (reserved words such as `day` and `of` are fine).
 */
export function projectionOf(
  paths: readonly string[] | undefined,
):
  | { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> }
  | Record<string, never> {
  if (!paths) return {};
  const names = new Map<string, string>();
  const nameOf = (n: string) => {
    let placeholder = names.get(n);
    if (placeholder === undefined) {
      placeholder = `#p${names.size}`;
      names.set(n, placeholder);
    }
    return placeholder;
  };
  const expression = paths.map((p) => p.split('.').map(nameOf).join('.')).join(', ');
  return {
    ProjectionExpression: expression,
    ExpressionAttributeNames: Object.fromEntries([...names].map(([n, ph]) => [ph, n])),
  };
}

/**
 * Every item of partition `pk` (with a sort key from `range.from` to anything starting with
 * `range.to`), page by page, read consistently; with `projection`, only those attributes.
 */
export async function* queryPartition(
  doc: DynamoDBDocumentClient,
  table: string,
  pk: string,
  range?: { from: string; to: string },
  projection?: readonly string[],
): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined;
  const only = projectionOf(projection);
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: range ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk',
        ExpressionAttributeValues: range
          ? { ':pk': pk, ':from': range.from, ':to': `${range.to}\uffff` }
          : { ':pk': pk },
        ExclusiveStartKey: start,
        ConsistentRead: true,
        ...only,
      }),
    );
    yield* out.Items ?? [];
    start = out.LastEvaluatedKey;
  } while (start);
}
