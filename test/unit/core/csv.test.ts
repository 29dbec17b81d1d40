import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvRecordParser } from '../../../functions/core/csv.ts';

/** Feed lines until a record completes; returns the fields (or the error) and the lines used. */
function parse(lines: string[]): { fields: string[]; error?: string; used: number } {
  const p = new CsvRecordParser();
  for (let i = 0; i < lines.length; i++) {
    if (p.feed(lines[i] as string)) {
      return p.error ? { fields: p.fields, error: p.error, used: i + 1 } : { fields: p.fields, used: i + 1 };
    }
  }
  return { fields: [], error: 'open', used: lines.length };
}

/** RFC 4180 writer, the reference for the round-trip property. */
const quoteField = (v: string) => (/[",\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v);

describe('CsvRecordParser', () => {
  it.each([
    [['a,b,c'], ['a', 'b', 'c']],
    [['a,,c,'], ['a', '', 'c', '']],
    [[''], ['']],
    [[','], ['', '']],
    [['"a,b",c'], ['a,b', 'c']],
    [['"say ""hi""",x'], ['say "hi"', 'x']],
    [['""'], ['']],
    [['"",""'], ['', '']],
    [['a"b,c'], ['a"b', 'c']],
    [
      ['"multi', 'line', '",end'],
      ['multi\nline\n', 'end'],
    ],
    [['"a', '', 'b"'], ['a\n\nb']],
    [
      ['x,"', '"'],
      ['x', '\n'],
    ],
  ])('%j', (lines, fields) => {
    expect(parse(lines)).toEqual({ fields, used: lines.length });
  });

  it('text after a closing quote is an error', () => {
    expect(parse(['"a"b,c']).error).toBe('malformed CSV: text after the closing quote of field 1');
    expect(parse(['x,"a" ,c']).error).toBe('malformed CSV: text after the closing quote of field 2');
  });

  it('reset() forgets an open record', () => {
    const p = new CsvRecordParser();
    expect(p.feed('"open')).toBe(false);
    expect(p.open).toBe(true);
    p.reset();
    expect(p.feed('a,b')).toBe(true);
    expect(p.fields).toEqual(['a', 'b']);
  });

  it('round-trips any fields written by an RFC 4180 writer (split on line breaks)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme-ascii' }), { minLength: 1, maxLength: 8 }),
        (fields) => {
          const text = fields.map(quoteField).join(',');
          expect(parse(text.split('\n'))).toEqual({ fields, used: text.split('\n').length });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
