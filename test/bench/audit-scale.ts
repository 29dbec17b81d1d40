/**
 * The audit at platform scale (issue 10): one date's audit (2026-10-31, the whole month) over
 * synthetic usage of 100 licensees × 8 apps × 31 days in the real store on dynalite (or DynamoDB Local), with
 * `objects` log objects a month spread evenly over the 24,800 app-days.
 *
 * What is seeded, directly with batch writes (the ingest path itself is measured by the ingest
 * benches): the month's app index and day markers; for every app-day a rollup as the rollup store
 * writes it (usage summed over its objects, 10 endpoints, the top 20 objects and the object
 * count), fresh against its day's marker; and, for the licensee with findings (1 of 100, so
 * 1 % of the objects), every object for real: its committed manifest and its contribution items,
 * with their rollups the exact sums of those items. The audit reads only rollups and, for evidence,
 * the contributions of the findings' app-days, so the other licensees' contributions (never read
 * while their rollups are fresh) are not written. Rebuilding stale rollups is not measured here.
 *
 * Run as child processes: `tsx test/bench/audit-scale.ts seed <objects> <dir>` starts the
 * emulators (dynalite by default, AUDITOR_DYNAMODB=local for DynamoDB Local) with their data in
 * `dir` and seeds them; `… audit <dir>` copies that data (every round is then the first audit of
 * it), starts the emulators on the copy, times a plain read of the items the audit needs, then runs
 * the audit (audit-child.ts, bundled as the audit function is deployed; BENCH_AUDIT_RUNNER=tsx for
 * the TypeScript through tsx) in a grandchild process against the same emulators, so that the peak
 * RSS is the audit's alone. Each prints one JSON object. run.ts seeds both sizes, then audits them
 * in alternate rounds, so that a change in the machine's load falls on both sizes alike.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import {
  batchGet,
  batchWrite,
  queryPartition,
  type WriteRequest,
} from '../../functions/adapters/dynamo-batch.ts';
import { LEAN_FIELDS, TOP_FIELDS } from '../../functions/adapters/rollup-store.ts';
import type { Agreement } from '../../functions/core/audit/agreements.ts';
import { EVIDENCE_LINES } from '../../functions/core/evidence.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import type { EvidenceLine, RowEvidence } from '../../functions/core/request-evidence.ts';
import { buildRollup, ROLLUP_TOP_SOURCES, type Rollup, splitRollup } from '../../functions/core/rollup.ts';
import { seededRandom } from '../../functions/core/support.ts';
import { startEmulators } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { createStores } from '../../functions/shared/compose.ts';
import { loadStoreConfig } from '../../functions/shared/config.ts';

const LICENSEES = 100;
const APPS = 8;
const MONTH = '2026-10';
const DAYS = Array.from({ length: 31 }, (_, i) => `${MONTH}-${String(i + 1).padStart(2, '0')}`);
const DATE = DAYS[30] as string;
/** Licensees whose quota is exceeded (their objects are seeded for real, for evidence). */
const WITH_FINDINGS = 1;
const ENDPOINTS = Array.from({ length: 10 }, (_, i) => `GET /2/resource-${i}`);
/** Endpoints with line refs per app-day in its rollup's evidence (the usage's 10 and 10 more). */
const EVIDENCE_ENDPOINTS = [...ENDPOINTS, ...Array.from({ length: 10 }, (_, i) => `GET /2/other-${i}`)];

const licensee = (l: number) => `l${String(l).padStart(3, '0')}`;
const appOf = (l: number, a: number) => `${licensee(l)}-app${a}`;
const keyHash = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

/** One object's usage of its app-day (deterministic). */
function objectUsage(app: string, day: string, n: number): UsageRow {
  const requests = 100 + (n % 50);
  const endpoints: UsageRow['endpoints'] = {};
  ENDPOINTS.forEach((ep, i) => {
    endpoints[ep] = {
      requests: Math.floor(requests / 10) + i,
      records: 10 * (n % 7) + i,
      bytes: 1000 + i,
      errors: i % 2,
    };
  });
  const sum = (f: 'requests' | 'records' | 'bytes' | 'errors') =>
    Object.values(endpoints).reduce((s, c) => s + c[f], 0);
  const key = `logs/${day.replaceAll('-', '/')}/${app}-${String(n).padStart(6, '0')}.jsonl.gz`;
  return {
    app,
    day,
    requests: sum('requests'),
    records: sum('records'),
    bytes: sum('bytes'),
    errors: sum('errors'),
    endpoints,
    categories: {},
    sources: [{ key, gen: keyHash(`gen:${key}`) }],
  };
}

/** A rollup of `count` objects without writing them: the sums of objectUsage, 20 top sources. */
function syntheticRollup(app: string, day: string, count: number, token: string): Rollup {
  const sample = Array.from({ length: Math.min(count, ROLLUP_TOP_SOURCES) }, (_, n) =>
    objectUsage(app, day, n),
  );
  const r = buildRollup(app, day, sample, token);
  if (count <= ROLLUP_TOP_SOURCES) return r;
  const scale = (x: number) => Math.round((x * count) / sample.length);
  for (const c of Object.values(r.endpoints)) {
    c.requests = scale(c.requests);
    c.records = scale(c.records);
    c.bytes = scale(c.bytes);
    c.errors = scale(c.errors);
  }
  const total = (f: 'requests' | 'records' | 'bytes' | 'errors') =>
    Object.values(r.endpoints).reduce((s, c) => s + c[f], 0);
  return {
    ...r,
    requests: total('requests'),
    records: total('records'),
    bytes: total('bytes'),
    errors: total('errors'),
    sourceCount: count,
  };
}

/**
 * Request-level evidence as ingest leaves it on an app-day's rollup: EVIDENCE_LINES line refs for
 * the app-day and for each of 20 endpoints (from its top objects), and a full KMV sketch (256
 * hashes, a few held by two objects). Deterministic.
 */
function rollupEvidence(r: Rollup): RowEvidence {
  const random = seededRandom(Number.parseInt(keyHash(`${r.app}${r.day}`).slice(0, 8), 16));
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const objects = r.top.length > 0 ? r.top : [{ key: `logs/${r.day}/${r.app}.jsonl.gz`, gen: 'g' }];
  let n = 0;
  const lines = (): EvidenceLine[] =>
    Array.from({ length: EVIDENCE_LINES }, () => {
      const o = objects[n % objects.length] as { key: string; gen: string };
      n++;
      return {
        key: o.key,
        gen: o.gen,
        line: n,
        request_id: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
        sha256: hex(64),
      };
    }).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.line - b.line));
  const h = [...new Set(Array.from({ length: 256 }, () => Math.floor(random() * 2 ** 52)))].sort(
    (a, b) => a - b,
  );
  return {
    lines: lines(),
    endpoints: Object.fromEntries(EVIDENCE_ENDPOINTS.map((ep) => [ep, lines()])),
    categories: {},
    sketch: { h, m: h.map((_, i) => (i % 16 === 0 ? 2 : 1)) },
    duplicates: 1,
  };
}

/**
 * A rollup's items as RollupStore.put writes them; with BENCH_EVIDENCE=1 also its request-level
 * evidence (seeding then takes about 5× longer: 100k objects about 10 minutes on the loaded
 * 2-core machine, so `npm run bench` leaves it out).
 */
function rollupItems(rollup: Rollup): WriteRequest[] {
  const r = process.env.BENCH_EVIDENCE === '1' ? { ...rollup, evidence: rollupEvidence(rollup) } : rollup;
  const keyOf = (part: number) => ({
    pk: `RU#${r.day.slice(0, 7)}`,
    sk: `${r.day}#${r.app}#${String(part).padStart(5, '0')}`,
  });
  return splitRollup(r, keyOf).map((p) => ({ PutRequest: { Item: { ...keyOf(p.part), ...p } } }));
}

export async function seed(doc: DynamoDBDocumentClient, table: string, objects: number) {
  const perAppDay = objects / (LICENSEES * APPS * DAYS.length);
  const at = '2026-11-01T00:30:00.000Z';
  const token = `1@${at}`;
  await batchWrite(doc, table, [
    ...DAYS.map((d) => ({ PutRequest: { Item: { pk: `DAYS#${MONTH}`, sk: d, changedAt: at, rev: 1 } } })),
    ...Array.from({ length: LICENSEES * APPS }, (_, i) => ({
      PutRequest: { Item: { pk: `APPS#${MONTH}`, sk: appOf(Math.floor(i / APPS), i % APPS) } },
    })),
  ]);
  let written = 0;
  for (let l = 0; l < LICENSEES; l++) {
    for (let a = 0; a < APPS; a++) {
      const app = appOf(l, a);
      const batch: WriteRequest[] = [];
      for (const [d, day] of DAYS.entries()) {
        // Spread evenly: this app-day's share of the objects (rounded so the month adds up).
        const index = (l * APPS + a) * DAYS.length + d;
        const count = Math.floor((index + 1) * perAppDay) - Math.floor(index * perAppDay);
        if (l >= WITH_FINDINGS) {
          batch.push(...rollupItems(syntheticRollup(app, day, count, token)));
          continue;
        }
        const rows = Array.from({ length: count }, (_, n) => objectUsage(app, day, n));
        const items = rows.flatMap((u) => {
          const { sources, ...usage } = u;
          const { key, gen } = sources[0] as { key: string; gen: string };
          const wid = `${gen}.1.bench`;
          return [
            {
              PutRequest: {
                Item: {
                  pk: `O#${key}`,
                  sk: 'M',
                  key,
                  gen,
                  wid,
                  seq: '1'.padStart(40, '0'),
                  status: 'ingested',
                  format: 'jsonl',
                  compressed: true,
                  lines: u.requests,
                  counted: u.requests,
                  rejected: 0,
                  chunks: 1,
                  registryHash: 'bench',
                  ingestedAt: at,
                },
              },
            },
            {
              PutRequest: {
                Item: {
                  pk: `U#${app}#${MONTH}`,
                  sk: `${day}#${keyHash(key)}#${wid}#0`,
                  key,
                  gen,
                  wid,
                  part: 0,
                  ...usage,
                },
              },
            },
          ];
        });
        batch.push(...items, ...rollupItems(buildRollup(app, day, rows, token)));
      }
      await batchWrite(doc, table, batch, undefined, 8);
      written++;
      if (written % 80 === 0) process.stderr.write(`# seeded ${written} of ${LICENSEES * APPS} apps\n`);
    }
  }
  return written;
}

export function agreements(objects: number): Agreement[] {
  const perLicensee = objects / LICENSEES;
  return Array.from({ length: LICENSEES }, (_, l) => ({
    licensee: licensee(l),
    name: `Licensee ${l}`,
    apps: Array.from({ length: APPS }, (_, a) => ({ id: appOf(l, a), use_case: 'bench' })),
    term: { start: '2026-01-01', end: '2026-12-31' },
    // The licensees with findings get a quota they exceed; the others one they never reach.
    quotas: { monthly_records: l < WITH_FINDINGS ? Math.max(1, Math.round(perLicensee * 100)) : 1e15 },
    prohibited_recipients: [],
    approved_organisations: [],
  }));
}

/**
 * A plain read of what the audit needs: every rollup of W as the audit reads it (every attribute
 * but the top lists and the evidence's line refs, RollupStore's LEAN_FIELDS), the top lists of
 * 100 rollups (as many as the audit reads at 1M objects, where its rows name 2,000 objects at 20 a
 * row; audit_vs_read_ratio is measured at 1M), and the findings' contributions and
 * manifests.
 */
async function plainRead(doc: DynamoDBDocumentClient, table: string): Promise<number> {
  let n = 0;
  const first: Record<string, unknown>[] = [];
  for await (const i of queryPartition(
    doc,
    table,
    `RU#${MONTH}`,
    { from: DAYS[0] as string, to: DATE },
    LEAN_FIELDS,
  )) {
    n++;
    if (i.part === 0 && first.length < 100) first.push({ pk: i.pk, sk: i.sk });
  }
  n += (await batchGet(doc, table, first, undefined, 4, TOP_FIELDS)).length;
  for (let l = 0; l < WITH_FINDINGS; l++) {
    for (let a = 0; a < APPS; a++) {
      const keys = new Set<string>();
      for await (const i of queryPartition(doc, table, `U#${appOf(l, a)}#${MONTH}`, {
        from: DAYS[0] as string,
        to: DATE,
      })) {
        keys.add(i.key as string);
        n++;
      }
      n += (
        await batchGet(
          doc,
          table,
          [...keys].map((k) => ({ pk: `O#${k}`, sk: 'M' })),
        )
      ).length;
    }
  }
  return n;
}

/**
 * How the audit process runs: by default audit-child.ts bundled as infra/stack.ts BUNDLING bundles
 * the audit function (cli-bundles.ts lambdaBundles: ESM, everything bundled, minified) and run with
 * plain node, as deployed; with BENCH_AUDIT_RUNNER=tsx the TypeScript through tsx (its transpiler's
 * memory then counts in the peak RSS).
 */
async function auditRunner(dir: string): Promise<string[]> {
  const entry = fileURLToPath(new URL('./audit-child.ts', import.meta.url));
  if (process.env.BENCH_AUDIT_RUNNER === 'tsx') return ['--import', 'tsx', entry];
  const outfile = join(dir, 'audit-child.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    target: 'node22',
    platform: 'node',
    mainFields: ['module', 'main'],
    minify: true,
    banner: {
      js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return [outfile];
}

/** Seeds `objects` a month into emulators whose data lives in `dir` (kept for auditScale). */
async function seedMain(objects: number, dir: string): Promise<void> {
  const emulators = await startEmulators({ dataDir: dir, dynamo: backend() });
  try {
    const config = loadStoreConfig(emulators.env);
    const stores = createStores({ s3: emulators.s3, dynamo: emulators.dynamo }, config);
    const t0 = performance.now();
    await seed(documentClient(emulators.dynamo), config.usageTable, objects);
    await stores.control.putAgreements(agreements(objects));
    const seedSeconds = (performance.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify({ objects, seedSeconds })}\n`);
  } finally {
    await emulators.stop();
  }
}

const backend = () => (process.env.AUDITOR_DYNAMODB as 'dynalite' | 'local' | undefined) ?? 'dynalite';

/**
 * One audit of the data seeded in `seeded`, on a copy of it (so every round is the first audit of
 * that data): the emulators started on the copy, a plain read of what the audit needs timed, then
 * the audit in a process of its own (its peak RSS is the audit's alone).
 */
async function auditMain(seeded: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-scale-round-'));
  cpSync(seeded, dir, { recursive: true });
  const emulators = await startEmulators({ dataDir: dir, dynamo: backend() });
  try {
    const config = loadStoreConfig(emulators.env);
    const doc = documentClient(emulators.dynamo);
    const r0 = performance.now();
    const items = await plainRead(doc, config.usageTable);
    const readSeconds = (performance.now() - r0) / 1000;
    const runner = await auditRunner(dir);
    const child = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [...runner, DATE],
        { env: { ...process.env, ...emulators.env }, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr.slice(-2000)}`)) : resolve(stdout),
      );
    });
    const audit = JSON.parse(child.split('\n').find((l) => l.startsWith('{')) ?? '{}');
    process.stdout.write(
      `${JSON.stringify({ readSeconds, readItems: items, runner: runner.length > 1 ? 'tsx' : 'bundle', ...audit })}\n`,
    );
  } finally {
    await emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('audit-scale.ts')) {
  const [mode, arg, dir] = process.argv.slice(2);
  if (mode === 'seed' && arg && dir) await seedMain(Number(arg), dir);
  else if (mode === 'audit' && arg) await auditMain(arg);
  else throw new Error('usage: audit-scale.ts seed <objects> <dir> | audit <dir>');
  process.exit(0);
}

/** Data seeded by seedScale: where it lives, and its figures. */
export interface Seeded {
  dir: string;
  objects: number;
  seedSeconds: number;
}

/** One audit round's figures (auditScale). */
export interface ScaleRun {
  /** How the audit process ran: `bundle` (as deployed) or `tsx`. */
  runner: string;
  readSeconds: number;
  readItems: number;
  auditSeconds: number;
  /** The audit process's CPU time (steadier than auditSeconds on a loaded machine). */
  auditCpuSeconds: number;
  findings: number;
  reportJsonKb: number;
  longestFindingLine: number;
  peakRssMb: number;
}

function child<T>(args: readonly string[], what: string): T {
  const out = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('{'));
  if (out.status !== 0 || !line) throw new Error(`${what}: ${out.stderr.slice(-2000)}`);
  return JSON.parse(line) as T;
}

/** Seeds `objects` a month in a child process into a directory of its own (remove it with dropSeeded). */
export function seedScale(objects: number): Seeded {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-scale-'));
  return {
    dir,
    ...child<Omit<Seeded, 'dir'>>(['seed', String(objects), dir], `audit-scale seed ${objects}`),
  };
}

/** One audit of seeded data, on a fresh copy of it, in child processes. */
export function auditScale(seeded: Seeded): ScaleRun {
  return child<ScaleRun>(['audit', seeded.dir], `audit-scale audit ${seeded.objects}`);
}

export function dropSeeded(seeded: Seeded): void {
  rmSync(seeded.dir, { recursive: true, force: true });
}
