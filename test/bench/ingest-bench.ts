/**
 * The whole ingest path on the embedded stack: a generated drop is put in s3rver, s3rver's
 * notification runs the real ingest handler, which streams the object, aggregates it and writes
 * its contributions to dynalite. Each case runs in a child process of its own; its peak RSS covers
 * s3rver, dynalite and the handler together (an upper bound for the Lambda alone).
 *
 *   npx tsx test/bench/ingest-bench.ts [lines]     (default 2 000 000)
 *
 * Prints one JSON line per case; exits non-zero if a peak RSS reaches 300 MB or the stored totals
 * differ from what the generator expects.
 */
import { fork } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import { startLocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { GENERATOR_RECIPIENTS, writeLogFile } from '../support/log-generator.ts';

const RSS_LIMIT_MB = 300;

interface ChildResult {
  outcome: string;
  counted: number;
  requests: number;
  records: number;
  seconds: number;
  maxRssMB: number;
}

async function child(file: string, key: string): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ingest-bench-stack-'));
  const stack = await startLocalStack({ dataDir, logLevel: 'SILENT' });
  try {
    const doc = documentClient(stack.dynamo);
    await new ControlStore(doc, stack.env.CONTROL_TABLE as string).putRegistry(GENERATOR_RECIPIENTS);
    const started = process.hrtime.bigint();
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.logBucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: statSync(file).size,
      }),
    );
    await stack.drain();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const errors = stack.takeErrors();
    if (errors.length) throw errors[0]?.error;
    const rows = await new UsageStore(doc, stack.env.USAGE_TABLE as string).queryUsage({
      from: '2026-11-01',
      to: '2026-11-30',
    });
    const result: ChildResult = {
      outcome: stack.results.get(key)?.outcome ?? 'none',
      counted: stack.results.get(key)?.counted ?? 0,
      requests: rows.reduce((s, r) => s + r.requests, 0),
      records: rows.reduce((s, r) => s + r.records, 0),
      seconds,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    };
    process.send?.(result);
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function runChild(file: string, key: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', file, key], { execArgv: process.execArgv });
    let result: ChildResult | undefined;
    proc.on('message', (m) => {
      result = m as ChildResult;
    });
    proc.on('error', reject);
    proc.on('exit', (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`bench child exited with ${code}`)),
    );
  });
}

async function main(): Promise<number> {
  const lines = Number(process.argv[2] ?? 2_000_000);
  if (!Number.isSafeInteger(lines) || lines <= 0)
    throw new Error(`usage: ingest-bench.ts [lines], got ${process.argv[2]}`);
  const dir = await mkdtemp(join(tmpdir(), 'ingest-bench-'));
  let failed = false;
  try {
    for (const c of [
      { format: 'jsonl', gzip: false },
      { format: 'jsonl', gzip: true },
      { format: 'csv', gzip: true },
    ] as const) {
      const name = `logs.${c.format}${c.gzip ? '.gz' : ''}`;
      const file = join(dir, name);
      const generated = await writeLogFile(file, {
        lines,
        seed: 7,
        format: c.format,
        timestamps: 'mixed',
        ipv6Share: 0.2,
        badLineShare: 0.001,
        days: ['2026-11-25', '2026-11-26', '2026-11-27'],
        gzip: c.gzip,
      });
      const r = await runChild(file, `logs/bench/${name}`);
      const correct =
        r.outcome === 'ingested' &&
        r.requests === generated.expected.reduce((s, u) => s + u.requests, 0) &&
        r.records === generated.expected.reduce((s, u) => s + u.records, 0);
      const peakRssMB = Math.round(r.maxRssMB * 10) / 10;
      if (!correct || peakRssMB >= RSS_LIMIT_MB) failed = true;
      process.stdout.write(
        `${JSON.stringify({
          case: `ingest ${name}`,
          lines,
          fileMB: Math.round(generated.fileBytes / 1e5) / 10,
          seconds: Math.round(r.seconds * 100) / 100,
          linesPerSec: Math.round(lines / r.seconds),
          peakRssMB,
          counted: r.counted,
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
  await child(process.argv[3] as string, process.argv[4] as string);
  process.exit(0);
} else {
  process.exitCode = await main();
}
