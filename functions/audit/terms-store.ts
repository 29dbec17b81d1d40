/**
 * Use case: append versions of the terms (issue 11). Each agreements or registry load appends one
 * version per licensee (or one registry version), never overwriting one (conditional puts; a
 * concurrent append of the same seq makes it read again and retry), and moves the current item
 * (`AGREEMENT`/<licensee>, `REGISTRY`/current: what `agreements list`, the load checks and the
 * ingest function read) only when the new version is the newest by effective date.
 *
 * effective_from: as given, else today (the date of `at`), except for the first version of a
 * licensee (or the first registry), which is in force from the beginning: it replaces nothing, and
 * an agreement's own term dates say when it applies. A legacy item (stored before versioning) is
 * kept as version 1, from the beginning, before the first new version is appended. A load whose
 * content is that of the version already in force on its effective date appends nothing.
 */
import type { Agreement } from '../core/audit/agreements.ts';
import {
  type AgreementVersion,
  agreementHash,
  compareVersions,
  inForce,
  type RegistryVersion,
  registryHash,
  type VersionMeta,
} from '../core/audit/terms.ts';
import type { RecipientsRegistry } from '../core/types.ts';
import type { TermsReader, TermsWriter } from './ports.ts';

/** Who changes the terms, when, why and from when. */
export interface TermsChange {
  /** The OS user running the CLI, or the AWS caller's ARN. */
  by: string;
  /** ISO 8601 UTC. */
  at: string;
  note?: string | null;
  /** YYYY-MM-DD; default: see the module comment. */
  effectiveFrom?: string;
}

const TRIES = 5;
const LEGACY_NOTE = 'stored before versioned terms';

function nextMeta<T extends VersionMeta>(
  series: readonly T[],
  change: TermsChange,
  hash: string,
): VersionMeta {
  return {
    seq: Math.max(0, ...series.map((v) => v.seq)) + 1,
    effective_from: change.effectiveFrom ?? (series.length === 0 ? null : change.at.slice(0, 10)),
    note: change.note ?? null,
    by: change.by,
    at: change.at,
    hash,
  };
}

/**
 * Appends `make(meta)` to a series read by `read`: a legacy seq-0 version is first kept as seq 1.
 * Answers the version appended and whether it is now the newest of its series.
 */
async function appendTo<T extends VersionMeta>(
  read: () => Promise<T[]>,
  append: (v: T) => Promise<boolean>,
  make: (meta: VersionMeta) => T,
  change: TermsChange,
  hash: string,
  what: string,
): Promise<{ version: T; newest: boolean }> {
  for (let attempt = 0; attempt < TRIES; attempt++) {
    let series = await read();
    const from = nextMeta(series, change, hash).effective_from;
    // The same content as the version already in force on that date: nothing would change.
    const current = from === null ? undefined : inForce(series, from);
    if (current?.hash === hash) return { version: current, newest: false };
    const only = series[0];
    if (series.length === 1 && only?.seq === 0) {
      const kept = { ...only, seq: 1, note: LEGACY_NOTE };
      if (!(await append(kept))) continue;
      series = [kept];
    }
    const version = make(nextMeta(series, change, hash));
    if (!(await append(version))) continue;
    return { version, newest: series.every((v) => compareVersions(v, version) < 0) };
  }
  throw new Error(`could not append a version of ${what}: too many concurrent writers`);
}

/** Appends a version per agreement; answers the agreements that are now their licensee's newest terms. */
export async function appendAgreementVersions(
  control: TermsWriter,
  agreements: readonly Agreement[],
  change: TermsChange,
): Promise<{ versions: AgreementVersion[]; newest: Agreement[] }> {
  const versions: AgreementVersion[] = [];
  const newest: Agreement[] = [];
  for (const agreement of agreements) {
    const out = await appendTo(
      async () => (await control.agreementVersions()).filter((v) => v.licensee === agreement.licensee),
      (v) => control.appendAgreementVersion(v),
      (meta) => ({ ...meta, licensee: agreement.licensee, agreement }),
      change,
      agreementHash(agreement),
      `the agreement of ${agreement.licensee}`,
    );
    versions.push(out.version);
    if (out.newest) newest.push(agreement);
  }
  return { versions, newest };
}

/** Appends a registry version; `newest` when it is now the newest registry. */
export async function appendRegistryVersion(
  control: TermsWriter,
  registry: RecipientsRegistry,
  change: TermsChange,
): Promise<{ version: RegistryVersion; newest: boolean }> {
  return appendTo(
    () => control.registryVersions(),
    (v) => control.appendRegistryVersion(v),
    (meta) => ({ ...meta, registry }),
    change,
    registryHash(registry),
    'the recipients registry',
  );
}

/** A licensee's agreement versions in the order they were loaded (seq); [] when unknown. */
export async function agreementHistory(control: TermsReader, licensee: string): Promise<AgreementVersion[]> {
  return (await control.agreementVersions())
    .filter((v) => v.licensee === licensee)
    .sort((a, b) => a.seq - b.seq);
}
