/**
 * A report date split into parts (functions/audit/parts.ts) against both DynamoDB emulators and
 * s3rver: the real rollups, the parts' results in the control table, and the report folder the
 * split run writes byte-identical to the one an unsplit audit of the same data writes, also when a
 * late object lands between the parts and the join (which reads that app's objects only).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { PartResultStore } from '../../functions/adapters/part-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import { RollupStore } from '../../functions/adapters/rollup-store.ts';
import { auditInProcess, auditPlannedPart, planAudit } from '../../functions/audit/fan-out.ts';
import { joinDate, type PartOutcome } from '../../functions/audit/parts.ts';
import type { PartRecord } from '../../functions/audit/ports.ts';
import { type AuditDeps, auditDate } from '../../functions/audit/run-audit.ts';
import type { Agreement } from '../../functions/core/audit/agreements.ts';
import { ingestObject } from '../../functions/ingest/ingest-object.ts';
import { CONTROL_TABLE } from '../../functions/shared/resources.ts';
import { BACKENDS, startTestBed, type TestBed } from '../support/emulators.ts';
import { makeLog } from '../support/logs.ts';

const D = '2026-11-02';
const NOW = new Date('2026-11-03T02:00:00Z');

const agreementOf = (licensee: string, app: string): Agreement => ({
  licensee,
  name: licensee,
  apps: [{ id: app, use_case: 'search' }],
  term: { start: '2026-01-01', end: '2026-12-31' },
  quotas: { monthly_records: 1000, daily_records: 500 },
  endpoints: ['GET /2/tweets/search/recent'],
  prohibited_recipients: [],
  approved_organisations: [],
  rate: { per_1000_records: 0.75, currency: 'USD' },
});

describe.each(BACKENDS)('a split date on %s', (backend) => {
  let bed: TestBed;
  let control: ControlStore;
  let deps: AuditDeps;
  let seq = 0x7000;
  beforeAll(async () => {
    bed = await startTestBed(backend);
    const controlTable = bed.emulators.env.CONTROL_TABLE as string;
    control = new ControlStore(bed.doc, controlTable);
    // app-c is no licensee's: its unknown_app finding comes from the uncovered apps' part.
    await control.putAgreements([agreementOf('alpha', 'app-a'), agreementOf('beta', 'app-b')]);
    for (let i = 0; i < 5; i++) {
      const key = `logs/parts/${i}.jsonl`;
      const etag = await bed.put(key, makeLog(100 + i, 200).text);
      const out = await ingestObject(bed.deps({ now: () => new Date() }), {
        bucket: bed.logBucket,
        key,
        etag,
        sequencer: (seq++).toString(16).toUpperCase(),
      });
      expect(out.outcome).toBe('ingested');
    }
    deps = {
      usage: bed.store,
      control,
      reports: new ReportStore(bed.objects, bed.reportsBucket),
      rollups: new RollupStore(bed.doc, bed.usageTable, bed.store),
      partResults: new PartResultStore(bed.doc, controlTable),
      partObjects: 1,
      now: () => NOW,
    };
  }, 120_000);
  afterAll(async () => {
    await bed?.stop();
  });

  it('plans one part per licensee and one for the uncovered apps, and writes the unsplit report’s bytes', async () => {
    const plan = await planAudit(deps, { kind: 'dates', dates: [D] });
    expect(plan.dates).toEqual([{ date: D, parts: [0, 1, 2] }]);
    expect(await deps.partResults?.getPlan(plan.run, D)).toEqual([
      { part: 0, of: 3, first: 'alpha', last: 'alpha' },
      { part: 1, of: 3, first: 'beta', last: 'beta' },
      { part: 2, of: 3, unlicensed: true },
    ]);
    const [result] = await auditInProcess(deps, { kind: 'dates', dates: [D] });
    expect(result).toEqual({ date: D, findings: expect.any(Number), written: true });
    expect(result?.findings).toBeGreaterThanOrEqual(3);
    const split = await deps.reports.readAll(D);
    expect([...split.keys()].filter((n) => n.startsWith('evidence/')).length).toBe(result?.findings);

    // The same date audited unsplit, into another folder (the log bucket's reports/ prefix).
    const other = new ReportStore(bed.objects, bed.logBucket);
    await auditDate({ ...deps, reports: other, partResults: undefined, trigger: 'on-demand' }, D);
    expect(await other.readAll(D)).toEqual(split);

    // Audited again, split: nothing to rewrite.
    const [again] = await auditInProcess(deps, { kind: 'dates', dates: [D] });
    expect(again).toEqual({ ...result, written: false });
    expect(await deps.reports.readAll(D)).toEqual(split);
  });

  it('a late object for one app between the parts and the join: the join reads its objects only, the unsplit bytes', async () => {
    const plan = await planAudit(deps, { kind: 'dates', dates: [D] });
    const run = { ...deps, trigger: plan.trigger };
    const outcomes: PartOutcome[] = [];
    for (const part of plan.dates[0]?.parts ?? [])
      outcomes.push(await auditPlannedPart(run, plan.run, D, part));
    expect(outcomes).toHaveLength(3);
    // Late logs of beta's app for D: D's token moves for every app, only app-b's content changes.
    const key = 'logs/parts/late-b.jsonl';
    const line = (records: number) =>
      JSON.stringify({
        timestamp: `${D}T23:00:00Z`,
        app_id: 'app-b',
        endpoint: 'GET /2/tweets/search/recent',
        status: 200,
        records,
        bytes: 100,
      });
    const etag = await bed.put(key, `${line(7)}\n${line(9)}\n`);
    const late = await ingestObject(bed.deps({ now: () => new Date() }), {
      bucket: bed.logBucket,
      key,
      etag,
      sequencer: (seq++).toString(16).toUpperCase(),
    });
    expect(late.outcome).toBe('ingested');
    const rollups = deps.rollups as RollupStore;
    const read = new Set<string>();
    const counting = Object.create(rollups) as RollupStore;
    counting.parts = (app, from, to) => {
      read.add(app);
      return rollups.parts(app, from, to);
    };
    const result = await joinDate({ ...run, rollups: counting }, plan.run, D, outcomes);
    expect(result.written).toBe(true);
    expect([...read]).toEqual(['app-b']);
    const split = await deps.reports.readAll(D);
    expect([...split.values()].some((body) => body.includes(key))).toBe(true);
    const other = new ReportStore(bed.objects, bed.logBucket);
    await auditDate({ ...deps, reports: other, partResults: undefined, trigger: 'on-demand' }, D);
    expect(await other.readAll(D)).toEqual(split);
  });

  it('part results: one record per date, part and chunk, overwritten by the next run', async () => {
    const store = new PartResultStore(bed.doc, bed.emulators.env.CONTROL_TABLE as string);
    const record = (run: string, chunk: number, over: Partial<PartRecord> = {}): PartRecord => ({
      run,
      chunk,
      tokens: 't',
      done: [
        {
          fp: `f${chunk}`,
          evidence: { sources: [{ key: 'k', gen: 'g' }], source_count: 1, truncated: false },
          sha256: 's',
        },
      ],
      written: { 'evidence/x.jsonl': 'abc' },
      ...over,
    });
    await store.put('2026-10-05', 1, 0, record('r1', 0));
    await store.put('2026-10-05', 1, 1, record('r1', 1, { complete: { records: 2, findings: 2 } }));
    await store.put('2026-10-05', 2, 0, record('r1', 0));
    await store.put('2026-10-05', 1, 0, record('r2', 0));
    expect(await store.get('2026-10-05', 1)).toEqual([
      record('r2', 0),
      record('r1', 1, { complete: { records: 2, findings: 2 } }),
    ]);
    expect(await store.get('2026-10-06', 1)).toEqual([]);
  });

  it('plans: one record per run and date, apart from the results; every record expires 8 days after its write', async () => {
    const table = bed.emulators.env.CONTROL_TABLE as string;
    const written = Date.parse('2026-10-06T12:00:00.400Z');
    const store = new PartResultStore(bed.doc, table, () => written);
    const parts = [
      { part: 0, of: 2, first: 'alpha', last: 'beta' },
      { part: 1, of: 2, unlicensed: true as const },
    ];
    await store.putPlan('run-a', '2026-10-07', parts);
    await store.putPlan('run-b', '2026-10-07', parts.slice(0, 1));
    await store.put('2026-10-07', 0, 0, { run: 'run-a', chunk: 0, tokens: 't', done: [], written: {} });
    expect(await store.getPlan('run-a', '2026-10-07')).toEqual(parts);
    expect(await store.getPlan('run-b', '2026-10-07')).toEqual(parts.slice(0, 1));
    // A run whose id the other's starts with, a date not planned: none.
    expect(await store.getPlan('run', '2026-10-07')).toBeUndefined();
    expect(await store.getPlan('run-a', '2026-10-08')).toBeUndefined();
    // The part's results are not mixed with the plans.
    expect((await store.get('2026-10-07', 0)).map((r) => r.run)).toEqual(['run-a']);
    const items = await bed.doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'AUDIT_PART#2026-10-07' },
      }),
    );
    const expiry = Math.floor(written / 1000) + 8 * 86_400;
    expect(items.Items?.map((i) => [i.sk, i.deleteAfter])).toEqual([
      ['00000#000000', expiry],
      ['PLAN#run-a', expiry],
      ['PLAN#run-b', expiry],
    ]);
    expect(CONTROL_TABLE.timeToLiveAttribute).toBe('deleteAfter');
  });
});
