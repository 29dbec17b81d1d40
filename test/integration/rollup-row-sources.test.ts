/**
 * The objects a window's rows name (RollupStore.window): in app then day order, each row its day's
 * top objects until ROW_SOURCES_BUDGET distinct objects are named, later rows none. The rollups
 * are read without their top lists, and only the lists rows name are read after (time and memory
 * at 1M objects a month); this checks that this never leaves out a list a row names, and that it
 * reads no other. On dynalite (no size rules involved).
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchWrite, type WriteRequest } from '../../functions/adapters/dynamo-batch.ts';
import { ROW_SOURCES_BUDGET, RollupStore } from '../../functions/adapters/rollup-store.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import { buildRollup, ROLLUP_TOP_SOURCES, splitRollup } from '../../functions/core/rollup.ts';
import { compareAppDay } from '../../functions/core/usage-math.ts';
import { startTestBed, type TestBed } from '../support/emulators.ts';

const MONTH = '2026-07';
const DAYS = ['2026-07-01', '2026-07-02', '2026-07-03'];
/** 200 apps × 3 days: 600 rollups of 20 distinct objects each, 12,000 objects, 6× the budget. */
const APPS = Array.from({ length: 200 }, (_, i) => `app-${String(i).padStart(3, '0')}`);
const AT = '2026-07-04T00:00:00.000Z';
const TOKEN = `1@${AT}`;

function objectRow(app: string, day: string, n: number): UsageRow {
  const counts = { requests: 10 + n, records: 100, bytes: 1_000, errors: 0 };
  return {
    app,
    day,
    ...counts,
    endpoints: { 'GET /x': counts },
    categories: {},
    sources: [{ key: `logs/${app}/${day}/${n}.jsonl`, gen: `g${n}` }],
  };
}

describe('the objects a window’s rows name', () => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed('dynalite');
    const items: WriteRequest[] = [
      ...DAYS.map((d) => ({ PutRequest: { Item: { pk: `DAYS#${MONTH}`, sk: d, changedAt: AT, rev: 1 } } })),
      ...APPS.map((a) => ({ PutRequest: { Item: { pk: `APPS#${MONTH}`, sk: a } } })),
    ];
    for (const day of DAYS) {
      for (const app of APPS) {
        const rows = Array.from({ length: ROLLUP_TOP_SOURCES }, (_, n) => objectRow(app, day, n));
        const r = buildRollup(app, day, rows, TOKEN);
        const keyOf = (part: number) => ({
          pk: `RU#${MONTH}`,
          sk: `${day}#${app}#${String(part).padStart(5, '0')}`,
        });
        for (const p of splitRollup(r, keyOf))
          items.push({ PutRequest: { Item: { ...keyOf(p.part), ...p } } });
      }
    }
    await batchWrite(bed.doc, bed.usageTable, items, undefined, 8);
  }, 120_000);
  afterAll(async () => {
    await bed?.stop();
  });

  it('are each row’s top objects, in app then day order, until the budget is named; later rows none', async () => {
    const { rows, rebuilt } = await new RollupStore(bed.doc, bed.usageTable, bed.store).window(
      DAYS[0] as string,
      DAYS[2] as string,
    );
    expect(rebuilt).toBe(0);
    expect(rows).toHaveLength(APPS.length * DAYS.length);
    // What the rows should name, worked out from the rollups' definition here.
    const expected = [...rows]
      .sort(compareAppDay)
      .map((_r, i) => (i * ROLLUP_TOP_SOURCES < ROW_SOURCES_BUDGET ? ROLLUP_TOP_SOURCES : 0));
    expect(rows.map((r) => r.sources.length)).toEqual(expected);
    expect(expected.filter((n) => n > 0)).toHaveLength(ROW_SOURCES_BUDGET / ROLLUP_TOP_SOURCES);
    const named = rows.flatMap((r) => r.sources.map((s) => s.key));
    expect(new Set(named).size).toBe(ROW_SOURCES_BUDGET);
    const last = rows.filter((r) => r.sources.length > 0).at(-1);
    expect([last?.app, last?.day]).toEqual(['app-033', '2026-07-01']);
    // The rows' sums are the rollups' whatever was dropped.
    expect(rows.every((r) => r.sourceCount === ROLLUP_TOP_SOURCES && r.requests === 20 * 10 + 190)).toBe(
      true,
    );
  });

  /** bed.doc, each command it sends recorded first, `before` awaited before a command is sent. */
  function recording(before?: (command: unknown) => Promise<void>) {
    const sent: unknown[] = [];
    const doc = {
      send: async (command: unknown) => {
        sent.push(command);
        await before?.(command);
        return bed.doc.send(command as QueryCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    return { doc, sent };
  }
  const names = (input: { ExpressionAttributeNames?: Record<string, string> }) =>
    Object.values(input.ExpressionAttributeNames ?? {});
  const topReads = (sent: readonly unknown[]) =>
    sent.filter(
      (c): c is BatchGetCommand =>
        c instanceof BatchGetCommand && names(c.input.RequestItems?.[bed.usageTable] ?? {}).includes('top'),
    );

  it('reads the rollups without their top lists, then the lists of the apps whose rows name objects only', async () => {
    const { doc, sent } = recording();
    const { rows } = await new RollupStore(doc, bed.usageTable, bed.store).window(
      DAYS[0] as string,
      DAYS[2] as string,
    );
    const queries = sent.filter(
      (c): c is QueryCommand =>
        c instanceof QueryCommand && c.input.ExpressionAttributeValues?.[':pk'] === `RU#${MONTH}`,
    );
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) {
      expect(names(q.input)).toContain('endpoints');
      expect(names(q.input)).not.toContain('top');
    }
    // The rows naming objects are the first 100 (see above: app-000 … app-033), their lists read
    // at once (100 keys: one BatchGet).
    const reads = topReads(sent);
    const keys = reads.flatMap((c) => c.input.RequestItems?.[bed.usageTable]?.Keys ?? []);
    const apps = new Set(keys.map((k) => String(k.sk).split('#')[1]));
    expect(reads).toHaveLength(1);
    expect(keys).toHaveLength(ROW_SOURCES_BUDGET / ROLLUP_TOP_SOURCES);
    expect([...apps].sort().at(-1)).toBe('app-033');
    expect(rows.filter((r) => r.sources.length > 0)).toHaveLength(ROW_SOURCES_BUDGET / ROLLUP_TOP_SOURCES);
  });

  for (const [what, token] of [
    ['a newer token', `2@${AT}`],
    ['the same token and other content (a commit raced a rebuild)', TOKEN],
  ] as const)
    it(`is an EvidenceChangedError when a top list read after its rollup belongs to another rebuild: ${what}`, async () => {
      const app = 'app-000';
      const day = DAYS[0] as string;
      const key = { pk: `RU#${MONTH}`, sk: `${day}#${app}#00000` };
      let rewritten = false;
      const { doc } = recording(async (command) => {
        if (rewritten || topReads([command]).length === 0) return;
        rewritten = true;
        // Another reader rebuilt the rollup from other content between the two reads.
        const r = buildRollup(app, day, [objectRow(app, day, 0)], token);
        const [part] = splitRollup(r, () => key);
        await bed.doc.send(new PutCommand({ TableName: bed.usageTable, Item: { ...key, ...part } }));
      });
      try {
        await expect(
          new RollupStore(doc, bed.usageTable, bed.store).window(DAYS[0] as string, DAYS[2] as string),
        ).rejects.toMatchObject({ name: 'EvidenceChangedError' });
        expect(rewritten).toBe(true);
      } finally {
        // Put the rollup back as seeded (the other tests read it).
        const rows = Array.from({ length: ROLLUP_TOP_SOURCES }, (_, n) => objectRow(app, day, n));
        const [part] = splitRollup(buildRollup(app, day, rows, TOKEN), () => key);
        await bed.doc.send(new PutCommand({ TableName: bed.usageTable, Item: { ...key, ...part } }));
      }
    });

  it('is an EvidenceChangedError when a row’s evidence is read from a rollup rebuilt from other objects with the same token and sums', async () => {
    const app = 'app-001';
    const day = DAYS[1] as string;
    const key = { pk: `RU#${MONTH}`, sk: `${day}#${app}#00000` };
    const seeded = Array.from({ length: ROLLUP_TOP_SOURCES }, (_, n) => objectRow(app, day, n));
    const store = new RollupStore(bed.doc, bed.usageTable, bed.store);
    const { rows } = await store.window(DAYS[0] as string, DAYS[2] as string, undefined, true);
    const row = rows.find((r) => r.app === app && r.day === day);
    try {
      // The same counts from another generation of one object: the same token, requests and records.
      const other = seeded.map((r, n) =>
        n === 0 ? { ...r, sources: [{ key: r.sources[0]?.key as string, gen: 'g-other' }] } : r,
      );
      const [part] = splitRollup(buildRollup(app, day, other, TOKEN), () => key);
      await bed.doc.send(new PutCommand({ TableName: bed.usageTable, Item: { ...key, ...part } }));
      await expect(store.evidence([row as UsageRow])).rejects.toMatchObject({ name: 'EvidenceChangedError' });
    } finally {
      const [part] = splitRollup(buildRollup(app, day, seeded, TOKEN), () => key);
      await bed.doc.send(new PutCommand({ TableName: bed.usageTable, Item: { ...key, ...part } }));
    }
  });
});
