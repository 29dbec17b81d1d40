/**
 * The plans and results of a split report date's parts (audit/parts.ts, audit/fan-out.ts), in the
 * control table:
 *
 *   part result  pk AUDIT_PART#<date>  sk <part, 5 digits>#<chunk, 6 digits>
 *                { run, chunk, tokens, done (JSON), written (JSON), complete?, deleteAfter }
 *   part plan    pk AUDIT_PART#<date>  sk PLAN#<run>   { run, parts (JSON: PartPlan[]), deleteAfter }
 *
 * A result is overwritten by the next run's parts of the same date and part number (PutItem only),
 * so the join takes its own run's; a plan is the run's own (a retried plan step stores its plan
 * under its new run id). Both are transient: `deleteAfter` (the table's TTL attribute, epoch
 * seconds) lets DynamoDB remove them PART_RECORD_DAYS after their write, longer than an execution
 * may run (at most 7 days). One that is gone costs at most a rewrite of an unchanged evidence file
 * (its sha256 is no longer known). One record stays under 400 KB (parts.ts RECORD_BYTES of
 * results; a plan holds at most MAX_DATE_PARTS parts, each under 200 bytes).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PartRecord, PartResults } from '../audit/ports.ts';
import type { PartPlan } from '../core/audit-parts.ts';
import { CONTROL_TABLE } from '../shared/resources.ts';
import { queryPartition } from './dynamo-batch.ts';

/** Days a part's plan or result is kept after its write. */
export const PART_RECORD_DAYS = 8;
/** The control table's TTL attribute (epoch seconds). */
const TTL = CONTROL_TABLE.timeToLiveAttribute ?? 'deleteAfter';

const pkOf = (date: string) => `AUDIT_PART#${date}`;
const partKey = (part: number) => String(part).padStart(5, '0');
const planKey = (run: string) => `PLAN#${run}`;

export class PartResultStore implements PartResults {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** The clock of the records' expiry (epoch ms). */
    private readonly now: () => number = Date.now,
  ) {}

  private deleteAfter(): number {
    return Math.floor(this.now() / 1000) + PART_RECORD_DAYS * 86_400;
  }

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
          [TTL]: this.deleteAfter(),
        },
      }),
    );
  }

  async putPlan(run: string, date: string, parts: readonly PartPlan[]): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: pkOf(date),
          sk: planKey(run),
          run,
          parts: JSON.stringify(parts),
          [TTL]: this.deleteAfter(),
        },
      }),
    );
  }

  async getPlan(run: string, date: string): Promise<PartPlan[] | undefined> {
    const key = planKey(run);
    for await (const item of queryPartition(this.doc, this.table, pkOf(date), { from: key, to: key }))
      if (item.sk === key) return JSON.parse(String(item.parts)) as PartPlan[];
    return undefined;
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
  /** Plans by `<run>#<date>`. */
  readonly plans = new Map<string, PartPlan[]>();

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

  async putPlan(run: string, date: string, parts: readonly PartPlan[]): Promise<void> {
    this.plans.set(`${run}#${date}`, structuredClone([...parts]));
  }

  async getPlan(run: string, date: string): Promise<PartPlan[] | undefined> {
    const parts = this.plans.get(`${run}#${date}`);
    return parts && structuredClone(parts);
  }
}
