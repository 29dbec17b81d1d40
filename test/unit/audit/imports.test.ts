/** No module of functions/core/audit imports itself back, directly or through others (types included). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../functions/core/audit', import.meta.url));

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every import cycle among the modules under ROOT, each as a path a -> b -> … -> a. */
function cycles(): string[] {
  const files = modules(ROOT);
  const imports = new Map(
    files.map((f) => [
      f,
      [...readFileSync(f, 'utf8').matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)]
        .map((m) => resolve(dirname(f), m[1] as string))
        .filter((d) => d.startsWith(`${ROOT}/`)),
    ]),
  );
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of imports.get(f) ?? []) {
      if (state.get(d) === 'open')
        found.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(ROOT, x)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

describe('functions/core/audit imports', () => {
  it('has no import cycle', () => {
    expect(modules(ROOT).length).toBeGreaterThan(10);
    expect(cycles()).toEqual([]);
  });
});
