/**
 * Throughput and memory of the streaming log reader.
 *
 *   npx tsx test/bench/reader-bench.ts [lines]        (default 2 000 000)
 *
 * Writes a generated JSON Lines file and a gzip one to a temp dir, reads each with readLogObject in
 * a child process of its own (so each case's peak RSS is its own), and prints one JSON line per
 * case: lines/s and peak RSS (process.resourceUsage().maxRSS) in MB. Exits non-zero when a peak
 * RSS reaches 300 MB or the totals differ from what the generator expects. Not part of vitest.
 */
import { fork } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLogObject } from '../../functions/core/log-reader.ts';
import { compileRegistry } from '../../functions/core/recipients.ts';
import { GENERATOR_RECIPIENTS, writeLogFile } from '../support/log-generator.ts';

const RSS_LIMIT_MB = 300;

interface ChildResult {
  status: string;
  lines: number;
  counted: number;
  rejected: number;
  requests: number;
  records: number;
  seconds: number;
  maxRssMB: number;
}

async function child(file: string): Promise<void> {
  const started = process.hrtime.bigint();
  const outcome = await readLogObject(createReadStream(file, { highWaterMark: 256 * 1024 }), {
    matcher: compileRegistry(GENERATOR_RECIPIENTS),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: ChildResult = {
    status: outcome.status,
    lines: outcome.lines,
    counted: outcome.status === 'quarantined' ? 0 : outcome.counted,
    rejected: outcome.status === 'quarantined' ? 0 : outcome.rejected,
    requests: outcome.status === 'quarantined' ? 0 : outcome.usage.reduce((s, u) => s + u.requests, 0),
    records: outcome.status === 'quarantined' ? 0 : outcome.usage.reduce((s, u) => s + u.records, 0),
    seconds,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.send?.(result);
}

function runChild(file: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', file], { execArgv: process.execArgv });
    let result: ChildResult | undefined;
    proc.on('message', (m) => {
      result = m as ChildResult;
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`bench child for ${file} exited with ${code}`));
    });
  });
}

async function main(): Promise<number> {
  const lines = Number(process.argv[2] ?? 2_000_000);
  if (!Number.isSafeInteger(lines) || lines <= 0)
    throw new Error(`usage: reader-bench.ts [lines], got ${process.argv[2]}`);
  const dir = await mkdtemp(join(tmpdir(), 'reader-bench-'));
  let failed = false;
  try {
    for (const gzip of [false, true]) {
      const file = join(dir, gzip ? 'logs.jsonl.gz' : 'logs.jsonl');
      const generated = await writeLogFile(file, {
        lines,
        seed: 42,
        format: 'jsonl',
        timestamps: 'mixed',
        ipv6Share: 0.2,
        badLineShare: 0.001,
        gzip,
      });
      const r = await runChild(file);
      const expectedRequests = generated.expected.reduce((s, u) => s + u.requests, 0);
      const expectedRecords = generated.expected.reduce((s, u) => s + u.records, 0);
      const correct =
        r.status === 'ingested' &&
        r.requests === expectedRequests &&
        r.records === expectedRecords &&
        r.rejected === generated.badLines.length;
      const peakRssMB = Math.round(r.maxRssMB * 10) / 10;
      if (!correct || peakRssMB >= RSS_LIMIT_MB) failed = true;
      process.stdout.write(
        `${JSON.stringify({
          case: gzip ? 'jsonl.gz' : 'jsonl',
          lines: r.lines,
          textMB: Math.round(generated.bytes / 1e5) / 10,
          fileMB: Math.round(generated.fileBytes / 1e5) / 10,
          seconds: Math.round(r.seconds * 100) / 100,
          linesPerSec: Math.round(r.lines / r.seconds),
          peakRssMB,
          counted: r.counted,
          rejected: r.rejected,
          correct,
        })}\n`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as string);
} else {
  process.exitCode = await main();
}
