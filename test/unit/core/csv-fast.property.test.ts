/**
 * The CSV fast path against the general path (CsvRecordParser + validateCsvRecord): whenever the
 * fast path accepts a line, the general path reads the same line as one complete, valid record
 * with the same values and recipient categories.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvRecordParser } from '../../../functions/core/csv.ts';
import { CsvFastPath } from '../../../functions/core/reader/csv-fast.ts';
import { type CsvHeader, parseCsvHeader } from '../../../functions/core/reader/csv-format.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import { newRecord, type UsageRecord, validateCsvRecord } from '../../../functions/core/record.ts';
import { generateLogs } from '../../support/log-generator.ts';
import { withRequestId } from './helpers.ts';

const matcher = compileRegistry({
  government: { cidrs: ['198.51.100.0/24', '2001:db8:a000::/36'], organisations: ['gov-org'] },
  broker: { cidrs: ['192.0.2.128/25'], organisations: ['broker-org', 'both-org'] },
});

const COLUMNS = [
  'timestamp',
  'app_id',
  'endpoint',
  'status',
  'records',
  'bytes',
  'client_ip',
  'on_behalf_of',
  'request_id',
  'extra',
];

const msArb = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) });
const mostly = (valid: fc.Arbitrary<string>, other: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: other });
const odd = (...values: string[]) => fc.constantFrom(...values);

const valueArbs: Record<string, fc.Arbitrary<string>> = {
  timestamp: mostly(
    fc.oneof(
      msArb.map((ms) => new Date(ms).toISOString()),
      msArb.map(String),
      msArb.map((ms) => `${new Date(ms).toISOString().slice(0, 19)}+0530`),
    ),
    odd(
      '',
      '2026-02-30T00:00:00Z',
      '2026-11-27T10:00:00',
      '1234567890123456',
      '12345678901234567',
      '-5',
      ' 5',
    ),
  ),
  app_id: mostly(odd('app-1', 'b.2', 'c:3', 'x'.repeat(128)), odd('', 'bad app', 'x'.repeat(129), 'ä')),
  endpoint: mostly(
    fc.oneof(odd('GET /x', 'GET /a,b', 'GET /"q"', 'ünï'), fc.string({ unit: 'grapheme', maxLength: 8 })),
    odd('', 'x'.repeat(2049), '😀'.repeat(1025)),
  ),
  status: mostly(
    fc.integer({ min: 100, max: 599 }).map(String),
    odd('', '99', '600', '2000', '20', ' 200', '2e2'),
  ),
  records: mostly(
    fc.oneof(fc.nat().map(String), odd('', '0', '999999999999999', '9007199254740991')),
    odd('-1', '1.5', '9007199254740992', '1e3', ' 1'),
  ),
  bytes: mostly(fc.oneof(fc.nat().map(String), odd('')), odd('-1', 'x')),
  client_ip: mostly(
    fc.oneof(odd('', '198.51.100.1', '2001:db8:a123::9', '192.0.2.130', '::'), fc.ipV4(), fc.ipV6()),
    odd('999.1.1.1', 'not an ip', '01.2.3.4'),
  ),
  on_behalf_of: mostly(
    fc.oneof(odd('', 'gov-org', 'broker-org', 'x'.repeat(256)), fc.string({ maxLength: 5 })),
    odd('x'.repeat(257)),
  ),
  request_id: fc.string({ maxLength: 6 }),
  extra: fc.string({ maxLength: 4 }),
};

const quoteField = (v: string, always: boolean): string =>
  always || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;

type Mutation = (line: string) => string;
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 30, arbitrary: fc.constant((l: string) => l) },
  fc.constant((l: string) => `${l},`),
  fc.constant((l: string) => l.replace(/,[^,]*$/, '')),
  fc.constant((l: string) => l.replace(',', ',"')),
  fc.constant((l: string) => l.replace(',', '",')),
  fc.constant((l: string) => l.replace(/"([,])/, '"x$1')),
  fc.constant((l: string) => `${l}\r`),
  fc.constant((l: string) => l.replace(',', ', ')),
  fc.nat().map((p) => (l: string) => `${l.slice(0, p % (l.length + 1))}"${l.slice(p % (l.length + 1))}`),
  fc.nat().map((p) => (l: string) => l.slice(0, p % (l.length + 1))),
);

const caseArb = fc.record({
  columns: fc
    .tuple(fc.subarray(COLUMNS.slice(4)), fc.array(fc.nat(), { minLength: 10, maxLength: 10 }))
    .map(([optional, order]) =>
      [...COLUMNS.slice(0, 4), ...optional]
        .map((c, i) => ({ c, k: order[i] ?? 0 }))
        .sort((a, b) => a.k - b.k)
        .map(({ c }) => c),
    ),
  values: fc.record(valueArbs),
  quoted: fc.array(fc.boolean(), { minLength: COLUMNS.length, maxLength: COLUMNS.length }),
  mutation: mutationArb,
  badByte: fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom(0xff, 0xc3, 0x80)) },
  ),
});

/** The general path on one line: the reason or undefined, as CsvFormat reads a one-line record. */
function general(line: Buffer, header: CsvHeader, out: UsageRecord): string | undefined {
  const parser = new CsvRecordParser();
  if (!parser.feed(line.toString('utf8'))) return 'open';
  if (!isUtf8(line)) return 'invalid UTF-8';
  if (parser.error !== undefined) return parser.error;
  if (parser.fields.length !== header.width) return 'width';
  return validateCsvRecord(parser.fields, header.columns, out);
}

function agree(fast: CsvFastPath, header: CsvHeader, line: Buffer): boolean {
  const rec = newRecord();
  if (!fast.scan(line, 0, line.length, false, rec)) return false;
  const expected = newRecord();
  expect(general(line, header, expected)).toBeUndefined();
  expect(withRequestId(rec, line)).toEqual(expected);
  expect(fast.categories).toEqual(matcher.categoriesFor(expected.clientIp, expected.org));
  return true;
}

describe('CSV fast path', () => {
  it('agrees with the general path on generated valid and hostile lines', () => {
    let taken = 0;
    const runs = 3000;
    fc.assert(
      fc.property(caseArb, (c) => {
        const header = parseCsvHeader(c.columns.join(','));
        if (typeof header === 'string') return;
        const values = c.values as Record<string, string>;
        let text = c.columns.map((col, i) => quoteField(values[col] ?? '', c.quoted[i] ?? false)).join(',');
        text = c.mutation(text);
        let line = Buffer.from(text);
        if (c.badByte) {
          const [p, b] = c.badByte;
          const q = line.length === 0 ? 0 : p % line.length;
          line = Buffer.concat([line.subarray(0, q), Buffer.from([b]), line.subarray(q + 1)]);
        }
        const fast = new CsvFastPath(header.columns, header.width, matcher);
        if (agree(fast, header, line)) taken++;
        agree(fast, header, line); // again: values now known by their bytes
      }),
      { numRuns: runs },
    );
    expect(taken).toBeGreaterThan(runs / 10);
  });

  it('takes nearly every line of a generated log drop', () => {
    const { text, badLines } = generateLogs({ lines: 3000, seed: 7, format: 'csv', badLineShare: 0.01 });
    const [headerLine = '', ...lines] = text.split('\n').filter((l) => l !== '');
    const header = parseCsvHeader(headerLine);
    if (typeof header === 'string') throw new Error(header);
    const fast = new CsvFastPath(header.columns, header.width, matcher);
    let taken = 0;
    for (const line of lines) {
      if (agree(fast, header, Buffer.from(line))) taken++;
    }
    expect(taken).toBeGreaterThanOrEqual(lines.length - badLines.length);
  });
});
