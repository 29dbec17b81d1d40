/**
 * The audit's side of versioned terms (issue 11), for run-audit.ts: the terms of a report date from
 * the stored versions, the restatement written when a report is rewritten with new content, and the
 * report dates whose terms changed after they were written (the nightly run re-audits them).
 */
import type { Finding } from '../core/audit/findings.ts';
import { windowOf } from '../core/audit/format.ts';
import type { Manifest, StreamedReportFile } from '../core/audit/report.ts';
import { changedFindings, termsReasons, withStreamedRestatement } from '../core/audit/restatement.ts';
import {
  type AgreementVersion,
  type AuditTerms,
  type RegistryVersion,
  termsFor,
  termsStaleDates,
} from '../core/audit/terms.ts';
import type { ReportLog, TermsReader, UsageReader } from './ports.ts';

export interface DateTerms extends AuditTerms {
  agreementVersions: AgreementVersion[];
  registryVersions: RegistryVersion[];
}

/** The terms of report date `date` (every version is read: a handful of items). */
export async function readTerms(control: TermsReader, date: string): Promise<DateTerms> {
  const [agreementVersions, registryVersions] = await Promise.all([
    control.agreementVersions(),
    control.registryVersions(),
  ]);
  return { ...termsFor(date, agreementVersions, registryVersions), agreementVersions, registryVersions };
}

/**
 * The files to write for a report that replaces one with other content: the rendered files with
 * restatement.json (restatement.ts) naming the previous manifest, the findings old → new, and why.
 * The rendered files pass through as the streams they are; restatement.json is streamed too.
 */
export async function restatedFiles(
  deps: { usage: UsageReader; control: ReportLog },
  input: {
    date: string;
    stored: ReadonlyMap<string, string>;
    storedManifest: { sha256: string; content_sha256: string };
    rendered: { files: StreamedReportFile[]; manifest: Manifest };
    findings: readonly Finding[];
    terms: DateTerms;
    at: string;
  },
): Promise<{ files: StreamedReportFile[]; manifest: Manifest }> {
  const { date, stored, rendered, terms } = input;
  const { start } = windowOf(date);
  const [written, changed] = await Promise.all([
    deps.control.reportTimes(date, date),
    deps.usage.changedDays(start, date),
  ]);
  const since = written.get(date);
  const usageDays = [...changed]
    .filter(([, at]) => since === undefined || at > since)
    .map(([day]) => day)
    .sort();
  const termsChanged = termsReasons(terms.used, terms.agreementVersions, terms.registryVersions, since);
  return withStreamedRestatement(rendered, stored.get('restatement.json'), {
    restated_at: input.at,
    previous_manifest_sha256: input.storedManifest.sha256,
    previous_content_sha256: input.storedManifest.content_sha256,
    content_sha256: rendered.manifest.content_sha256,
    reasons: {
      terms: termsChanged,
      usage_days: usageDays,
      ...(termsChanged.length === 0 && usageDays.length === 0
        ? {
            other:
              'neither the terms nor the usage changed: the audit itself did (a new version of usage-auditor)',
          }
        : {}),
    },
    findings: changedFindings(stored.get('findings.jsonl'), input.findings),
  });
}

/** Written report dates (date → when last written) whose terms changed since (terms.ts). */
export async function termsStale(
  control: TermsReader,
  written: ReadonlyMap<string, string>,
): Promise<string[]> {
  const [agreementVersions, registryVersions] = await Promise.all([
    control.agreementVersions(),
    control.registryVersions(),
  ]);
  return termsStaleDates(written, agreementVersions, registryVersions);
}
