/**
 * The README's table of context keys is documentation for people; infra/config.ts is the one
 * declaration. This keeps the two from drifting: same keys, same order, same defaults.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APP_CONTEXT, STACK_CONTEXT } from '../../infra/config.ts';

function readmeKeys(): Array<{ key: string; default: string }> {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = text.indexOf('| key ');
  expect(start, 'README has a context-key table').toBeGreaterThan(-1);
  const rows: Array<{ key: string; default: string }> = [];
  for (const line of text.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [key = '', def = ''] = line
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    rows.push({ key, default: def });
  }
  return rows;
}

describe('README context-key table', () => {
  const all = { ...APP_CONTEXT, ...STACK_CONTEXT };

  it('lists exactly the keys of infra/config.ts, in its order', () => {
    expect(readmeKeys().map((r) => r.key)).toEqual(Object.keys(all));
  });

  it('gives each key the default infra/config.ts declares', () => {
    for (const row of readmeKeys()) {
      const key = all[row.key as keyof typeof all];
      const declared = key.default === '' ? '(none)' : String(key.default);
      // A few defaults are derived from the stack name; the README says so in words.
      if (row.default.startsWith('from stack name') || row.default === 'stack name') continue;
      expect(row.default, row.key).toBe(declared);
    }
  });
});
