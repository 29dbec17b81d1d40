/**
 * What people and Lambda wait for before any log is read: the `auditor` command's start (as
 * installed: bin/auditor.js running the compiled dist/cli), a whole `auditor upload` on the
 * embedded stack, and the size and import time of the two Lambda bundles.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BUCKETS, TABLES } from '../../functions/shared/resources.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'auditor.js');

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Ran {
  ms: number;
  /** CPU time of the child process (all threads), in ms: steadier than `ms` on a busy machine. */
  cpuMs: number;
  stdout: string;
}

/** Makes the child report its CPU time on stderr as it exits. */
const CPU_HOOK = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\nbench-cpu-us:' + (u.user + u.system) + '\\n'); });",
)}`;

/** Runs `node args…` to completion; its wall and CPU time in ms. Throws on a non-zero exit. */
function timeNode(args: string[], env: Record<string, string> = {}): Ran {
  const started = process.hrtime.bigint();
  const res = spawnSync(process.execPath, ['--import', CPU_HOOK, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (res.status !== 0)
    throw new Error(`node ${args.join(' ')} exited with ${res.status}: ${res.stderr || res.error}`);
  const cpu = /bench-cpu-us:(\d+)/.exec(res.stderr);
  if (!cpu) throw new Error(`node ${args.join(' ')} did not report its CPU time`);
  return { ms, cpuMs: Number(cpu[1]) / 1000, stdout: res.stdout };
}

const auditor = (args: string[], env: Record<string, string> = {}): Ran => timeNode([BIN, ...args], env);

/** Builds dist/cli the way `npm install` does (the `prepare` script). */
export function buildCli(): void {
  timeNode([join(ROOT, 'scripts', 'build-cli.mjs')]);
}

export interface Medians {
  ms: number;
  cpuMs: number;
}

const medians = (runs: Ran[]): Medians => ({
  ms: median(runs.map((r) => r.ms)),
  cpuMs: median(runs.map((r) => r.cpuMs)),
});

/** `auditor --help`, a fresh process each time (one unmeasured run first, for the file cache). */
export function cliStart(runs = 7): Medians {
  auditor(['--help']);
  return medians(Array.from({ length: runs }, () => auditor(['--help'])));
}

/** `auditor usage --json` on a local stack with no state yet (a fresh data dir each run). */
export function cliUsageEmpty(tmp: string, runs = 5): Medians {
  const times: Ran[] = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(tmp, 'cli-empty-'));
    try {
      const r = auditor(['usage', '--json', '--data-dir', dataDir]);
      if ((JSON.parse(r.stdout) as { usage: unknown[] }).usage.length !== 0)
        throw new Error('auditor usage on an empty stack printed usage');
      times.push(r);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return medians(times);
}

export interface E2eResult {
  seconds: number;
  cpuSeconds: number;
  uploadSeconds: number;
  requests: number;
  records: number;
}

/**
 * `auditor upload FILE` into a fresh data dir, then `auditor usage --json` over the generated days:
 * the time until the usage is visible, and the totals it shows.
 */
export function e2eUpload(tmp: string, file: string, days: { from: string; to: string }): E2eResult {
  const dataDir = mkdtempSync(join(tmp, 'e2e-'));
  try {
    const up = auditor(['upload', file, '--json', '--data-dir', dataDir]);
    const usage = auditor(['usage', '--json', '--from', days.from, '--to', days.to, '--data-dir', dataDir]);
    const rows = (JSON.parse(usage.stdout) as { usage: { requests: number; records: number }[] }).usage;
    return {
      seconds: (up.ms + usage.ms) / 1000,
      cpuSeconds: (up.cpuMs + usage.cpuMs) / 1000,
      uploadSeconds: up.ms / 1000,
      requests: rows.reduce((s, r) => s + r.requests, 0),
      records: rows.reduce((s, r) => s + r.records, 0),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface BundleResult {
  name: string;
  kb: number;
  coldImportMs: number;
}

/**
 * The Lambda bundles as the CDK stack builds them: NodejsFunction runs esbuild with
 * infra/stack.ts's BUNDLING (ESM for node22, minified, main fields module,main, the createRequire
 * banner, everything bundled including the AWS SDK, external source map). Built here directly
 * rather than through `cdk synth`; keep these options in step with BUNDLING.
 */
export async function lambdaBundles(tmp: string, runs = 7): Promise<BundleResult[]> {
  const env: Record<string, string> = { AWS_REGION: 'us-east-1', POWERTOOLS_METRICS_DISABLED: 'true' };
  for (const r of [...TABLES, ...BUCKETS]) env[r.env] = `bench-${r.id}`;
  const results: BundleResult[] = [];
  for (const name of ['ingest', 'audit']) {
    const outfile = join(tmp, `bundle-${name}`, 'index.mjs');
    await build({
      absWorkingDir: ROOT,
      entryPoints: [join(ROOT, 'functions', name, 'handler.ts')],
      outfile,
      bundle: true,
      format: 'esm',
      target: 'node22',
      platform: 'node',
      mainFields: ['module', 'main'],
      minify: true,
      sourcemap: 'external',
      sourcesContent: false,
      banner: {
        js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    const probe =
      'const t = performance.now(); await import(process.env.BENCH_IMPORT);' +
      'process.stdout.write(String(performance.now() - t)); process.exit(0);';
    const times = Array.from({ length: runs }, () =>
      Number(
        timeNode(['--input-type=module', '-e', probe], { ...env, BENCH_IMPORT: pathToFileURL(outfile).href })
          .stdout,
      ),
    );
    results.push({ name, kb: statSync(outfile).size / 1024, coldImportMs: median(times) });
  }
  return results;
}
