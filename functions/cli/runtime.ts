/**
 * What a CLI command works against: the embedded local stack (default), or a deployed stack
 * (--stack NAME, resources from its CloudFormation outputs; see remote.ts). Commands only use the
 * Runtime interface; `local` is there for what only makes sense on this machine (exporting
 * report.html to a file).
 */
import { createReadStream } from 'node:fs';
import { PutObjectCommand, type PutObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { ControlStore } from '../adapters/control-store.ts';
import { mapLimit } from '../adapters/dynamo-batch.ts';
import { S3Objects, unquote } from '../adapters/object-store.ts';
import { ReportStore } from '../adapters/report-store.ts';
import { type ObjectManifest, UsageStore } from '../adapters/usage-store.ts';
import type { IngestResult } from '../ingest/ingest-object.ts';
import { type LocalStack, resolveDataDir, startLocalStack } from '../local/stack.ts';
import { documentClient } from '../shared/clients.ts';
import { CliError } from './errors.ts';

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
}

export interface UploadOptions {
  /** How long to wait for the ingest function (a deployed stack processes asynchronously). */
  waitSeconds?: number;
}

export { DEFAULT_UPLOAD_WAIT_SECONDS } from './defaults.ts';

export interface Runtime {
  usage: UsageStore;
  control: ControlStore;
  objects: S3Objects;
  reports: ReportStore;
  /** Invokes the audit function (locally: the same handler module, in this process). */
  invokeAudit(event: unknown): Promise<unknown>;
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
  };
}

async function openLocalRuntime(opts: GlobalOptions): Promise<Runtime> {
  // People read the CLI's own output; the handlers' JSON logs only with AUDITOR_DEBUG.
  const local = await startLocalStack({
    dataDir: resolveDataDir(opts.dataDir),
    logLevel: process.env.AUDITOR_DEBUG ? 'DEBUG' : 'SILENT',
  });
  const doc = documentClient(local.dynamo);
  const objects = new S3Objects(local.s3);
  const usage = new UsageStore(doc, local.env.USAGE_TABLE as string);
  return {
    usage,
    control: new ControlStore(doc, local.env.CONTROL_TABLE as string),
    objects,
    reports: new ReportStore(objects, local.reportsBucket),
    invokeAudit: (event) => local.invokeAudit(event),
    reingest: async (key) => {
      const out = (await local.invokeIngest({ action: 'reprocess', bucket: local.logBucket, key })) as {
        results: IngestResult[];
      };
      return out.results[0] as IngestResult;
    },
    // s3rver notifies the ingest handler in this process; drain() waits for it.
    async uploadLogs(files) {
      await mapLimit(files, 4, (f) => putLogFile(local.s3, local.logBucket, f));
      await local.drain();
      const errors = local.takeErrors();
      if (errors.length > 0) {
        const first = errors[0] as { key: string; error: Error };
        throw new CliError(`processing ${first.key} failed: ${first.error.message}`);
      }
      const reports: UploadReport[] = [];
      for (const f of files) {
        const result = local.results.get(f.key);
        reports.push(uploadReport(f, result?.outcome ?? 'skipped', await usage.getManifest(f.key)));
      }
      return reports;
    },
    logBucket: local.logBucket,
    reportsBucket: local.reportsBucket,
    local,
    close: () => local.stop(),
  };
}

export async function openRuntime(opts: GlobalOptions): Promise<Runtime> {
  if (opts.stack !== undefined) {
    const { openRemoteRuntime } = await import('./remote.ts');
    return openRemoteRuntime({ stack: opts.stack, ...(opts.region ? { region: opts.region } : {}) });
  }
  if (opts.region !== undefined) throw new CliError('--region goes with --stack NAME');
  return openLocalRuntime(opts);
}

export async function withRuntime<T>(opts: GlobalOptions, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
