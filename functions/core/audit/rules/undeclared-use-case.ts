/**
 * undeclared_use_case (SPEC §4): each covered app used in W without a declared use case (one
 * finding per app).
 *
 * metric requests, subject the app id, period W, observed the app's requests.
 */
import { compareStrings } from '../../support.ts';
import type { AuditRule, FindingDraft, WindowRow } from '../types.ts';
import { monthToDate, perAgreement, requestsOf } from './support.ts';

const SEVERITY = 'medium';

export const undeclaredUseCase = {
  name: 'undeclared_use_case',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, ctx, on) => {
    const drafts: FindingDraft[] = [];
    // Versioned terms: a day's usage is undeclared when the terms of that day declare no use case.
    const undeclared = (r: WindowRow) =>
      on(r.day)?.apps.some((x) => x.id === r.app && x.use_case === null) === true;
    for (const appId of [...new Set(rows.map((r) => r.app))].sort(compareStrings)) {
      const used = requestsOf(rows.filter((r) => r.app === appId && undeclared(r)));
      if (used === null) continue;
      drafts.push(
        monthToDate(ctx, {
          licensee: a.licensee,
          severity: SEVERITY,
          metric: 'requests',
          subject: appId,
          ...used.numbers,
          detail: `app ${JSON.stringify(appId)} used without a declared use case: ${used.text}`,
        }),
      );
    }
    return drafts;
  }),
} as const satisfies AuditRule;
