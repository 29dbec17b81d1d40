/**
 * DynamoDB control table: the recipients registry (and, with the audit slice, agreements and audit
 * bookkeeping).
 *
 *   registry   pk REGISTRY    sk current       { registry, hash }
 *   agreement  pk AGREEMENT   sk <licensee>    { agreement }
 */
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RecipientsRegistry } from '../core/types.ts';

export interface StoredRegistry {
  registry: RecipientsRegistry;
  /** sha256 of the canonical JSON of the registry; "empty" when none is loaded. */
  hash: string;
}

/** The part of an agreement the store itself relies on (the full shape: core/audit/agreements.ts). */
export interface StoredAgreement {
  licensee: string;
  apps: { id: string; use_case: string | null }[];
}

export const EMPTY_REGISTRY: StoredRegistry = { registry: {}, hash: 'empty' };

export function registryHash(registry: RecipientsRegistry): string {
  const canonical = Object.keys(registry)
    .sort()
    .map((c) => {
      const e = registry[c] ?? { cidrs: [], organisations: [] };
      return [c, [...e.cidrs].sort(), [...e.organisations].sort()];
    });
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

export class ControlStore {
  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly table: string,
  ) {}

  async getRegistry(): Promise<StoredRegistry> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: 'REGISTRY', sk: 'current' }, ConsistentRead: true }),
    );
    if (!out.Item) return EMPTY_REGISTRY;
    return { registry: out.Item.registry as RecipientsRegistry, hash: out.Item.hash as string };
  }

  async putRegistry(registry: RecipientsRegistry): Promise<StoredRegistry> {
    const stored = { registry, hash: registryHash(registry) };
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: 'REGISTRY', sk: 'current', ...stored } }));
    return stored;
  }

  async getAgreement(licensee: string): Promise<StoredAgreement | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: 'AGREEMENT', sk: licensee }, ConsistentRead: true }),
    );
    return out.Item?.agreement as StoredAgreement | undefined;
  }

  async listAgreements(): Promise<StoredAgreement[]> {
    const out: StoredAgreement[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'AGREEMENT' },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) out.push(item.agreement as StoredAgreement);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
