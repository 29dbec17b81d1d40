/**
 * unknown_app (SPEC §4): each app used in W that no agreement covers (one finding per app, licensee
 * null). An app covered by an agreement whose term is over is not unknown.
 *
 * metric requests, subject the app id, period W, observed the app's requests.
 */
import { compareStrings } from '../../support.ts';
import type { AuditRule, FindingDraft } from '../types.ts';
import { findingLines } from './evidence-lines.ts';
import { hasUsage, monthToDate, requestsOf } from './support.ts';

const SEVERITY = 'low';

export const unknownApp = {
  name: 'unknown_app',
  severities: [SEVERITY],
  evaluate: (ctx) => {
    const drafts: FindingDraft[] = [];
    for (const app of [...ctx.byApp.keys()].sort(compareStrings)) {
      // Versioned terms: the days on which no agreement in force covered the app.
      const rows = [...(ctx.byApp.get(app)?.values() ?? [])].filter((r) => !ctx.coveredOn(app, r.day));
      const used = requestsOf(rows);
      if (used === null) continue;
      const lines = findingLines(rows.filter(hasUsage), (ev) => ev.lines);
      drafts.push(
        monthToDate(ctx, {
          licensee: null,
          severity: SEVERITY,
          metric: 'requests',
          subject: app,
          ...used.numbers,
          detail: `app ${JSON.stringify(app)} is covered by no agreement: ${used.text}`,
          lines,
        }),
      );
    }
    return drafts;
  },
} as const satisfies AuditRule;
