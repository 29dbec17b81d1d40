/**
 * DynamoDB control table: the versions of agreements and of the recipients registry (issue 11),
 * append-only, read with Query only (the audit role has Query and PutItem on the table).
 *
 *   agreement version  pk AGREEMENT_VERSION  sk <licensee>#<seq, 6 digits>
 *                      { licensee, seq, effective_from, note, by, at, hash, agreement }
 *   registry version   pk REGISTRY_VERSION   sk <seq, 6 digits>
 *                      { seq, effective_from, note, by, at, hash, registry }
 *
 * Each put has the condition attribute_not_exists(pk), so a version is never overwritten. The
 * `AGREEMENT`/<licensee> and `REGISTRY`/current items stay as they were (the newest terms, read by
 * `agreements list`, the load checks and the ingest function). A licensee that has such an item and
 * no version yet (data stored before versioning) reads as one version, seq 0, effective from the
 * beginning; so does a registry item with no registry version.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Agreement } from '../core/audit/agreements.ts';
import {
  type AgreementVersion,
  agreementHash,
  type RegistryVersion,
  registryHash,
  type VersionMeta,
} from '../core/audit/terms.ts';
import type { RecipientsRegistry } from '../core/types.ts';
import { queryPartition } from './dynamo-batch.ts';

const AGREEMENT_VERSION = 'AGREEMENT_VERSION';
const REGISTRY_VERSION = 'REGISTRY_VERSION';
const seqSk = (seq: number): string => String(seq).padStart(6, '0');

/** A version stored before versioning: seq 0, from the beginning, by and at unknown. */
function legacy(hash: string): VersionMeta {
  return { seq: 0, effective_from: null, note: null, by: null, at: null, hash };
}

function meta(item: Record<string, unknown>): VersionMeta {
  const orNull = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    seq: Number(item.seq),
    effective_from: orNull(item.effective_from),
    note: orNull(item.note),
    by: orNull(item.by),
    at: orNull(item.at),
    hash: String(item.hash),
  };
}

/** Every agreement version, legacy items included (see the module comment). */
export async function agreementVersions(
  doc: DynamoDBDocumentClient,
  table: string,
): Promise<AgreementVersion[]> {
  const out: AgreementVersion[] = [];
  for await (const item of queryPartition(doc, table, AGREEMENT_VERSION))
    out.push({ ...meta(item), licensee: String(item.licensee), agreement: item.agreement as Agreement });
  const versioned = new Set(out.map((v) => v.licensee));
  for await (const item of queryPartition(doc, table, 'AGREEMENT')) {
    const agreement = item.agreement as Agreement;
    if (!versioned.has(agreement.licensee))
      out.push({ ...legacy(agreementHash(agreement)), licensee: agreement.licensee, agreement });
  }
  return out;
}

/** Every registry version, a legacy registry item included (see the module comment). */
export async function registryVersions(
  doc: DynamoDBDocumentClient,
  table: string,
): Promise<RegistryVersion[]> {
  const out: RegistryVersion[] = [];
  for await (const item of queryPartition(doc, table, REGISTRY_VERSION))
    out.push({ ...meta(item), registry: item.registry as RecipientsRegistry });
  if (out.length > 0) return out;
  for await (const item of queryPartition(doc, table, 'REGISTRY', { from: 'current', to: 'current' })) {
    const registry = item.registry as RecipientsRegistry;
    out.push({ ...legacy(registryHash(registry)), registry });
  }
  return out;
}

/** Puts an item unless its key exists; false when it does. */
async function putNew(
  doc: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  try {
    await doc.send(
      new PutCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return true;
  } catch (err) {
    if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

export function appendAgreementVersion(
  doc: DynamoDBDocumentClient,
  table: string,
  v: AgreementVersion,
): Promise<boolean> {
  return putNew(doc, table, { pk: AGREEMENT_VERSION, sk: `${v.licensee}#${seqSk(v.seq)}`, ...v });
}

export function appendRegistryVersion(
  doc: DynamoDBDocumentClient,
  table: string,
  v: RegistryVersion,
): Promise<boolean> {
  return putNew(doc, table, { pk: REGISTRY_VERSION, sk: seqSk(v.seq), ...v });
}
