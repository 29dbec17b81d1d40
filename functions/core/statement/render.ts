/**
 * A licensee statement for finance: statement.html (self-contained, like report.html: inline CSS,
 * no scripts, fonts, images or URLs, the same Content-Security-Policy, every data string escaped)
 * and statement.csv (UTF-8 with BOM, CRLF, RFC 4180 quoting and findings.csv's formula-injection
 * neutralising, csvCell). Both hold: the licensee and month; usage per app and day; the licensee's
 * findings with their state; each amount owed with its arithmetic (records / 1000 × rate = amount,
 * rounded half away from zero to 0.01, SPEC §4); and the hashes of the report they draw on.
 * Deterministic: the same input gives the same bytes.
 *
 * statement.csv is one table whose first column names the section of each row; each section
 * starts with its own header row (first cell `section`):
 *   statement  licensee, name, month, through, complete, currency, per_1000_records, requests, records, bytes, errors, amount_claimed, amount_waived_or_disputed
 *              (claimed: the amounts of findings in any state but waived or disputed)
 *   usage      app_id, usage_date, requests, records, bytes, errors
 *   finding    finding_id, rule, severity, metric, subject, period_start, period_end, observed, limit, excess, amount_owed, currency, state, until, detail
 *              (the state only: a lifecycle change's note and who made it are internal, not shown)
 *   amount     finding_id, period_start, period_end, records, per_1000_records, currency, exact, amount_owed, arithmetic, state
 *   report     report_date, file, sha256   (manifest.json, content_sha256, then each file read)
 */

import { csvCell } from '../audit/findings-csv.ts';
import { amountCents, exactDecimal, fmtCents, fmtInt, toCents } from '../audit/format.ts';
import { esc } from '../audit/html-escape.ts';
import type { StatementFinding, StatementInput } from './source.ts';

/** One unpaid amount and how it is computed. */
export interface AmountLine {
  finding: StatementFinding;
  records: number;
  /** null when the finding's detail does not give its rates (the amount is the finding's). */
  rate: number | null;
  currency: string;
  /** records / 1000 × rate, exactly (a finite decimal). */
  exact: string;
  cents: bigint;
  /** `841,834 / 1000 × 1.2 = 1,010.2008 → 1,010.20 USD`. */
  arithmetic: string;
}

/** `value / 10^scale` as a decimal with separators, trailing zeros trimmed to at least 2 decimals. */
function decimal(value: bigint, scale: number): string {
  const s = value.toString().padStart(scale + 1, '0');
  const whole = s.slice(0, s.length - scale);
  const frac = s
    .slice(s.length - scale)
    .replace(/0+$/, '')
    .padEnd(2, '0');
  return `${fmtInt(BigInt(whole))}.${frac}`;
}

/** The rate groups an unpaid_usage finding's detail lists (`N records / 1000 × CUR rate`), in order. */
export function rateGroups(detail: string): { records: number; currency: string; rate: number }[] {
  return [...detail.matchAll(/([\d,]+) records \/ 1000 × ([A-Z]{3}) (\d+(?:\.\d+)?(?:e[+-]\d+)?)/g)].map(
    (m) => ({
      records: Number((m[1] ?? '').replace(/,/g, '')),
      currency: m[2] ?? '',
      rate: Number(m[3]),
    }),
  );
}

/**
 * The amounts owed: every unpaid_usage finding with an amount, one line per rate it was valued at
 * (under versioned terms the unpaid days may have had different rates; the finding's detail lists
 * each), with its arithmetic. The lines of a finding always add up to its amount_owed: if its
 * detail cannot be read back to that amount, one line shows the amount as the finding states it.
 */
export function amountLines(input: StatementInput): AmountLine[] {
  const rate = input.rate;
  if (rate === null) return [];
  return input.findings
    .filter((f) => f.rule === 'unpaid_usage' && f.amount_owed !== null)
    .flatMap((f): AmountLine[] => {
      const currency = f.currency ?? rate.currency;
      const owed = toCents(f.amount_owed ?? 0);
      const groups = rateGroups(f.detail).filter((g) => g.currency === currency);
      const lines = groups.map((g): AmountLine => {
        const { num, den } = exactDecimal(g.rate);
        const scale = 3 + den.toString().length - 1;
        const exact = decimal(BigInt(g.records) * num, scale);
        const cents = amountCents(g.records, g.rate);
        return {
          finding: f,
          records: g.records,
          rate: g.rate,
          currency,
          exact,
          cents,
          arithmetic: `${fmtInt(g.records)} / 1000 × ${g.rate} = ${exact} → ${fmtCents(cents)} ${currency}`,
        };
      });
      if (lines.length > 0 && totalCents(lines) === owed) return lines;
      return [
        {
          finding: f,
          records: f.observed,
          rate: null,
          currency,
          exact: fmtCents(owed),
          cents: owed,
          arithmetic: `as the finding states: ${fmtCents(owed)} ${currency}`,
        },
      ];
    });
}

const totalCents = (amounts: readonly AmountLine[]): bigint => amounts.reduce((s, a) => s + a.cents, 0n);

/** Amounts of findings waived or disputed: not claimed, so totalled apart. */
const isHeld = (a: AmountLine): boolean => a.finding.state === 'waived' || a.finding.state === 'disputed';
const claimedCents = (amounts: readonly AmountLine[]): bigint =>
  totalCents(amounts.filter((a) => !isHeld(a)));
const heldCents = (amounts: readonly AmountLine[]): bigint => totalCents(amounts.filter(isHeld));
const plain = (cents: bigint): string => fmtCents(cents).replace(/,/g, '');

function stateLabel(f: StatementFinding): string {
  if (f.state === 'waived') return f.until === null ? 'waived (no end)' : `waived until ${f.until}`;
  if (f.state === 'waiver_expired') return `waiver expired (until ${f.until ?? ''})`;
  return f.state;
}

// ---------------------------------------------------------------------------------------------
// statement.csv

function csvRows(rows: readonly (readonly (string | number | null)[])[]): string {
  return rows.map((r) => `${r.map(csvCell).join(',')}\r\n`).join('');
}

export function statementCsv(input: StatementInput): string {
  const amounts = amountLines(input);
  const rows: (string | number | null)[][] = [
    [
      'section',
      'licensee',
      'name',
      'month',
      'through',
      'complete',
      'currency',
      'per_1000_records',
      'requests',
      'records',
      'bytes',
      'errors',
      'amount_claimed',
      'amount_waived_or_disputed',
    ],
    [
      'statement',
      input.licensee,
      input.name,
      input.month,
      input.through,
      input.complete ? 'yes' : 'no (month to date)',
      input.rate?.currency ?? null,
      input.rate?.per_1000_records ?? null,
      input.totals.requests,
      input.totals.records,
      input.totals.bytes,
      input.totals.errors,
      input.rate === null ? null : plain(claimedCents(amounts)),
      input.rate === null ? null : plain(heldCents(amounts)),
    ],
    ['section', 'app_id', 'usage_date', 'requests', 'records', 'bytes', 'errors'],
    ...input.usage.map((u) => ['usage', u.app_id, u.usage_date, u.requests, u.records, u.bytes, u.errors]),
    [
      'section',
      'finding_id',
      'rule',
      'severity',
      'metric',
      'subject',
      'period_start',
      'period_end',
      'observed',
      'limit',
      'excess',
      'amount_owed',
      'currency',
      'state',
      'until',
      'detail',
    ],
    ...input.findings.map((f) => [
      'finding',
      f.finding_id,
      f.rule,
      f.severity,
      f.metric,
      f.subject,
      f.period_start,
      f.period_end,
      f.observed,
      f.limit,
      f.excess,
      f.amount_owed === null ? null : f.amount_owed.toFixed(2),
      f.currency,
      f.state,
      f.until,
      f.detail,
    ]),
    [
      'section',
      'finding_id',
      'period_start',
      'period_end',
      'records',
      'per_1000_records',
      'currency',
      'exact',
      'amount_owed',
      'arithmetic',
      'state',
    ],
    ...amounts.map((a) => [
      'amount',
      a.finding.finding_id,
      a.finding.period_start,
      a.finding.period_end,
      a.records,
      a.rate,
      a.currency,
      a.exact.replace(/,/g, ''),
      fmtCents(a.cents).replace(/,/g, ''),
      a.arithmetic,
      a.finding.state,
    ]),
    ['section', 'report_date', 'file', 'sha256'],
    ['report', input.report.report_date, 'manifest.json', input.report.manifest_sha256],
    ['report', input.report.report_date, 'content_sha256', input.report.content_sha256],
    ...input.report.files.map((f) => ['report', input.report.report_date, f.name, f.sha256]),
  ];
  return `\uFEFF${csvRows(rows)}`;
}

// ---------------------------------------------------------------------------------------------
// statement.html

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2330;background:#f5f6f8}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
.muted,.note{color:#5c6475;font-weight:normal}
.note{font-size:13px}
table{border-collapse:collapse;background:#fff;width:100%;table-layout:fixed;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eceff3;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafbfc}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere;word-break:break-all}
.total td{font-weight:600}
#findings th:nth-child(1){width:84px}#findings th:nth-child(2){width:15%}#findings th:nth-child(3){width:14%}
#findings th:nth-child(4){width:112px}#findings th:nth-child(5){width:8%}#findings th:nth-child(6){width:8%}
#findings th:nth-child(7){width:12%}
.nw{white-space:nowrap}
#amounts th:nth-child(1){width:15%}#amounts th:nth-child(2){width:200px}#amounts th:nth-child(3){width:9%}
#amounts th:nth-child(4){width:9%}#amounts th:nth-child(6){width:11%}#amounts th:nth-child(7){width:12%}
#reports th:nth-child(1){width:240px}
footer{margin:32px 0 8px;color:#5c6475;font-size:12px}
`;

const num = (n: number | null): string => (n === null ? '' : fmtInt(n));
/** A rule or metric name that may break after its underscores only. */
const wbr = (name: string): string => esc(name).replace(/_/g, '_<wbr>');

function table(id: string, head: readonly [string, boolean][], rows: readonly string[], extra = ''): string {
  const th = head.map(([h, numeric]) => `<th${numeric ? ' class="num"' : ''}>${h}</th>`).join('');
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>${rows.join('')}${extra}</tbody></table>`;
}

function usageSection(input: StatementInput): string {
  const rows = input.usage.map(
    (u) =>
      `<tr><td><code>${esc(u.app_id)}</code></td><td>${esc(u.usage_date)}</td><td class="num">${num(u.requests)}</td>` +
      `<td class="num">${num(u.records)}</td><td class="num">${num(u.bytes)}</td><td class="num">${num(u.errors)}</td></tr>`,
  );
  const apps = input.apps.map(
    (a) =>
      `<tr><td><code>${esc(a.app_id)}</code></td><td>${esc(a.use_case ?? 'none declared')}</td><td class="num">${num(a.requests)}</td>` +
      `<td class="num">${num(a.records)}</td><td class="num">${num(a.bytes)}</td><td class="num">${num(a.errors)}</td></tr>`,
  );
  const t = input.totals;
  const total = `<tr class="total"><td>all apps</td><td></td><td class="num">${num(t.requests)}</td><td class="num">${num(t.records)}</td><td class="num">${num(t.bytes)}</td><td class="num">${num(t.errors)}</td></tr>`;
  const cols = (first: string, second: string): [string, boolean][] => [
    [first, false],
    [second, false],
    ['Requests', true],
    ['Records', true],
    ['Bytes', true],
    ['Errors', true],
  ];
  return (
    '<section id="usage-section"><h2>Usage</h2>' +
    table('apps', cols('App', 'Use case'), apps, total) +
    '<h3>Per app and day</h3>' +
    (input.usage.length === 0 ? '<p>No usage in the month.</p>' : '') +
    table('usage', cols('App', 'Day'), rows) +
    '</section>'
  );
}

function findingsSection(input: StatementInput): string {
  const rows = input.findings.map((f) => {
    const numbers = [
      `<div>${num(f.observed)}</div>`,
      f.limit === null ? '' : `<div class="note">limit ${num(f.limit)}</div>`,
      f.excess === null ? '' : `<div class="note">excess ${num(f.excess)}</div>`,
    ].join('');
    return (
      `<tr data-finding="${esc(f.finding_id)}" data-state="${esc(f.state)}"><td>${esc(f.severity)}</td>` +
      `<td>${wbr(f.rule)}<div class="note">${wbr(f.metric)}</div></td><td><code>${esc(f.subject ?? '')}</code></td>` +
      `<td><span class="nw">${esc(f.period_start)}</span> <span class="nw">to ${esc(f.period_end)}</span></td><td class="num">${numbers}</td>` +
      `<td class="num">${f.amount_owed === null ? '' : esc(`${fmtCents(toCents(f.amount_owed))} ${f.currency ?? ''}`)}</td>` +
      `<td><strong>${esc(stateLabel(f))}</strong></td>` +
      `<td>${esc(f.detail)}<div class="note"><code>${esc(f.finding_id)}</code></div></td></tr>`
    );
  });
  const head: [string, boolean][] = [
    ['Severity', false],
    ['Rule', false],
    ['Subject', false],
    ['Period', false],
    ['Observed', true],
    ['Owed', true],
    ['State', false],
    ['Detail / finding id', false],
  ];
  return (
    '<section id="findings-section"><h2>Findings</h2>' +
    (input.findings.length === 0 ? '<p>No findings: the agreement was kept in this period.</p>' : '') +
    table('findings', head, rows) +
    '</section>'
  );
}

function amountsSection(input: StatementInput, amounts: readonly AmountLine[]): string {
  const rows = amounts.map(
    (a) =>
      `<tr><td><code>${esc(a.finding.finding_id)}</code></td><td>${esc(a.finding.period_start)} to ${esc(a.finding.period_end)}</td>` +
      `<td class="num">${num(a.records)}</td><td class="num">${esc(String(a.rate ?? ''))}</td><td>${esc(a.arithmetic)}</td>` +
      `<td class="num">${esc(`${fmtCents(a.cents)} ${a.currency}`)}</td><td>${esc(stateLabel(a.finding))}</td></tr>`,
  );
  const currency = input.rate?.currency ?? '';
  const total =
    amounts.length === 0
      ? ''
      : `<tr class="total"><td colspan="5">claimed: the amounts above not waived or disputed</td><td class="num" id="total-owed">${esc(`${fmtCents(claimedCents(amounts))} ${currency}`)}</td><td></td></tr>` +
        `<tr class="total"><td colspan="5">waived or disputed (not claimed)</td><td class="num" id="total-held">${esc(`${fmtCents(heldCents(amounts))} ${currency}`)}</td><td></td></tr>`;
  const head: [string, boolean][] = [
    ['Finding', false],
    ['Period', false],
    ['Records', true],
    ['Rate per 1,000', true],
    ['Arithmetic', false],
    ['Amount', true],
    ['State', false],
  ];
  return (
    '<section id="amounts-section"><h2>Amounts owed</h2>' +
    '<p class="note">Unpaid usage: records / 1000 × rate, rounded half away from zero to 0.01, computed exactly.</p>' +
    (input.rate === null ? '<p>The agreement has no rate: unpaid usage carries no amount.</p>' : '') +
    (amounts.length === 0 && input.rate !== null ? '<p>Nothing is owed.</p>' : '') +
    table('amounts', head, rows, total) +
    '</section>'
  );
}

function reportsSection(input: StatementInput): string {
  const r = input.report;
  const rows = [
    ['manifest.json (sha256)', r.manifest_sha256],
    ['content_sha256', r.content_sha256],
    ...r.files.map((f) => [`${f.name} (sha256)`, f.sha256] as const),
  ].map(([k, v]) => `<tr><td>${esc(k)}</td><td><code>${esc(v)}</code></td></tr>`);
  return (
    '<section id="reports-section"><h2>Reports drawn on</h2>' +
    `<p class="note">Every number here comes from the report of ${esc(r.report_date)} (reports/date=${esc(r.report_date)}/ in the reports bucket); check it with <code>auditor reports verify</code>.</p>` +
    table(
      'reports',
      [
        [`Report ${esc(r.report_date)}`, false],
        ['Hash', false],
      ],
      rows,
    ) +
    '</section>'
  );
}

export function statementHtml(input: StatementInput): string {
  const amounts = amountLines(input);
  const title = `Usage statement ${input.month}: ${input.name} (${input.licensee})`;
  const paid =
    input.paid_through === undefined
      ? 'fully paid'
      : input.paid_through === null
        ? 'never paid'
        : `paid through ${input.paid_through}`;
  const rate = input.rate
    ? `${input.rate.currency} ${input.rate.per_1000_records} per 1,000 records`
    : 'no rate';
  const held = heldCents(amounts);
  const owed =
    input.rate === null
      ? 'no rate'
      : `${fmtCents(claimedCents(amounts))} ${input.rate.currency}${held > 0n ? ` claimed (${fmtCents(held)} ${input.rate.currency} more waived or disputed)` : ''}`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body><main>` +
    `<h1>${esc(title)}</h1>` +
    '<section id="summary">' +
    `<p>${input.complete ? 'Month' : 'Month to date'} ${esc(`${input.month}-01`)} to <strong>${esc(input.through)}</strong> (UTC) · term ${esc(input.term.start)} to ${esc(input.term.end)} · ${esc(paid)} · ${esc(rate)}</p>` +
    `<p>${num(input.totals.requests)} requests, ${num(input.totals.records)} records, ${num(input.totals.bytes)} bytes, ${num(input.totals.errors)} errors · ${num(input.findings.length)} finding(s) · owed: <strong id="owed">${esc(owed)}</strong></p>` +
    '</section>' +
    usageSection(input) +
    findingsSection(input) +
    amountsSection(input, amounts) +
    reportsSection(input) +
    `<footer>usage-auditor · statement for ${esc(input.licensee)}, ${esc(input.month)} · from the report of ${esc(input.through)}.</footer>` +
    '</main></body></html>\n'
  );
}
