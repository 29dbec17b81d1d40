/**
 * undeclared_use_case (SPEC §4): each covered app used in W without a declared use case (one
 * finding per app).
 *
 * metric requests, subject the app id, period W, observed the app's requests.
 */
import { compareStrings } from '../../support.ts';
import type { AuditRule, FindingDraft } from '../types.ts';
import { monthToDate, perAgreement, requestsOf } from './support.ts';

const SEVERITY = 'medium';

export const undeclaredUseCase = {
  name: 'undeclared_use_case',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, ctx) => {
    const drafts: FindingDraft[] = [];
    for (const app of [...a.apps].sort((x, y) => compareStrings(x.id, y.id))) {
      if (app.use_case !== null) continue;
      const used = requestsOf(rows.filter((r) => r.app === app.id));
      if (used === null) continue;
      drafts.push(
        monthToDate(ctx, {
          licensee: a.licensee,
          severity: SEVERITY,
          metric: 'requests',
          subject: app.id,
          ...used.numbers,
          detail: `app ${JSON.stringify(app.id)} used without a declared use case: ${used.text}`,
        }),
      );
    }
    return drafts;
  }),
} as const satisfies AuditRule;
