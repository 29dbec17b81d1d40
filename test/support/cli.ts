/**
 * Runs the built CLI (bin/auditor.js) as a child process, the way a user does, and opens the
 * embedded stack in this process for setup and inspection between CLI runs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';

export const AUDITOR_BIN = fileURLToPath(new URL('../../bin/auditor.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `auditor ARGS…` on the embedded stack kept in dataDir; a non-zero exit is returned, not thrown. */
export async function runAuditor(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [AUDITOR_BIN, ...args], {
      env: { ...process.env, AUDITOR_DATA_DIR: dataDir, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs `fn` on the embedded stack of dataDir (in this process), then stops it for the CLI to use. */
export async function withLocalStack<T>(
  dataDir: string,
  fn: (stack: LocalStack, reports: ReportStore) => Promise<T>,
): Promise<T> {
  const stack = await startLocalStack({ dataDir, logLevel: 'SILENT' });
  try {
    return await fn(stack, new ReportStore(new S3Objects(stack.s3), stack.reportsBucket));
  } finally {
    await stack.stop();
  }
}
