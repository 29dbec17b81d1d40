/**
 * Agreements and the recipients registry (SPEC §3): parsing and validation of the files loaded by
 * `auditor agreements load FILE` and `auditor recipients load FILE`. Pure: text in, values or
 * errors out.
 *
 * Files are YAML 1.2 (JSON is YAML), read with the `yaml` package under the core schema, so an
 * unquoted date such as 2026-01-01 stays the string "2026-01-01" (even under a `%YAML 1.1`
 * directive); an explicit `!!timestamp` tag at midnight UTC is also accepted as that date.
 * Duplicate mapping keys, several documents in one file and unknown tags are errors.
 *
 * Errors: an invalid file is refused whole and EVERY error is reported, each as `PATH: message`:
 *  - a file holding a LIST of agreements names elements by index: `[0].quotas.monthly_records: ...`,
 *    `[1].apps[3]: ...`;
 *  - a file holding ONE agreement (a mapping at the top) uses paths without an index:
 *    `quotas.monthly_records: ...`, `apps[3]: ...`;
 *  - an error about the whole file is named `(root)`; YAML syntax errors are
 *    `FILE:LINE:COL: message`.
 * Recipients registry paths start at the category: `government.cidrs[1]: invalid CIDR "..."`.
 * Keys that are not plain identifiers are quoted: `["odd key"]`.
 *
 * Strictness (a compliance tool should not guess): unknown fields are errors (a misspelt
 * `monthly_record` would otherwise silently drop a quota); a quota is an integer 0 … 2^53 − 1
 * (`null` is not "no quota": leave the field out); an agreement covers at least one app.
 */
import { z } from 'zod';
import { APP_ID_RE, LICENSEE_ID_RE } from '../support.ts';
import { isRealDate } from './format.ts';
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
  type Path,
  readYaml,
  valueAt,
} from './input-file.ts';

export { cidrProblem, parseRecipientsFile } from './recipients-file.ts';
export { CATEGORY_RE, LICENSEE_ID_RE, type ParseResult };

/** An agreement after validation and normalisation. */
export interface Agreement {
  licensee: string;
  /** Display name; the licensee id when the file gives none. */
  name: string;
  /** Covered apps, in file order; `use_case` null when none is declared. */
  apps: { id: string; use_case: string | null }[];
  /** Inclusive UTC dates, start ≤ end. */
  term: { start: string; end: string };
  /**
   * Last UTC date paid for. The key is ABSENT when the agreement is fully paid; `null` means never
   * paid. (JSON round-trips this: JSON.stringify omits undefined and keeps null.)
   */
  paid_through?: string | null;
  /** Limits; a missing key means no such limit. */
  quotas: { monthly_records?: number; monthly_requests?: number; daily_records?: number };
  /** Allowed endpoints (deduplicated); absent = all allowed. */
  endpoints?: string[];
  prohibited_recipients: string[];
  approved_organisations: string[];
  /** Price of usage; absent = unpaid usage is reported without an amount. */
  rate?: { per_1000_records: number; currency: string };
}

// ---------------------------------------------------------------------------------------------
// Schemas

const nonNegInt = z.number(expect(MSG.nonNegInt)).int(expect(MSG.nonNegInt)).min(0, expect(MSG.nonNegInt));

/** A Date (from an explicit !!timestamp tag) at midnight UTC is read as its date. */
function dateFromTimestamp(v: unknown): unknown {
  if (v instanceof Date && !Number.isNaN(v.getTime())) {
    const iso = v.toISOString();
    if (iso.endsWith('T00:00:00.000Z')) return iso.slice(0, 10);
  }
  return v;
}

const date = (message: string) =>
  z.preprocess(dateFromTimestamp, z.string(expect(message)).refine(isRealDate, expect(message)));

const appId = z.string(expect(MSG.app)).regex(APP_ID_RE, expect(MSG.app));
const category = z.string(expect(MSG.category)).regex(CATEGORY_RE, expect(MSG.category));

const appEntry = z.preprocess(
  (v) => (typeof v === 'string' ? { id: v } : v),
  z.strictObject(
    {
      id: appId,
      use_case: z
        .string(expect(MSG.useCase))
        .max(2000, expect('expected at most 2000 characters'))
        .nullable()
        .optional(),
    },
    expect(MSG.appEntry),
  ),
);

const agreementSchema = z.strictObject(
  {
    licensee: z.string(expect(MSG.licensee)).regex(LICENSEE_ID_RE, expect(MSG.licensee)),
    name: nonEmptyText(256).optional(),
    apps: z.array(appEntry, expect(MSG.list('apps'))).min(1, expect('expected at least one app')),
    term: z.strictObject({ start: date(MSG.date), end: date(MSG.date) }, expect(MSG.mapping('start, end'))),
    paid_through: date(MSG.dateOrNull).nullable().optional(),
    quotas: z
      .strictObject(
        {
          monthly_records: nonNegInt.optional(),
          monthly_requests: nonNegInt.optional(),
          daily_records: nonNegInt.optional(),
        },
        expect(MSG.mapping('monthly_records, monthly_requests, daily_records')),
      )
      .optional(),
    endpoints: z.array(nonEmptyText(1024), expect(MSG.list('endpoints'))).optional(),
    prohibited_recipients: z.array(category, expect(MSG.list('recipient categories'))).optional(),
    approved_organisations: z.array(nonEmptyText(256), expect(MSG.list('organisations'))).optional(),
    rate: z
      .strictObject(
        {
          per_1000_records: z.number(expect(MSG.nonNegNumber)).min(0, expect(MSG.nonNegNumber)),
          currency: z.string(expect(MSG.currency)).regex(/^[A-Z]{3}$/, expect(MSG.currency)),
        },
        expect(MSG.mapping('per_1000_records, currency')),
      )
      .optional(),
  },
  expect(MSG.mapping('an agreement')),
);

type RawAgreement = z.output<typeof agreementSchema>;

// ---------------------------------------------------------------------------------------------
// Agreements

/** The app ids of a raw (possibly invalid) agreement, with their index, for duplicate checks. */
function rawApps(raw: unknown): { id: string; index: number }[] {
  const apps = valueAt(raw, ['apps']);
  if (!Array.isArray(apps)) return [];
  const out: { id: string; index: number }[] = [];
  apps.forEach((a: unknown, index) => {
    const id = typeof a === 'string' ? a : valueAt(a, ['id']);
    if (typeof id === 'string') out.push({ id, index });
  });
  return out;
}

function normaliseAgreement(a: RawAgreement): Agreement {
  const quotas: Agreement['quotas'] = {};
  for (const q of ['monthly_records', 'monthly_requests', 'daily_records'] as const) {
    const v = a.quotas?.[q];
    if (v !== undefined) quotas[q] = v;
  }
  // Built in the documented field order (deterministic JSON when stored or printed).
  const out: Agreement = {
    licensee: a.licensee,
    name: a.name?.trim() || a.licensee,
    apps: a.apps.map((app) => {
      const useCase = app.use_case?.trim();
      return { id: app.id, use_case: useCase ? useCase : null };
    }),
    term: { start: a.term.start, end: a.term.end },
    ...(a.paid_through !== undefined ? { paid_through: a.paid_through } : {}),
    quotas,
    ...(a.endpoints !== undefined ? { endpoints: dedupe(a.endpoints) } : {}),
    prohibited_recipients: dedupe(a.prohibited_recipients ?? []),
    approved_organisations: dedupe(a.approved_organisations ?? []),
    ...(a.rate !== undefined
      ? { rate: { per_1000_records: a.rate.per_1000_records, currency: a.rate.currency } }
      : {}),
  };
  return out;
}

/**
 * Parses an agreements file (YAML or JSON; one agreement or a list). Either every agreement, valid
 * and normalised, in file order, or every error found (see the module comment for error paths).
 */
export function parseAgreementsFile(
  text: string,
  fileName: string,
  /** When given, a prohibited category not in this list is an error (the stored registry's categories). */
  knownCategories?: readonly string[],
): ParseResult<'agreements', Agreement[]> {
  const read = readYaml(text, fileName);
  if (!read.ok) return read;
  const root = read.value;
  let items: { raw: unknown; prefix: Path }[];
  if (Array.isArray(root)) {
    if (root.length === 0) return { ok: false, errors: ['(root): expected at least one agreement'] };
    items = root.map((raw, i) => ({ raw, prefix: [i] }));
  } else if (root !== null && typeof root === 'object' && !(root instanceof Date)) {
    items = [{ raw: root, prefix: [] }];
  } else {
    return {
      ok: false,
      errors: [`(root): expected an agreement or a list of agreements, got ${describe(root)}`],
    };
  }

  const errors: string[] = [];
  const agreements: Agreement[] = [];
  const licensees = new Map<string, Path>();
  const appOwners = new Map<string, { licensee: string; path: Path }>();

  for (const { raw, prefix } of items) {
    const parsed = agreementSchema.safeParse(raw);
    if (!parsed.success) errors.push(...issueLines(parsed.error, raw, prefix));
    else {
      const a = normaliseAgreement(parsed.data);
      if (a.term.start > a.term.end) {
        errors.push(
          `${formatPath([...prefix, 'term', 'end'])}: ${a.term.end} is before term.start ${a.term.start}`,
        );
      }
      agreements.push(a);
    }

    if (knownCategories) errors.push(...unknownCategories(raw, prefix, knownCategories));
    // Duplicate checks on the raw values, so they are reported even beside other errors.
    const licensee = valueAt(raw, ['licensee']);
    const owner = typeof licensee === 'string' ? licensee : `(agreement ${formatPath(prefix)})`;
    if (typeof licensee === 'string') {
      const seen = licensees.get(licensee);
      if (seen) {
        errors.push(
          `${formatPath([...prefix, 'licensee'])}: duplicate licensee ${JSON.stringify(licensee)} (also at ${formatPath(seen)})`,
        );
      } else licensees.set(licensee, prefix);
    }
    const local = new Map<string, Path>();
    for (const { id, index } of rawApps(raw)) {
      const path: Path = [...prefix, 'apps', index];
      const here = local.get(id);
      if (here) {
        errors.push(
          `${formatPath(path)}: app ${JSON.stringify(id)} is listed twice (also at ${formatPath(here)})`,
        );
        continue;
      }
      local.set(id, path);
      const other = appOwners.get(id);
      if (other) {
        errors.push(
          `${formatPath(path)}: app ${JSON.stringify(id)} is already covered by licensee ${JSON.stringify(other.licensee)} at ${formatPath(other.path)}`,
        );
      } else appOwners.set(id, { licensee: owner, path });
    }
  }
  if (errors.length > 0) return { ok: false, errors: dedupe(errors) };
  return { ok: true, agreements };
}

/** `PATH: unknown recipient category "x" (the registry has: …)` per prohibited category not in `known`. */
function unknownCategories(raw: unknown, prefix: Path, known: readonly string[]): string[] {
  const list = valueAt(raw, ['prohibited_recipients']);
  if (!Array.isArray(list)) return [];
  const has = known.length === 0 ? 'the registry has no categories' : `the registry has: ${known.join(', ')}`;
  return list.flatMap((cat: unknown, i) =>
    typeof cat === 'string' && CATEGORY_RE.test(cat) && !known.includes(cat)
      ? [
          `${formatPath([...prefix, 'prohibited_recipients', i])}: unknown recipient category ${JSON.stringify(cat)} (${has})`,
        ]
      : [],
  );
}

/**
 * Apps of `incoming` that a stored agreement of ANOTHER licensee already covers (loading replaces
 * the agreements of the licensees in `incoming`, so their own stored apps do not conflict). One
 * error line per conflict, empty when none; for the loader to refuse the file whole.
 */
export function appConflicts(stored: readonly Agreement[], incoming: readonly Agreement[]): string[] {
  const replaced = new Set(incoming.map((a) => a.licensee));
  const owner = new Map<string, string>();
  for (const a of stored)
    if (!replaced.has(a.licensee)) for (const app of a.apps) owner.set(app.id, a.licensee);
  const errors: string[] = [];
  for (const a of incoming) {
    for (const app of a.apps) {
      const o = owner.get(app.id);
      if (o !== undefined) {
        errors.push(
          `${a.licensee}: app ${JSON.stringify(app.id)} is already covered by stored licensee ${JSON.stringify(o)}`,
        );
      }
    }
  }
  return errors;
}
