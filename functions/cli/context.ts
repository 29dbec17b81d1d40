/**
 * What a CLI command works against (the Runtime), and the upload helpers both runtimes share.
 * The embedded local stack (runtime.ts) and a deployed stack (remote.ts) each implement Runtime;
 * commands use only this interface (`local` is there for what only makes sense on this machine,
 * such as exporting report.html to a file).
 */
import { createReadStream } from 'node:fs';
import { PutObjectCommand, type PutObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { unquote } from '../adapters/object-store.ts';
import type { ObjectManifest } from '../core/ledger.ts';
import type { IngestResult } from '../ingest/ingest-object.ts';
import type { LocalStack } from '../local/stack.ts';
import type { Stores } from '../shared/compose.ts';

export interface GlobalOptions {
  dataDir?: string;
  stack?: string;
  region?: string;
}

/** A local file to upload and the key it gets in the log bucket. */
export interface UploadFile {
  path: string;
  key: string;
  size: number;
}

/** What became of one uploaded file, once the ingest function has processed it. */
export interface UploadReport {
  file: string;
  key: string;
  outcome: IngestResult['outcome'];
  /** What the object is now counted as (for a duplicate: what its first delivery made of it). */
  status: ObjectManifest['status'] | null;
  lines: number;
  counted: number;
  rejected: number;
  reason: string | null;
  /** Rejected lines per reason class, most first; only when lines were rejected. */
  reject_reasons?: { reason: string; lines: number }[];
}

export interface UploadOptions {
  /** How long to wait for the ingest function (a deployed stack processes asynchronously). */
  waitSeconds?: number;
}

export interface Runtime extends Stores {
  /**
   * Runs the audit function with a request and returns its answer: locally the same handler
   * module, in this process; against a stack, one execution of the audit state machine, waited for
   * (with a progress line on stderr for people unless `quiet`).
   */
  invokeAudit(event: unknown, opts?: { quiet?: boolean }): Promise<unknown>;
  /** Reads a stored log object again with the current recipients registry (ingest function). */
  reingest(key: string): Promise<IngestResult>;
  /**
   * Puts the files in the log bucket and waits until the ingest function has processed each of
   * them; one report per file, in order.
   */
  uploadLogs(files: readonly UploadFile[], opts?: UploadOptions): Promise<UploadReport[]>;
  logBucket: string;
  reportsBucket: string;
  /** Present when running against the embedded local stack. */
  local?: LocalStack;
  /** Who the caller is, recorded with terms changes and finding lifecycle changes (identity.ts); absent: the OS user. */
  identity?(): Promise<string>;
  close(): Promise<void>;
}

/** Streams one file to the bucket. */
export function putLogFile(s3: S3Client, bucket: string, f: UploadFile): Promise<PutObjectCommandOutput> {
  return s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: f.key,
      Body: createReadStream(f.path),
      ContentLength: f.size,
    }),
  );
}

/** The generation the ingest function records for a put: the version id, else the ETag. */
export function generationOf(out: Pick<PutObjectCommandOutput, 'VersionId' | 'ETag'>): string {
  return out.VersionId && out.VersionId !== 'null' ? out.VersionId : unquote(out.ETag);
}

export function uploadReport(
  f: UploadFile,
  outcome: IngestResult['outcome'],
  manifest: ObjectManifest | undefined,
): UploadReport {
  return {
    file: f.path,
    key: f.key,
    outcome,
    status: manifest?.status ?? null,
    lines: manifest?.lines ?? 0,
    counted: manifest?.counted ?? 0,
    rejected: manifest?.rejected ?? 0,
    reason: manifest?.reason ?? (outcome === 'duplicate' ? 'already counted: same content' : null),
    ...(manifest?.rejectReasons ? { reject_reasons: manifest.rejectReasons } : {}),
  };
}
