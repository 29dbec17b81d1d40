/**
 * DynamoDB control table: the recipients registry (and, with the audit slice, agreements and audit
 * bookkeeping).
 *
 *   registry   pk REGISTRY    sk current       { registry, hash }
 *   agreement  pk AGREEMENT   sk <licensee>    { agreement }
 *   report     pk REPORT      sk <date>        { writtenAt, contentSha256 }   when each report was written
 *   chain      pk CHAIN       sk <date>#<seq>  { date, seq, manifestSha256, writtenAt }
 *              the chain's anchors: one item per manifest.json the audit wrote for that date (seq
 *              000001, 000002, … zero-padded to 6 digits), put with attribute_not_exists(pk) so an
 *              item is never overwritten; the highest seq of a date is its anchor. Anchors written
 *              since versioned terms also carry the report's contentSha256 (restatements, verify).
 *   forced     pk FORCED_REGISTRY  sk <at>#<hash>  { by, at, dropped, hash }
 *              a registry loaded with --force although agreements prohibit categories it lacks;
 *              append-only (attribute_not_exists(pk)).
 *   versions   pk AGREEMENT_VERSION / REGISTRY_VERSION: append-only terms, see terms-store.ts
 *   lifecycle  pk LIFECYCLE  sk <finding_id>#<seq>  { finding_id, seq, action, state, note, until,
 *              by, at, report_date, observed }   a change of a finding's state (`auditor findings
 *              ack|dispute|waive|resolve`), seq zero-padded to 6 digits; append-only
 *              (attribute_not_exists(pk)).
 *   lease      pk LEASE      sk <date> | chain   { owner, expiresAt }   (expiresAt: epoch ms)
 *              one audit run at a time per report date (and for re-linking / latest.json): taken
 *              and released with conditional PutItem only (released = expiresAt 0), read with Query.
 *   pending    pk PENDING    evidence files recorded before they are written (pending-store.ts)
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type {
  AgreementStore,
  AuditLeases,
  ChainAnchors,
  ForcedRegistryLoad,
  LeaseHolder,
  LifecycleLog,
  RegistryStore,
  ReportLog,
  StoredLifecycleChange,
  TermsWriter,
} from '../audit/ports.ts';
import type { Agreement } from '../core/audit/agreements.ts';
import { type AgreementVersion, type RegistryVersion, registryHash } from '../core/audit/terms.ts';
import type { LifecycleChange } from '../core/audit/types.ts';
import type { RecipientsRegistry } from '../core/types.ts';
import type { RegistryReader } from '../ingest/ports.ts';
import { batchWrite, queryPartition } from './dynamo-batch.ts';
import * as pending from './pending-store.ts';
import * as terms from './terms-store.ts';

export interface StoredRegistry {
  registry: RecipientsRegistry;
  /** sha256 of the canonical JSON of the registry; "empty" when none is loaded. */
  hash: string;
}

export const EMPTY_REGISTRY: StoredRegistry = { registry: {}, hash: 'empty' };

export { registryHash };

export class ControlStore
  implements
    AgreementStore,
    RegistryStore,
    ReportLog,
    ChainAnchors,
    AuditLeases,
    RegistryReader,
    TermsWriter,
    LifecycleLog
{
  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly table: string,
  ) {}

  // Versioned terms (issue 11): terms-store.ts.
  agreementVersions = (): Promise<AgreementVersion[]> => terms.agreementVersions(this.doc, this.table);
  registryVersions = (): Promise<RegistryVersion[]> => terms.registryVersions(this.doc, this.table);
  appendAgreementVersion = (v: AgreementVersion): Promise<boolean> =>
    terms.appendAgreementVersion(this.doc, this.table, v);
  appendRegistryVersion = (v: RegistryVersion): Promise<boolean> =>
    terms.appendRegistryVersion(this.doc, this.table, v);

  async getRegistry(): Promise<StoredRegistry> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: 'REGISTRY', sk: 'current' }, ConsistentRead: true }),
    );
    if (!out.Item) return EMPTY_REGISTRY;
    return { registry: out.Item.registry as RecipientsRegistry, hash: out.Item.hash as string };
  }

  async putRegistry(registry: RecipientsRegistry): Promise<StoredRegistry> {
    const stored = { registry, hash: registryHash(registry) };
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: { pk: 'REGISTRY', sk: 'current', ...stored } }),
    );
    return stored;
  }

  /** The stored registry; undefined when none was ever loaded. */
  async storedRegistry(): Promise<RecipientsRegistry | undefined> {
    const stored = await this.getRegistry();
    return stored === EMPTY_REGISTRY ? undefined : stored.registry;
  }

  /** Appends the record of a forced registry load (never overwrites one); answers the registry hash. */
  async recordForcedRegistry(load: ForcedRegistryLoad): Promise<string> {
    const hash = registryHash(load.registry);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: 'FORCED_REGISTRY',
          sk: `${load.at}#${hash}`,
          by: load.by,
          at: load.at,
          dropped: load.dropped,
          hash,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return hash;
  }

  async getAgreement(licensee: string): Promise<Agreement | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: 'AGREEMENT', sk: licensee }, ConsistentRead: true }),
    );
    return out.Item?.agreement as Agreement | undefined;
  }

  async listAgreements(): Promise<Agreement[]> {
    const out: Agreement[] = [];
    for await (const item of queryPartition(this.doc, this.table, 'AGREEMENT'))
      out.push(item.agreement as Agreement);
    return out;
  }

  /** Stores these agreements, replacing each licensee's previous one. */
  async putAgreements(agreements: readonly Agreement[]): Promise<void> {
    await batchWrite(
      this.doc,
      this.table,
      agreements.map((agreement) => ({
        PutRequest: { Item: { pk: 'AGREEMENT', sk: agreement.licensee, agreement } },
      })),
    );
  }

  async recordReport(date: string, writtenAt: string, contentSha256: string): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: { pk: 'REPORT', sk: date, writtenAt, contentSha256 } }),
    );
  }

  /** When each report in [from, to] was last checked. */
  async reportTimes(from: string, to: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const item of queryPartition(this.doc, this.table, 'REPORT', { from, to })) {
      out.set(item.sk as string, item.writtenAt as string);
    }
    return out;
  }

  /** The newest anchor of `date` and its seq (0 when none). */
  private async newestAnchor(date: string): Promise<{ seq: number; sha: string | undefined }> {
    let newest: { seq: number; sha: string | undefined } = { seq: 0, sha: undefined };
    for await (const item of queryPartition(this.doc, this.table, CHAIN_PK, {
      from: `${date}#`,
      to: `${date}#`,
    })) {
      const seq = Number(item.seq);
      if (seq > newest.seq) newest = { seq, sha: item.manifestSha256 as string };
    }
    return newest;
  }

  /**
   * Appends the manifest's sha256 to the date's anchors (conditional put, never an overwrite); a
   * concurrent append of the same seq makes it read again and retry.
   */
  async anchorManifest(
    date: string,
    manifestSha256: string,
    writtenAt: string,
    contentSha256?: string,
  ): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const newest = await this.newestAnchor(date);
      if (newest.sha === manifestSha256) return;
      const seq = newest.seq + 1;
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              pk: CHAIN_PK,
              sk: chainSk(date, seq),
              date,
              seq,
              manifestSha256,
              writtenAt,
              ...(contentSha256 ? { contentSha256 } : {}),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return;
      } catch (err) {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      }
    }
    throw new Error(`could not anchor the manifest of ${date}: too many concurrent writers`);
  }

  /** Every anchored date → its newest manifest sha256. */
  async anchors(): Promise<Map<string, string>> {
    const newest = new Map<string, { seq: number; sha: string }>();
    for await (const item of queryPartition(this.doc, this.table, CHAIN_PK)) {
      const date = item.date as string;
      const seq = Number(item.seq);
      if (seq > (newest.get(date)?.seq ?? 0)) newest.set(date, { seq, sha: item.manifestSha256 as string });
    }
    return new Map([...newest].map(([date, a]) => [date, a.sha]));
  }

  /** Every anchored date → the contentSha256 recorded with its anchors, in seq order (where recorded). */
  async anchorContents(): Promise<Map<string, string[]>> {
    const items: { date: string; seq: number; content: string }[] = [];
    for await (const item of queryPartition(this.doc, this.table, CHAIN_PK))
      if (typeof item.contentSha256 === 'string')
        items.push({ date: item.date as string, seq: Number(item.seq), content: item.contentSha256 });
    const out = new Map<string, string[]>();
    for (const i of items.sort((a, b) => a.seq - b.seq))
      out.set(i.date, [...(out.get(i.date) ?? []), i.content]);
    return out;
  }

  /** The lease item `name`, read with Query (the audit role has no GetItem on this table). */
  private async leaseHolder(name: string): Promise<LeaseHolder | undefined> {
    for await (const item of queryPartition(this.doc, this.table, LEASE_PK, { from: name, to: name }))
      return { owner: String(item.owner), expiresAt: Number(item.expiresAt) };
    return undefined;
  }

  async leaseOf(name: string): Promise<LeaseHolder | undefined> {
    return this.leaseHolder(name);
  }

  async pendingEvidence(date: string, name: string, sha256: string): Promise<void> {
    await pending.putPending(this.doc, this.table, date, name, sha256);
  }

  async pendingOf(date: string): Promise<Map<string, Set<string>>> {
    return pending.pendingOf(this.doc, this.table, date);
  }

  async settlePending(date: string): Promise<void> {
    await pending.settlePending(this.doc, this.table, date);
  }

  /** Conditional PutItem: taken when absent, lapsed, or already this owner's. */
  async acquireLease(
    name: string,
    owner: string,
    now: number,
    expiresAt: number,
  ): Promise<LeaseHolder | undefined> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: LEASE_PK, sk: name, owner, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
        }),
      );
      return undefined;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
    // Held: read who holds it (if it lapsed in between, the caller sees an expiry in the past).
    return (await this.leaseHolder(name)) ?? { owner: '?', expiresAt: now };
  }

  /** Conditional PutItem on the owner setting expiresAt to 0 (no DeleteItem needed). */
  async releaseLease(name: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: LEASE_PK, sk: name, owner, expiresAt: 0 },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async lifecycleChanges(): Promise<StoredLifecycleChange[]> {
    const out: StoredLifecycleChange[] = [];
    for await (const item of queryPartition(this.doc, this.table, LIFECYCLE_PK))
      out.push({ finding_id: String(item.finding_id), ...lifecycleChangeOf(item) });
    return out;
  }

  async findingChanges(findingId: string): Promise<LifecycleChange[]> {
    const out: LifecycleChange[] = [];
    const range = { from: `${findingId}#`, to: `${findingId}#` };
    for await (const item of queryPartition(this.doc, this.table, LIFECYCLE_PK, range))
      out.push(lifecycleChangeOf(item));
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Conditional PutItem on a new key: a change is never overwritten. */
  async appendLifecycleChange(findingId: string, change: LifecycleChange): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: LIFECYCLE_PK,
            sk: `${findingId}#${String(change.seq).padStart(6, '0')}`,
            finding_id: findingId,
            ...change,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      return false;
    }
  }
}

/** A stored lifecycle item as a change, its fields in the fixed order the reports print them. */
function lifecycleChangeOf(item: Record<string, unknown>): LifecycleChange {
  return {
    seq: Number(item.seq),
    action: item.action as LifecycleChange['action'],
    state: item.state as LifecycleChange['state'],
    note: String(item.note),
    until: typeof item.until === 'string' ? item.until : null,
    by: String(item.by),
    at: String(item.at),
    report_date: String(item.report_date),
    observed: Number(item.observed),
  };
}

const LIFECYCLE_PK = 'LIFECYCLE';
const LEASE_PK = 'LEASE';
const CHAIN_PK = 'CHAIN';
const chainSk = (date: string, seq: number): string => `${date}#${String(seq).padStart(6, '0')}`;
