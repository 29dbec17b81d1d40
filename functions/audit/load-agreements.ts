/**
 * Use cases: storing agreements and the recipients registry from a file's text. Validation is
 * whole-file: nothing is stored unless every entry is valid and no app would belong to two
 * licensees (with the agreements already stored, SPEC §2). The CLI (`auditor agreements load`,
 * `auditor recipients load`, `auditor demo`) calls these with whichever stores it runs against.
 *
 * Strict loads (issue 11): a prohibited category must name a category of the registry, in either
 * order of loading. Agreements naming a category the stored registry lacks are refused; when no
 * registry was ever loaded they are accepted, and the registry load that follows must then cover
 * them. A registry that lacks a category a stored agreement prohibits is refused unless forced,
 * and a forced load is recorded.
 */
import {
  type Agreement,
  appConflicts,
  parseAgreementsFile,
  parseRecipientsFile,
} from '../core/audit/agreements.ts';
import { compileRegistry } from '../core/recipients.ts';
import { compareStrings } from '../core/support.ts';
import type { RecipientsRegistry } from '../core/types.ts';
import type {
  AgreementReader,
  AgreementStore,
  CategoryGap,
  ForcedRegistryLoad,
  RegistryStore,
  TermsWriter,
} from './ports.ts';
import { appendAgreementVersions, appendRegistryVersion, type TermsChange } from './terms-store.ts';

export type Loaded<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Who loads when, if the caller does not say (tests and old callers): unknown, now. */
function defaultChange(): TermsChange {
  return { by: 'unknown', at: new Date().toISOString() };
}

/**
 * Validates the agreements in `text` (named `source` in errors) and stores them, or nothing: one
 * new version per agreement (terms-store.ts), with `change` saying who, when, why and from when.
 */
export async function storeAgreements(
  control: AgreementStore & Pick<RegistryStore, 'storedRegistry'> & TermsWriter,
  text: string,
  source: string,
  change: TermsChange = defaultChange(),
): Promise<Loaded<Agreement[]>> {
  const registry = await control.storedRegistry();
  const parsed = parseAgreementsFile(text, source, registry && Object.keys(registry));
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const conflicts = appConflicts(await control.listAgreements(), parsed.agreements);
  if (conflicts.length > 0) return { ok: false, errors: conflicts };
  const { newest } = await appendAgreementVersions(control, parsed.agreements, change);
  if (newest.length > 0) await control.putAgreements(newest);
  return { ok: true, value: parsed.agreements };
}

/** Prohibited categories of `agreements` that `registry` lacks, per licensee (sorted). */
export function categoryGaps(agreements: readonly Agreement[], registry: RecipientsRegistry): CategoryGap[] {
  return agreements
    .map((a) => ({
      licensee: a.licensee,
      categories: a.prohibited_recipients.filter((c) => !Object.hasOwn(registry, c)).sort(compareStrings),
    }))
    .filter((g) => g.categories.length > 0)
    .sort((a, b) => compareStrings(a.licensee, b.licensee));
}

/** `fabrikam (data-broker, x), northwind (government)`. */
export function describeGaps(gaps: readonly CategoryGap[]): string {
  return gaps.map((g) => `${g.licensee} (${g.categories.join(', ')})`).join(', ');
}

export type RecipientsLoaded =
  | {
      ok: true;
      value: RecipientsRegistry;
      /** Present when `force` stored a registry that drops prohibited categories: what was recorded. */
      forced?: Omit<ForcedRegistryLoad, 'registry'> & { hash: string };
    }
  | { ok: false; errors: string[]; needsForce?: true };

/**
 * Validates the recipients registry in `text` and stores it in place of the current one, or
 * nothing. A registry lacking a category that a stored agreement prohibits is refused (one error,
 * `needsForce`) unless `force` says who forces it and when; a forced load is recorded.
 */
export async function storeRecipients(
  control: RegistryStore & AgreementReader & TermsWriter,
  text: string,
  source: string,
  force?: Pick<ForcedRegistryLoad, 'by' | 'at'>,
  change: TermsChange = force ? { ...force } : defaultChange(),
): Promise<RecipientsLoaded> {
  const parsed = parseRecipientsFile(text, source);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  // parseRecipientsFile validates CIDRs with the parser compileRegistry compiles with, so this
  // cannot fail; it stays as the last guard: a registry the ingest function cannot compile would
  // send every log object to the dead-letter queue.
  try {
    compileRegistry(parsed.registry);
  } catch (err) {
    return { ok: false, errors: [`${source}: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const dropped = categoryGaps(await control.listAgreements(), parsed.registry);
  if (dropped.length > 0 && !force) {
    return {
      ok: false,
      needsForce: true,
      errors: [
        `agreements still prohibit recipient categories this registry drops: ${describeGaps(dropped)}; ` +
          'fix those agreements first, or load it with --force',
      ],
    };
  }
  const store = async () => {
    const { newest } = await appendRegistryVersion(control, parsed.registry, change);
    if (newest) await control.putRegistry(parsed.registry);
  };
  if (dropped.length === 0 || !force) {
    await store();
    return { ok: true, value: parsed.registry };
  }
  // Recorded first: a forced load is never stored without its record.
  const hash = await control.recordForcedRegistry({ ...force, dropped, registry: parsed.registry });
  await store();
  return { ok: true, value: parsed.registry, forced: { ...force, dropped, hash } };
}
