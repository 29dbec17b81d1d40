/**
 * The licensee statement (functions/core/statement/): rendered from one report's files, for one
 * licensee only, with the arithmetic of every amount owed, the report's hashes, and the CSV made
 * safe for spreadsheets as findings.csv is.
 */
import { describe, expect, it } from 'vitest';
import { writeMonthStatements } from '../../../functions/audit/statements.ts';
import { byFinding, withLifecycle } from '../../../functions/core/audit/lifecycle.ts';
import { renderReport, summariseDataQuality } from '../../../functions/core/audit/report.ts';
import { audit } from '../../../functions/core/audit/rules.ts';
import { amountLines, statementCsv, statementHtml } from '../../../functions/core/statement/render.ts';
import { monthEnd, statementDate, statementInput } from '../../../functions/core/statement/source.ts';
import { FakeReports } from '../../support/fakes.ts';
import { agreement, row } from '../audit/helpers.ts';

const D = '2026-11-30';

/** Three licensees; each one's strings are its own, so a leak is easy to see. */
const agreements = [
  agreement({
    licensee: 'acme',
    name: 'Acme <i>Data</i> & Sons',
    apps: [
      { id: 'acme-search', use_case: 'search' },
      { id: '-acme-formula', use_case: null },
    ],
    paid_through: null,
    endpoints: ['GET /acme/allowed'],
    rate: { per_1000_records: 0.75, currency: 'USD' },
    quotas: { monthly_records: 10_000_000 },
  }),
  agreement({
    licensee: 'globex',
    name: 'Globex Corporation',
    apps: [{ id: 'globex-crawler', use_case: 'crawl' }],
    paid_through: '2026-11-10',
    endpoints: ['GET /globex/allowed'],
    rate: { per_1000_records: 2.5, currency: 'EUR' },
  }),
  agreement({
    licensee: 'initech',
    name: 'Initech TPS',
    apps: [{ id: 'initech-tps', use_case: 'reports' }],
    prohibited_recipients: ['government'],
    rate: { per_1000_records: 9, currency: 'JPY' },
  }),
];

const usage = [
  // acme: 22,017,333 records over the month, never paid: SPEC's example amount at 0.75.
  row('acme-search', '2026-11-03', {
    requests: 40,
    records: 22_000_000,
    endpoints: { 'GET /acme/allowed': { requests: 40, records: 22_000_000 } },
  }),
  row('-acme-formula', '2026-11-04', {
    requests: 3,
    records: 17_333,
    endpoints: { '=HYPERLINK("http://evil.example/acme","x")': { requests: 3, records: 17_333 } },
  }),
  row('globex-crawler', '2026-11-12', {
    requests: 9,
    records: 4000,
    endpoints: { 'GET /globex/secret-endpoint': { requests: 9, records: 4000 } },
  }),
  row('initech-tps', '2026-11-13', {
    requests: 5,
    records: 50,
    categories: {
      government: {
        requests: 5,
        records: 50,
        orgs: { 'initech-org-<svg onload=x>': { requests: 5, records: 50 } },
      },
    },
  }),
  row('stray-bot', '2026-11-14', { requests: 2 }),
];

function reportFiles(findingsOf = (fs: ReturnType<typeof audit>) => fs): Map<string, string> {
  const rendered = renderReport({
    reportDate: D,
    agreements,
    usage,
    findings: findingsOf(audit({ reportDate: D, agreements, usage })),
    dataQuality: summariseDataQuality([]),
    run: { generated_at: '2026-12-01T02:00:00Z' },
    previousManifestSha256: null,
  });
  return new Map(rendered.files.map((f) => [f.name, f.body]));
}

const OTHERS: Record<string, string[]> = {
  acme: ['acme', 'Acme', '-acme-formula', 'GET /acme/allowed', 'evil.example', 'USD'],
  globex: ['globex', 'Globex', 'crawler', 'secret-endpoint', 'EUR'],
  initech: ['initech', 'Initech', 'initech-tps', 'initech-org', 'government', 'JPY'],
  stray: ['stray-bot'],
};

describe('statement of one licensee', () => {
  it('holds nothing of any other licensee, in the HTML or the CSV', () => {
    const files = reportFiles();
    for (const licensee of ['acme', 'globex', 'initech']) {
      const input = statementInput(files, licensee, '2026-11');
      if (typeof input === 'string') throw new Error(input);
      const html = statementHtml(input);
      const csv = statementCsv(input);
      for (const [other, strings] of Object.entries(OTHERS)) {
        if (other === licensee) continue;
        for (const s of strings) {
          expect(html, `${licensee}'s statement.html names ${s}`).not.toContain(s);
          expect(csv, `${licensee}'s statement.csv names ${s}`).not.toContain(s);
        }
      }
      expect(html).toContain(`(${licensee})`);
    }
  });

  it('shows usage per app and day, each amount owed with its arithmetic, and the report hashes', () => {
    const files = reportFiles();
    const input = statementInput(files, 'acme', '2026-11');
    if (typeof input === 'string') throw new Error(input);
    expect(input.usage.map((u) => [u.app_id, u.usage_date, u.records])).toEqual([
      ['-acme-formula', '2026-11-04', 17_333],
      ['acme-search', '2026-11-03', 22_000_000],
    ]);
    const [amount] = amountLines(input);
    expect(amount?.arithmetic).toBe('22,017,333 / 1000 × 0.75 = 16,512.99975 → 16,513.00 USD');
    expect(amount?.finding.amount_owed).toBe(16_513);
    const manifest = JSON.parse(files.get('manifest.json') ?? '{}') as {
      content_sha256: string;
      files: Record<string, string>;
    };
    const csv = statementCsv(input);
    expect(csv.startsWith('\uFEFFsection,licensee,')).toBe(true);
    expect(csv).toContain('\r\namount,');
    expect(csv).toContain(
      ',0.75,USD,16512.99975,16513.00,"22,017,333 / 1000 × 0.75 = 16,512.99975 → 16,513.00 USD",open\r\n',
    );
    expect(csv).toContain(`report,${D},content_sha256,${manifest.content_sha256}\r\n`);
    expect(csv).toContain(`report,${D},usage.jsonl,${manifest.files['usage.jsonl']}\r\n`);
    const html = statementHtml(input);
    expect(html).toContain(manifest.content_sha256);
    expect(html).toContain('16,513.00 USD');
    // Statement rows are as findings.csv writes them: a formula-like text cell gets a leading '.
    expect(csv).toContain("\r\nusage,'-acme-formula,2026-11-04,");
    expect(csv).toContain(`'=HYPERLINK(""http://evil.example/acme"",""x"")`);
    expect(csv).not.toMatch(/,=HYPERLINK/);
  });

  it('gives each finding its state (no lifecycle note or identity), and escapes every string from data', () => {
    const files = reportFiles((fs) => {
      const id = fs.find((f) => f.licensee === 'acme' && f.rule === 'unpaid_usage')?.finding_id ?? '';
      const waiver = {
        finding_id: id,
        seq: 1,
        action: 'waive' as const,
        state: 'waived' as const,
        note: 'credit <note>',
        until: '2026-12-31',
        by: 'arn:aws:sts::123456789012:assumed-role/Compliance/alice',
        at: '2026-12-01T09:00:00.000Z',
        report_date: D,
        observed: 22_017_333,
      };
      return withLifecycle(fs, byFinding([waiver]), D);
    });
    const input = statementInput(files, 'acme', '2026-11');
    if (typeof input === 'string') throw new Error(input);
    expect(input.findings.find((f) => f.rule === 'unpaid_usage')).toMatchObject({
      state: 'waived',
      until: '2026-12-31',
    });
    expect(input.findings.filter((f) => f.rule !== 'unpaid_usage').every((f) => f.state === 'open')).toBe(
      true,
    );
    const html = statementHtml(input);
    expect(html).toContain('waived until 2026-12-31');
    // The lifecycle's note and who made it are internal: the licensee sees the state only.
    for (const text of [html, statementCsv(input)]) {
      expect(text).not.toContain('credit');
      expect(text).not.toContain('arn:aws');
      expect(text).not.toContain('Compliance');
    }
    expect(html).toContain('Acme &lt;i&gt;Data&lt;/i&gt; &amp; Sons');
    expect(html).not.toMatch(/<i>|<note>|<svg/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(/i);
  });

  it('reads the month’s last report, else its newest one, and refuses a licensee it does not have', () => {
    expect(monthEnd('2028-02')).toBe('2028-02-29');
    expect(statementDate('2026-11', ['2026-10-31', '2026-11-27', '2026-11-28', '2026-12-01'])).toBe(
      '2026-11-28',
    );
    expect(statementDate('2026-09', ['2026-10-31'])).toBeUndefined();
    expect(statementInput(reportFiles(), 'umbrella', '2026-11')).toBe(
      `licensee "umbrella" is not in the report of ${D}`,
    );
    const input = statementInput(reportFiles(), 'globex', '2026-11');
    expect(typeof input !== 'string' && input.complete).toBe(true);
  });

  it('the nightly hook writes every licensee’s statement once the month’s last day is reported', async () => {
    const reports = new FakeReports();
    await reports.write(
      D,
      [...reportFiles()].map(([name, body]) => ({ name, body, contentType: '' })),
    );
    const stored = new Map<string, string>();
    const statements = {
      async readStatement(l: string, m: string, n: string) {
        return stored.get(`${l}/${m}/${n}`);
      },
      async writeStatement(l: string, m: string, files: readonly { name: string; body: string }[]) {
        for (const f of files) stored.set(`${l}/${m}/${f.name}`, f.body);
      },
    };
    // Not a month's last day: nothing.
    expect(
      await writeMonthStatements({ reports, statements }, [
        { date: '2026-11-29', findings: 0, written: true },
      ]),
    ).toEqual([]);
    expect(
      await writeMonthStatements({ reports, statements }, [{ date: D, findings: 3, written: true }]),
    ).toEqual(['acme/2026-11', 'globex/2026-11', 'initech/2026-11']);
    expect([...stored.keys()]).toContain('globex/2026-11/statement.html');
    // An unchanged report whose statements exist is not written again.
    expect(
      await writeMonthStatements({ reports, statements }, [{ date: D, findings: 3, written: false }]),
    ).toEqual([]);
  });
});

/** A statement input by hand: one unpaid_usage finding valued at two rates (versioned terms). */
function twoRates(extra: Record<string, unknown> = {}) {
  const f = {
    finding_id: 'a'.repeat(20),
    rule: 'unpaid_usage',
    severity: 'high',
    metric: 'records',
    subject: null,
    period_start: '2026-11-01',
    period_end: '2026-11-30',
    observed: 1000,
    limit: null,
    excess: null,
    amount_owed: 15,
    currency: 'USD',
    detail:
      'paid through 2026-10-31: usage on 2 unpaid day(s) (2026-11-01, 2026-11-30), 1,000 records; 500 records / 1000 × USD 10 + 500 records / 1000 × USD 20 = USD 15.00',
    state: 'open',
    until: null,
    ...extra,
  };
  return {
    licensee: 'acme',
    name: 'Acme',
    month: '2026-11',
    through: '2026-11-30',
    complete: true,
    term: { start: '2026-01-01', end: '2026-12-31' },
    paid_through: '2026-10-31',
    rate: { per_1000_records: 20, currency: 'USD' },
    totals: { requests: 1, records: 1000, bytes: 1, errors: 0 },
    apps: [],
    usage: [],
    findings: [f],
    report: { report_date: '2026-11-30', manifest_sha256: 'x', content_sha256: 'y', files: [] },
  } as unknown as Parameters<typeof amountLines>[0];
}

describe('statement amounts under versioned rates', () => {
  it('shows one line per rate, adding up to the finding’s amount_owed', () => {
    const input = twoRates();
    expect(amountLines(input).map((a) => [a.arithmetic, a.cents])).toEqual([
      ['500 / 1000 × 10 = 5.00 → 5.00 USD', 500n],
      ['500 / 1000 × 20 = 10.00 → 10.00 USD', 1000n],
    ]);
    const csv = statementCsv(input);
    expect(csv).toContain('15.00');
    expect(csv).not.toContain('20.00');
    expect(statementHtml(input)).toContain('15.00 USD');
  });
});

describe('statement totals', () => {
  it('splits what is claimed from what is waived or disputed', () => {
    const waived = twoRates({ state: 'waived', until: null });
    const csv = statementCsv(waived);
    expect(csv).toContain(',amount_claimed,amount_waived_or_disputed\r\n');
    expect(csv).toMatch(/\r\nstatement,acme,.*,0\.00,15\.00\r\n/);
    const html = statementHtml(waived);
    expect(html).toContain('id="total-owed">0.00 USD<');
    expect(html).toContain('id="total-held">15.00 USD<');
    expect(html).toContain('0.00 USD claimed (15.00 USD more waived or disputed)');
    // Open: all of it is claimed.
    expect(statementCsv(twoRates())).toMatch(/\r\nstatement,acme,.*,15\.00,0\.00\r\n/);
  });
});
