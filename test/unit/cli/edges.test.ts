/** Issue 8 #11 and #12 at unit level: the terminal sanitiser and the object-key rule. */
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../functions/cli/errors.ts';
import { terminalSafe } from '../../../functions/cli/terminal-safe.ts';
import { unsafeKeyReason } from '../../../functions/local/safe-key.ts';

describe('terminalSafe', () => {
  it('shows C0, DEL, C1 and bidi overrides/isolates as visible escapes', () => {
    expect(terminalSafe('\u001b]0;pwned\u0007\u001b[2J')).toBe('\\x1b]0;pwned\\x07\\x1b[2J');
    expect(terminalSafe('a\u0000b\tc\nd\re\u007f\u0085\u009b')).toBe(
      'a\\x00b\\x09c\\x0ad\\x0de\\x7f\\x85\\x9b',
    );
    for (const c of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069])
      expect(terminalSafe(`x${String.fromCharCode(c)}y`)).toBe(`x\\u${c.toString(16)}y`);
  });

  it('leaves everything else as it is', () => {
    for (const s of ['GET /2/tweets', 'Zoë — 東京 ☃', 'back\\slash', '\u200f\u00a0', ''])
      expect(terminalSafe(s)).toBe(s);
  });

  it('CliError messages are one safe line; details are further safe lines', () => {
    expect(new CliError('key "a\u001b[2J\nb"').message).toBe('key "a\\x1b[2J\\x0ab"');
    expect(new CliError('head:', ['one\u202e', 'two']).message).toBe('head:\n  one\\u202e\n  two');
  });
});

describe('unsafeKeyReason', () => {
  it.each([
    ['', 'is empty'],
    ['/logs/a', 'starts with "/"'],
    ['logs/a\\b', 'holds a backslash'],
    ['logs/a\u0000b', 'holds a control character'],
    ['logs/a\u001bb', 'holds a control character'],
    ['logs/a\u007f', 'holds a control character'],
    ['logs/a\u0085', 'holds a control character'],
    ['logs//a', 'has an empty segment ("//" or a trailing "/")'],
    ['logs/a/', 'has an empty segment ("//" or a trailing "/")'],
    ['logs/./a', 'has a "." segment'],
    ['logs/../a', 'has a ".." segment'],
    ['..', 'has a ".." segment'],
  ])('%j %s', (key, reason) => {
    expect(unsafeKeyReason(key)).toBe(reason);
  });

  it.each(['logs/a.jsonl', 'logs/nov 27+a/b.csv', 'logs/..a/b..', 'logs/.hidden', 'logs/ünï/東京.jsonl'])(
    '%j is safe',
    (key) => {
      expect(unsafeKeyReason(key)).toBeUndefined();
    },
  );
});
