/**
 * `auditor upload PATH...`: puts log files under logs/ in the log bucket and waits until the
 * ingest handler has processed each of them, as it would in AWS.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { LOG_PREFIX } from '../../../infra/resources.ts';
import { mapLimit } from '../../adapters/dynamo-batch.ts';
import type { IngestResult } from '../../ingest/ingest-object.ts';
import { CliError } from '../errors.ts';
import { printJson, printTable } from '../output.ts';
import type { Runtime } from '../runtime.ts';

export interface UploadFile {
  path: string;
  key: string;
  size: number;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Files to upload with their keys: a file as logs/<prefix><name>, a folder's files by their path inside it. */
export async function collectFiles(paths: readonly string[], prefix = ''): Promise<UploadFile[]> {
  const sub = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
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
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.key);
    if (other) throw new CliError(`${f.path} and ${other} would both be uploaded as ${f.key}`);
    seen.set(f.key, f.path);
  }
  if (files.length === 0) throw new CliError('no files to upload');
  return files;
}

export interface UploadReport {
  file: string;
  key: string;
  outcome: IngestResult['outcome'];
  lines: number;
  counted: number;
  rejected: number;
  reason: string | null;
}

export async function upload(
  rt: Runtime,
  paths: readonly string[],
  opts: { prefix?: string },
): Promise<UploadReport[]> {
  const files = await collectFiles(paths, opts.prefix);
  const local = rt.local;
  if (!local) throw new CliError('upload against a deployed stack is not supported yet');
  await mapLimit(files, 4, async (f) => {
    await local.s3.send(
      new PutObjectCommand({
        Bucket: rt.logBucket,
        Key: f.key,
        Body: createReadStream(f.path),
        ContentLength: f.size,
      }),
    );
  });
  await local.drain();
  const errors = local.takeErrors();
  if (errors.length > 0) {
    const first = errors[0] as { key: string; error: Error };
    throw new CliError(`processing ${first.key} failed: ${first.error.message}`);
  }
  const reports: UploadReport[] = [];
  for (const f of files) {
    const result = local.results.get(f.key);
    const manifest = await rt.usage.getManifest(f.key);
    reports.push({
      file: f.path,
      key: f.key,
      outcome: result?.outcome ?? 'skipped',
      lines: manifest?.lines ?? 0,
      counted: manifest?.counted ?? 0,
      rejected: manifest?.rejected ?? 0,
      reason: manifest?.reason ?? (result?.outcome === 'duplicate' ? 'already counted: same content' : null),
    });
  }
  return reports;
}

export function printUploads(reports: readonly UploadReport[], json: boolean): void {
  if (json) {
    printJson({ uploads: reports });
    return;
  }
  printTable(
    ['file', 'key', 'outcome', 'lines', 'counted', 'rejected', 'reason'],
    reports.map((r) => [r.file, r.key, r.outcome, r.lines, r.counted, r.rejected, r.reason ?? '']),
    new Set([3, 4, 5]),
  );
}
