/**
 * The JSON Lines fast path against the general path (JSON.parse + validateJsonRecord): for
 * generated lines, valid and hostile, whenever the fast path accepts a line the general path
 * accepts it too, with the same record and the same recipient categories; every other line goes to
 * the general path, so the reader's outcome for any line is the general path's.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readJsonGeneral } from '../../../functions/core/reader/jsonl.ts';
import { JsonlFastPath } from '../../../functions/core/reader/jsonl-fast.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import { newRecord } from '../../../functions/core/record.ts';
import { generateLogs } from '../../support/log-generator.ts';
import { withRequestId } from './helpers.ts';

const matcher = compileRegistry({
  government: { cidrs: ['198.51.100.0/24', '2001:db8:a000::/36'], organisations: ['gov-org'] },
  broker: { cidrs: ['192.0.2.128/25'], organisations: ['broker-org', 'both-org'] },
  other: { cidrs: ['10.0.0.0/8'], organisations: ['both-org'] },
});

const msArb = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) });
const odd = (...values: unknown[]) => fc.constantFrom<unknown>(...values);
/** Mostly valid values, sometimes odd ones. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: other });

const timestampArb = mostly(
  fc.oneof(
    msArb.map((ms) => new Date(ms).toISOString()),
    msArb,
    msArb.map((ms) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+05:30`),
    msArb.map((ms) => `${new Date(ms).toISOString().slice(0, 22)}-0130`),
  ),
  odd(
    '2026-11-27T10:00:00,5z',
    '2026-11-27t10:00:00.123456789Z',
    '2026-11-27T10:00:00.1234567890Z',
    '2026-02-29T10:00:00Z',
    '2024-02-29T10:00:00Z',
    '2026-11-27T10:00:00',
    '2026-11-27T24:00:00Z',
    '2026-11-27T10:00:00+24:00',
    '2026-11-27T10:00:00+05',
    '0000-01-01T00:00:00+00:01',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.999-00:01',
    '1700000000000',
    '-5',
    '',
    'ünï',
    -1,
    0,
    -62_167_219_200_001,
    253_402_300_799_999,
    253_402_300_800_000,
    1.5,
    1e20,
    null,
    true,
    [],
  ),
);
const appArb = mostly(
  odd('app-1', 'b.2', 'c:3', 'D_4', 'x'.repeat(128)),
  fc.oneof(odd('', 'x'.repeat(129), 'bad app', 'ä', 5, null, {}), fc.string({ maxLength: 6 })),
);
const endpointArb = mostly(
  fc.oneof(odd('GET /x', 'GET /"q"', 'GET /ünï 😀', 'a\\b'), fc.string({ unit: 'grapheme', maxLength: 10 })),
  odd('', 'x'.repeat(2048), 'x'.repeat(2049), '😀'.repeat(1024), '😀'.repeat(1025), null, 1, [], { a: 1 }),
);
const statusArb = mostly(
  fc.oneof(fc.integer({ min: 100, max: 599 }), odd(100, 599)),
  fc.oneof(fc.integer({ min: 0, max: 1000 }), odd(99, 600, 200.5, '200', null, -200, 2 ** 60)),
);
const uintArb = mostly(
  fc.oneof(fc.nat(), odd(0, null, 2 ** 53 - 1, 999_999_999_999_999, 1_000_000_000_000_000)),
  odd(2 ** 53, -1, 1.5, '5', true),
);
const ipArb = mostly(
  fc.oneof(
    odd(
      '198.51.100.1',
      '2001:db8:a123::9',
      '::ffff:198.51.100.200',
      '192.0.2.130',
      '10.9.8.7',
      '::',
      '',
      null,
    ),
    fc.ipV4(),
    fc.ipV6(),
  ),
  odd('999.1.1.1', '01.2.3.4', 'not an ip', 5),
);
const orgArb = mostly(
  fc.oneof(
    odd('gov-org', 'broker-org', 'both-org', 'nobody', '', 'x'.repeat(256), null),
    fc.string({ maxLength: 5 }),
  ),
  odd('x'.repeat(257), 3),
);
const requestIdArb = mostly(fc.oneof(fc.string({ maxLength: 5 }), odd(null)), odd(5, {}, []));

const KNOWN = [
  'timestamp',
  'app_id',
  'endpoint',
  'status',
  'records',
  'bytes',
  'client_ip',
  'on_behalf_of',
  'request_id',
];

/** One JSON object line: known fields (each possibly absent), unknown ones, in any order. */
const objectLineArb = fc
  .record({
    timestamp: fc.option(timestampArb, { nil: undefined, freq: 30 }),
    app_id: fc.option(appArb, { nil: undefined, freq: 30 }),
    endpoint: fc.option(endpointArb, { nil: undefined, freq: 30 }),
    status: fc.option(statusArb, { nil: undefined, freq: 30 }),
    records: fc.option(uintArb, { nil: undefined }),
    bytes: fc.option(uintArb, { nil: undefined }),
    client_ip: fc.option(ipArb, { nil: undefined }),
    on_behalf_of: fc.option(orgArb, { nil: undefined }),
    request_id: fc.option(requestIdArb, { nil: undefined }),
    extra: fc.array(
      fc.tuple(
        fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('App_id', 'timestamp ')),
        fc.jsonValue(),
      ),
      {
        maxLength: 2,
      },
    ),
    order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  })
  .map((r) => {
    const entries: [string, unknown][] = [];
    for (const key of KNOWN) {
      const value = (r as Record<string, unknown>)[key];
      if (value !== undefined) entries.push([key, value]);
    }
    entries.push(...r.extra);
    const keyed = entries.map((e, i) => ({ e, k: r.order[i % 12] ?? 0 }));
    keyed.sort((a, b) => a.k - b.k);
    return `{${keyed.map(({ e: [k, v] }) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  });

/** Hostile changes to a line (as bytes). */
type Mutation = (line: Buffer) => Buffer;
const text =
  (f: (s: string) => string): Mutation =>
  (b) =>
    Buffer.from(f(b.toString('utf8')));
const at =
  (pos: number, f: (b: Buffer, p: number) => Buffer): Mutation =>
  (b) =>
    f(b, b.length === 0 ? 0 : pos % b.length);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 40, arbitrary: fc.constant((b: Buffer) => b) },
  fc
    .constantFrom(' ', '\t', '\r', ' \t ')
    .map((ws) => text((s) => s.replace(/([,:{}[\]])/g, `${ws}$1${ws}`))),
  fc.constantFrom(' ', '\t', '\r', '\u00a0', '\u2028').map((ws) => text((s) => `${ws}${s}${ws}`)),
  fc
    .tuple(fc.constantFrom(...KNOWN, 'extra'), fc.jsonValue())
    .map(([k, v]) => text((s) => s.replace(/}$/, `,${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}}`))),
  fc
    .constantFrom('.0', 'e0', 'E+1', 'e-1', '.5')
    .map((suffix) => text((s) => s.replace(/(:-?[0-9]+)([,}])/, `$1${suffix}$2`))),
  fc
    .constantFrom('-0', '0', '00', '01', '-', '1e400', '9007199254740993', '123456789012345678')
    .map((num) => text((s) => s.replace(/:(-?[0-9]+)([,}])/, `:${num}$2`))),
  fc
    .constantFrom(
      ['"app_id"', '"app\\u005fid"'],
      ['"status"', '"st\\u0061tus"'],
      ['app-1', 'app\\u002d1'],
      ['/', '\\/'],
      ['T', '\\u0054'],
      ['"', '\\"'],
      ['.', '\\u002E'],
      ['e', '\\e'],
      ['o', '\\uD83D'],
      [':', '\\u003a'],
    )
    .map(([from, to]) => text((s) => s.replace(from as string, to as string))),
  fc.constant(text((s) => s.replace(/}$/, ',"nested":{"a":[1,{"b":[[[null]]]},"x"],"c":{}}}'))),
  fc.constant(text((s) => s.replace(/}$/, `,"deep":${'['.repeat(40)}${']'.repeat(40)}}`))),
  fc.constant((b: Buffer) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])),
  fc.nat().map((p) => at(p, (b, q) => b.subarray(0, q))),
  fc
    .tuple(fc.nat(), fc.constantFrom(0xff, 0xc3, 0x80, 0xed, 0x00, 0x01, 0x1f, 0x7f, 0x22, 0x5c, 0x2c))
    .map(([p, byte]) =>
      at(p, (b, q) => Buffer.concat([b.subarray(0, q), Buffer.from([byte]), b.subarray(q)])),
    ),
  fc
    .tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))
    .map(([p, byte]) =>
      at(p, (b, q) => Buffer.concat([b.subarray(0, q), Buffer.from([byte]), b.subarray(q + 1)])),
    ),
  fc.constantFrom('[1]', '"s"', 'null', '{}', '', '{"timestamp":1}', '{,}').map((s) => () => Buffer.from(s)),
);

const lineArb = fc
  .tuple(objectLineArb, fc.array(mutationArb, { maxLength: 3 }))
  .map(([line, mutations]) => mutations.reduce<Buffer>((b, m) => m(b), Buffer.from(line)));

/** The fast path's outcome must be the general path's whenever it takes the line. */
function agree(fast: JsonlFastPath, line: Buffer, utf8Valid: boolean): boolean {
  const general = newRecord();
  const reason = readJsonGeneral(line, 0, line.length, false, general);
  const rec = newRecord();
  if (!fast.scan(line, 0, line.length, utf8Valid, rec)) return false;
  expect(reason).toBeUndefined();
  expect(withRequestId(rec, line)).toEqual(general);
  expect(fast.categories).toEqual(matcher.categoriesFor(general.clientIp, general.org));
  return true;
}

describe('JSON Lines fast path', () => {
  it('agrees with the general path on generated valid and hostile lines', () => {
    const fast = new JsonlFastPath(matcher); // shared: later lines also hit values known by bytes
    let taken = 0;
    const runs = 4000;
    fc.assert(
      fc.property(lineArb, (line) => {
        const valid = isUtf8(line);
        if (agree(fast, line, false)) taken++;
        agree(new JsonlFastPath(matcher), line, valid);
        agree(fast, line, valid);
      }),
      { numRuns: runs },
    );
    // Not vacuous: a good share of the lines are valid and taken by the fast path.
    expect(taken).toBeGreaterThan(runs / 10);
  });

  it('takes nearly every line of a generated log drop', () => {
    const { text, badLines } = generateLogs({ lines: 3000, seed: 7, format: 'jsonl', badLineShare: 0.01 });
    const fast = new JsonlFastPath(matcher);
    let taken = 0;
    const lines = text.split('\n').filter((l) => l !== '');
    for (const line of lines) if (agree(fast, Buffer.from(line), true)) taken++;
    // Only the bad lines and those with an escape in a timestamp or key go the general way.
    expect(taken).toBeGreaterThanOrEqual(lines.length - badLines.length - 5);
  });
});
