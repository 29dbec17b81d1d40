/**
 * The results of a split report date's parts (audit/parts.ts), in the control table:
 *
 *   part result  pk AUDIT_PART#<date>  sk <part, 5 digits>#<chunk, 6 digits>
 *                { run, chunk, tokens, done (JSON), written (JSON), complete? }
 *
 * Overwritten by the next run's parts of the same date and part number (PutItem only), so the
 * table holds at most the records of one run per date and part; the join takes its own run's.
 * One record stays under 400 KB (parts.ts RECORD_BYTES of results).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PartRecord, PartResults } from '../audit/ports.ts';
import { queryPartition } from './dynamo-batch.ts';

const pkOf = (date: string) => `AUDIT_PART#${date}`;
const partKey = (part: number) => String(part).padStart(5, '0');

export class PartResultStore implements PartResults {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(date: string, part: number, chunk: number, record: PartRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: pkOf(date),
          sk: `${partKey(part)}#${String(chunk).padStart(6, '0')}`,
          run: record.run,
          chunk: record.chunk,
          tokens: record.tokens,
          done: JSON.stringify(record.done),
          written: JSON.stringify(record.written),
          ...(record.complete ? { complete: record.complete } : {}),
        },
      }),
    );
  }

  async get(date: string, part: number): Promise<PartRecord[]> {
    const out: PartRecord[] = [];
    const key = `${partKey(part)}#`;
    for await (const item of queryPartition(this.doc, this.table, pkOf(date), { from: key, to: key })) {
      const complete = item.complete as { records?: unknown; findings?: unknown } | undefined;
      out.push({
        run: String(item.run),
        chunk: Number(item.chunk),
        tokens: String(item.tokens),
        done: JSON.parse(String(item.done)) as PartRecord['done'],
        written: JSON.parse(String(item.written)) as PartRecord['written'],
        ...(complete
          ? { complete: { records: Number(complete.records), findings: Number(complete.findings) } }
          : {}),
      });
    }
    return out;
  }
}

/** The same records in memory (tests; a process that keeps its parts' results to itself). */
export class MemoryPartResults implements PartResults {
  readonly records = new Map<string, PartRecord>();

  async put(date: string, part: number, chunk: number, record: PartRecord): Promise<void> {
    this.records.set(`${date}#${partKey(part)}#${String(chunk).padStart(6, '0')}`, structuredClone(record));
  }

  async get(date: string, part: number): Promise<PartRecord[]> {
    const prefix = `${date}#${partKey(part)}#`;
    return [...this.records]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, r]) => structuredClone(r));
  }
}
