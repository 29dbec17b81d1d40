/**
 * Use cases: storing agreements and the recipients registry from a file's text. Validation is
 * whole-file: nothing is stored unless every entry is valid and no app would belong to two
 * licensees (with the agreements already stored, SPEC §2). The CLI (`auditor agreements load`,
 * `auditor recipients load`, `auditor demo`) calls these with whichever stores it runs against.
 */
import {
  type Agreement,
  appConflicts,
  parseAgreementsFile,
  parseRecipientsFile,
} from '../core/audit/agreements.ts';
import { compileRegistry } from '../core/recipients.ts';
import type { RecipientsRegistry } from '../core/types.ts';
import type { AgreementStore, RegistryStore } from './ports.ts';

export type Loaded<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Validates the agreements in `text` (named `source` in errors) and stores them, or nothing. */
export async function storeAgreements(
  control: AgreementStore,
  text: string,
  source: string,
): Promise<Loaded<Agreement[]>> {
  const parsed = parseAgreementsFile(text, source);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const conflicts = appConflicts(await control.listAgreements(), parsed.agreements);
  if (conflicts.length > 0) return { ok: false, errors: conflicts };
  await control.putAgreements(parsed.agreements);
  return { ok: true, value: parsed.agreements };
}

/** Validates the recipients registry in `text` and stores it in place of the current one, or nothing. */
export async function storeRecipients(
  control: RegistryStore,
  text: string,
  source: string,
): Promise<Loaded<RecipientsRegistry>> {
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
  await control.putRegistry(parsed.registry);
  return { ok: true, value: parsed.registry };
}
