/** Evidence names the log objects behind the number, not every object of the same app and day. */
import { describe, expect, it } from 'vitest';
import { audit } from '../../../functions/core/audit/rules.ts';
import { agreement, row } from './helpers.ts';

describe('evidence per log object', () => {
  const clean = { key: 'logs/clean.jsonl', gen: 'c1' };
  const dirty = { key: 'logs/dirty.jsonl', gen: 'd1' };
  const agreements = [
    agreement({ endpoints: ['GET /ok'], prohibited_recipients: ['government'], paid_through: '2026-11-01' }),
  ];
  const usage = [
    row('a1', '2026-11-02', {
      requests: 5,
      records: 50,
      endpoints: { 'GET /ok': { requests: 5, records: 50 } },
      sources: [clean],
    }),
    row('a1', '2026-11-02', {
      requests: 1,
      records: 0,
      endpoints: { 'GET /bad': { requests: 1 } },
      categories: { government: { requests: 1, records: 0 } },
      sources: [dirty],
    }),
  ];
  const findings = audit({ reportDate: '2026-11-03', agreements, usage });
  const byRule = (rule: string) => findings.find((f) => f.rule === rule);

  it('an endpoint or recipient finding names only the object with those requests', () => {
    expect(byRule('unauthorized_endpoint')?.evidence.sources).toEqual([dirty]);
    expect(byRule('prohibited_recipient')?.evidence.sources).toEqual([dirty]);
  });

  it('a records finding names only objects that delivered records, and numbers still sum per app-day', () => {
    expect(byRule('unpaid_usage')).toMatchObject({ observed: 50, evidence: { sources: [clean] } });
  });
});
