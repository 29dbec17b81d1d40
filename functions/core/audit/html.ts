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
 * Charts: daily records per app as stacked bars per day against the daily-quota line, and
 * month-to-date cumulative records against the monthly-quota line; axis titles, gridlines with
 * labels, a legend, and a native tooltip (<title>) on every bar and point.
 *
 * Every string that comes from data is HTML-escaped (esc), in text and in attributes alike.
 * Stable hooks for tests: #summary, #findings (table), section.licensee[data-licensee],
 * svg.chart-daily, svg.chart-cumulative, #unknown-apps, #data-quality.
 */

import { compareStrings, fmtCents, fmtInt, toCents } from './format.ts';
import type { LicenseeSummary, ReportModel } from './model.ts';
import type { DataQuality } from './report.ts';
import type { Finding, FindingApp, Severity } from './rules.ts';
import { compareFindings, SEVERITIES } from './rules.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and (double- or single-quoted) attribute values. */
export function esc(s: string | number | null | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ESC[c] ?? c);
}

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#2f4b7c',
  '#a05195',
];

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2330;background:#f5f6f8}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.muted{color:#5c6475;font-weight:normal}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:10px 14px;min-width:130px}
.card .n{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.card .l{color:#5c6475;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff3;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
.sev{display:inline-block;white-space:nowrap;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.sev-critical{background:#8e1b1b}.sev-high{background:#c2410c}.sev-medium{background:#a16207}.sev-low{background:#4b5563}
.card.sev-card-critical{border-left:5px solid #8e1b1b}.card.sev-card-high{border-left:5px solid #c2410c}
.card.sev-card-medium{border-left:5px solid #a16207}.card.sev-card-low{border-left:5px solid #4b5563}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
section.licensee{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:4px 16px 12px;margin:24px 0}
section.licensee h2{border:0;margin-top:12px}
figure{margin:12px 0 20px}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block;background:#fff}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 16px;margin:6px 0 0;padding:0;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px}
.sw-quota{height:0;width:22px;border-top:2px dashed #111;border-radius:0}
.sw-line{height:0;width:22px;border-top:3px solid #1f4e79;border-radius:0}
.note{color:#5c6475;font-size:13px}
.over{color:#b91c1c;font-weight:600}
#findings{table-layout:fixed;font-size:12.5px}
#findings th,#findings td{padding:4px 6px}
#findings .sev{font-size:11px;padding:1px 6px}
#findings col.c-sev{width:74px}#findings col.c-lic{width:8.5%}#findings col.c-rule{width:13%}
#findings col.c-subj{width:11%}#findings col.c-period{width:88px}#findings col.c-num{width:11%}
#findings col.c-apps{width:14%}
#findings td{word-break:normal;overflow-wrap:anywhere}
#findings .sub{font-size:11.5px;color:#5c6475;font-weight:normal}
#findings th .sub{font-size:11px}
#findings .name{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden}
#findings .sub.over{color:#b91c1c;font-weight:600}
#findings .owed{font-weight:600}
#findings .seg{display:inline-block;max-width:100%}
#findings code.subject{word-break:normal}
#findings .id{font-size:11px;word-break:break-all;margin-top:2px}
.nw{white-space:nowrap}
#findings td.num{white-space:normal}
#findings .obs{white-space:nowrap;font-weight:600}
#findings details summary{cursor:pointer;list-style:none}
#findings details summary::-webkit-details-marker{display:none}
#findings .more{color:#1f4e79;text-decoration:underline dotted}
#findings ul.apps-all{margin:4px 0 0;padding:2px 0 0;list-style:none;font-size:11.5px;border-top:1px dotted #c3c8d1}
#findings ul.apps-all li{display:flex;flex-wrap:wrap;column-gap:6px}
#findings ul.apps-all .v{margin-left:auto;color:#5c6475;white-space:nowrap;font-variant-numeric:tabular-nums}
footer{margin:32px 0 8px;color:#5c6475;font-size:12px}
`;

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

function num(n: number): string {
  // Chart coordinates: fixed precision, deterministic.
  return (Math.round(n * 10) / 10).toFixed(1);
}

// ---------------------------------------------------------------------------------------------
// Charts

const CW = 1160;
const CH = 340;
const ML = 100;
const MR = 150;
const MT = 20;
const MB = 58;
const PW = CW - ML - MR;
const PH = CH - MT - MB;

/** Gridline step and axis top for values up to `max`, with integer steps of 1, 2, 2.5 or 5 × 10^k. */
export function niceScale(max: number): { top: number; step: number } {
  const target = Math.max(1, Math.ceil(max * 1.08));
  let step = 1;
  for (let mag = 1; ; mag *= 10) {
    const candidates = mag >= 10 ? [mag, 2 * mag, 2.5 * mag, 5 * mag] : [mag, 2 * mag, 5 * mag];
    const found = candidates.find((c) => c * 6 >= target);
    if (found !== undefined) {
      step = found;
      break;
    }
    if (mag > 1e300) break;
  }
  return { top: Math.ceil(target / step) * step, step };
}

interface Axis {
  top: number;
  step: number;
  y: (v: number) => number;
}

function axis(max: number): Axis {
  const { top, step } = niceScale(max);
  return { top, step, y: (v) => MT + PH - (v / top) * PH };
}

function frame(a: Axis, days: readonly string[], yTitle: string, overDays: ReadonlySet<string>): string {
  const out: string[] = [];
  for (let v = 0; v <= a.top; v += a.step) {
    const y = num(a.y(v));
    out.push(`<line x1="${ML}" x2="${ML + PW}" y1="${y}" y2="${y}" stroke="#e3e6eb" stroke-width="1"/>`);
    out.push(
      `<text x="${ML - 8}" y="${y}" dy="4" text-anchor="end" font-size="12" fill="#3b4252">${fmtInt(v)}</text>`,
    );
  }
  const band = PW / Math.max(days.length, 1);
  days.forEach((d, i) => {
    const x = num(ML + band * (i + 0.5));
    const cls = overDays.has(d) ? ' fill="#b91c1c" font-weight="700"' : ' fill="#3b4252"';
    out.push(
      `<text x="${x}" y="${MT + PH + 18}" text-anchor="middle" font-size="12"${cls}>${Number(d.slice(8, 10))}</text>`,
    );
  });
  out.push(
    `<line x1="${ML}" x2="${ML + PW}" y1="${MT + PH}" y2="${MT + PH}" stroke="#4b5563" stroke-width="1"/>`,
  );
  out.push(`<line x1="${ML}" x2="${ML}" y1="${MT}" y2="${MT + PH}" stroke="#4b5563" stroke-width="1"/>`);
  const month = days[0]?.slice(0, 7) ?? '';
  out.push(
    `<text x="${ML + PW / 2}" y="${CH - 12}" text-anchor="middle" font-size="13" fill="#1d2330">Usage day (UTC), ${esc(month)}</text>`,
  );
  out.push(
    `<text transform="translate(18 ${MT + PH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="#1d2330">${esc(yTitle)}</text>`,
  );
  return out.join('');
}

function quotaLine(a: Axis, limit: number, label: string): string {
  const y = num(a.y(limit));
  return (
    `<line x1="${ML}" x2="${ML + PW}" y1="${y}" y2="${y}" stroke="#111" stroke-width="2" stroke-dasharray="7 5"/>` +
    `<text x="${ML + PW + 6}" y="${y}" dy="4" font-size="12" fill="#111">${esc(label)}</text>` +
    `<text x="${ML + PW + 6}" y="${y}" dy="18" font-size="12" fill="#111">${fmtInt(limit)}</text>`
  );
}

/** Apps of a licensee in chart order (records desc, then id) with their colours. */
function appColours(l: LicenseeSummary): { app: string; colour: string; records: number }[] {
  return l.apps
    .filter((a) => a.records > 0)
    .sort((a, b) => b.records - a.records || compareStrings(a.app_id, b.app_id))
    .map((a, i) => ({ app: a.app_id, colour: PALETTE[i % PALETTE.length] as string, records: a.records }));
}

function dailyChart(l: LicenseeSummary, days: readonly string[]): string {
  const apps = appColours(l);
  const limit = l.quotas.daily_records;
  const maxDay = Math.max(0, ...l.days.map((d) => d.records));
  const a = axis(Math.max(maxDay, limit ?? 0));
  const over = new Set(limit === null ? [] : l.days.filter((d) => d.records > limit).map((d) => d.date));
  const band = PW / Math.max(days.length, 1);
  const bars: string[] = [];
  l.days.forEach((d, i) => {
    let base = 0;
    const x = num(ML + band * i + band * 0.15);
    const w = num(band * 0.7);
    for (const { app, colour } of apps) {
      const v = d.records_by_app[app] ?? 0;
      if (v <= 0) continue;
      const y0 = a.y(base);
      const y1 = a.y(base + v);
      base += v;
      bars.push(
        `<rect x="${x}" y="${num(y1)}" width="${w}" height="${num(Math.max(y0 - y1, 0.5))}" fill="${colour}"><title>${esc(app)} on ${esc(d.date)}: ${fmtInt(v)} records</title></rect>`,
      );
    }
    if (base > 0) {
      bars.push(
        `<rect x="${x}" y="${num(a.y(base))}" width="${w}" height="${num(Math.max(a.y(0) - a.y(base), 0.5))}" fill="none" stroke="none"><title>${esc(d.date)}: ${fmtInt(d.records)} records in total${limit !== null && d.records > limit ? ` (over the daily quota by ${fmtInt(d.records - limit)})` : ''}</title></rect>`,
      );
    }
  });
  const label = `Daily records per app, ${l.licensee}`;
  const svg =
    `<svg class="chart chart-daily" viewBox="0 0 ${CW} ${CH}" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title>` +
    frame(a, days, 'Records per day', over) +
    bars.join('') +
    (limit !== null ? quotaLine(a, limit, 'daily quota') : '') +
    '</svg>';
  const legend =
    `<ul class="legend">${apps.map((x) => `<li><span class="sw" style="background:${x.colour}"></span>${esc(x.app)}</li>`).join('')}` +
    (limit !== null ? '<li><span class="sw sw-quota"></span>daily quota</li>' : '') +
    '</ul>';
  const notes: string[] = [];
  if (apps.length === 0) notes.push('No records in the window.');
  if (limit === null) notes.push('The agreement sets no daily records quota.');
  if (over.size > 0) notes.push(`Days over the daily quota are labelled in red (${over.size}).`);
  return (
    '<figure><figcaption>Daily records per app against the daily quota</figcaption>' +
    svg +
    legend +
    (notes.length ? `<p class="note">${esc(notes.join(' '))}</p>` : '') +
    '</figure>'
  );
}

function cumulativeChart(l: LicenseeSummary, days: readonly string[]): string {
  const limit = l.quotas.monthly_records;
  const cum: number[] = [];
  let total = 0;
  for (const d of l.days) {
    total += d.records;
    cum.push(total);
  }
  const a = axis(Math.max(total, limit ?? 0));
  const band = PW / Math.max(days.length, 1);
  const pts = cum.map((v, i) => ({ x: ML + band * (i + 0.5), y: a.y(v), v, day: l.days[i]?.date ?? '' }));
  const over = new Set(limit === null ? [] : pts.filter((p) => p.v > limit).map((p) => p.day));
  const line = pts.map((p) => `${num(p.x)},${num(p.y)}`).join(' ');
  const first = pts[0];
  const last = pts[pts.length - 1];
  const area =
    first && last
      ? `<polygon points="${num(first.x)},${num(a.y(0))} ${line} ${num(last.x)},${num(a.y(0))}" fill="#1f4e79" fill-opacity="0.12" stroke="none"/>`
      : '';
  const dots = pts
    .map(
      (p) =>
        `<circle cx="${num(p.x)}" cy="${num(p.y)}" r="4" fill="${over.has(p.day) ? '#b91c1c' : '#1f4e79'}"><title>${esc(p.day)}: ${fmtInt(p.v)} records month to date</title></circle>`,
    )
    .join('');
  const label = `Month-to-date records, ${l.licensee}`;
  const svg =
    `<svg class="chart chart-cumulative" viewBox="0 0 ${CW} ${CH}" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title>` +
    frame(a, days, 'Records, month to date', over) +
    area +
    (pts.length > 1 ? `<polyline points="${line}" fill="none" stroke="#1f4e79" stroke-width="3"/>` : '') +
    dots +
    (limit !== null ? quotaLine(a, limit, 'monthly quota') : '') +
    '</svg>';
  const legend =
    '<ul class="legend"><li><span class="sw sw-line"></span>records, month to date</li>' +
    (limit !== null ? '<li><span class="sw sw-quota"></span>monthly quota</li>' : '') +
    '</ul>';
  const note = limit === null ? '<p class="note">The agreement sets no monthly records quota.</p>' : '';
  return `<figure><figcaption>Month-to-date records against the monthly quota</figcaption>${svg}${legend}${note}</figure>`;
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

function findingsSection(findings: readonly Finding[], names: ReadonlyMap<string, string>): string {
  const sorted = [...findings].sort(
    (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || compareFindings(a, b),
  );
  const cols = `<colgroup>${FINDINGS_COLS.map(([c]) => `<col class="${c}">`).join('')}</colgroup>`;
  const head = `<tr>${FINDINGS_COLS.map(([c, h]) => `<th${c === 'c-num' ? ' class="num"' : ''}>${h}</th>`).join('')}</tr>`;
  const rows = sorted.map(
    (f) =>
      `<tr data-rule="${esc(f.rule)}" data-severity="${esc(f.severity)}">` +
      `<td><span class="sev sev-${esc(f.severity)}">${esc(f.severity)}</span></td>` +
      `<td>${licenseeCell(f.licensee, names)}</td>` +
      `<td>${esc(f.rule).replace(/_/g, '_<wbr>')}<div class="sub">${esc(f.metric).replace(/_/g, '_<wbr>')}</div></td>` +
      `<td>${subjectCell(f.subject)}</td>` +
      `<td title="${esc(f.period_start)} to ${esc(f.period_end)}">${periodCell(f.period_start, f.period_end)}</td>` +
      `<td class="num">${numbersCell(f)}</td>` +
      `<td class="apps">${appsCell(f.apps)}</td>` +
      `<td class="detail">${esc(f.detail)}<div class="sub id">${esc(f.finding_id)}</div></td></tr>`,
  );
  return (
    '<h2>Findings</h2>' +
    (sorted.length === 0
      ? '<p id="no-findings">No findings: every agreement was kept in this window.</p>'
      : '') +
    `<table id="findings">${cols}<thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`
  );
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

function licenseeSection(l: LicenseeSummary, days: readonly string[]): string {
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
  const apps = l.apps
    .map(
      (a) =>
        `<tr><td><code>${esc(a.app_id)}</code></td><td>${a.use_case ? esc(a.use_case) : '<span class="over">none declared</span>'}</td>` +
        `<td class="num">${fmtInt(a.requests)}</td><td class="num">${fmtInt(a.records)}</td><td class="num">${fmtInt(a.bytes)}</td>` +
        `<td class="num">${fmtInt(a.errors)}</td><td class="num">${fmtInt(a.active_days)}</td></tr>`,
    )
    .join('');
  return (
    `<section class="licensee" id="licensee-${esc(l.licensee)}" data-licensee="${esc(l.licensee)}">` +
    `<h2>${esc(l.name)} <span class="muted">(${esc(l.licensee)})</span></h2>` +
    `<p>Term ${esc(l.term.start)} to ${esc(l.term.end)} · ${esc(paid)} · ${esc(rate)}${owed} · findings: ${esc(counts.length ? counts.join(', ') : 'none')}</p>` +
    `<p>Month to date: ${fmtInt(l.totals.requests)} requests, ${fmtInt(l.totals.records)} records, ${fmtInt(l.totals.bytes)} bytes, ${fmtInt(l.totals.errors)} errors.</p>` +
    quotaTable(l) +
    dailyChart(l, days) +
    cumulativeChart(l, days) +
    '<h3>Apps</h3><table class="apps"><thead><tr><th>App</th><th>Use case</th><th class="num">Requests</th><th class="num">Records</th>' +
    `<th class="num">Bytes</th><th class="num">Errors</th><th class="num">Active days</th></tr></thead><tbody>${apps}</tbody></table>` +
    '</section>'
  );
}

function unknownAppsSection(model: ReportModel): string {
  if (model.unknown_apps.length === 0) return '';
  const rows = model.unknown_apps
    .map(
      (a) =>
        `<tr><td><code>${esc(a.app_id)}</code></td><td class="num">${fmtInt(a.requests)}</td><td class="num">${fmtInt(a.records)}</td>` +
        `<td class="num">${fmtInt(a.bytes)}</td><td class="num">${fmtInt(a.errors)}</td><td class="num">${fmtInt(a.active_days)}</td></tr>`,
    )
    .join('');
  return (
    '<section id="unknown-apps"><h2>Apps in no agreement</h2><table><thead><tr><th>App</th><th class="num">Requests</th>' +
    `<th class="num">Records</th><th class="num">Bytes</th><th class="num">Errors</th><th class="num">Active days</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

const DQ_ROWS_MAX = 500;

function dataQualitySection(dq: DataQuality): string {
  const notable = dq.objects.filter((o) => o.status !== 'ingested' || o.rejected > 0);
  const shown = notable.slice(0, DQ_ROWS_MAX);
  const rows = shown
    .map(
      (o) =>
        `<tr><td><code>${esc(o.key)}</code><br><span class="id muted">${esc(o.gen)}</span></td><td>${esc(o.status)}</td>` +
        `<td class="num">${fmtInt(o.lines)}</td><td class="num">${fmtInt(o.counted)}</td><td class="num">${fmtInt(o.rejected)}</td>` +
        `<td>${esc(o.reason ?? '')}${o.rejects_key ? `<br>rejects: <code>${esc(o.rejects_key)}</code>` : ''}</td></tr>`,
    )
    .join('');
  const more =
    notable.length > shown.length
      ? `<p class="note">${fmtInt(notable.length - shown.length)} more in report.json.</p>`
      : '';
  return (
    '<section id="data-quality"><h2>Data quality</h2>' +
    (notable.length === 0
      ? '<p>Every log object was ingested without a rejected line.</p>'
      : '<table><thead><tr><th>Object</th><th>Status</th><th class="num">Lines</th><th class="num">Counted</th>' +
        `<th class="num">Rejected</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>${more}`) +
    '</section>'
  );
}

/** The whole report.html document. */
export function renderHtml(model: ReportModel, findings: readonly Finding[], dq: DataQuality): string {
  const names = new Map(model.licensees.map((l) => [l.licensee, l.name]));
  const title = `Usage audit report ${model.report_date}`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body><main>` +
    `<h1>${esc(title)}</h1>` +
    summarySection(model, dq) +
    findingsSection(findings, names) +
    '<h2>Licensees</h2>' +
    (model.licensees.length === 0 ? '<p>No agreements are loaded.</p>' : '') +
    model.licensees.map((l) => licenseeSection(l, model.days)).join('') +
    unknownAppsSection(model) +
    dataQualitySection(dq) +
    `<footer>usage-auditor · report for ${esc(model.report_date)} · every number here is in report.json; file hashes in manifest.json.</footer>` +
    '</main></body></html>\n'
  );
}
