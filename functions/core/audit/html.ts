/**
 * report.html: the report for people. Self-contained — inline CSS and inline SVG, no scripts, no
 * fonts, no images, no URL of any kind (a Content-Security-Policy of default-src 'none' says so to
 * the browser too). Deterministic: the same model gives the same bytes (no clock, no locale:
 * numbers are formatted by hand with thousands separators).
 *
 * Layout (about 1240 px wide, readable on a laptop): summary (report date, window, findings by
 * severity, amounts owed per currency, data quality), the findings table, then per licensee its
 * quota table, two charts and its apps, then the apps in no agreement and the data-quality detail.
 * The findings table has a fixed layout (column widths set by a <colgroup>, so no content can make
 * it wider than the page): licensee id over its name, rule over metric, the subject breaking only
 * after a `/` or at a space, the period on one or two unbreakable halves, observed over limit,
 * excess and amount owed, the top apps by share (all of them in a <details>), and the detail over
 * the finding id. A word longer than its column wraps anywhere, as a last resort.
 *
 * Every string that comes from data is HTML-escaped (esc), in text and in attributes alike.
 * Stable hooks for tests: #summary, #findings (table), section.licensee[data-licensee],
 * svg.chart-daily, svg.chart-cumulative, #unknown-apps, #data-quality.
 *
 * The charts are in html-charts.ts, the stylesheet in html-styles.ts, escaping in html-escape.ts.
 */

import { OTHER_ENDPOINTS, OTHER_ORGANISATIONS } from '../reader/limits.ts';
import { compareFindings, type Finding } from './findings.ts';
import { fmtCents, fmtInt, toCents } from './format.ts';
import { cumulativeChart, dailyChart } from './html-charts.ts';
import { esc } from './html-escape.ts';
import { lifecycleAttr, lifecycleCell } from './html-lifecycle.ts';
import { CSS } from './html-styles.ts';
import type { LicenseeSummary, ReportModel, UsageOverflow } from './model.ts';
import { type DataQuality, type FindingApp, SEVERITIES, type Severity } from './types.ts';

/** Severity order for the findings table: the SEVERITIES scale, most severe first. */
const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

function fmtShare(share: number): string {
  const bp = Math.round(share * 10_000);
  return `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')}%`;
}

/** One decimal, for the compact apps cell: `75.5%`. */
function fmtShare1(share: number): string {
  const pm = Math.round(share * 1000);
  return `${Math.floor(pm / 10)}.${pm % 10}%`;
}

function fmtMoney(amount: number, currency: string): string {
  return `${currency} ${fmtCents(toCents(amount))}`;
}

// ---------------------------------------------------------------------------------------------
// Sections

function summarySection(model: ReportModel, dq: DataQuality): string {
  const s = model.summary;
  const cards = SEVERITIES.map(
    (sev) =>
      `<div class="card sev-card-${sev}"><div class="n">${fmtInt(s.by_severity[sev])}</div><div class="l">${sev}</div></div>`,
  );
  const owed = Object.entries(s.amount_owed);
  const owedText = owed.length === 0 ? 'none' : owed.map(([cur, amt]) => fmtMoney(amt, cur)).join(', ');
  return (
    '<section id="summary">' +
    `<p>Window <strong>${esc(model.window.start)}</strong> to <strong>${esc(model.window.end)}</strong> (UTC, month to date) · ${fmtInt(model.licensees.length)} licensee(s) · ${fmtInt(model.unknown_apps.length)} app(s) in no agreement · ${fmtInt(model.sources.length)} log object(s) behind the usage</p>` +
    `<div class="cards"><div class="card"><div class="n">${fmtInt(s.findings)}</div><div class="l">findings</div></div>${cards.join('')}` +
    `<div class="card"><div class="n" id="amount-owed">${esc(owedText)}</div><div class="l">unpaid usage owed</div></div></div>` +
    `<p class="note">Data quality: ${fmtInt(dq.totals.objects)} object(s) (${fmtInt(dq.totals.ingested)} ingested, ${fmtInt(dq.totals.empty)} empty, ${fmtInt(dq.totals.quarantined)} quarantined), ${fmtInt(dq.totals.lines)} line(s), ${fmtInt(dq.totals.counted)} counted, ${fmtInt(dq.totals.rejected)} rejected.</p>` +
    '</section>'
  );
}

/** Apps shown inline in a findings row; the rest are behind a <details>. */
const APPS_SHOWN = 3;

/** `2026-11-01 → 11-27`: the end drops what it shares with the start (the year), each half unbreakable. */
function periodCell(start: string, end: string): string {
  if (start === end) return `<span class="nw">${esc(start)}</span>`;
  const short = start.slice(0, 5) === end.slice(0, 5) ? end.slice(5) : end;
  return `<span class="nw">${esc(start)}</span> <span class="nw">→ ${esc(short)}</span>`;
}

/**
 * A subject (category, app id, endpoint) that may break only after a `/` or at a space: each piece
 * is an inline-block that wraps inside itself (overflow-wrap: anywhere) only when it alone is
 * wider than the column.
 */
function subjectCell(subject: string | null): string {
  if (subject === null) return '';
  const words = subject
    .split(' ')
    .map((w) =>
      (w.match(/[^/]*\/+|[^/]+$/g) ?? [w])
        .map((piece) => `<span class="seg">${esc(piece)}</span>`)
        .join('<wbr>'),
    );
  return `<code class="subject" title="${esc(subject)}">${words.join(' ')}</code>`;
}

function licenseeCell(licensee: string | null, names: ReadonlyMap<string, string>): string {
  if (licensee === null) return '<span class="muted">no agreement</span>';
  const name = names.get(licensee);
  if (name === undefined || name === licensee) return `<span class="seg">${esc(licensee)}</span>`;
  return `<span class="seg" title="${esc(name)}">${esc(licensee)}</span><div class="sub name" title="${esc(name)}">${esc(name)}</div>`;
}

function appsCell(apps: readonly FindingApp[]): string {
  if (apps.length === 0) return '';
  const full = apps.map((a) => `${a.app_id}: ${fmtInt(a.value)} (${fmtShare(a.share)})`).join('\n');
  const top = apps
    .slice(0, APPS_SHOWN)
    .map(
      (a, i) =>
        `<span class="seg">${esc(a.app_id)} ${fmtShare1(a.share)}${i < apps.length - 1 ? ',' : ''}</span>`,
    )
    .join(' ');
  if (apps.length <= APPS_SHOWN) return `<div title="${esc(full)}">${top}</div>`;
  const rest = `<span class="seg">… <span class="more">+${fmtInt(apps.length - APPS_SHOWN)}</span></span>`;
  const list = apps
    .map(
      (a) =>
        `<li title="${esc(a.app_id)}: ${fmtInt(a.value)} (${fmtShare(a.share)})"><span class="seg">${esc(a.app_id)}</span> <span class="v">${fmtShare(a.share)}</span></li>`,
    )
    .join('');
  return `<details title="${esc(full)}"><summary>${top} ${rest}</summary><ul class="apps-all">${list}</ul></details>`;
}

/** Observed on top; the limit, the excess and the amount owed, where there are any, labelled below. */
function numbersCell(f: Finding): string {
  const lines = [`<div class="obs">${fmtInt(f.observed)}</div>`];
  if (f.limit !== null) lines.push(`<div class="sub">limit <span class="nw">${fmtInt(f.limit)}</span></div>`);
  if (f.excess !== null)
    lines.push(`<div class="sub over">excess <span class="nw">${fmtInt(f.excess)}</span></div>`);
  if (f.amount_owed !== null && f.currency !== null)
    lines.push(
      `<div class="owed"><span class="sub">owed</span> <span class="nw">${esc(fmtMoney(f.amount_owed, f.currency))}</span></div>`,
    );
  return lines.join('');
}

const FINDINGS_COLS: readonly [cls: string, head: string][] = [
  ['c-sev', 'Severity'],
  ['c-lic', 'Licensee'],
  ['c-rule', 'Rule<div class="sub">metric</div>'],
  ['c-subj', 'Subject'],
  ['c-period', 'Period'],
  ['c-num', 'Observed<div class="sub">limit · excess · owed</div>'],
  ['c-apps', 'Apps (share)'],
  ['c-detail', 'Detail<div class="sub">finding id</div>'],
];

function* findingsSection(
  findings: readonly Finding[],
  names: ReadonlyMap<string, string>,
): Generator<string> {
  const sorted = [...findings].sort(
    (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || compareFindings(a, b),
  );
  const cols = `<colgroup>${FINDINGS_COLS.map(([c]) => `<col class="${c}">`).join('')}</colgroup>`;
  const head = `<tr>${FINDINGS_COLS.map(([c, h]) => `<th${c === 'c-num' ? ' class="num"' : ''}>${h}</th>`).join('')}</tr>`;
  const row = (f: Finding) =>
    `<tr data-rule="${esc(f.rule)}" data-severity="${esc(f.severity)}"${lifecycleAttr(f.lifecycle)}>` +
    `<td><span class="sev sev-${esc(f.severity)}">${esc(f.severity)}</span></td>` +
    `<td>${licenseeCell(f.licensee, names)}</td>` +
    `<td>${esc(f.rule).replace(/_/g, '_<wbr>')}<div class="sub">${esc(f.metric).replace(/_/g, '_<wbr>')}</div></td>` +
    `<td>${subjectCell(f.subject)}</td>` +
    `<td title="${esc(f.period_start)} to ${esc(f.period_end)}">${periodCell(f.period_start, f.period_end)}</td>` +
    `<td class="num">${numbersCell(f)}</td>` +
    `<td class="apps">${appsCell(f.apps)}</td>` +
    `<td class="detail">${esc(f.detail)}<div class="sub id">${esc(f.finding_id)}</div>${lifecycleCell(f.lifecycle)}</td></tr>`;
  yield '<h2>Findings</h2>' +
    (sorted.length === 0
      ? '<p id="no-findings">No findings: every agreement was kept in this window.</p>'
      : '') +
    `<table id="findings">${cols}<thead>${head}</thead><tbody>`;
  for (const f of sorted) yield row(f);
  yield '</tbody></table>';
}

function quotaTable(l: LicenseeSummary): string {
  const rows: string[] = [];
  for (const [name, q] of [
    ['monthly records', l.quota_usage.monthly_records],
    ['monthly requests', l.quota_usage.monthly_requests],
  ] as const) {
    if (q === null) {
      rows.push(
        `<tr><td>${name}</td><td class="num">—</td><td class="num">—</td><td class="num">—</td><td class="num">—</td></tr>`,
      );
      continue;
    }
    const cls = q.used > q.limit ? ' over' : '';
    rows.push(
      `<tr><td>${name}</td><td class="num">${fmtInt(q.limit)}</td><td class="num${cls}">${fmtInt(q.used)}</td>` +
        `<td class="num${cls}">${fmtInt(q.remaining)}</td><td class="num${cls}">${q.percent_used === null ? '—' : `${q.percent_used.toFixed(2)}%`}</td></tr>`,
    );
  }
  const d = l.quota_usage.daily_records;
  rows.push(
    d === null
      ? '<tr><td>daily records</td><td class="num">—</td><td class="num">—</td><td class="num">—</td><td class="num">—</td></tr>'
      : `<tr><td>daily records</td><td class="num">${fmtInt(d.limit)}</td><td class="num${d.days_over > 0 ? ' over' : ''}">max ${fmtInt(d.max_day_records)}${d.max_day ? ` on ${esc(d.max_day)}` : ''}</td>` +
          `<td class="num${d.days_over > 0 ? ' over' : ''}">${fmtInt(d.days_over)} day(s) over</td><td class="num">—</td></tr>`,
  );
  return (
    '<table class="quotas"><thead><tr><th>Quota</th><th class="num">Limit</th><th class="num">Used (month to date)</th>' +
    `<th class="num">Remaining</th><th class="num">Used %</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function* licenseeSection(l: LicenseeSummary, days: readonly string[]): Generator<string> {
  const paid =
    l.paid_through === undefined
      ? 'fully paid'
      : l.paid_through === null
        ? 'never paid'
        : `paid through ${l.paid_through}`;
  const rate = l.rate ? `${l.rate.currency} ${l.rate.per_1000_records} per 1,000 records` : 'no rate';
  const owed = l.amount_owed
    ? ` · unpaid usage owed: <strong>${esc(fmtMoney(l.amount_owed.amount, l.amount_owed.currency))}</strong>`
    : '';
  const counts = SEVERITIES.filter((s) => l.findings[s] > 0).map((s) => `${fmtInt(l.findings[s])} ${s}`);
  yield `<section class="licensee" id="licensee-${esc(l.licensee)}" data-licensee="${esc(l.licensee)}">` +
    `<h2>${esc(l.name)} <span class="muted">(${esc(l.licensee)})</span></h2>` +
    `<p>Term ${esc(l.term.start)} to ${esc(l.term.end)} · ${esc(paid)} · ${esc(rate)}${owed} · findings: ${esc(counts.length ? counts.join(', ') : 'none')}</p>` +
    `<p>Month to date: ${fmtInt(l.totals.requests)} requests, ${fmtInt(l.totals.records)} records, ${fmtInt(l.totals.bytes)} bytes, ${fmtInt(l.totals.errors)} errors.</p>` +
    quotaTable(l);
  yield* dailyChart(l, days);
  yield cumulativeChart(l, days) +
    '<h3>Apps</h3><table class="apps"><thead><tr><th>App</th><th>Use case</th><th class="num">Requests</th><th class="num">Records</th>' +
    '<th class="num">Bytes</th><th class="num">Errors</th><th class="num">Active days</th></tr></thead><tbody>';
  for (const a of l.apps)
    yield `<tr><td><code>${esc(a.app_id)}</code></td><td>${a.use_case ? esc(a.use_case) : '<span class="over">none declared</span>'}</td>` +
      `<td class="num">${fmtInt(a.requests)}</td><td class="num">${fmtInt(a.records)}</td><td class="num">${fmtInt(a.bytes)}</td>` +
      `<td class="num">${fmtInt(a.errors)}</td><td class="num">${fmtInt(a.active_days)}</td></tr>`;
  yield '</tbody></table></section>';
}

function* unknownAppsSection(model: ReportModel): Generator<string> {
  if (model.unknown_apps.length === 0) return;
  yield '<section id="unknown-apps"><h2>Apps in no agreement</h2><table><thead><tr><th>App</th><th class="num">Requests</th>' +
    '<th class="num">Records</th><th class="num">Bytes</th><th class="num">Errors</th><th class="num">Active days</th></tr></thead><tbody>';
  for (const a of model.unknown_apps)
    yield `<tr><td><code>${esc(a.app_id)}</code></td><td class="num">${fmtInt(a.requests)}</td><td class="num">${fmtInt(a.records)}</td>` +
      `<td class="num">${fmtInt(a.bytes)}</td><td class="num">${fmtInt(a.errors)}</td><td class="num">${fmtInt(a.active_days)}</td></tr>`;
  yield '</tbody></table></section>';
}

const DQ_ROWS_MAX = 500;

/** A line per app-day whose values passed an ingest bound; nothing when none did. */
function* overflowNote(overflow: readonly UsageOverflow[]): Generator<string> {
  if (overflow.length === 0) return;
  yield '<p class="note" id="usage-overflow">More distinct endpoints or organisations than the ingest keeps per app and day: ' +
    'the rest are counted, exactly, under an overflow entry (totals are unchanged).</p><ul>';
  for (const o of overflow.slice(0, DQ_ROWS_MAX))
    yield `<li><code>${esc(o.app_id)}</code> on ${esc(o.usage_date)}: ${fmtInt(o.other_endpoints_requests)} request(s) under <code>${esc(OTHER_ENDPOINTS)}</code>, ${fmtInt(o.other_organisations_requests)} under <code>${esc(OTHER_ORGANISATIONS)}</code></li>`;
  const more =
    overflow.length > DQ_ROWS_MAX
      ? `<li>${fmtInt(overflow.length - DQ_ROWS_MAX)} more in report.json.</li>`
      : '';
  yield `${more}</ul>`;
}

/** The rejected lines per reason class of one object ("" without them). */
function rejectReasons(o: DataQuality['objects'][number]): string {
  if (!o.reject_reasons || o.reject_reasons.length === 0) return '';
  return `<br>${o.reject_reasons.map((r) => `${esc(r.reason)}: ${fmtInt(r.lines)}`).join('; ')}`;
}

function* dataQualitySection(dq: DataQuality, overflow: readonly UsageOverflow[] = []): Generator<string> {
  const notable = dq.objects.filter((o) => o.status !== 'ingested' || o.rejected > 0);
  const shown = notable.slice(0, DQ_ROWS_MAX);
  yield '<section id="data-quality"><h2>Data quality</h2>';
  if (notable.length === 0) yield '<p>Every log object was ingested without a rejected line.</p>';
  else {
    yield '<table><thead><tr><th>Object</th><th>Status</th><th class="num">Lines</th><th class="num">Counted</th>' +
      '<th class="num">Rejected</th><th>Reason</th></tr></thead><tbody>';
    for (const o of shown)
      yield `<tr><td><code>${esc(o.key)}</code><br><span class="id muted">${esc(o.gen)}</span></td><td>${esc(o.status)}</td>` +
        `<td class="num">${fmtInt(o.lines)}</td><td class="num">${fmtInt(o.counted)}</td><td class="num">${fmtInt(o.rejected)}</td>` +
        `<td>${esc(o.reason ?? '')}${o.rejects_key ? `<br>rejects: <code>${esc(o.rejects_key)}</code>` : ''}${rejectReasons(o)}</td></tr>`;
    const more =
      notable.length > shown.length
        ? `<p class="note">${fmtInt(notable.length - shown.length)} more in report.json.</p>`
        : '';
    yield `</tbody></table>${more}`;
  }
  yield* overflowNote(overflow);
  yield `${duplicatesNote(dq)}</section>`;
}

/** Duplicate request_ids (issue 11 item 5), only when some were found or a count was capped. */
function duplicatesNote(dq: DataQuality): string {
  const d = dq.duplicate_request_ids;
  if (!d) return '';
  return (
    `<p class="note" id="duplicate-request-ids">Duplicate request_ids: ${fmtInt(d.within_objects)} line(s) repeat a request_id of the same object (${d.within_objects_capped ? 'at least: some object had more request_ids than were counted' : 'exact'}); ` +
    `about ${fmtInt(d.across_objects_estimate)} request_id(s) occur in more than one object of the same app and day (estimate, ${esc(d.method)}).</p>`
  );
}

/**
 * The whole report.html document, as pieces (a findings row, an app row, a day's bars…): each is
 * bounded by one row's data, and the document is never held whole (report.ts coalesces them).
 */
export function* htmlPieces(
  model: ReportModel,
  findings: readonly Finding[],
  dq: DataQuality,
  overflow: readonly UsageOverflow[] = [],
): Generator<string> {
  const names = new Map(model.licensees.map((l) => [l.licensee, l.name]));
  const title = `Usage audit report ${model.report_date}`;
  yield '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body><main>` +
    `<h1>${esc(title)}</h1>` +
    summarySection(model, dq);
  yield* findingsSection(findings, names);
  yield `<h2>Licensees</h2>${model.licensees.length === 0 ? '<p>No agreements are loaded.</p>' : ''}`;
  for (const l of model.licensees) yield* licenseeSection(l, model.days);
  yield* unknownAppsSection(model);
  yield* dataQualitySection(dq, overflow);
  yield `<footer>usage-auditor · report for ${esc(model.report_date)} · every number here is in report.json; file hashes in manifest.json.</footer>` +
    '</main></body></html>\n';
}
