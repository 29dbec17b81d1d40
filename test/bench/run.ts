/**
 * `npm run bench [-- lines]`: throughput, memory, DynamoDB writes, CLI start and Lambda bundles,
 * with DuckDB (one thread) on the same file as the yardstick. Not part of vitest.
 *
 * Prints one JSON line per measurement, {"bench": NAME, "value": N, "unit": U}, as it goes, then a
 * table with PASS/MISS per target. Exits non-zero only when a result is wrong (totals differ from
 * what the generator expects, DuckDB's aggregate looks off); a missed time or memory target is
 * reported, never fatal. Compare ratios within a run, not absolute times across runs: the
 * machine may be shared. On a busy machine the *_cpu figures (CPU time of each child process, all
 * its threads) are the steadier ones; wall-time ratios can swing by 2× between runs, and a wall
 * time can be 3× its CPU time when other work holds the cores.
 *
 * What ddb_writes_per_object counts: the HTTP requests dynalite receives while the local stack
 * ingests three generated drops (4 apps × 3 days each), one at a time, by X-Amz-Target operation
 * (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems; retries included), divided
 * by the number of drops. ddb_write_items_per_object counts the items inside those requests. `lines` (default 2 000 000) sizes the main file; the peak-RSS file has 5×
 * as many lines and the end-to-end upload half as many (so the *_2m/_10m/_1m names hold for the
 * default only). BENCH_ROUNDS (default 2): runs of each reader case; the best one counts.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditScale, dropSeeded, type ScaleRun, seedScale } from './audit-scale.ts';
import {
  type DuckResult,
  type ReadResult,
  runChild,
  type Timed,
  type Totals,
  writeRequests,
} from './children.ts';
import { buildCli, cliStart, cliUsageEmpty, e2eUpload, lambdaBundles } from './cli-bundles.ts';
import { type Generated, generate, repeat, toCsv } from './files.ts';

interface Measurement {
  bench: string;
  value: number;
  unit: string;
}

interface Target {
  bench: string;
  text: string;
  met: (v: number) => boolean;
}

const TARGETS: Target[] = [
  { bench: 'ingest_vs_duckdb_ratio', text: '>= 1.0', met: (v) => v >= 1 },
  { bench: 'ingest_vs_duckdb_ratio_cpu', text: '>= 1.0', met: (v) => v >= 1 },
  { bench: 'csv_vs_jsonl_ratio', text: '>= 0.8', met: (v) => v >= 0.8 },
  { bench: 'csv_vs_jsonl_ratio_cpu', text: '>= 0.8', met: (v) => v >= 0.8 },
  { bench: 'peak_rss_mb_10m', text: '<= 200', met: (v) => v <= 200 },
  { bench: 'e2e_vs_duckdb_ratio', text: '<= 3', met: (v) => v <= 3 },
  { bench: 'e2e_vs_duckdb_ratio_cpu', text: '<= 3', met: (v) => v <= 3 },
  { bench: 'cli_start_ms', text: '<= 300', met: (v) => v <= 300 },
  { bench: 'cli_start_cpu_ms', text: '<= 300', met: (v) => v <= 300 },
  { bench: 'cli_usage_empty_ms', text: '<= 1000', met: (v) => v <= 1000 },
  { bench: 'cli_usage_empty_cpu_ms', text: '<= 1000', met: (v) => v <= 1000 },
  { bench: 'bundle_kb_ingest', text: '<= 1024', met: (v) => v <= 1024 },
  { bench: 'bundle_kb_audit', text: '<= 1024', met: (v) => v <= 1024 },
  { bench: 'audit_peak_rss_mb_1m_objects', text: '<= 512', met: (v) => v <= 512 },
  { bench: 'report_json_kb_1m_objects', text: '<= 10240', met: (v) => v <= 10240 },
  { bench: 'audit_vs_read_ratio', text: '<= 2', met: (v) => v <= 2 },
  { bench: 'audit_seconds_1m_vs_100k', text: '<= 1.5', met: (v) => v <= 1.5 },
  { bench: 'audit_cpu_seconds_1m_vs_100k', text: '<= 1.5', met: (v) => v <= 1.5 },
  { bench: 'audit_peak_rss_1m_vs_100k', text: '<= 1.5', met: (v) => v <= 1.5 },
];

/** The median of some numbers (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/**
 * The audit at 100k and 1M objects a month (audit-scale.ts, in child processes on dynalite). Both
 * sizes are seeded first, then audited in alternate rounds (BENCH_AUDIT_ROUNDS, default 3; each
 * round the first audit of a fresh copy of the seeded data): times are the medians of the rounds,
 * the time ratio the median of each round's 1M / 100k, so that load changing during the bench
 * falls on both sizes alike; peak RSS is the largest seen. `BENCH_ONLY=audit npm run bench` runs
 * only these.
 */
function auditBenches(): void {
  const rounds = Math.max(1, Number(process.env.BENCH_AUDIT_ROUNDS ?? 3));
  note(`audit at scale: 100 licensees × 8 apps × 31 days, 100k and 1M objects (dynalite), ${rounds} rounds`);
  const seeded = [seedScale(100_000), seedScale(1_000_000)] as const;
  try {
    const small: ScaleRun[] = [];
    const large: ScaleRun[] = [];
    for (let round = 0; round < rounds; round++) {
      small.push(auditScale(seeded[0]));
      large.push(auditScale(seeded[1]));
    }
    note(`audit scale seeding: ${JSON.stringify(seeded.map(({ dir: _d, ...s }) => s))}`);
    note(`audit scale rounds: ${JSON.stringify({ small, large })}`);
    const at = (runs: readonly ScaleRun[], f: (r: ScaleRun) => number) => median(runs.map(f));
    const peak = (runs: readonly ScaleRun[]) => Math.max(...runs.map((r) => r.peakRssMb));
    const paired = (f: (r: ScaleRun) => number) =>
      median(large.map((r, i) => f(r) / f(small[i] as ScaleRun)));
    emit(
      'audit_seconds_100k_objects',
      at(small, (r) => r.auditSeconds),
      's',
    );
    emit('audit_peak_rss_mb_100k_objects', peak(small), 'MB');
    emit(
      'audit_seconds_1m_objects',
      at(large, (r) => r.auditSeconds),
      's',
    );
    emit('audit_peak_rss_mb_1m_objects', peak(large), 'MB');
    emit(
      'report_json_kb_1m_objects',
      at(large, (r) => r.reportJsonKb),
      'KB',
    );
    emit('audit_vs_read_ratio', median(large.map((r) => r.auditSeconds / r.readSeconds)), 'ratio');
    emit(
      'audit_seconds_1m_vs_100k',
      paired((r) => r.auditSeconds),
      'ratio',
    );
    emit(
      'audit_cpu_seconds_1m_vs_100k',
      paired((r) => r.auditCpuSeconds),
      'ratio',
    );
    emit('audit_peak_rss_1m_vs_100k', peak(large) / peak(small), 'ratio');
  } finally {
    for (const s of seeded) dropSeeded(s);
  }
}

const measurements: Measurement[] = [];
const failures: string[] = [];

function emit(bench: string, value: number, unit: string): number {
  const m = { bench, value: Number(value.toPrecision(6)), unit };
  measurements.push(m);
  process.stdout.write(`${JSON.stringify(m)}\n`);
  return value;
}

function check(what: string, ok: boolean, detail: string): void {
  if (!ok) {
    failures.push(`${what}: ${detail}`);
    process.stderr.write(`WRONG ${what}: ${detail}\n`);
  }
}

const note = (text: string): boolean => process.stderr.write(`# ${text}\n`);

function checkRead(what: string, r: ReadResult, g: Generated): void {
  check(
    what,
    r.status === 'ingested' &&
      r.requests === g.totals.requests &&
      r.records === g.totals.records &&
      r.rejected === g.badLines.length,
    `status ${r.status}, requests ${r.requests}/${g.totals.requests}, records ${r.records}/${g.totals.records}, rejected ${r.rejected}/${g.badLines.length}`,
  );
}

/** DuckDB parses some lines the reader rejects and skips none it counts: totals within 0.5%. */
function checkDuck(what: string, d: DuckResult, expected: Totals, apps: number, days: number): void {
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= b * 0.005;
  check(
    what,
    d.apps === apps &&
      d.days >= days &&
      d.days <= days + 2 &&
      near(d.requests, expected.requests) &&
      near(d.records, expected.records),
    `${d.rows} rows, ${d.apps} apps, ${d.days} days, requests ${d.requests}/${expected.requests}, records ${d.records}/${expected.records}`,
  );
}

/** The least CPU time among runs. */
const leastCpu = (runs: Timed[]): number => Math.min(...runs.map((r) => r.cpuSeconds));

/** Best of `rounds` runs (the machine is shared: the slowest runs measure the neighbours). */
async function best<T extends { seconds: number }>(rounds: number, run: () => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < rounds; i++) all.push(await run());
  return all.sort((a, b) => a.seconds - b.seconds);
}

async function main(): Promise<number> {
  const lines = Number(process.argv[2] ?? 2_000_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  if (!Number.isSafeInteger(lines) || lines < 1000)
    throw new Error(`usage: run.ts [lines >= 1000], got ${process.argv[2]}`);
  const started = Date.now();
  if (process.env.BENCH_ONLY === 'audit') {
    auditBenches();
    printTable('audit benches only', lines, (Date.now() - started) / 1000);
    return failures.length ? 1 : 0;
  }
  const dir = await mkdtemp(join(tmpdir(), 'usage-auditor-bench-'));
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ${new Date().toISOString()}`;
  note(machine);
  try {
    note('building dist/cli (the prepare script)');
    buildCli();

    // Reader, its floor and DuckDB on the same files, interleaved.
    note(`generating ${lines} lines (JSON Lines and CSV, gzip)`);
    const jsonl = await generate(join(dir, 'logs.jsonl.gz'), lines, 42);
    const csv = await toCsv(jsonl, join(dir, 'logs.csv.gz'));
    const floorRuns = [];
    const jsonRuns: ReadResult[] = [];
    const csvRuns: ReadResult[] = [];
    const duckRuns: DuckResult[] = [];
    for (let i = 0; i < rounds; i++) {
      note(`reader round ${i + 1}/${rounds}`);
      floorRuns.push(await runChild('floor', [jsonl.path]));
      jsonRuns.push(await runChild('read', [jsonl.path]));
      duckRuns.push(await runChild('duckdb', [jsonl.path]));
      csvRuns.push(await runChild('read', [csv.path]));
    }
    for (const r of floorRuns)
      check('floor lines', r.lines === jsonl.lines, `${r.lines} lines, generated ${jsonl.lines}`);
    for (const r of jsonRuns) checkRead('reader jsonl.gz', r, jsonl);
    for (const r of csvRuns) checkRead('reader csv.gz', r, csv);
    for (const d of duckRuns) checkDuck('duckdb jsonl.gz', d, jsonl.totals, jsonl.apps, jsonl.days);
    const fastest = <T extends { seconds: number }>(runs: T[]): T =>
      runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const core = emit('ingest_core_lines_per_s', jsonl.lines / fastest(jsonRuns).seconds, 'lines/s');
    const coreCsv = emit('ingest_core_csv_lines_per_s', csv.lines / fastest(csvRuns).seconds, 'lines/s');
    emit('csv_vs_jsonl_ratio', coreCsv / core, 'ratio');
    emit('floor_lines_per_s', jsonl.lines / fastest(floorRuns).seconds, 'lines/s');
    const duck = emit('duckdb_1t_lines_per_s', jsonl.lines / fastest(duckRuns).seconds, 'lines/s');
    emit('ingest_vs_duckdb_ratio', core / duck, 'ratio');
    // The same ratios on CPU time (all threads), steadier than wall time when the machine is shared.
    emit('ingest_vs_duckdb_ratio_cpu', leastCpu(duckRuns) / leastCpu(jsonRuns), 'ratio');
    emit('csv_vs_jsonl_ratio_cpu', leastCpu(jsonRuns) / leastCpu(csvRuns), 'ratio');
    emit('floor_cpu_share_of_ingest', leastCpu(floorRuns) / leastCpu(jsonRuns), 'ratio');
    emit('peak_rss_mb_2m', Math.max(...jsonRuns.map((r) => r.maxRssMB)), 'MB');
    emit('peak_rss_mb_2m_csv', Math.max(...csvRuns.map((r) => r.maxRssMB)), 'MB');
    await rm(csv.path);

    // Peak RSS on a 5× file: five copies of the main file as one multi-member gzip file.
    note(`reader on ${lines * 5} lines (peak RSS)`);
    const big = await repeat(jsonl, 5, join(dir, 'big.jsonl.gz'));
    const bigRead = await runChild('read', [big.path]);
    checkRead('reader big jsonl.gz', bigRead, big);
    emit('peak_rss_mb_10m', bigRead.maxRssMB, 'MB');
    emit('ingest_core_lines_per_s_10m', big.lines / bigRead.seconds, 'lines/s');
    await rm(big.path);

    // DynamoDB requests per ingested object: three drops of the generator's 4 apps × 3 days.
    note('local stack: DynamoDB writes per object');
    const drops = [];
    for (const seed of [1, 2, 3])
      drops.push(await generate(join(dir, `drop-${seed}.jsonl.gz`), 20_000, seed));
    const w = await runChild(
      'ddb-writes',
      drops.map((d) => d.path),
    );
    const dropTotals = drops.reduce(
      (s, d) => ({ requests: s.requests + d.totals.requests, records: s.records + d.totals.records }),
      { requests: 0, records: 0 },
    );
    check(
      'local stack ingest',
      w.outcomes.length === drops.length &&
        w.outcomes.every((o) => o === 'ingested') &&
        w.requests === dropTotals.requests &&
        w.records === dropTotals.records,
      `outcomes ${w.outcomes.join(',')}, requests ${w.requests}/${dropTotals.requests}, records ${w.records}/${dropTotals.records}`,
    );
    emit('ddb_writes_per_object', writeRequests(w.requestsByOp) / w.objects, 'requests');
    emit('ddb_write_items_per_object', w.writeItems / w.objects, 'items');
    emit(
      'ddb_requests_per_object',
      Object.values(w.requestsByOp).reduce((a, b) => a + b, 0) / w.objects,
      'requests',
    );
    note(`DynamoDB requests for ${w.objects} objects by operation: ${JSON.stringify(w.requestsByOp)}`);

    // `auditor upload` end to end against DuckDB on the same file.
    const half = Math.max(1000, Math.round(lines / 2));
    note(`generating ${half} lines for auditor upload`);
    const e2eFile = await generate(join(dir, 'upload.jsonl.gz'), half, 44);
    const duckHalf = await best(rounds, () => runChild('duckdb', [e2eFile.path]));
    for (const d of duckHalf) checkDuck('duckdb upload file', d, e2eFile.totals, e2eFile.apps, e2eFile.days);
    note('auditor upload (embedded stack, fresh data dir)');
    const e2e = e2eUpload(dir, e2eFile.path, { from: '2026-11-20', to: '2026-11-30' });
    check(
      'auditor upload + usage',
      e2e.requests === e2eFile.totals.requests && e2e.records === e2eFile.totals.records,
      `requests ${e2e.requests}/${e2eFile.totals.requests}, records ${e2e.records}/${e2eFile.totals.records}`,
    );
    emit('e2e_upload_seconds_1m', e2e.seconds, 's');
    emit('duckdb_1t_seconds_1m', (duckHalf[0] as DuckResult).seconds, 's');
    emit('e2e_vs_duckdb_ratio', e2e.seconds / (duckHalf[0] as DuckResult).seconds, 'ratio');
    emit('e2e_vs_duckdb_ratio_cpu', e2e.cpuSeconds / leastCpu(duckHalf), 'ratio');

    note('CLI start and Lambda bundles');
    const start = cliStart();
    emit('cli_start_ms', start.ms, 'ms');
    emit('cli_start_cpu_ms', start.cpuMs, 'ms');
    const usageEmpty = cliUsageEmpty(dir);
    emit('cli_usage_empty_ms', usageEmpty.ms, 'ms');
    emit('cli_usage_empty_cpu_ms', usageEmpty.cpuMs, 'ms');
    for (const b of await lambdaBundles(dir)) {
      emit(`bundle_kb_${b.name}`, b.kb, 'KB');
      emit(`cold_import_ms_${b.name}`, b.coldImportMs, 'ms');
    }
    auditBenches();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  printTable(machine, lines, (Date.now() - started) / 1000);
  if (failures.length)
    process.stderr.write(`${failures.length} wrong result(s):\n  ${failures.join('\n  ')}\n`);
  return failures.length ? 1 : 0;
}

function printTable(machine: string, lines: number, seconds: number): void {
  const rows = measurements.map((m) => {
    const t = TARGETS.find((x) => x.bench === m.bench);
    return [
      m.bench,
      m.value.toLocaleString('en-US', { maximumFractionDigits: 2 }),
      m.unit,
      t?.text ?? '',
      t ? (t.met(m.value) ? 'PASS' : 'MISS') : '',
    ];
  });
  const head = ['measurement', 'value', 'unit', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string =>
    `| ${r.map((c, i) => (i === 1 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ')} |`;
  process.stdout.write(
    `\n${machine}; main file ${lines.toLocaleString('en-US')} lines; bench took ${Math.round(seconds)} s\n` +
      `${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n`,
  );
}

process.exitCode = await main();
