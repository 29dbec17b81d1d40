/**
 * The two charts of each licensee in report.html, as inline SVG: daily records per app as stacked
 * bars per day against the daily-quota line, and month-to-date cumulative records against the
 * monthly-quota line over the whole month, with a dashed segment from D's cumulative value to the
 * month-end projection of forecast.ts (when days of the month remain after D); axis titles, gridlines with labels, a legend, and a native tooltip (<title>)
 * on every bar and point. Deterministic: coordinates at a fixed precision, numbers formatted by hand.
 */
import { compareStrings } from '../support.ts';
import { projectMonthEnd } from './forecast.ts';
import { daysFrom, fmtInt } from './format.ts';
import { esc } from './html-escape.ts';
import type { LicenseeSummary } from './model.ts';

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

function num(n: number): string {
  // Chart coordinates: fixed precision, deterministic.
  return (Math.round(n * 10) / 10).toFixed(1);
}

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

/** The daily chart as pieces: its frame, each day's bars, then the quota line, legend and notes. */
export function* dailyChart(l: LicenseeSummary, days: readonly string[]): Generator<string> {
  const apps = appColours(l);
  const limit = l.quotas.daily_records;
  const maxDay = Math.max(0, ...l.days.map((d) => d.records));
  const a = axis(Math.max(maxDay, limit ?? 0));
  const over = new Set(limit === null ? [] : l.days.filter((d) => d.records > limit).map((d) => d.date));
  const band = PW / Math.max(days.length, 1);
  const label = `Daily records per app, ${l.licensee}`;
  yield '<figure><figcaption>Daily records per app against the daily quota</figcaption>' +
    `<svg class="chart chart-daily" viewBox="0 0 ${CW} ${CH}" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title>` +
    frame(a, days, 'Records per day', over);
  for (const [i, d] of l.days.entries()) {
    const bars: string[] = [];
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
    yield bars.join('');
  }
  const svgEnd = `${limit !== null ? quotaLine(a, limit, 'daily quota') : ''}</svg>`;
  const legend =
    `<ul class="legend">${apps.map((x) => `<li><span class="sw" style="background:${x.colour}"></span>${esc(x.app)}</li>`).join('')}` +
    (limit !== null ? '<li><span class="sw sw-quota"></span>daily quota</li>' : '') +
    '</ul>';
  const notes: string[] = [];
  if (apps.length === 0) notes.push('No records in the window.');
  if (limit === null) notes.push('The agreement sets no daily records quota.');
  if (over.size > 0) notes.push(`Days over the daily quota are labelled in red (${over.size}).`);
  const note = notes.length ? `<p class="note">${esc(notes.join(' '))}</p>` : '';
  yield `${svgEnd}${legend}${note}</figure>`;
}

export function cumulativeChart(l: LicenseeSummary, days: readonly string[]): string {
  const limit = l.quotas.monthly_records;
  const cum: number[] = [];
  let total = 0;
  for (const d of l.days) {
    total += d.records;
    cum.push(total);
  }
  // The x axis spans the whole month; the projection runs from D to its last day.
  const reportDate = days[days.length - 1] ?? '';
  const forecast =
    days.length > 0
      ? projectMonthEnd(
          reportDate,
          l.days.map((d) => d.records),
        )
      : null;
  const projected = forecast && forecast.remaining > 0 ? forecast : null;
  const monthDays = forecast && days[0] ? daysFrom(days[0], forecast.monthEnd) : days;
  const a = axis(Math.max(total, limit ?? 0, projected?.projected ?? 0));
  const band = PW / Math.max(monthDays.length, 1);
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
  let projection = '';
  let projectionNote = '';
  if (projected && last) {
    const x = num(ML + band * (monthDays.length - 0.5));
    const y = num(a.y(projected.projected));
    const how = `${fmtInt(projected.used)} to date + ${fmtInt(projected.averagedSum)} / ${projected.averagedDays} per day (the last ${projected.averagedDays} day(s)) × ${projected.remaining} remaining day(s)`;
    const title = `projected for ${projected.monthEnd}: ${fmtInt(projected.projected)} records = ${how}`;
    projection =
      `<g class="forecast"><line x1="${num(last.x)}" y1="${num(last.y)}" x2="${x}" y2="${y}" stroke="#1f4e79" stroke-width="3" stroke-dasharray="8 6"><title>${esc(title)}</title></line>` +
      `<circle cx="${x}" cy="${y}" r="4" fill="#fff" stroke="#1f4e79" stroke-width="2"><title>${esc(title)}</title></circle></g>`;
    projectionNote = `Dashed: the month-end projection, ${fmtInt(projected.projected)} records on ${projected.monthEnd} (${how}).`;
  }
  const label = `Month-to-date records, ${l.licensee}`;
  const svg =
    `<svg class="chart chart-cumulative" viewBox="0 0 ${CW} ${CH}" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title>` +
    frame(a, monthDays, 'Records, month to date', over) +
    area +
    (pts.length > 1 ? `<polyline points="${line}" fill="none" stroke="#1f4e79" stroke-width="3"/>` : '') +
    dots +
    projection +
    (limit !== null ? quotaLine(a, limit, 'monthly quota') : '') +
    '</svg>';
  const legend =
    '<ul class="legend"><li><span class="sw sw-line"></span>records, month to date</li>' +
    (projection ? '<li><span class="sw sw-forecast"></span>projected to month end</li>' : '') +
    (limit !== null ? '<li><span class="sw sw-quota"></span>monthly quota</li>' : '') +
    '</ul>';
  const notes = [limit === null ? 'The agreement sets no monthly records quota.' : '', projectionNote].filter(
    Boolean,
  );
  const note = notes.length ? `<p class="note">${esc(notes.join(' '))}</p>` : '';
  return `<figure><figcaption>Month-to-date records against the monthly quota</figcaption>${svg}${legend}${note}</figure>`;
}
