/**
 * Issue 8: the ingest path under faults and bad input, against both DynamoDB emulators (and
 * DynamoDB Local alone where only it applies DynamoDB's real size rules). Each test names the item
 * of docs/RELIABILITY.md it proves.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { UPLOAD_PART_BYTES } from '../../functions/adapters/object-store.ts';
import { UsageTableListingCursor } from '../../functions/adapters/reconcile-cursor.ts';
import { UsageStore } from '../../functions/adapters/usage-store.ts';
import { runReconcile } from '../../functions/cli/commands/reconcile.ts';
import { MAX_REASON_CHARS } from '../../functions/core/ledger.ts';
import { OTHER_ENDPOINTS } from '../../functions/core/log-reader.ts';
import { compileRegistry, EMPTY_MATCHER } from '../../functions/core/recipients.ts';
import { type IngestDeps, type IngestRequest, ingestObject } from '../../functions/ingest/ingest-object.ts';
import type { ObjectWriter } from '../../functions/ingest/ports.ts';
import { reconcile } from '../../functions/ingest/reconcile.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { BACKENDS, startTestBed, type TestBed } from '../support/emulators.ts';
import { FakeVersionedBucket } from '../support/fakes.ts';
import { makeLog, observedFor, sumTotals } from '../support/logs.ts';

const GOOD = JSON.stringify({
  timestamp: '2026-11-08T00:00:00Z',
  app_id: 'ok',
  endpoint: 'GET /x',
  status: 200,
});

/** DynamoDB call numbers faulted per ingest path and emulator (a property over the call index). */
const FAULT_RUNS = 3;

let seq = 0x5000;
const nextSeq = () => (seq++).toString(16).toUpperCase();

/** A usage store on its own client, with `middleware` in its stack (faults, hooks). */
function storeWith(
  bed: TestBed,
  middleware: (commandName: string, input: unknown) => Promise<void> | void,
  after = false,
): UsageStore {
  const client = new DynamoDBClient({
    endpoint: bed.emulators.env.AUDITOR_DYNAMODB_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!after) await middleware(context.commandName as string, args.input);
      const out = await next(args);
      if (after) await middleware(context.commandName as string, args.input);
      return out;
    },
    { step: 'initialize', name: 'reliabilityHook' },
  );
  return new UsageStore(documentClient(client), bed.usageTable);
}

/** Retries like SQS would, until the object is processed (at most `times`). */
async function untilProcessed(fn: () => Promise<unknown>, times = 12): Promise<number> {
  for (let i = 1; ; i++) {
    try {
      await fn();
      return i;
    } catch (err) {
      if (i >= times) throw err;
    }
  }
}

describe.each(BACKENDS)('reliability on %s', (backend) => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed(backend);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  const versioned = () => {
    const bucket = new FakeVersionedBucket();
    return { bucket, deps: () => bed.deps({ objects: bucket }) };
  };
  const event = (key: string, v: { versionId: string }, sequencer: string): IngestRequest => ({
    bucket: bed.logBucket,
    key,
    versionId: v.versionId,
    sequencer,
  });
  const reprocessReq = (key: string): IngestRequest => ({ bucket: bed.logBucket, key, force: true });

  it('#2 a reprocess between versions re-reads the committed version; the newest version stays counted', async () => {
    const { bucket, deps } = versioned();
    const key = 'logs/rel/versions.jsonl';
    const [l1, l2, l3] = [makeLog(101, 400), makeLog(102, 500), makeLog(103, 600)];
    const [s1, s2, s3] = [nextSeq(), nextSeq(), nextSeq()];
    const v1 = bucket.put(key, l1.text);
    expect((await ingestObject(deps(), event(key, v1, s1))).outcome).toBe('ingested');
    const v2 = bucket.put(key, l2.text);
    const v3 = bucket.put(key, l3.text);
    // Reprocess before the events of v2 and v3 arrive: it counts v1 again, as v1.
    const re = await ingestObject(deps(), reprocessReq(key));
    expect(re.gen).toBe(v1.versionId);
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l1.totals));
    expect((await ingestObject(deps(), event(key, v3, s3))).outcome).toBe('ingested');
    expect((await ingestObject(deps(), event(key, v2, s2))).outcome).toBe('superseded');
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l3.totals));
    expect((await bed.store.getManifest(key))?.gen).toBe(v3.versionId);
    await bed.deleteManifest(key);
  });

  it('#2 a reprocess of an overwritten unversioned object (ETag path) leaves the new version to its event', async () => {
    const key = 'logs/rel/etag.jsonl';
    const [l1, l2] = [makeLog(111, 300), makeLog(112, 350)];
    const r1 = { bucket: bed.logBucket, key, etag: await bed.put(key, l1.text), sequencer: nextSeq() };
    await ingestObject(bed.deps(), r1);
    const r2 = { bucket: bed.logBucket, key, etag: await bed.put(key, l2.text), sequencer: nextSeq() };
    expect((await ingestObject(bed.deps(), reprocessReq(key))).outcome).toBe('superseded');
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l1.totals));
    expect((await ingestObject(bed.deps(), r2)).outcome).toBe('ingested');
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l2.totals));
    await bed.deleteManifest(key);
  });

  it('#2/#9 a version counted without a sequencer (reconcile) is not replaced by an older version’s late event', async () => {
    const { bucket, deps } = versioned();
    const key = 'logs/rel/reconciled.jsonl';
    const [l1, l2] = [makeLog(121, 300), makeLog(122, 300)];
    const v1 = bucket.put(key, l1.text);
    bucket.put(key, l2.text);
    const report = await reconcile(
      {
        lister: bucket,
        manifests: bed.store,
        objects: bucket,
        ingest: (req) => ingestObject(deps(), req),
      },
      { bucket: bed.logBucket, from: new Date('2026-11-26T00:00:00Z'), to: new Date('2026-11-28T00:00:00Z') },
    );
    expect(report.found.map((f) => [f.key, f.why, f.result?.outcome])).toEqual([
      [key, 'no manifest', 'ingested'],
    ]);
    expect((await ingestObject(deps(), event(key, v1, nextSeq()))).outcome).toBe('superseded');
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l2.totals));
    await bed.deleteManifest(key);
  });

  it('#10 an object is counted whole when a commit lands between the app listing and the manifest read', async () => {
    const key = 'logs/rel/torn-apps.jsonl';
    const line = (app: string, n: number) =>
      JSON.stringify({
        timestamp: '2026-12-05T00:00:00Z',
        app_id: app,
        endpoint: 'GET /x',
        status: 200,
        records: n,
      });
    await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, line('rel-tear-a', 1)),
      sequencer: nextSeq(),
    });
    // v2 moves the usage to an app that has none yet.
    const r2 = {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, `${line('rel-tear-a', 2)}\n${line('rel-tear-new', 7)}`),
      sequencer: nextSeq(),
    };
    let fired = false;
    const reader = storeWith(
      bed,
      async (name, input) => {
        if (!fired && name === 'QueryCommand' && JSON.stringify(input).includes('APPS#')) {
          fired = true;
          await ingestObject(bed.deps(), r2);
        }
      },
      true,
    );
    const rows = await reader.queryUsage({ from: '2026-12-05', to: '2026-12-05' });
    expect(fired).toBe(true);
    expect(rows.filter((r) => r.app.startsWith('rel-tear')).map((r) => [r.app, r.records])).toEqual([
      ['rel-tear-a', 2],
      ['rel-tear-new', 7],
    ]);
    await bed.deleteManifest(key);
  });

  it('#10 a part list replaced in the middle of a usage query is read again, not reported as missing', async () => {
    const key = 'logs/rel/torn-lists.jsonl';
    const text = (n: number) =>
      JSON.stringify({
        timestamp: '2026-12-06T00:00:00Z',
        app_id: 'rel-lists',
        endpoint: 'GET /x',
        status: 200,
        records: n,
      });
    await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, text(1)),
      sequencer: nextSeq(),
    });
    const r2 = { bucket: bed.logBucket, key, etag: await bed.put(key, text(9)), sequencer: nextSeq() };
    let fired = false;
    const reader = storeWith(
      bed,
      async (name, input) => {
        // Right after the manifests are read, v2 commits and v1's part list is deleted.
        if (!fired && name === 'BatchGetItemCommand' && /"sk":(\{"S":)?"M"/.test(JSON.stringify(input))) {
          fired = true;
          await ingestObject(bed.deps(), r2);
        }
      },
      true,
    );
    const rows = await reader.queryUsage({ from: '2026-12-06', to: '2026-12-06', apps: ['rel-lists'] });
    expect(fired).toBe(true);
    expect(rows.map((r) => [r.app, r.records])).toEqual([['rel-lists', 9]]);
    await bed.deleteManifest(key);
  });

  it('item 6: an S3 read failing mid-stream, then the retry, gives the exact totals', async () => {
    const { bucket, deps } = versioned();
    const key = 'logs/rel/mid-stream.jsonl';
    const [l1, l2] = [makeLog(131, 800), makeLog(132, 900)];
    const v1 = bucket.put(key, l1.text);
    await ingestObject(deps(), event(key, v1, nextSeq()));
    const v2 = bucket.put(key, l2.text);
    const e2 = event(key, v2, nextSeq());
    bucket.failAfterChunks.set(key, 20);
    await expect(ingestObject(deps(), e2)).rejects.toThrow(/mid-stream/);
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l1.totals));
    expect((await ingestObject(deps(), e2)).outcome).toBe('ingested');
    expect(await observedFor(bed.store, key)).toEqual(sumTotals(l2.totals));
    await bed.deleteManifest(key);
  });

  it.each([1, 2, 3])(
    'item 6: throttling and 5xx on call #%i of every DynamoDB command, each retried, gives the exact totals',
    async (n) => {
      const { bucket, deps } = versioned();
      const key = `logs/rel/throttle-${n}.jsonl`;
      const logs = [makeLog(140 + n, 700), makeLog(150 + n, 900), makeLog(160 + n, 400)];
      const calls = new Map<string, number>();
      const injected: string[] = [];
      const faulty = storeWith(bed, (name) => {
        const c = (calls.get(name) ?? 0) + 1;
        calls.set(name, c);
        if (c === n) {
          injected.push(name);
          const err = Object.assign(new Error(`injected fault on ${name} #${n}`), {
            name: injected.length % 2 ? 'ProvisionedThroughputExceededException' : 'InternalServerError',
            $metadata: { httpStatusCode: injected.length % 2 ? 400 : 500 },
          });
          throw err;
        }
      });
      for (const log of logs) {
        const v = bucket.put(key, log.text);
        const e = event(key, v, nextSeq());
        await untilProcessed(() => ingestObject({ ...deps(), store: faulty }, e));
      }
      // A reprocess through the same faults.
      await untilProcessed(() => ingestObject({ ...deps(), store: faulty }, reprocessReq(key)));
      expect(injected.length).toBeGreaterThan(2);
      expect(await observedFor(bed.store, key)).toEqual(sumTotals((logs[2] as (typeof logs)[number]).totals));
      const m = await bed.store.getManifest(key);
      expect(m?.cleanup).toBeUndefined();
      expect(new Set((await bed.scan('U#')).filter((i) => i.key === key).map((i) => i.wid))).toEqual(
        new Set([m?.wid]),
      );
      await bed.deleteManifest(key);
    },
  );

  it.each([1, 2, 3])(
    'item 6: three versions delivered concurrently with a reprocess in between (round %i) count the newest',
    async (round) => {
      const { bucket, deps } = versioned();
      const key = `logs/rel/three-${round}.jsonl`;
      const logs = [makeLog(180 + round, 500), makeLog(190 + round, 600), makeLog(200 + round, 700)];
      const vs = logs.map((l) => bucket.put(key, l.text));
      const seqs = vs.map(() => nextSeq());
      const order = [
        [2, 0, 1],
        [0, 2, 1],
        [1, 2, 0],
      ][round - 1] as number[];
      const jobs = order.map((i) =>
        ingestObject(deps(), event(key, vs[i] as (typeof vs)[number], seqs[i] as string)),
      );
      jobs.splice(1, 0, ingestObject(deps(), reprocessReq(key)));
      await Promise.allSettled(jobs);
      // Whatever raced (a reprocess may find nothing yet, or lose the commit race), redelivery settles it.
      for (const i of [0, 1, 2])
        await ingestObject(deps(), event(key, vs[i] as (typeof vs)[number], seqs[i] as string));
      await ingestObject(deps(), reprocessReq(key));
      expect(await observedFor(bed.store, key)).toEqual(sumTotals((logs[2] as (typeof logs)[number]).totals));
      expect((await bed.store.getManifest(key))?.gen).toBe(vs[2]?.versionId);
      await bed.deleteManifest(key);
    },
  );

  /**
   * The ingest paths whose every write step is crashed (and whose DynamoDB calls are faulted by
   * call number) below: each commits what comes before (nothing for a new object), then `run` is
   * the work under test, retried as SQS (or a rerun reprocess) would until it settles at `after`.
   * Each key has apps of its own, so checking one key reads only its own items.
   */
  interface Prepared {
    run: (over: Partial<IngestDeps>) => Promise<unknown>;
    apps: string[];
    before: Record<string, unknown>;
    after: Record<string, unknown>;
    gen: string;
    status: string;
    rejected: number;
    registryHash: string;
  }
  interface Path {
    name: string;
    prepare(bucket: FakeVersionedBucket, key: string, deps: () => IngestDeps): Promise<Prepared>;
  }
  let tag = 0;
  /** makeLog with apps of their own (`t<N>-a` …). */
  const ownLog = (seed: number, lines: number, t: string) => {
    const l = makeLog(seed, lines);
    return {
      text: l.text.replaceAll('"app_id":"app-', `"app_id":"${t}-`),
      totals: new Map([...l.totals].map(([k, v]) => [k.replace(/^app-/, `${t}-`), v])),
      apps: ['a', 'b', 'c'].map((x) => `${t}-${x}`),
    };
  };
  const BAD = '{"timestamp":\n{"timestamp":"2026-11-01T00:00:00","app_id":"x","endpoint":"e","status":200}\n';
  const PATHS: Path[] = [
    {
      name: 'a new object with rejected lines',
      async prepare(bucket, key, deps) {
        const l = ownLog(221, 300, `t${tag++}`);
        const e = event(key, bucket.put(key, `${l.text}${BAD}`), nextSeq());
        return {
          run: (over) => ingestObject({ ...deps(), ...over }, e),
          apps: l.apps,
          before: {},
          after: sumTotals(l.totals),
          gen: e.versionId as string,
          status: 'ingested',
          rejected: 2,
          registryHash: 'test',
        };
      },
    },
    {
      name: 'an overwrite by a version with rejected lines',
      async prepare(bucket, key, deps) {
        const t = `t${tag++}`;
        const [l1, l2] = [ownLog(222, 300, t), ownLog(223, 400, t)];
        await ingestObject(deps(), event(key, bucket.put(key, l1.text), nextSeq()));
        const e = event(key, bucket.put(key, `${l2.text}${BAD}`), nextSeq());
        return {
          run: (over) => ingestObject({ ...deps(), ...over }, e),
          apps: l1.apps,
          before: sumTotals(l1.totals),
          after: sumTotals(l2.totals),
          gen: e.versionId as string,
          status: 'ingested',
          rejected: 2,
          registryHash: 'test',
        };
      },
    },
    {
      name: 'an overwrite by a quarantined version',
      async prepare(bucket, key, deps) {
        const l1 = ownLog(224, 300, `t${tag++}`);
        await ingestObject(deps(), event(key, bucket.put(key, l1.text), nextSeq()));
        const e = event(key, bucket.put(key, `${GOOD}\n\u0000\n`), nextSeq());
        return {
          run: (over) => ingestObject({ ...deps(), ...over }, e),
          apps: l1.apps,
          before: sumTotals(l1.totals),
          after: {},
          gen: e.versionId as string,
          status: 'quarantined',
          rejected: 0,
          registryHash: 'test',
        };
      },
    },
    {
      name: 'a reprocess with a new registry',
      async prepare(bucket, key, deps) {
        const l1 = ownLog(225, 300, `t${tag++}`);
        const e = event(key, bucket.put(key, `${l1.text}${BAD}`), nextSeq());
        await ingestObject(deps(), e);
        const registry: IngestDeps['registry'] = async () => ({ matcher: EMPTY_MATCHER, hash: 'test-2' });
        return {
          run: (over) => ingestObject({ ...deps(), registry, ...over }, reprocessReq(key)),
          apps: l1.apps,
          before: sumTotals(l1.totals),
          after: sumTotals(l1.totals),
          gen: e.versionId as string,
          status: 'ingested',
          rejected: 2,
          registryHash: 'test-2',
        };
      },
    },
  ];

  /** What `key` counts now (its own apps only). */
  async function counted(key: string, apps: string[]) {
    const rows = await bed.store.queryUsage({ from: '2026-10-01', to: '2026-11-30', apps, perSource: true });
    return Object.fromEntries(
      rows
        .filter((r) => r.sources[0]?.key === key)
        .map((r) => [
          `${r.app}/${r.day}`,
          { requests: r.requests, records: r.records, bytes: r.bytes, errors: r.errors },
        ]),
    );
  }

  /** Every item of one partition. */
  async function partition(pk: string): Promise<Record<string, unknown>[]> {
    const out = await bed.doc.send(
      new QueryCommand({
        TableName: bed.usageTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
      }),
    );
    return out.Items ?? [];
  }

  /** The object is exactly the path's end state: totals, manifest, and no item of another write left. */
  async function expectSettled(key: string, p: Prepared) {
    expect(await counted(key, p.apps)).toEqual(p.after);
    const m = await bed.store.getManifest(key);
    expect(m).toMatchObject({
      gen: p.gen,
      status: p.status,
      rejected: p.rejected,
      registryHash: p.registryHash,
    });
    expect(m?.cleanup).toBeUndefined();
    const contributions = (
      await Promise.all(
        p.apps.flatMap((a) => ['2026-10', '2026-11'].map((month) => partition(`U#${a}#${month}`))),
      )
    ).flat();
    expect(contributions.filter((i) => i.wid !== m?.wid)).toEqual([]);
    const lists = (await partition(`O#${key}`)).filter((i) => String(i.sk).startsWith('P#'));
    expect(lists.filter((i) => !String(i.sk).startsWith(`P#${m?.wid}#`))).toEqual([]);
  }

  const DYNAMO_WRITES = ['BatchWriteItemCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand'];

  /** A writer (S3) and a store (DynamoDB) whose write steps are numbered; `onWrite` runs before each. */
  function numberedWrites(onWrite: (step: number, what: string) => void) {
    let step = 0;
    const hit = (what: string) => onWrite(++step, what);
    const store = storeWith(bed, (name) => {
      if (DYNAMO_WRITES.includes(name)) hit(name);
    });
    const writer: ObjectWriter = {
      put: async (b, k, body, type) => {
        hit('s3 put');
        await bed.objects.put(b, k, body, type);
      },
      putStream: async (b, k, chunks, type) => {
        hit('s3 putStream');
        await bed.objects.putStream(b, k, chunks, type);
      },
    };
    return { store, writer };
  }

  it.each(PATHS.map((p) => [p.name, p] as const))(
    'item 6: a crash at every write step (S3 and DynamoDB) of %s, then the retry, settles exactly',
    async (_name, path) => {
      const { bucket, deps } = versioned();
      const slug = path.name.replace(/\W+/g, '-');
      // A dry run lists the write steps, in order.
      const dryKey = `logs/rel/sweep/${slug}/dry.jsonl`;
      const dry = await path.prepare(bucket, dryKey, deps);
      const steps: string[] = [];
      await dry.run(numberedWrites((_n, what) => steps.push(what)));
      await expectSettled(dryKey, dry);
      expect(steps[0]).toMatch(/^s3 /);
      expect(steps).toContain('PutItemCommand');
      for (let step = 1; step <= steps.length; step++) {
        const key = `logs/rel/sweep/${slug}/${step}.jsonl`;
        const p = await path.prepare(bucket, key, deps);
        const crashing = numberedWrites((n, what) => {
          if (n === step) throw new Error(`injected crash at write ${n} (${what})`);
        });
        await expect(p.run(crashing)).rejects.toThrow(`injected crash at write ${step} (${steps[step - 1]})`);
        // Mid-crash the object counts as the old or the new version, never a mix.
        expect([JSON.stringify(p.before), JSON.stringify(p.after)]).toContain(
          JSON.stringify(await counted(key, p.apps)),
        );
        await p.run({});
        await expectSettled(key, p);
      }
    },
    120_000,
  );

  it.each(PATHS.map((p) => [p.name, p] as const))(
    'item 6: throttling or a 5xx at any DynamoDB call number (property) of %s and its redelivery settles exactly',
    async (_name, path) => {
      const { bucket, deps } = versioned();
      const slug = path.name.replace(/\W+/g, '-');
      const faultAt = (index: number | undefined, throttle: boolean, seen: string[]) =>
        storeWith(bed, (name) => {
          seen.push(name);
          if (seen.length === index) {
            throw Object.assign(new Error(`injected fault on call ${index} (${name})`), {
              name: throttle ? 'ProvisionedThroughputExceededException' : 'InternalServerError',
              $metadata: { httpStatusCode: throttle ? 400 : 500 },
            });
          }
        });
      // The work, then its redelivery (a duplicate, which settles again).
      const work = async (p: Prepared, store: UsageStore) => {
        await untilProcessed(() => p.run({ store }));
        await untilProcessed(() => p.run({ store }));
      };
      // A dry run counts the calls.
      const dryKey = `logs/rel/faults/${slug}/dry.jsonl`;
      const dry = await path.prepare(bucket, dryKey, deps);
      const calls: string[] = [];
      await work(dry, faultAt(undefined, true, calls));
      await expectSettled(dryKey, dry);
      for (const site of [
        'GetItemCommand',
        'BatchWriteItemCommand',
        'BatchGetItemCommand',
        'PutItemCommand',
        'UpdateItemCommand',
      ])
        expect(calls).toContain(site);
      let run = 0;
      const faultRun = async (index: number, throttle: boolean) => {
        const key = `logs/rel/faults/${slug}/${run++}.jsonl`;
        const p = await path.prepare(bucket, key, deps);
        const seen: string[] = [];
        await work(p, faultAt(index, throttle, seen));
        expect(seen.length).toBeGreaterThan(index);
        expect(seen[index - 1]).toBe(calls[index - 1]);
        await expectSettled(key, p);
      };
      // Every call site kind at least once, deterministically: the first call of each kind, with
      // throttling and a 5xx in turn; then a few call numbers at random.
      const kinds = [...new Set(calls)];
      for (const [i, kind] of kinds.entries()) await faultRun(calls.indexOf(kind) + 1, i % 2 === 0);
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: calls.length }), fc.boolean(), faultRun), {
        numRuns: FAULT_RUNS,
      });
    },
    120_000,
  );

  it('item 6: throttling or a 5xx at every call site kind of the read path (Query, BatchGetItem) fails the read or gives exact usage; the retry is exact', async () => {
    const { bucket, deps } = versioned();
    const key = 'logs/rel/faults/read/0.jsonl';
    const p = await (PATHS[0] as Path).prepare(bucket, key, deps);
    await untilProcessed(() => p.run({}));
    const query = (store: UsageStore, perSource: boolean) =>
      store.queryUsage({ from: '2026-10-01', to: '2026-11-30', apps: p.apps, perSource });
    for (const perSource of [true, false]) {
      const clean = await query(bed.store, perSource);
      expect(clean.length).toBeGreaterThan(0);
      const calls: string[] = [];
      await query(
        storeWith(bed, (name) => {
          calls.push(name);
        }),
        perSource,
      );
      expect(calls).toContain('QueryCommand');
      expect(calls).toContain('BatchGetItemCommand');
      for (const [i, kind] of [...new Set(calls)].entries()) {
        const index = calls.indexOf(kind) + 1;
        let n = 0;
        const store = storeWith(bed, (name) => {
          if (++n === index) {
            const throttle = i % 2 === 0;
            throw Object.assign(new Error(`injected fault on call ${index} (${name})`), {
              name: throttle ? 'ProvisionedThroughputExceededException' : 'InternalServerError',
              $metadata: { httpStatusCode: throttle ? 400 : 500 },
            });
          }
        });
        const first = await query(store, perSource).catch((err: Error) => err);
        if (first instanceof Error)
          expect(first.message).toContain(`injected fault on call ${index} (${kind})`);
        else expect(first).toEqual(clean);
        expect(n).toBeGreaterThanOrEqual(index);
        expect(await query(store, perSource)).toEqual(clean);
      }
    }
    await bed.deleteManifest(key);
  });

  it('#7 the usage query holds an app-day summed over objects to the distinct-endpoint bound (auditor usage)', async () => {
    const { bucket, deps } = versioned();
    const app = `bound-${tag++}`;
    const keys = [0, 1, 2].map((k) => `logs/rel/bound/${app}-${k}.jsonl`);
    for (const [k, key] of keys.entries()) {
      const lines = [0, 1, 2].map((i) =>
        JSON.stringify({
          timestamp: '2026-11-09T00:00:00Z',
          app_id: app,
          endpoint: `GET /${k}/${i}`,
          status: 200,
        }),
      );
      await ingestObject(deps(), event(key, bucket.put(key, `${lines.join('\n')}\n`), nextSeq()));
    }
    // A bound of 4 endpoints per app-day: each object (3 endpoints) is within it, their sum (9) is not.
    const store = new UsageStore(bed.doc, bed.usageTable, undefined, {
      maxEndpointsPerDay: 4,
      maxOrganisationsPerCategory: 4,
    });
    const [row] = await store.queryUsage({ from: '2026-11-09', to: '2026-11-09', apps: [app] });
    expect(row?.requests).toBe(9);
    expect(Object.keys(row?.endpoints ?? {})).toEqual([
      '(other endpoints)',
      'GET /0/0',
      'GET /0/1',
      'GET /0/2',
      'GET /1/0',
    ]);
    expect(row?.endpoints[OTHER_ENDPOINTS]?.requests).toBe(5);
    // Per object (what the audit reads, and bounds itself in window.ts), each keeps its own endpoints.
    const perSource = await store.queryUsage({
      from: '2026-11-09',
      to: '2026-11-09',
      apps: [app],
      perSource: true,
    });
    expect(perSource.map((r) => Object.keys(r.endpoints).length)).toEqual([3, 3, 3]);
    for (const key of keys) await bed.deleteManifest(key);
  });

  it('#9 reconcile ingests objects no event brought in (new, and overwritten), then finds nothing', async () => {
    const base = 'logs/rel/reconcile/';
    const [la, lb, la2] = [makeLog(211, 300), makeLog(212, 300), makeLog(213, 300)];
    await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key: `${base}a.jsonl`,
      etag: await bed.put(`${base}a.jsonl`, la.text),
      sequencer: nextSeq(),
    });
    await bed.put(`${base}b.jsonl`, lb.text); // no event
    await bed.put(`${base}a.jsonl`, la2.text); // overwritten, no event
    const rt = {
      objects: bed.objects,
      usage: bed.store,
      control: new ControlStore(bed.doc, bed.emulators.env.CONTROL_TABLE as string),
      logBucket: bed.logBucket,
      reportsBucket: bed.reportsBucket,
    };
    const first = await runReconcile(rt, {}, new Date());
    const mine = (r: typeof first) => r.found.filter((f) => f.key.startsWith(base));
    expect(mine(first).map((f) => [f.key, f.why, f.result?.outcome])).toEqual([
      [`${base}a.jsonl`, 'older version counted', 'ingested'],
      [`${base}b.jsonl`, 'no manifest', 'ingested'],
    ]);
    expect(await observedFor(bed.store, `${base}a.jsonl`)).toEqual(sumTotals(la2.totals));
    expect(await observedFor(bed.store, `${base}b.jsonl`)).toEqual(sumTotals(lb.totals));
    const second = await runReconcile(rt, {}, new Date());
    expect(mine(second)).toEqual([]);
    expect(second.listed).toBeGreaterThanOrEqual(2);
    for (const k of ['a', 'b']) await bed.deleteManifest(`${base}${k}.jsonl`);
  });

  it('#9 the scheduled reconcile listing position: kept in the usage table, and S3 lists after it', async () => {
    const cursor = new UsageTableListingCursor(bed.doc, bed.usageTable);
    expect(await cursor.load()).toBeUndefined();
    await cursor.save(`logs/${'é'.repeat(500)}`);
    expect(await cursor.load()).toBe(`logs/${'é'.repeat(500)}`);
    await cursor.save(undefined);
    expect(await cursor.load()).toBeUndefined();
    const base = 'logs/rel/cursor/';
    for (const k of ['a', 'b', 'c']) await bed.put(`${base}${k}.jsonl`, makeLog(221, 10).text);
    const keys: string[] = [];
    for await (const o of bed.objects.listObjects(bed.logBucket, base, `${base}a.jsonl`)) keys.push(o.key);
    expect(keys).toEqual([`${base}b.jsonl`, `${base}c.jsonl`]);
  });
});

describe('DynamoDB’s size rules (DynamoDB Local only: dynalite counts .length)', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed('local');
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('#3 splits 300 CJK endpoints (877 KB in UTF-8) into items DynamoDB accepts, exactly', async () => {
    const key = 'logs/rel/cjk.jsonl';
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({
        timestamp: '2026-11-07T10:00:00Z',
        app_id: 'cjk-app',
        endpoint: `GET /${String(i).padStart(3, '0')}/${'數據'.repeat(485)}`,
        status: 200,
        records: i,
      }),
    );
    const utf8 = lines.reduce((n, l) => n + Buffer.byteLength(JSON.parse(l).endpoint), 0);
    expect(utf8).toBeGreaterThan(870_000);
    const r = await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, lines.join('\n')),
      sequencer: nextSeq(),
    });
    expect(r.outcome).toBe('ingested');
    const [row] = await bed.store.queryUsage({ from: '2026-11-07', to: '2026-11-07', apps: ['cjk-app'] });
    expect(Object.keys(row?.endpoints ?? {}).length).toBe(300);
    expect(row?.records).toBe((299 * 300) / 2);
    expect((await bed.scan('U#cjk-app')).length).toBeGreaterThanOrEqual(3);
    await bed.deleteManifest(key);
  });

  it('#3 splits 1,000 organisation names of 256 CJK characters (~770 KB in UTF-8) in one category into items DynamoDB accepts, exactly', async () => {
    const key = 'logs/rel/cjk-orgs.jsonl';
    const orgs = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')}${'數'.repeat(252)}`);
    const lines = orgs.map((org) =>
      JSON.stringify({
        timestamp: '2026-11-08T00:00:00Z',
        app_id: 'cjk-orgs',
        endpoint: 'GET /x',
        status: 200,
        client_ip: '10.0.0.1',
        on_behalf_of: org,
      }),
    );
    expect(orgs.reduce((n, o) => n + Buffer.byteLength(o), 0)).toBeGreaterThan(750_000);
    const matcher = compileRegistry({ government: { cidrs: ['0.0.0.0/0'], organisations: [] } });
    const r = await ingestObject(bed.deps({ registry: async () => ({ matcher, hash: 'all-government' }) }), {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, `${lines.join('\n')}\n`),
      sequencer: nextSeq(),
    });
    expect(r.outcome).toBe('ingested');
    const [row] = await bed.store.queryUsage({ from: '2026-11-08', to: '2026-11-08', apps: ['cjk-orgs'] });
    const government = row?.categories.government;
    expect(government?.requests).toBe(1000);
    expect(Object.keys(government?.orgs ?? {}).sort()).toEqual(orgs);
    expect((await bed.scan('U#cjk-orgs')).length).toBeGreaterThanOrEqual(3);
    await bed.deleteManifest(key);
  });

  it('#5 quarantines a CSV whose duplicate column name is ~900 KB, with a bounded reason', async () => {
    const key = 'logs/rel/dup-column.csv';
    const long = 'x'.repeat(450_000);
    const text = `timestamp,app_id,endpoint,status,${long},${long}\n2026-11-07T00:00:00Z,a,GET /x,200,1,1\n`;
    const r = await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, text),
      sequencer: nextSeq(),
    });
    expect(r.outcome).toBe('quarantined');
    const m = await bed.store.getManifest(key);
    expect(m?.status).toBe('quarantined');
    expect(m?.reason?.length).toBeLessThan(MAX_REASON_CHARS + 40);
    expect(m?.reason).toMatch(/^CSV header: duplicate column "x+…\(\d+ more chars\)$/);
    expect((await bed.scan('DQ#')).map((i) => i.sk)).toContain(key);
    await bed.deleteManifest(key);
  });

  it('#4 streams a rejects file larger than one upload part to S3 (multipart), line for line', async () => {
    const key = `logs/rel/${'k'.repeat(100)}.jsonl`;
    // 60k rejected lines of ~330 bytes each in the rejects file: about 20 MB, three 8 MiB parts.
    const bad = `${GOOD}\n${'not json\n'.repeat(60_000)}`;
    const r = await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key,
      etag: await bed.put(key, bad),
      sequencer: nextSeq(),
    });
    expect(r).toMatchObject({ outcome: 'ingested', rejected: 60_000 });
    const m = await bed.store.getManifest(key);
    const text = await bed.objects.getText(bed.reportsBucket, m?.rejectsKey as string);
    const got = (text ?? '').split('\n').filter(Boolean);
    expect(got.length).toBe(60_000);
    expect(JSON.parse(got[59_999] as string)).toMatchObject({ key, line: 60_001 });
    expect(text?.length).toBeGreaterThan(UPLOAD_PART_BYTES); // more than one part: a multipart upload
    await bed.deleteManifest(key);
  }, 120_000);
});

describe('#4 rejects are never built as one string', () => {
  it('writes the rejects of a 1 MB object of bad lines (520k) under a 1,000-character key (537 M characters) as a stream', async () => {
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    let maxChunk = 0;
    const writer: ObjectWriter = {
      put: async () => undefined,
      putStream: async (_b, _k, body) => {
        for await (const c of body) {
          chunks++;
          bytes += c.length;
          lines += String(c).split('\n').length - 1;
          maxChunk = Math.max(maxChunk, c.length);
        }
      },
    };
    const key = `logs/${'r'.repeat(1000)}.jsonl`;
    const text = `${GOOD}\n${'x\n'.repeat(520_000)}`;
    const store = {
      getManifest: async () => undefined,
      writeContributions: async () => 1,
      entries: async () => [],
      deleteWrite: async () => [],
      markDaysChanged: async () => undefined,
      indexDataQuality: async () => undefined,
      commit: async () => ({ committed: true as const }),
      finishCleanup: async () => undefined,
    };
    const r = await ingestObject(
      {
        objects: {
          open: async () => ({
            body: (async function* () {
              yield Buffer.from(text);
            })(),
            etag: 'e',
            versionId: undefined,
            lastModified: undefined,
            size: text.length,
            abort: () => undefined,
          }),
        },
        writer,
        store,
        reportsBucket: 'reports',
        registry: async () => ({
          matcher: (await import('../../functions/core/recipients.ts')).EMPTY_MATCHER,
          hash: 'h',
        }),
        limits: (await import('../../functions/core/log-reader.ts')).DEFAULT_LIMITS,
        // Past the default bound of the rejects file (64 MiB): the streaming itself is under test.
        maxRejectsFileBytes: 2 ** 40,
        now: () => new Date('2026-11-28T00:00:00Z'),
      },
      { bucket: 'logs', key, etag: 'e', sequencer: '01' },
    );
    expect(r.rejected).toBe(520_000);
    expect(lines).toBe(520_000);
    expect(chunks).toBeGreaterThan(8_000);
    expect(maxChunk).toBeLessThan(70 * 1024); // never more than a chunk in one string
    expect(bytes).toBeGreaterThan(2 ** 29); // more than a JavaScript string can hold
  }, 120_000);
});
