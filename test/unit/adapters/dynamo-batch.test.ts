import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  batchGet,
  batchWrite,
  projectionOf,
  type RetryPolicy,
  type WriteRequest,
} from '../../../functions/adapters/dynamo-batch.ts';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const ddb = mockClient(doc);

function policy(): RetryPolicy & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    maxAttempts: 5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    sleeps,
  };
}

const puts = (n: number): WriteRequest[] =>
  Array.from({ length: n }, (_, i) => ({ PutRequest: { Item: { pk: `p${i}`, sk: 's' } } }));

function throttle(): Error {
  const err = new Error('Rate exceeded');
  err.name = 'ProvisionedThroughputExceededException';
  return err;
}

beforeEach(() => ddb.reset());

describe('batchWrite', () => {
  it('sends 25 items per call and resends UnprocessedItems with growing backoff', async () => {
    const p = policy();
    const items = puts(30);
    const leftover = items.slice(0, 2);
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { t: leftover } })
      .resolvesOnce({ UnprocessedItems: { t: leftover.slice(0, 1) } })
      .resolves({});
    await batchWrite(doc, 't', items, p, 1);
    const calls = ddb.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.t?.length);
    expect(calls).toEqual([25, 2, 1, 5]);
    expect(p.sleeps).toEqual([50, 100]);
  });

  it('retries throttling errors, then succeeds', async () => {
    const p = policy();
    ddb.on(BatchWriteCommand).rejectsOnce(throttle()).resolves({});
    await batchWrite(doc, 't', puts(3), p);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(2);
    expect(p.sleeps).toHaveLength(1);
  });

  it('gives up after maxAttempts, saying how many items are left', async () => {
    const items = puts(4);
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { t: items.slice(0, 3) } });
    await expect(batchWrite(doc, 't', items, policy())).rejects.toThrow(
      /3 item\(s\) still unprocessed after 5 attempts/,
    );
  });

  it('does not retry errors that are not throttling', async () => {
    const err = new Error('bad item');
    err.name = 'ValidationException';
    ddb.on(BatchWriteCommand).rejects(err);
    await expect(batchWrite(doc, 't', puts(1), policy())).rejects.toThrow('bad item');
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(1);
  });
});

describe('batchGet', () => {
  it('collects responses and re-asks for UnprocessedKeys', async () => {
    const p = policy();
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { t: [{ pk: 'a' }] },
        UnprocessedKeys: { t: { Keys: [{ pk: 'b', sk: 'M' }] } },
      })
      .resolves({ Responses: { t: [{ pk: 'b' }] } });
    const found = await batchGet(
      doc,
      't',
      [
        { pk: 'a', sk: 'M' },
        { pk: 'b', sk: 'M' },
      ],
      p,
    );
    expect(found.map((f) => f.pk).sort()).toEqual(['a', 'b']);
    expect(p.sleeps).toHaveLength(1);
  });
});

describe('projectionOf', () => {
  it('names every attribute through a placeholder, a document path part by part, each name once', () => {
    expect(projectionOf(['pk', 'day', 'ev.k', 'ev.d'])).toEqual({
      ProjectionExpression: '#p0, #p1, #p2.#p3, #p2.#p4',
      ExpressionAttributeNames: { '#p0': 'pk', '#p1': 'day', '#p2': 'ev', '#p3': 'k', '#p4': 'd' },
    });
  });
  it('projects nothing when no attributes are given', () => {
    expect(projectionOf(undefined)).toEqual({});
  });
});
