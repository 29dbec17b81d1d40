/**
 * report.html as a person sees it: rendered by headless Chromium (see test/support/browser.ts for
 * where it comes from; nothing is installed by hand) driven by playwright-core, with every network
 * request refused.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport, summariseDataQuality } from '../../functions/core/audit/report.ts';
import { audit } from '../../functions/core/audit/rules.ts';
import { launchChromium } from '../support/browser.ts';
import { agreement, row } from '../unit/audit/helpers.ts';

const HOSTILE = '<script>window.__pwned = 1</script><b>Evil & Co</b>';

let browser: Browser;
let page: Page;
const requests: string[] = [];

function html(): string {
  const agreements = [
    agreement({
      licensee: 'acme',
      name: HOSTILE,
      quotas: { monthly_records: 5_000, daily_records: 400 },
      paid_through: '2026-11-10',
    }),
  ];
  const usage = Array.from({ length: 20 }, (_, i) => {
    const day = `2026-11-${String(i + 1).padStart(2, '0')}`;
    return [
      row('a1', day, { requests: 10 + i, records: 150 + 20 * i }),
      row('a2', day, { requests: 5, records: 90 }),
    ];
  }).flat();
  usage.push(row('stray-app', '2026-11-03', { requests: 3 }));
  const findings = audit({ reportDate: '2026-11-20', agreements, usage });
  const rendered = renderReport({
    reportDate: '2026-11-20',
    agreements,
    usage,
    findings,
    dataQuality: summariseDataQuality([
      { key: 'logs/x.jsonl', gen: 'e1', status: 'ingested', lines: 10, counted: 9, rejected: 1 },
      {
        key: 'logs/bad.gz',
        gen: 'e2',
        status: 'quarantined',
        lines: 0,
        counted: 0,
        rejected: 0,
        reason: 'truncated gzip',
      },
    ]),
    run: { generated_at: '2026-11-21T02:00:00Z' },
    previousManifestSha256: null,
  });
  const file = rendered.files.find((f) => f.name === 'report.html');
  if (!file) throw new Error('no report.html');
  return file.body;
}

beforeAll(async () => {
  ({ browser } = await launchChromium());
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  const page0 = html();
  // The CSP alone would block (and hide) any request; take it out so the test sees what the
  // markup itself asks for. The CSP is checked on its own below.
  expect(page0).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
  await page.setContent(page0.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ''), {
    waitUntil: 'load',
  });
  if (process.env.REPORT_SCREENSHOT)
    await page.screenshot({ path: process.env.REPORT_SCREENSHOT, fullPage: true });
});

afterAll(async () => {
  await browser?.close();
});

describe('report.html in Chromium', () => {
  it('is self-contained: it asks the network for nothing', () => {
    expect(requests).toEqual([]);
  });

  it('shows the summary and the findings table with its rows', async () => {
    await expect(page.locator('#summary').isVisible()).resolves.toBe(true);
    const rows = page.locator('#findings tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(3);
    await expect(rows.first().isVisible()).resolves.toBe(true);
    const text = await page.locator('#findings').textContent();
    expect(text).toContain('quota_exceeded');
    expect(text).toContain('unpaid_usage');
  });

  it('draws both charts for the licensee, on screen and of a readable size', async () => {
    // Daily: a bar per app and day (2 apps × 20 days); cumulative: a point per day.
    for (const [sel, shape, atLeast] of [
      ['svg.chart-daily', 'rect', 40],
      ['svg.chart-cumulative', 'circle', 20],
    ] as const) {
      const chart = page.locator(`section.licensee[data-licensee="acme"] ${sel}`);
      await expect(chart.isVisible()).resolves.toBe(true);
      const box = await chart.boundingBox();
      expect(box?.width).toBeGreaterThan(400);
      expect(box?.width).toBeLessThanOrEqual(1280);
      expect(box?.height).toBeGreaterThan(150);
      expect(await chart.locator(shape).count()).toBeGreaterThanOrEqual(atLeast);
    }
  });

  it('draws the month-end projection on the monthly chart as a dashed segment, over the whole month', async () => {
    const chart = page.locator('section.licensee[data-licensee="acme"] svg.chart-cumulative');
    const segment = chart.locator('g.forecast line');
    expect(await segment.count()).toBe(1);
    await expect(segment.getAttribute('stroke-dasharray')).resolves.toBe('8 6');
    // 8,600 records to date + (3,290 + 630) / 7 per day over the last 7 days × 10 days left = 14,200.
    await expect(segment.locator('title').textContent()).resolves.toContain(
      'projected for 2026-11-30: 14,200 records',
    );
    // It runs rightwards and upwards from D's point; the axis labels every day of November.
    const [x1, y1, x2, y2] = await Promise.all(['x1', 'y1', 'x2', 'y2'].map((k) => segment.getAttribute(k)));
    expect(Number(x2)).toBeGreaterThan(Number(x1));
    expect(Number(y2)).toBeLessThan(Number(y1));
    const box = await segment.boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    expect(await chart.locator('text', { hasText: /^30$/ }).count()).toBe(1);
    const figure = await page.locator('section.licensee[data-licensee="acme"] figure').nth(1).textContent();
    expect(figure).toContain('projected to month end');
  });

  it('shows a licensee name holding markup as text, and runs none of it', async () => {
    const section = await page.locator('section.licensee[data-licensee="acme"]').textContent();
    expect(section).toContain('<script>window.__pwned = 1</script><b>Evil & Co</b>');
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('section.licensee b').count()).toBe(0);
  });
});
