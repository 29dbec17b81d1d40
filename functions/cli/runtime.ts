/**
 * What a CLI command works against: the embedded local stack (default), or a deployed stack
 * (--stack NAME, resources from its CloudFormation outputs).
 */
import { ControlStore } from '../adapters/control-store.ts';
import { S3Objects } from '../adapters/object-store.ts';
import { ReportStore } from '../adapters/report-store.ts';
import { UsageStore } from '../adapters/usage-store.ts';
import type { IngestResult } from '../ingest/ingest-object.ts';
import { type LocalStack, resolveDataDir, startLocalStack } from '../local/stack.ts';
import { documentClient } from '../shared/clients.ts';
import { CliError } from './errors.ts';

export interface GlobalOptions {
  dataDir?: string;
  stack?: string;
  region?: string;
}

export interface Runtime {
  usage: UsageStore;
  control: ControlStore;
  objects: S3Objects;
  reports: ReportStore;
  /** Invokes the audit function (locally: the same handler module, in this process). */
  invokeAudit(event: unknown): Promise<unknown>;
  /** Reads a stored log object again with the current recipients registry (ingest function). */
  reingest(key: string): Promise<IngestResult>;
  logBucket: string;
  reportsBucket: string;
  /** Present when running against the embedded local stack. */
  local?: LocalStack;
  close(): Promise<void>;
}

export async function openRuntime(opts: GlobalOptions): Promise<Runtime> {
  if (opts.stack) throw new CliError('--stack: deployed stacks are not supported yet');
  // People read the CLI's own output; the handlers' JSON logs only with AUDITOR_DEBUG.
  const local = await startLocalStack({
    dataDir: resolveDataDir(opts.dataDir),
    logLevel: process.env.AUDITOR_DEBUG ? 'DEBUG' : 'SILENT',
  });
  const doc = documentClient(local.dynamo);
  const objects = new S3Objects(local.s3);
  return {
    usage: new UsageStore(doc, local.env.USAGE_TABLE as string),
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
    logBucket: local.logBucket,
    reportsBucket: local.reportsBucket,
    local,
    close: () => local.stop(),
  };
}

export async function withRuntime<T>(opts: GlobalOptions, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
