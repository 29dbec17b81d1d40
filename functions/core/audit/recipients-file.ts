/**
 * The recipients registry file (SPEC §3) loaded by `auditor recipients load FILE`: a mapping of
 * category name → `{ cidrs, organisations }`, parsed and validated as agreements.ts describes
 * (strict YAML, every error as `PATH: message`; paths start at the category:
 * `government.cidrs[1]: invalid CIDR "..."`). Pure.
 */
import { z } from 'zod';
import { parseCidr } from '../recipients.ts';
import type { RecipientsRegistry } from '../types.ts';
import {
  CATEGORY_RE,
  dedupe,
  describe,
  expect,
  formatPath,
  issueLines,
  MSG,
  nonEmptyText,
  type ParseResult,
  readYaml,
  valueAt,
} from './input-file.ts';

const categorySchema = z.strictObject(
  {
    cidrs: z.array(z.string(expect('expected a CIDR string')), expect(MSG.list('CIDRs'))).optional(),
    organisations: z.array(nonEmptyText(256), expect(MSG.list('organisations'))).optional(),
  },
  expect(MSG.mapping('cidrs, organisations')),
);

/**
 * Why a CIDR is invalid, or undefined when valid: the verdict of parseCidr in core/recipients.ts,
 * the parser compileRegistry compiles with (so a registry that loads always compiles). Accepted:
 * IPv4 in dotted four-part decimal without leading zeros and IPv6 in RFC 4291 text form (no zone
 * id, an embedded IPv4 part without leading zeros), no whitespace, with a prefix length (/0–32,
 * /0–128) or none (a single address).
 */
export function cidrProblem(cidr: string): string | undefined {
  const parsed = parseCidr(cidr);
  return parsed.ok ? undefined : parsed.problem;
}

/**
 * Parses a recipients registry file: a mapping of category name → `{ cidrs, organisations }` (each
 * optional, default []; duplicates within a list dropped). Every error is reported with its path.
 */
export function parseRecipientsFile(
  text: string,
  fileName: string,
): ParseResult<'registry', RecipientsRegistry> {
  const read = readYaml(text, fileName);
  if (!read.ok) return read;
  const root = read.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root) || root instanceof Date) {
    return {
      ok: false,
      errors: [`(root): expected a mapping of recipient categories, got ${describe(root)}`],
    };
  }
  const errors: string[] = [];
  const registry: RecipientsRegistry = {};
  for (const [name, raw] of Object.entries(root as Record<string, unknown>)) {
    if (!CATEGORY_RE.test(name)) errors.push(`${formatPath([name])}: ${MSG.category}`);
    const parsed = categorySchema.safeParse(raw ?? {});
    if (!parsed.success) errors.push(...issueLines(parsed.error, raw, [name]));
    // CIDRs are checked on the raw list, so they are reported beside any other error.
    const rawCidrs = valueAt(raw, ['cidrs']);
    if (Array.isArray(rawCidrs)) {
      rawCidrs.forEach((cidr: unknown, i) => {
        const problem = typeof cidr === 'string' ? cidrProblem(cidr) : undefined;
        if (problem)
          errors.push(`${formatPath([name, 'cidrs', i])}: invalid CIDR ${JSON.stringify(cidr)} (${problem})`);
      });
    }
    if (parsed.success) {
      registry[name] = {
        cidrs: dedupe(parsed.data.cidrs ?? []),
        organisations: dedupe(parsed.data.organisations ?? []),
      };
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, registry };
}
