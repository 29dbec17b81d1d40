/**
 * What the YAML input files (agreements, the recipients registry) share: strict YAML 1.2 reading
 * (agreements.ts's header says how), `PATH: message` errors from zod issues, and the messages.
 * Pure: text in, values or errors out.
 */
import YAML from 'yaml';
import { z } from 'zod';

/** Recipient category names (registry keys and `prohibited_recipients`). */
export const CATEGORY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type ParseResult<K extends string, T> =
  | ({ ok: true } & { [key in K]: T })
  | { ok: false; errors: string[] };

// ---------------------------------------------------------------------------------------------
// Messages

export const MSG = {
  nonNegInt: 'expected a non-negative integer',
  nonNegNumber: 'expected a non-negative number',
  date: 'expected a date YYYY-MM-DD',
  dateOrNull: 'expected a date YYYY-MM-DD or null',
  licensee: 'expected a licensee id ([a-z0-9][a-z0-9-]{0,62})',
  app: 'expected an app id ([A-Za-z0-9._:-]{1,128})',
  appEntry: 'expected an app id or { id, use_case }',
  category: 'expected a recipient category name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})',
  currency: 'expected a currency code of 3 upper-case letters',
  text: 'expected a non-empty string',
  useCase: 'expected a string or null',
  list: (what: string) => `expected a list of ${what}`,
  mapping: (what: string) => `expected a mapping (${what})`,
} as const;

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return `a timestamp ${Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString()}`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

/** zod error option: "required" for a missing value, else the expectation and what was found. */
export function expect(message: string) {
  return {
    error: (iss: { input?: unknown }) =>
      iss.input === undefined ? 'required' : `${message}, got ${describe(iss.input)}`,
  };
}

/** A non-blank string of at most `max` characters. */
export const nonEmptyText = (max: number) =>
  z
    .string(expect(MSG.text))
    .refine((s) => s.trim().length > 0, expect(MSG.text))
    .refine((s) => s.length <= max, expect(`expected at most ${max} characters`));

// ---------------------------------------------------------------------------------------------
// Paths and issues

export type Path = readonly PropertyKey[];

/** `[0].quotas.monthly_records`, `apps[3]`, `government.cidrs[1]`, `["odd key"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s) ? (out === '' ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
    }
  }
  return out === '' ? '(root)' : out;
}

export function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

/** zod issues of `raw` as `PATH: message` lines, the path prefixed by `prefix`. */
export function issueLines(error: z.ZodError, raw: unknown, prefix: Path): string[] {
  const out: string[] = [];
  for (const iss of error.issues) {
    let path: Path = iss.path;
    // An app given as a bare string is validated as { id }: name the element, not its `.id`.
    if (
      path.length >= 2 &&
      path[path.length - 1] === 'id' &&
      typeof valueAt(raw, path.slice(0, -1)) === 'string'
    ) {
      path = path.slice(0, -1);
    }
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push(`${formatPath([...prefix, ...path, key])}: unknown field`);
    } else {
      out.push(`${formatPath([...prefix, ...path])}: ${iss.message}`);
    }
  }
  return out;
}

export function dedupe<T>(items: T[]): T[] {
  return [...new Set(items)];
}

// ---------------------------------------------------------------------------------------------
// YAML

export function readYaml(
  text: string,
  fileName: string,
): { ok: true; value: unknown } | { ok: false; errors: string[] } {
  const doc = YAML.parseDocument(text, {
    schema: 'core',
    uniqueKeys: true,
    prettyErrors: true,
    logLevel: 'error',
    strict: true,
  });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((e) => {
        const at = e.linePos?.[0];
        const where = at ? `${fileName}:${at.line}:${at.col}` : fileName;
        return `${where}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    return { ok: false, errors: [`${fileName}: ${(err as Error).message}`] };
  }
}
