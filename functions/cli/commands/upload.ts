/**
 * `auditor upload PATH...`: puts log files under logs/ in the log bucket and waits until the
 * ingest function has processed each of them. Locally the S3 emulator notifies the handler in this
 * process; against a deployed stack S3 → SQS → Lambda runs on its own and the wait polls the
 * objects' manifests (see remote.ts).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { compareStrings } from '../../core/support.ts';
import { unsafeKeyReason } from '../../local/safe-key.ts';
import { LOG_PREFIX } from '../../shared/resources.ts';
import { type CommandContext, positiveNumber } from '../command.ts';
import type { Runtime, UploadFile, UploadOptions, UploadReport } from '../context.ts';
import { DEFAULT_UPLOAD_WAIT_SECONDS } from '../defaults.ts';
import { CliError } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

export type { UploadFile, UploadReport };

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    compareStrings(a.name, b.name),
  )) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/**
 * Files to upload with their keys: a file as logs/<prefix><name>, a folder's files by their path
 * inside it. A prefix or key with an empty, `.` or `..` segment, a leading `/`, a backslash or a
 * control character is refused (local/safe-key.ts), before anything is uploaded.
 */
export async function collectFiles(paths: readonly string[], prefix = ''): Promise<UploadFile[]> {
  const sub = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  // Refused before anything is put: a `..` segment would leave logs/ (and, locally, the data dir).
  const prefixProblem =
    sub === '' ? undefined : unsafeKeyReason(prefix.startsWith('/') ? prefix : sub.slice(0, -1));
  if (prefixProblem)
    throw new CliError(`--prefix ${JSON.stringify(prefix)} ${prefixProblem}; nothing was uploaded`);
  const files: UploadFile[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => {
      throw new CliError(`${p}: no such file or folder`);
    });
    const entries = st.isDirectory()
      ? (await walk(p)).map((f) => ({ f, rel: relative(p, f) }))
      : [{ f: p, rel: basename(p) }];
    for (const { f, rel } of entries) {
      files.push({
        path: f,
        key: `${LOG_PREFIX}${sub}${rel.split(sep).join('/')}`,
        size: (await stat(f)).size,
      });
    }
  }
  for (const f of files) {
    const problem = unsafeKeyReason(f.key);
    if (problem)
      throw new CliError(
        `${f.path}: its key ${JSON.stringify(f.key)} ${problem}; nothing was uploaded (rename the file)`,
      );
  }
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.key);
    if (other) throw new CliError(`${f.path} and ${other} would both be uploaded as ${f.key}`);
    seen.set(f.key, f.path);
  }
  if (files.length === 0) throw new CliError('no files to upload');
  return files;
}

/** Collects the files, then puts them and waits until each is processed (local or deployed stack). */
export async function upload(
  rt: Runtime,
  paths: readonly string[],
  opts: { prefix?: string } & UploadOptions,
): Promise<UploadReport[]> {
  const files = await collectFiles(paths, opts.prefix);
  return rt.uploadLogs(files, opts.waitSeconds === undefined ? {} : { waitSeconds: opts.waitSeconds });
}

export function printUploads(reports: readonly UploadReport[], json: boolean): void {
  if (json) {
    printJson({ uploads: reports });
    return;
  }
  printTable(
    ['file', 'key', 'outcome', 'lines', 'counted', 'rejected', 'reason'],
    reports.map((r) => [
      r.file,
      r.key,
      r.outcome,
      r.lines,
      r.counted,
      r.rejected,
      r.reason ?? r.reject_reasons?.map((c) => `${c.reason}: ${c.lines}`).join('; ') ?? '',
    ]),
    new Set([3, 4, 5]),
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('upload')
    .description('put log files (or folders of them) under logs/ and wait until they are processed')
    .argument('<paths...>', 'files or folders')
    .option('--prefix <prefix>', 'sub-folder under logs/ for the keys')
    .option(
      '--wait-seconds <seconds>',
      `with --stack: how long to wait for the ingest function (default ${DEFAULT_UPLOAD_WAIT_SECONDS})`,
      positiveNumber('--wait-seconds'),
    )
    .option('--json', 'print JSON')
    .action(async (paths: string[], opts: { prefix?: string; waitSeconds?: number; json?: boolean }) => {
      printUploads(await run((rt) => upload(rt, paths, opts)), opts.json === true);
    });
}
