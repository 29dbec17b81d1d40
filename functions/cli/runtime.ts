/**
 * Opens the Runtime a CLI command works against: the embedded local stack (default), or a deployed
 * stack (--stack NAME, resources from its CloudFormation outputs; see remote.ts).
 */
import { mapLimit } from '../adapters/dynamo-batch.ts';
import type { IngestResult } from '../ingest/ingest-object.ts';
import { resolveDataDir, startLocalStack } from '../local/stack.ts';
import { createStores } from '../shared/compose.ts';
import { loadStoreConfig } from '../shared/config.ts';
import { type GlobalOptions, putLogFile, type Runtime, type UploadReport, uploadReport } from './context.ts';
import { CliError } from './errors.ts';
import { terminalSafe } from './terminal-safe.ts';

export type { GlobalOptions, Runtime } from './context.ts';

async function openLocalRuntime(opts: GlobalOptions): Promise<Runtime> {
  // People read the CLI's own output; the handlers' JSON logs only with AUDITOR_DEBUG.
  const local = await startLocalStack({
    dataDir: resolveDataDir(opts.dataDir),
    logLevel: process.env.AUDITOR_DEBUG ? 'DEBUG' : 'SILENT',
  });
  const stores = createStores(local, loadStoreConfig(local.env));
  const { usage } = stores;
  return {
    ...stores,
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
    // Loaded only with --stack (it brings the CloudFormation and Lambda clients).
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
  } catch (err) {
    // Other errors' messages may quote data too (an SDK error naming a key): made terminal safe
    // before the one-line error is printed (a CliError's message already is).
    if (err instanceof Error && !(err instanceof CliError)) err.message = terminalSafe(err.message);
    throw err;
  } finally {
    await rt.close();
  }
}
