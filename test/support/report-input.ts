/**
 * A deterministic report input of any size, for the byte-stability tests of the report files and
 * the rendering measurement (test/bench/render-report.ts): licensees with quota breaches,
 * prohibited categories, apps in no agreement, sources past REPORT_MAX_SOURCES, data quality with
 * every status and reject reasons, an overflowed app-day, duplicate request_ids, terms, registry
 * gaps and evidence files. The same options give the same input.
 */

import type { Agreement } from '../../functions/core/audit/agreements.ts';
import {
  type DataQualityObject,
  type ReportInput,
  summariseDataQuality,
} from '../../functions/core/audit/report.ts';
import { type AuditUsageRow, audit } from '../../functions/core/audit/rules.ts';
import { OTHER_ENDPOINTS } from '../../functions/core/reader/limits.ts';
import { seededRandom } from '../../functions/core/support.ts';
import { agreement, row } from '../unit/audit/helpers.ts';

export interface ReportInputSize {
  licensees: number;
  appsPerLicensee: number;
  /** Log objects behind each app-day (its sources). */
  sourcesPerRow: number;
  seed?: number;
}

export function reportInput(size: ReportInputSize, reportDate = '2026-11-20'): ReportInput {
  const random = seededRandom(size.seed ?? 1);
  const month = reportDate.slice(0, 8);
  const lastDay = Number(reportDate.slice(8));
  const agreements: Agreement[] = [];
  const usage: AuditUsageRow[] = [];
  const objects: DataQualityObject[] = [];
  const statuses = ['ingested', 'ingested', 'empty', 'quarantined'] as const;
  const dayOf = (d: number) => `${month}${String(d).padStart(2, '0')}`;
  const addRow = (app: string, d: number, extra: Parameters<typeof row>[2] = {}) => {
    const sources = Array.from({ length: size.sourcesPerRow }, (_, s) => ({
      key: `logs/${app}/${dayOf(d)}/part-${String(s).padStart(4, '0')}.jsonl.gz`,
      gen: `v${1 + Math.floor(random() * 3)}`,
    }));
    for (const src of sources.slice(0, 2)) {
      const status = statuses[Math.floor(random() * statuses.length)] ?? 'ingested';
      const lines = status === 'ingested' ? 100 + Math.floor(random() * 900) : 0;
      const rejected = status === 'ingested' && random() < 0.3 ? 1 + Math.floor(random() * 5) : 0;
      objects.push({
        key: src.key,
        gen: src.gen,
        status,
        lines,
        counted: lines - rejected,
        rejected,
        ...(status === 'quarantined' ? { reason: `not a log: <binary> "${app}" & more` } : {}),
        ...(rejected > 0
          ? {
              rejects_key: `rejects/${src.key}`,
              reject_reasons: [{ reason: 'bad timestamp', lines: rejected }],
            }
          : {}),
      });
    }
    const records = Math.floor(random() * 40_000) + 1_000;
    usage.push(
      row(app, dayOf(d), {
        requests: 100 + Math.floor(random() * 2_000),
        records,
        bytes: records * 480,
        errors: Math.floor(random() * 5),
        sources,
        ...extra,
      }),
    );
  };
  for (let l = 0; l < size.licensees; l++) {
    const licensee = `lic-${String(l).padStart(3, '0')}`;
    const apps = Array.from({ length: size.appsPerLicensee }, (_, a) => ({
      id: `${licensee}-app-${a}`,
      use_case: a % 4 === 3 ? '' : `use case ${a} <"quoted">`,
    }));
    agreements.push(
      agreement({
        licensee,
        name: `Licensee ${l} & Co, =SUM(A1) "Ltd"`,
        apps,
        quotas: {
          monthly_records: 200_000 * size.appsPerLicensee,
          daily_records: 30_000 * size.appsPerLicensee,
          ...(l % 2 === 0 ? { monthly_requests: 10_000 } : {}),
        },
        prohibited_recipients: l % 3 === 0 ? ['government'] : [],
        ...(l % 5 === 4 ? { paid_through: `${month}10` } : {}),
      }),
    );
    for (const app of apps) {
      for (let d = 1; d <= lastDay; d++) {
        addRow(app.id, d, {
          categories: d % 4 === 0 ? { government: { requests: 3, records: 30 } } : {},
        });
      }
    }
  }
  for (let d = 2; d <= lastDay; d += 3) addRow('unregistered-bot', d);
  // One app-day with an overflow entry (usage_overflow in data quality, a note in report.html).
  const first = agreements[0]?.apps[0]?.id;
  if (first !== undefined)
    usage.push(
      row(first, dayOf(1), {
        requests: 9,
        records: 90,
        endpoints: { [OTHER_ENDPOINTS]: { requests: 9, records: 90 } },
        sources: [],
      }),
    );
  const findings = audit({ reportDate, agreements, usage });
  const dataQuality = {
    ...summariseDataQuality(objects),
    duplicate_request_ids: { within_objects: 3, across_objects_estimate: 12, method: 'hyperloglog' },
  };
  return {
    reportDate,
    agreements,
    usage,
    findings,
    dataQuality,
    run: { generated_at: `${reportDate}T02:00:03.123Z`, trigger: 'schedule', nested: { b: 1, a: [2, 'x'] } },
    previousManifestSha256: 'ab'.repeat(32),
    terms: {
      agreements: agreements.slice(0, 3).map((a, i) => ({
        licensee: a.licensee,
        seq: i + 1,
        hash: 'cd'.repeat(32),
        effective_from: null,
        first_day: `${month}01`,
        last_day: reportDate,
      })),
      registry: [
        {
          seq: 2,
          hash: 'ef'.repeat(32),
          effective_from: `${month}01`,
          first_day: `${month}01`,
          last_day: reportDate,
        },
      ],
    },
    registryGaps: [
      {
        licensee: 'lic-000',
        category: 'government',
        first_day: `${month}01`,
        last_day: `${month}03`,
        days: 3,
      },
    ],
    extraFiles: Object.fromEntries(
      findings.slice(0, 5).map((f) => [`evidence/${f.finding_id}.jsonl`, '01'.repeat(32)]),
    ),
  };
}
