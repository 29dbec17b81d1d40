/**
 * The control table's pending evidence writes (audit/pending-evidence.ts), PutItem and Query only:
 *
 *   pending   pk PENDING  sk <date>#<file name>#<sha256>  { gen }   an evidence file about to be
 *             written with that sha256, under the date's generation when it was recorded
 *   settled   pk PENDING  sk <date>                        { gen }   the date's current generation:
 *             a new random one each time the date's manifest is written (settlePending), which
 *             supersedes every pending item recorded before (no DeleteItem needed)
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { queryPartition } from './dynamo-batch.ts';

const PENDING_PK = 'PENDING';

async function generation(doc: DynamoDBDocumentClient, table: string, date: string): Promise<string> {
  const out = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND sk = :sk',
      ExpressionAttributeValues: { ':pk': PENDING_PK, ':sk': date },
      ConsistentRead: true,
    }),
  );
  return String(out.Items?.[0]?.gen ?? '');
}

export async function putPending(
  doc: DynamoDBDocumentClient,
  table: string,
  date: string,
  name: string,
  sha256: string,
): Promise<void> {
  const gen = await generation(doc, table, date);
  await doc.send(
    new PutCommand({ TableName: table, Item: { pk: PENDING_PK, sk: `${date}#${name}#${sha256}`, gen } }),
  );
}

export async function pendingOf(
  doc: DynamoDBDocumentClient,
  table: string,
  date: string,
): Promise<Map<string, Set<string>>> {
  let gen = '';
  const items: { sk: string; gen: string }[] = [];
  for await (const item of queryPartition(doc, table, PENDING_PK, { from: date, to: date })) {
    if (item.sk === date) gen = String(item.gen ?? '');
    else items.push({ sk: String(item.sk), gen: String(item.gen ?? '') });
  }
  const out = new Map<string, Set<string>>();
  for (const { sk, gen: g } of items) {
    if (g !== gen || !sk.startsWith(`${date}#`)) continue;
    const rest = sk.slice(date.length + 1);
    const i = rest.lastIndexOf('#');
    const name = rest.slice(0, i);
    out.set(name, (out.get(name) ?? new Set()).add(rest.slice(i + 1)));
  }
  return out;
}

export async function settlePending(doc: DynamoDBDocumentClient, table: string, date: string): Promise<void> {
  await doc.send(new PutCommand({ TableName: table, Item: { pk: PENDING_PK, sk: date, gen: randomUUID() } }));
}
