import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoBytesToMs, isoParsed, isoTimestampEnd } from '../../../functions/core/reader/bytes.ts';
import {
  checkEpochMs,
  civilFromDays,
  dayString,
  daysFromCivil,
  MAX_DAY,
  MIN_DAY,
  parseIsoTimestamp,
} from '../../../functions/core/timestamps.ts';

/** Epoch ms of years 0000–9999 (Date's own range is wider). */
const msArb = fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 });

describe('calendar arithmetic', () => {
  it('daysFromCivil / civilFromDays agree with Date for any day of years 0000–9999', () => {
    fc.assert(
      fc.property(msArb, (ms) => {
        const d = new Date(ms);
        const days = Math.floor(ms / 86_400_000);
        expect(daysFromCivil(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())).toBe(days);
        expect(civilFromDays(days)).toEqual([d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]);
        expect(dayString(days)).toBe(d.toISOString().slice(0, 10));
      }),
      { numRuns: 2000 },
    );
  });

  it('bounds and day strings', () => {
    expect(dayString(MIN_DAY)).toBe('0000-01-01');
    expect(dayString(MAX_DAY)).toBe('9999-12-31');
    expect(dayString(0)).toBe('1970-01-01');
  });
});

describe('parseIsoTimestamp', () => {
  it('round-trips any instant written as toISOString()', () => {
    fc.assert(
      fc.property(msArb, (ms) => {
        expect(parseIsoTimestamp(new Date(ms).toISOString())).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });

  it('any zone offset gives the same instant', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        fc.boolean(),
        (ms, offset, colon) => {
          const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
          const abs = Math.abs(offset);
          const hh = String(Math.floor(abs / 60)).padStart(2, '0');
          const mm = String(abs % 60).padStart(2, '0');
          const zone = `${offset < 0 ? '-' : '+'}${hh}${colon ? ':' : ''}${mm}`;
          expect(parseIsoTimestamp(`${local}${zone}`)).toBe(ms);
        },
      ),
    );
  });

  it.each([
    ['2026-11-27T08:15:02Z', Date.UTC(2026, 10, 27, 8, 15, 2)],
    ['2026-11-27T08:15:02.1Z', Date.UTC(2026, 10, 27, 8, 15, 2, 100)],
    ['2026-11-27T08:15:02.12Z', Date.UTC(2026, 10, 27, 8, 15, 2, 120)],
    ['2026-11-27T08:15:02.123456Z', Date.UTC(2026, 10, 27, 8, 15, 2, 123)],
    ['2026-11-27T08:15:02,5Z', Date.UTC(2026, 10, 27, 8, 15, 2, 500)],
    ['2026-11-27 08:15:02+05:30', Date.UTC(2026, 10, 27, 2, 45, 2)],
    ['0000-01-01T00:00:00Z', -62_167_219_200_000],
    ['9999-12-31T23:59:59.999Z', 253_402_300_799_999],
  ])('%s', (text, ms) => {
    expect(parseIsoTimestamp(text)).toBe(ms);
  });

  it.each([
    ['2026-11-27T08:15:02', 'timestamp: no time zone in "2026-11-27T08:15:02"'],
    ['2026-11-27T08:15:02.Z', /^timestamp: expected ISO-8601/],
    ['2026-11-27T08:15:02.1234567890Z', /^timestamp: expected ISO-8601/],
    ['2026-11-27T08:15:02+5', /^timestamp: expected ISO-8601/],
    ['2026-11-27T08:15:02+05', /^timestamp: expected ISO-8601/],
    ['2026-11-27T08:15:02Z ', /^timestamp: expected ISO-8601/],
    ['2026-11-27T08:15:02+05:3', /^timestamp: expected ISO-8601/],
    ['2026-11-27X08:15:02Z', /^timestamp: expected ISO-8601/],
    ['+2026-11-27T08:15:02Z', /^timestamp: expected ISO-8601/],
    ['2026-11-27T08:15:02+23:60', 'timestamp: impossible zone offset +23:60'],
    ['2026-00-10T08:15:02Z', 'timestamp: impossible date 2026-00-10'],
    ['2026-04-31T08:15:02Z', 'timestamp: impossible date 2026-04-31'],
    ['2026-11-27T24:00:00Z', 'timestamp: impossible time 24:00:00'],
    ['2026-11-27T23:59:60Z', 'timestamp: impossible time 23:59:60'],
    ['0000-01-01T00:00:00+00:01', 'timestamp: out of range "0000-01-01T00:00:00+00:01"'],
    ['x'.repeat(100), /^timestamp: expected ISO-8601 .*…"$/],
  ])('rejects %j', (text, reason) => {
    const r = parseIsoTimestamp(text);
    if (typeof reason === 'string') expect(r).toBe(reason);
    else expect(r).toMatch(reason);
  });

  it('epoch milliseconds', () => {
    expect(checkEpochMs(0)).toBe(0);
    expect(checkEpochMs(253_402_300_799_999)).toBe(253_402_300_799_999);
    expect(checkEpochMs(253_402_300_800_000)).toMatch(/out of range/);
    expect(checkEpochMs(8.64e15 + 1)).toMatch(/out of range/);
    expect(checkEpochMs(Number.NaN)).toMatch(/must be an integer/);
    expect(checkEpochMs(1.5)).toMatch(/must be an integer/);
  });
});

describe('isoBytesToMs (the fast paths’ timestamp parser)', () => {
  const near = fc.oneof(
    msArb.map((ms) => new Date(ms).toISOString()),
    fc
      .tuple(msArb, fc.constantFrom('Z', 'z', '+05:30', '-0130', '+23:59', '+24:00', '-00:60', '', '+5'))
      .map(([ms, zone]) => `${new Date(ms).toISOString().slice(0, 19)}${zone}`),
    fc
      .tuple(msArb, fc.constantFrom('.', ',', '.1', ',12', '.123456789', '.1234567890'))
      .map(([ms, fraction]) => `${new Date(ms).toISOString().slice(0, 19)}${fraction}Z`),
  );
  /** A near-ISO string with one character changed, dropped or added. */
  const mutated = fc
    .tuple(
      near,
      fc.nat(),
      fc.constantFrom('', '0', '9', ' ', 'T', 't', '-', ':', 'Z', 'é', '٣'),
      fc.boolean(),
    )
    .map(([s, p, c, replace]) => {
      const i = p % (s.length + 1);
      return `${s.slice(0, i)}${c}${s.slice(replace ? i + 1 : i)}`;
    });

  it('accepts exactly what parseIsoTimestamp accepts, with the same instant', () => {
    fc.assert(
      fc.property(fc.oneof(near, mutated, fc.string({ maxLength: 30 })), (s) => {
        const expected = parseIsoTimestamp(s);
        // Inside a larger buffer, to catch reads past the end.
        const buf = Buffer.from(`"${s}"9:00Z`);
        const got = isoBytesToMs(buf, 1, 1 + Buffer.byteLength(s));
        if (typeof expected === 'number') expect(got).toBe(expected);
        else expect(got).toBeNaN();
      }),
      { numRuns: 5000 },
    );
  });

  it('isoTimestampEnd ends a quoted timestamp at its closing quote exactly when parseIsoTimestamp accepts it', () => {
    fc.assert(
      fc.property(fc.oneof(near, mutated, fc.string({ maxLength: 30 })), fc.boolean(), (s, lineEnds) => {
        const expected = parseIsoTimestamp(s);
        // As the JSON fast path sees it: the timestamp's bytes, its closing quote, and more of the
        // line (or the line's end right after the quote, with bytes of the next line beyond it).
        const line = Buffer.from(`"${s}"${lineEnds ? '' : ',"app_id":"a"}'}`);
        const buf = Buffer.concat([line, Buffer.from('0:00Z"\n')]);
        const e = isoTimestampEnd(buf, 1, line.length);
        const quoted = e >= 0 && e < line.length && buf[e] === 34;
        if (typeof expected === 'number') {
          expect(e).toBe(1 + Buffer.byteLength(s));
          expect(isoParsed.ms).toBe(expected);
          expect(isoParsed.day).toBe(Math.floor(expected / 86_400_000));
        } else expect(quoted && e === 1 + Buffer.byteLength(s)).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });
});
