/**
 * Issue 8 item 2 ("memory holds counts per reason"): rejected lines are counted per reason class
 * (the field and the problem, not the quoted value) in the object's manifest, bounded, and shown
 * under data quality in report.json and report.html (only for objects with rejects).
 */
import { describe, expect, it } from 'vitest';
import { type ReportInput, renderReport } from '../../../functions/core/audit/report.ts';
import { ITEM_BUDGET_BYTES, itemBytes, type ObjectManifest } from '../../../functions/core/ledger.ts';
import { allRejects, DEFAULT_LIMITS, readLogObject } from '../../../functions/core/log-reader.ts';
import { EMPTY_MATCHER } from '../../../functions/core/recipients.ts';
import {
  MAX_CLASS_CHARS,
  MAX_REJECT_CLASSES,
  OTHER_REASONS,
  RejectTally,
  rejectClass,
} from '../../../functions/core/reject-classes.ts';
import { type IngestDeps, ingestObject } from '../../../functions/ingest/ingest-object.ts';
import type { UsageLedger } from '../../../functions/ingest/ports.ts';

const body = (text: string): AsyncIterable<Uint8Array> => ({
  async *[Symbol.asyncIterator]() {
    for (let i = 0; i < text.length; i += 4096) yield Buffer.from(text.slice(i, i + 4096));
  },
});

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ timestamp: '2026-11-27T10:00:00Z', app_id: 'a', endpoint: 'e', status: 200, ...fields });

/** Pairs of lines with the same problem and different values: each pair must share one class. */
const PAIRS: [string, string, string][] = [
  [
    'timestamp: no time zone',
    line({ timestamp: '2026-11-27T10:00:00' }),
    line({ timestamp: '2026-01-01 00:00:00' }),
  ],
  [
    'timestamp: impossible date',
    line({ timestamp: '2026-02-30T10:00:00Z' }),
    line({ timestamp: '2026-04-31T10:00:00Z' }),
  ],
  [
    'timestamp: impossible time',
    line({ timestamp: '2026-11-27T24:00:00Z' }),
    line({ timestamp: '2026-11-27T10:61:00Z' }),
  ],
  [
    'timestamp: impossible zone offset',
    line({ timestamp: '2026-11-27T10:00:00+25:00' }),
    line({ timestamp: '2026-11-27T10:00:00-24:30' }),
  ],
  ['timestamp: epoch milliseconds must be an integer', line({ timestamp: 1.5 }), line({ timestamp: 2.25 })],
  [
    'timestamp: epoch milliseconds must be a JSON number',
    line({ timestamp: '123' }),
    line({ timestamp: '456' }),
  ],
  [
    'app_id: expected 1–128 characters of A–Z a–z 0–9 . _ : -',
    line({ app_id: 'a b' }),
    line({ app_id: 'ü' }),
  ],
  ['app_id: expected a string', line({ app_id: 5 }), line({ app_id: true })],
  ['status: expected an integer 100–599', line({ status: 700 }), line({ status: '200' })],
  ['records: expected an integer 0–9007199254740991', line({ records: -1 }), line({ records: 1.5 })],
  ['client_ip: expected an IPv4 or IPv6 address', line({ client_ip: '1.2.3' }), line({ client_ip: '::g' })],
  ['missing field timestamp', line({ timestamp: null }), line({ timestamp: '' })],
  ['invalid JSON', '{"timestamp":', '{"a":1}x'],
  ['expected a JSON object', '[1,2]', '{"a":1}'.replace(/.*/, '"text"')],
];

describe('reject reason classes', () => {
  it('one class per problem, whatever value the line quotes', async () => {
    const text = `${PAIRS.flatMap(([, a, b]) => [a, b]).join('\n')}\n`;
    const out = await readLogObject(body(text));
    if (out.status === 'quarantined') throw new Error(out.reason);
    const classes: string[] = [];
    for await (const r of allRejects(out)) classes.push(rejectClass(r.reason));
    expect(classes).toEqual(PAIRS.flatMap(([c]) => [c, c]));
    // CSV: the field count and the malformed field number are not part of the class.
    const csv = 'timestamp,app_id,endpoint,status\n1,2,3,4,5\n1,2\n2026-11-27T10:00:00Z,a,"e"x,200\n';
    const c = await readLogObject(body(csv));
    if (c.status === 'quarantined') throw new Error(c.reason);
    const csvClasses: string[] = [];
    for await (const r of allRejects(c)) csvClasses.push(rejectClass(r.reason));
    expect(csvClasses).toEqual([
      'expected 4 fields',
      'expected 4 fields',
      'malformed CSV: text after the closing quote',
    ]);
  });

  it(`keeps at most ${MAX_REJECT_CLASSES} classes of at most ${MAX_CLASS_CHARS} characters, the rest under ${OTHER_REASONS}, within the manifest budget`, () => {
    const tally = new RejectTally();
    for (let i = 0; i < MAX_REJECT_CLASSES + 25; i++) tally.add(`problem ${i}: ${'界'.repeat(400)}, got "x"`);
    tally.add(`problem 0: ${'界'.repeat(400)}, got "y"`);
    const result = tally.result() ?? [];
    expect(result).toHaveLength(MAX_REJECT_CLASSES + 1);
    expect(result.at(-1)).toEqual({ reason: OTHER_REASONS, lines: 25 });
    expect(result[0]).toEqual({ reason: `problem 0: ${'界'.repeat(MAX_CLASS_CHARS - 12)}…`, lines: 2 });
    expect(Math.max(...result.map((r) => r.reason.length))).toBeLessThanOrEqual(MAX_CLASS_CHARS);
    expect(new RejectTally().result()).toBeUndefined();
    // A manifest with the longest key and every class still fits one item.
    const manifest = { pk: `O#${'k'.repeat(1024)}`, sk: 'M', key: 'k'.repeat(1024), rejectReasons: result };
    expect(itemBytes(manifest)).toBeLessThan(ITEM_BUDGET_BYTES / 10);
  });

  it('the manifest counts every reject per class, the spilled ones included', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++)
      lines.push(i % 3 === 0 ? `{"bad ${i}` : i % 3 === 1 ? line({ status: 1000 + i }) : line({}));
    const text = `${lines.join('\n')}\n`;
    const committed: ObjectManifest[] = [];
    const store = {
      getManifest: async () => undefined,
      writeContributions: async () => 1,
      indexDataQuality: async () => undefined,
      commit: async (m: ObjectManifest) => {
        committed.push(m);
        return { committed: true };
      },
      entries: async () => [],
      deleteWrite: async () => [],
      markDaysChanged: async () => undefined,
      finishCleanup: async () => undefined,
    } as unknown as UsageLedger;
    const deps: IngestDeps = {
      objects: {
        open: async () => ({
          body: body(text),
          etag: 'e1',
          versionId: 'v1',
          lastModified: undefined,
          size: text.length,
          abort: () => undefined,
        }),
      },
      writer: {
        put: async () => undefined,
        putStream: async (_b, _k, chunks) => {
          for await (const _ of chunks);
        },
      },
      store,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-28T00:00:00Z'),
    };
    const result = await ingestObject(deps, {
      bucket: 'b',
      key: 'logs/r.jsonl',
      versionId: 'v1',
      sequencer: '01',
    });
    expect(result).toMatchObject({ outcome: 'ingested', rejected: 2000 });
    expect(committed[0]?.rejectReasons).toEqual([
      { reason: 'invalid JSON', lines: 1000 },
      { reason: 'status: expected an integer 100–599', lines: 1000 },
    ]);
  });

  it('report.json and report.html show the classes of an object with rejects, and nothing for one without', () => {
    const input = (reasons: boolean): ReportInput => ({
      reportDate: '2026-11-20',
      agreements: [],
      usage: [],
      findings: [],
      dataQuality: {
        objects: [
          {
            key: 'logs/a.jsonl',
            gen: 'g1',
            status: 'ingested',
            lines: 5,
            counted: 2,
            rejected: 3,
            rejects_key: 'data-quality/rejects/logs/a.jsonl@g1.jsonl',
            ...(reasons
              ? {
                  reject_reasons: [
                    { reason: 'invalid JSON', lines: 2 },
                    { reason: 'timestamp: no time zone', lines: 1 },
                  ],
                }
              : {}),
          },
        ],
        totals: { objects: 1, ingested: 1, empty: 0, quarantined: 0, lines: 5, counted: 2, rejected: 3 },
      },
      run: {},
      previousManifestSha256: null,
    });
    const files = (i: ReportInput) => new Map(renderReport(i).files.map((f) => [f.name, f.body]));
    const withReasons = files(input(true));
    expect(JSON.parse(withReasons.get('report.json') ?? '').data_quality.objects[0].reject_reasons).toEqual([
      { reason: 'invalid JSON', lines: 2 },
      { reason: 'timestamp: no time zone', lines: 1 },
    ]);
    expect(withReasons.get('report.html')).toContain('<br>invalid JSON: 2; timestamp: no time zone: 1</td>');
    const without = files(input(false));
    expect(without.get('report.json')).not.toContain('reject_reasons');
  });
});
