/**
 * Versioned terms (issue 11): agreements and the recipients registry as append-only versions, each
 * effective from a date, and which version is in force on a usage day. Pure.
 *
 * Versions. Each load appends a version: per licensee for agreements, one series for the registry.
 * `seq` counts the versions of a series from 1 (a legacy item stored before versioning is seq 0 and
 * effective from the beginning); `effective_from` null means from the beginning; `hash` is the
 * sha256 of the content alone (note, author and time left out), so reloading the same terms gives
 * the same hash.
 *
 * In force on day d: among the versions with effective_from ≤ d (null counts as before every date),
 * the one with the latest effective_from, and of those the highest seq (a later correction with the
 * same effective date wins). No version is in force on a day before the first effective_from: on
 * such a day the licensee has no agreement (its apps are unknown apps) or there is no registry.
 *
 * The audit of report date D uses, per licensee, the version in force on D for what is a property
 * of the month (the monthly quotas, the report's licensee summary) and, for everything that is a
 * property of a day (the daily quota, paid_through and rate, prohibited categories and approved
 * organisations, use cases, endpoints, the term, which apps are covered), the version in force on
 * that day (rules.ts `termsOn`).
 */
import { compareStrings } from '../support.ts';
import type { RecipientsRegistry } from '../types.ts';
import type { Agreement } from './agreements.ts';
import { daysFrom, sha256Hex, stableJson, windowOf } from './format.ts';

/** What every version records besides its content. */
export interface VersionMeta {
  /** 1, 2, … within its series; 0 for a legacy item stored before versioning. */
  seq: number;
  /** First day the version is in force (YYYY-MM-DD); null = from the beginning. */
  effective_from: string | null;
  note: string | null;
  /** Who loaded it (the OS user, or the AWS caller's ARN); null for a legacy item. */
  by: string | null;
  /** When it was loaded (ISO 8601 UTC); null for a legacy item. */
  at: string | null;
  /** sha256 (hex) of the content alone. */
  hash: string;
}

export interface AgreementVersion extends VersionMeta {
  licensee: string;
  agreement: Agreement;
}

export interface RegistryVersion extends VersionMeta {
  registry: RecipientsRegistry;
}

/** sha256 of an agreement's canonical JSON (keys sorted). */
export function agreementHash(agreement: Agreement): string {
  return sha256Hex(stableJson(agreement, 0, true));
}

/** sha256 of the canonical JSON of a registry (categories sorted, each list sorted). */
export function registryHash(registry: RecipientsRegistry): string {
  const canonical = Object.keys(registry)
    .sort()
    .map((c) => {
      const e = registry[c] ?? { cidrs: [], organisations: [] };
      return [c, [...e.cidrs].sort(), [...e.organisations].sort()];
    });
  return sha256Hex(JSON.stringify(canonical));
}

/** The order of a series: effective_from (null first), then seq. */
export function compareVersions(a: VersionMeta, b: VersionMeta): number {
  return compareStrings(a.effective_from ?? '', b.effective_from ?? '') || a.seq - b.seq;
}

/** The version of one series in force on `day`; undefined before the first one. */
export function inForce<T extends VersionMeta>(versions: readonly T[], day: string): T | undefined {
  let best: T | undefined;
  for (const v of versions) {
    if ((v.effective_from ?? '') > day) continue;
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  return best;
}

/** Versions grouped by licensee. */
function byLicensee(versions: readonly AgreementVersion[]): Map<string, AgreementVersion[]> {
  const out = new Map<string, AgreementVersion[]>();
  for (const v of versions) {
    const list = out.get(v.licensee) ?? [];
    list.push(v);
    out.set(v.licensee, list);
  }
  return out;
}

/** A version the report used, and the days of W it governed. */
export interface TermsUsed {
  seq: number;
  effective_from: string | null;
  hash: string;
  first_day: string;
  last_day: string;
}

/** report.json `terms`: every agreement and registry version in force on some day of W. */
export interface ReportTerms {
  agreements: (TermsUsed & { licensee: string })[];
  registry: TermsUsed[];
}

/** A prohibited category that the registry in force lacked on some days of W. */
export interface RegistryGap {
  licensee: string;
  category: string;
  first_day: string;
  last_day: string;
  /** How many days of W had the gap. */
  days: number;
}

/** The terms of one report date. */
export interface AuditTerms {
  /** Per licensee, the version in force on D (licensees with none on D left out). */
  agreements: Agreement[];
  /** The agreement of `licensee` in force on `day`. */
  termsOn: (licensee: string, day: string) => Agreement | undefined;
  /** The versions used, for report.json. */
  used: ReportTerms;
  /** Prohibited categories the registry in force lacked, per licensee and category. */
  registryGaps: RegistryGap[];
}

function usedOn<T extends VersionMeta>(
  days: readonly string[],
  pick: (day: string) => T | undefined,
): { version: T; first_day: string; last_day: string }[] {
  const out = new Map<T, { version: T; first_day: string; last_day: string }>();
  for (const day of days) {
    const v = pick(day);
    if (v === undefined) continue;
    const seen = out.get(v);
    if (seen) seen.last_day = day;
    else out.set(v, { version: v, first_day: day, last_day: day });
  }
  return [...out.values()];
}

function termsUsed(u: { version: VersionMeta; first_day: string; last_day: string }): TermsUsed {
  return {
    seq: u.version.seq,
    effective_from: u.version.effective_from,
    hash: u.version.hash,
    first_day: u.first_day,
    last_day: u.last_day,
  };
}

/** The terms of report date D's window from every stored version. */
export function termsFor(
  reportDate: string,
  agreementVersions: readonly AgreementVersion[],
  registryVersions: readonly RegistryVersion[],
): AuditTerms {
  const { start, end } = windowOf(reportDate);
  const days = daysFrom(start, end);
  const series = byLicensee(agreementVersions);
  const licensees = [...series.keys()].sort(compareStrings);
  const pick = (licensee: string, day: string) => inForce(series.get(licensee) ?? [], day);
  const agreements = licensees.flatMap((l) => pick(l, reportDate)?.agreement ?? []);
  const used: ReportTerms = {
    agreements: licensees.flatMap((licensee) =>
      usedOn(days, (d) => pick(licensee, d)).map((u) => ({ licensee, ...termsUsed(u) })),
    ),
    registry: usedOn(days, (d) => inForce(registryVersions, d)).map(termsUsed),
  };
  const gaps = new Map<string, RegistryGap>();
  for (const day of days) {
    const registry = inForce(registryVersions, day)?.registry ?? {};
    for (const licensee of licensees) {
      for (const category of pick(licensee, day)?.agreement.prohibited_recipients ?? []) {
        if (Object.hasOwn(registry, category)) continue;
        const k = `${licensee}\u0000${category}`;
        const g = gaps.get(k);
        if (g) {
          g.last_day = day;
          g.days++;
        } else gaps.set(k, { licensee, category, first_day: day, last_day: day, days: 1 });
      }
    }
  }
  return {
    agreements,
    termsOn: (licensee, day) => pick(licensee, day)?.agreement,
    used,
    registryGaps: [...gaps.values()].sort(
      (a, b) => compareStrings(a.licensee, b.licensee) || compareStrings(a.category, b.category),
    ),
  };
}

/**
 * Report dates whose terms changed after the report was last written: a version in force on some
 * day of the date's window (with every version stored now) was loaded after `writtenAt`. Sorted.
 */
export function termsStaleDates(
  written: ReadonlyMap<string, string>,
  agreementVersions: readonly AgreementVersion[],
  registryVersions: readonly RegistryVersion[],
): string[] {
  const series = [...byLicensee(agreementVersions).values(), registryVersions as readonly VersionMeta[]];
  const stale: string[] = [];
  for (const [date, writtenAt] of written) {
    const { start } = windowOf(date);
    const changed = daysFrom(start, date).some((day) =>
      series.some((s) => {
        const at = inForce(s, day)?.at;
        return at !== undefined && at !== null && at > writtenAt;
      }),
    );
    if (changed) stale.push(date);
  }
  return stale.sort(compareStrings);
}
