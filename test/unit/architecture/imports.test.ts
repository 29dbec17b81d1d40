/**
 * The edges between modules, read from their import lines (static and dynamic): no import cycles
 * in the application layers, and the use cases depend on their ports, not on the adapters.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
/** The whole tree: every module of the functions and the stack. */
const LAYERS = ['functions', 'infra'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => resolve(e.parentPath, e.name));
}

/** Relative imports of one file, resolved to absolute paths. */
function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)].flatMap((m) =>
    m[1] === undefined ? [] : [resolve(dirname(file), m[1])],
  );
}

const rel = (p: string) => relative(root, p);

/** Static, value (not type-only) imports of one file: relative ones resolved, packages by name. */
function staticImportsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^import\s+(?!type\s)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].flatMap((m) =>
    m[1] === undefined ? [] : [m[1].startsWith('.') ? resolve(dirname(file), m[1]) : m[1]],
  );
}

describe('module edges', () => {
  it('has no import cycle anywhere under functions/ and infra/ (type-only imports included)', () => {
    const files = LAYERS.flatMap((l) => tsFiles(join(root, l)));
    const known = new Set(files);
    const edges = new Map(files.map((f) => [f, importsOf(f).filter((d) => known.has(d))]));
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of edges.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' → '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('keeps the use cases on their ports: only the handler entry points reach the adapters (via shared/compose.ts)', () => {
    const adapters = resolve(root, 'functions/adapters');
    const offending = ['functions/ingest', 'functions/audit']
      .flatMap((l) => tsFiles(join(root, l)))
      .flatMap((f) =>
        importsOf(f)
          .filter((d) => d.startsWith(adapters))
          .map((d) => `${rel(f)} → ${rel(d)}`),
      );
    expect(offending).toEqual([]);
  });

  it('keeps the CLI start cheap: what `auditor --help` loads statically reaches no YAML, zod or AWS SDK (they load when a command needs them)', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const walk = (f: string): void => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const d of staticImportsOf(f)) {
        if (d.startsWith('/')) walk(d);
        else packages.add(d);
      }
    };
    walk(resolve(root, 'functions/cli/main.ts'));
    expect(seen.size).toBeGreaterThan(10);
    const heavy = [...packages].filter((p) => /^(yaml|zod|@aws-sdk\/|@smithy\/|s3rver|dynalite)/.test(p));
    expect(heavy).toEqual([]);
  });
});
