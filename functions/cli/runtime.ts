/**
 * What a CLI command works against: the embedded local stack (default), or a deployed stack
 * (--stack NAME, resources from its CloudFormation outputs).
 */
import { ControlStore } from '../adapters/control-store.ts';
import { S3Objects } from '../adapters/object-store.ts';
import { UsageStore } from '../adapters/usage-store.ts';
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
  logBucket: string;
  reportsBucket: string;
  /** Present when running against the embedded local stack. */
  local?: LocalStack;
  close(): Promise<void>;
}

export async function openRuntime(opts: GlobalOptions): Promise<Runtime> {
  if (opts.stack) throw new CliError('--stack: deployed stacks are not supported yet');
  const local = await startLocalStack({ dataDir: resolveDataDir(opts.dataDir) });
  const doc = documentClient(local.dynamo);
  return {
    usage: new UsageStore(doc, local.env.USAGE_TABLE as string),
    control: new ControlStore(doc, local.env.CONTROL_TABLE as string),
    objects: new S3Objects(local.s3),
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
