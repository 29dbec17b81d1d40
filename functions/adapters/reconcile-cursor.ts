/**
 * The scheduled reconcile's listing position (ports.ts ListingCursor), one item in the usage table
 * (the reconcile function already reads and writes it; no new permission):
 *
 *   reconcile cursor  pk RECONCILE  sk listing  { after: <last key looked at>, savedAt }
 *
 * `after` absent: the last run listed `logs/` to its end, the next starts from the beginning.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ListingCursor } from '../ingest/ports.ts';

const KEY = { pk: 'RECONCILE', sk: 'listing' } as const;

export class UsageTableListingCursor implements ListingCursor {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async load(): Promise<string | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: KEY, ConsistentRead: true }),
    );
    const after = out.Item?.after;
    return typeof after === 'string' ? after : undefined;
  }

  async save(after: string | undefined): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...KEY, ...(after !== undefined ? { after } : {}), savedAt: this.now().toISOString() },
      }),
    );
  }
}
