/**
 * The control table's finding-event items (functions/audit/finding-events.ts), next to the items
 * of control-store.ts, with PutItem and Query only (the audit role's grants on the table):
 *
 *   head    pk EVENTS_HEAD        sk <YYYY-MM>        { date }   newest report date of the month compared
 *   state   pk FINDING#<YYYY-MM>  sk <finding_id>     { status, version, line }   as last published
 *   outbox  pk OUTBOX#<YYYY-MM>   sk <kind>#<id>      { kind, id, report_date, recorded_at, status,
 *                                                       sent_to, sent_at?, event? | digest? }
 *           event ids are `<finding_id>.v<version>`, so one change is one row; a row is put with
 *           `attribute_not_exists(pk) OR #status = pending`: never over a row already sent.
 *
 * The month is that of the report date. Leases (events#YYYY-MM) are ControlStore's.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { FindingEventStore, OutboxRow } from '../audit/ports.ts';
import type { FindingLine, FindingState } from '../core/audit/events.ts';
import { ControlStore } from './control-store.ts';
import { mapLimit, queryPartition } from './dynamo-batch.ts';

const HEAD_PK = 'EVENTS_HEAD';
const statePk = (month: string): string => `FINDING#${month}`;
const outboxPk = (month: string): string => `OUTBOX#${month}`;

const isConditionFailure = (err: unknown): boolean =>
  (err as { name?: string }).name === 'ConditionalCheckFailedException';

export class FindingEventTable extends ControlStore implements FindingEventStore {
  private put(
    item: Record<string, unknown>,
    condition?: Omit<ConstructorParameters<typeof PutCommand>[0], 'TableName' | 'Item'>,
  ) {
    return this.doc.send(new PutCommand({ TableName: this.table, Item: item, ...condition }));
  }

  async eventsHead(month: string): Promise<string | undefined> {
    for await (const item of queryPartition(this.doc, this.table, HEAD_PK, { from: month, to: month }))
      if (item.sk === month) return item.date as string;
    return undefined;
  }

  async setEventsHead(month: string, date: string): Promise<void> {
    await this.put({ pk: HEAD_PK, sk: month, date });
  }

  async findingStates(month: string): Promise<FindingState[]> {
    const out: FindingState[] = [];
    for await (const item of queryPartition(this.doc, this.table, statePk(month)))
      out.push({
        finding_id: item.sk as string,
        status: item.status === 'resolved' ? 'resolved' : 'open',
        version: Number(item.version),
        line: item.line as FindingLine,
      });
    return out;
  }

  async putFindingStates(month: string, states: readonly FindingState[]): Promise<void> {
    await mapLimit(states, 4, (s) =>
      this.put({ pk: statePk(month), sk: s.finding_id, status: s.status, version: s.version, line: s.line }),
    );
  }

  async putOutbox(month: string, rows: readonly OutboxRow[]): Promise<void> {
    await mapLimit(rows, 4, async (row) => {
      try {
        await this.put(
          { pk: outboxPk(month), sk: `${row.kind}#${row.id}`, ...row },
          {
            ConditionExpression: 'attribute_not_exists(pk) OR #status IN (:pending, :superseded)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':pending': 'pending', ':superseded': 'superseded' },
          },
        );
      } catch (err) {
        // Already sent: that change was delivered before; it is not sent again.
        if (!isConditionFailure(err)) throw err;
      }
    });
  }

  async outbox(month: string): Promise<OutboxRow[]> {
    const out: OutboxRow[] = [];
    for await (const item of queryPartition(this.doc, this.table, outboxPk(month))) {
      const { pk: _pk, sk: _sk, ...row } = item;
      out.push(row as unknown as OutboxRow);
    }
    return out;
  }

  async markOutbox(month: string, row: OutboxRow): Promise<void> {
    await this.put({ pk: outboxPk(month), sk: `${row.kind}#${row.id}`, ...row });
  }
}
