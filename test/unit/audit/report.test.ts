import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Agreement, parseAgreementsFile } from '../../../functions/core/audit/agreements.ts';
import { checkReport, recomputeContentSha256 } from '../../../functions/core/audit/chain.ts';
import { csvCell } from '../../../functions/core/audit/findings-csv.ts';
import { niceScale } from '../../../functions/core/audit/html-charts.ts';
import {
  type DataQuality,
  type ReportInput,
  type RunInfo,
  renderReport,
  summariseDataQuality,
} from '../../../functions/core/audit/report.ts';
import { type AuditUsageRow, audit } from '../../../functions/core/audit/rules.ts';
import { verifyReport } from '../../../functions/core/audit/verify-report.ts';
import { agreement, row } from './helpers.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

function exampleAgreements(): Agreement[] {
  const r = parseAgreementsFile(
    readFileSync(new URL('../../fixtures/agreements.yaml', import.meta.url), 'utf8'),
    'agreements.yaml',
  );
  if (!r.ok) throw new Error(r.errors.join('\n'));
  // A third licensee whose term ends mid-window.
  const contoso = agreement({
    licensee: 'contoso',
    name: 'Contoso Ltd',
    apps: [{ id: 'ct-1', use_case: 'archive' }],
    term: { start: '2026-01-01', end: '2026-11-10' },
  });
  return [...r.agreements, contoso];
}

const D = '2026-11-20';

/** A deterministic month of usage with violations of every rule. */
function exampleUsage(): AuditUsageRow[] {
  const rows: AuditUsageRow[] = [];
  const apps = [
    'nw-search',
    'nw-ads',
    'nw-insights',
    'nw-copilot',
    'nw-feed',
    'nw-trends',
    'nw-mail',
    'nw-maps',
  ];
  for (let d = 1; d <= 20; d++) {
    const day = `2026-11-${String(d).padStart(2, '0')}`;
    apps.forEach((app, i) => {
      const records = 40_000 * (i + 1) + d * 1_000 + (d === 7 && app === 'nw-search' ? 1_000_000 : 0);
      rows.push(
        row(app, day, {
          requests: 2_000 + i * 10,
          records,
          bytes: records * 480,
          errors: i,
          endpoints: {
            'GET /2/tweets/search/recent': { requests: 1_990 + i * 10, records },
            ...(app === 'nw-copilot'
              ? { 'GET /2/tweets/sample/stream': { requests: 10 } }
              : { 'GET /2/users/by': { requests: 10 } }),
          },
          categories:
            app === 'nw-ads'
              ? {
                  government: {
                    requests: 5,
                    records: 50,
                    orgs: { 'dept-of-examples': { requests: 2, records: 20 } },
                  },
                }
              : {},
          sources: [{ key: `logs/2026/11/${day}/part-${i % 3}.jsonl.gz`, gen: `v${d}` }],
        }),
      );
    });
    rows.push(row('ct-1', day, { requests: 5, records: 500 }));
    rows.push(
      row('fab-lab', day, {
        requests: 100,
        records: 30_000,
        sources: [{ key: `logs/fab/${day}.csv`, gen: 'etag-1' }],
      }),
    );
    if (d % 5 === 0) rows.push(row('unregistered-bot', day, { requests: 7, records: 70 }));
  }
  return rows;
}

function dataQuality(): DataQuality {
  return summariseDataQuality([
    {
      key: 'logs/b.jsonl',
      gen: 'v1',
      status: 'ingested',
      lines: 10,
      counted: 9,
      rejected: 1,
      rejects_key: 'rejects/b.jsonl',
    },
    {
      key: 'logs/a.bin',
      gen: 'v1',
      status: 'quarantined',
      lines: 0,
      counted: 0,
      rejected: 0,
      reason: 'not a log: <binary>',
    },
    { key: 'logs/c.jsonl', gen: 'v2', status: 'empty', lines: 0, counted: 0, rejected: 0 },
  ]);
}

function input(over: Partial<ReportInput> = {}): ReportInput {
  const agreements = exampleAgreements();
  const usage = exampleUsage();
  const findings = audit({ reportDate: D, agreements, usage });
  return {
    reportDate: D,
    agreements,
    usage,
    findings,
    dataQuality: dataQuality(),
    run: { started_at: '2026-11-21T02:00:00.000Z', trigger: 'schedule' },
    previousManifestSha256: null,
    ...over,
  };
}

const asMap = (files: { name: string; body: string }[]) => new Map(files.map((f) => [f.name, f.body]));

describe('renderReport', () => {
  it('writes every file of SPEC §5 with its content type, manifest last', () => {
    const { files } = renderReport(input());
    expect(files.map((f) => [f.name, f.contentType])).toEqual([
      ['report.json', 'application/json'],
      ['findings.jsonl', 'application/x-ndjson'],
      ['usage.jsonl', 'application/x-ndjson'],
      ['findings.csv', 'text/csv; charset=utf-8'],
      ['report.html', 'text/html; charset=utf-8'],
      ['manifest.json', 'application/json'],
    ]);
    for (const f of files) expect(f.body.endsWith('\n')).toBe(true);
  });

  it('covers every rule on the example month', () => {
    const rules = new Set(input().findings.map((f) => f.rule));
    expect([...rules].sort()).toEqual([
      'outside_term',
      'prohibited_recipient',
      'quota_exceeded',
      'quota_forecast',
      'quota_threshold',
      'unauthorized_endpoint',
      'undeclared_use_case',
      'unknown_app',
      'unpaid_usage',
    ]);
  });

  it('is byte-identical on the same input, whatever the order of usage, agreements and findings', () => {
    const a = renderReport(input());
    const i2 = input();
    const b = renderReport({
      ...i2,
      usage: [...i2.usage].reverse(),
      agreements: [...i2.agreements].reverse(),
      findings: [...i2.findings].reverse(),
    });
    expect(b.files).toEqual(a.files);
  });

  it('keeps run info only in report.json `run`; content_sha256 ignores it', () => {
    const a = renderReport(input());
    const b = renderReport(input({ run: { trigger: 'manual', started_at: '2027-01-01T00:00:00Z' } }));
    const fa = asMap(a.files);
    const fb = asMap(b.files);
    for (const name of ['findings.jsonl', 'usage.jsonl', 'findings.csv', 'report.html'])
      expect(fb.get(name)).toBe(fa.get(name));
    const ja = JSON.parse(fa.get('report.json') ?? '');
    const jb = JSON.parse(fb.get('report.json') ?? '');
    expect(jb.run).toEqual({ started_at: '2027-01-01T00:00:00Z', trigger: 'manual' });
    expect({ ...jb, run: null }).toEqual({ ...ja, run: null });
    expect(a.manifest.content_sha256).toBe(b.manifest.content_sha256);
    expect(a.manifest.files['report.json']).not.toBe(b.manifest.files['report.json']);
    for (const name of ['findings.jsonl', 'usage.jsonl', 'findings.csv', 'report.html']) {
      expect(fa.get(name)).not.toContain('2026-11-21T02');
    }
  });

  it('report.json: 2-space JSON with per licensee month-to-date totals against quotas', () => {
    const { files } = renderReport(input());
    const text = asMap(files).get('report.json') ?? '';
    expect(
      text.startsWith('{\n  "format": "usage-auditor/report@1",\n  "report_date": "2026-11-20",\n'),
    ).toBe(true);
    const r = JSON.parse(text);
    expect(Object.keys(r)).toEqual([
      'format',
      'report_date',
      'window',
      'run',
      'summary',
      'licensees',
      'unknown_apps',
      'findings',
      'data_quality',
      'sources',
    ]);
    expect(r.window).toEqual({ start: '2026-11-01', end: '2026-11-20' });
    const nw = r.licensees.find((l: { licensee: string }) => l.licensee === 'northwind');
    // Records: Σ_d Σ_i (40,000(i+1) + 1,000 d) + 1,000,000 = 20 × 1,440,000 + 8 × 210,000 + 1,000,000.
    expect(nw.totals.records).toBe(20 * 1_440_000 + 8 * 210_000 + 1_000_000);
    expect(nw.quota_usage.monthly_records).toEqual({
      limit: 40_000_000,
      used: 31_480_000,
      remaining: 8_520_000,
      percent_used: 78.7,
    });
    expect(nw.quota_usage.daily_records).toMatchObject({
      limit: 2_000_000,
      max_day: '2026-11-07',
      days_over: 1,
    });
    expect(nw.days).toHaveLength(20);
    expect(nw.apps).toHaveLength(8);
    expect(nw.paid_through).toBe('2026-11-15');
    expect(r.unknown_apps.map((u: { app_id: string }) => u.app_id)).toEqual(['unregistered-bot']);
    expect(r.summary.amount_owed).toEqual({ USD: expect.any(Number) });
    expect(r.data_quality.totals).toEqual({
      objects: 3,
      ingested: 1,
      empty: 1,
      quarantined: 1,
      lines: 10,
      counted: 9,
      rejected: 1,
    });
    expect(r.data_quality.objects.map((o: { key: string }) => o.key)).toEqual([
      'logs/a.bin',
      'logs/b.jsonl',
      'logs/c.jsonl',
    ]);
    expect(r.sources.length).toBeGreaterThan(20);
  });

  it('findings.jsonl: one finding a line with the SPEC fields, report_date first', () => {
    const inp = input();
    const lines = (asMap(renderReport(inp).files).get('findings.jsonl') ?? '').trimEnd().split('\n');
    expect(lines).toHaveLength(inp.findings.length);
    const f = JSON.parse(lines[0] ?? '');
    expect(Object.keys(f)).toEqual([
      'report_date',
      'finding_id',
      'licensee',
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
      'apps',
      'detail',
      'evidence',
    ]);
    expect(f.report_date).toBe(D);
    expect(f.evidence.sources.length).toBeGreaterThan(0);
  });

  it('usage.jsonl: one line per licensee, app and usage day of W', () => {
    const usage = [
      row('a1', '2026-03-02', { requests: 3, records: 30, bytes: 300, errors: 1 }),
      row('zz', '2026-03-01'),
      row('a1', '2026-02-28'),
    ];
    const body = asMap(
      renderReport({ ...input(), reportDate: '2026-03-02', agreements: [agreement()], usage, findings: [] })
        .files,
    ).get('usage.jsonl');
    expect(body).toBe(
      '{"report_date":"2026-03-02","licensee":"acme","app_id":"a1","usage_date":"2026-03-02","requests":3,"records":30,"bytes":300,"errors":1}\n' +
        '{"report_date":"2026-03-02","licensee":null,"app_id":"zz","usage_date":"2026-03-01","requests":1,"records":0,"bytes":0,"errors":0}\n',
    );
  });
});

describe('findings.csv', () => {
  it('neutralises formula injection and quotes per RFC 4180', () => {
    expect(csvCell('=cmd()')).toBe("'=cmd()");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe('"\'\rx"');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(12)).toBe('12');
  });

  it('neutralises a formula behind leading whitespace or control characters, and full-width signs', () => {
    for (const lead of [
      '\u200b',
      '\ufeff',
      ' ',
      '  ',
      '\t',
      '\r',
      '\n',
      '\u0001',
      '\u001f',
      '\u007f',
      '\u0085',
      '\u00a0',
      '\u3000',
      ' \t\r\n ',
    ])
      for (const sign of ['=', '+', '-', '@']) {
        const cell = csvCell(`${lead}${sign}cmd()`);
        expect(cell.replace(/^"/, ''), JSON.stringify(lead + sign)).toMatch(/^'/);
      }
    expect(csvCell(' =1+1')).toBe("' =1+1");
    expect(csvCell('\n=1+1')).toBe('"\'\n=1+1"');
    expect(csvCell('\u0000@x')).toBe("'\u0000@x");
    for (const sign of ['\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']) {
      expect(csvCell(`${sign}SUM(A1)`)).toBe(`'${sign}SUM(A1)`);
      expect(csvCell(` ${sign}SUM(A1)`)).toBe(`' ${sign}SUM(A1)`);
    }
    // Not formulas: a sign after other text, plain text behind spaces.
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('  text')).toBe('  text');
    expect(csvCell('x -1')).toBe('x -1');
  });

  it('writes numbers as numbers, negative ones included', () => {
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(-0.25)).toBe('-0.25');
    expect(csvCell(0)).toBe('0');
    expect(csvCell('-5')).toBe("'-5");
  });

  it('escapes an endpoint named =cmd() in the file', () => {
    const a = agreement({ endpoints: ['GET /ok'] });
    const usage = [row('a1', '2026-03-01', { endpoints: { '=cmd()|"x",y': { requests: 1 } } })];
    const findings = audit({ reportDate: '2026-03-01', agreements: [a], usage });
    const csv =
      asMap(
        renderReport({ ...input(), reportDate: '2026-03-01', agreements: [a], usage, findings }).files,
      ).get('findings.csv') ?? '';
    expect(csv.startsWith('\uFEFFreport_date,finding_id,licensee,rule,severity,metric,subject,')).toBe(true);
    expect(csv).toContain(`,"'=cmd()|""x"",y",`);
    expect(csv).not.toMatch(/(^|,)=cmd/m);
    expect(csv.split('\r\n')).toHaveLength(3); // header, one row, trailing empty
  });
});

describe('findings.csv evidence', () => {
  it('lists the bounded evidence (20 sources) in a cell and counts the rest', () => {
    const usage = Array.from({ length: 60 }, (_, i) =>
      row('zz', '2026-03-01', { sources: [{ key: `logs/${String(i).padStart(2, '0')}.jsonl`, gen: 'g' }] }),
    );
    const findings = audit({ reportDate: '2026-03-01', agreements: [], usage });
    expect(findings[0]?.evidence.sources).toHaveLength(20);
    expect(findings[0]?.evidence).toMatchObject({ source_count: 60, truncated: true });
    const csv =
      asMap(
        renderReport({ ...input(), reportDate: '2026-03-01', agreements: [], usage, findings }).files,
      ).get('findings.csv') ?? '';
    // Every source contributes one request: the tie goes to key order, logs/00 … logs/19.
    expect(csv).toContain('logs/00.jsonl#g; logs/01.jsonl#g;');
    expect(csv).toContain('logs/19.jsonl#g; (+40 more of 60)');
    expect(csv).not.toContain('logs/20.jsonl');
  });
});

describe('report.html', () => {
  const evil = (): ReportInput => {
    const base = input();
    const agreements = base.agreements.map((a) =>
      a.licensee === 'fabrikam'
        ? { ...a, name: '<script>alert(1)</script>', apps: [{ id: 'fab-lab', use_case: '<b>x</b>' }] }
        : a,
    );
    return { ...base, agreements };
  };

  it('escapes every printed string: markup in a licensee name shows as text', () => {
    const html = asMap(renderReport(evil()).files).get('report.html') ?? '';
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('not a log: &lt;binary&gt;');
  });

  it('is self-contained: no URL, no script, no external resource', () => {
    const html = asMap(renderReport(input()).files).get('report.html') ?? '';
    expect(html).not.toMatch(/https?:|\/\/[a-z]|url\(|<script|<link|<img|<iframe|src=|href=|@import/i);
    expect(html).toContain("default-src 'none'");
  });

  it('has the summary, the findings table and two inline SVG charts per licensee with legend and quota lines', () => {
    const inp = input();
    const html = asMap(renderReport(inp).files).get('report.html') ?? '';
    expect(html).toContain('<section id="summary">');
    expect(html).toContain('<table id="findings">');
    expect((html.match(/<tr data-rule=/g) ?? []).length).toBe(inp.findings.length);
    expect((html.match(/<svg class="chart chart-daily"/g) ?? []).length).toBe(3);
    expect((html.match(/<svg class="chart chart-cumulative"/g) ?? []).length).toBe(3);
    expect(html).toContain('daily quota');
    expect(html).toContain('monthly quota');
    expect(html).toContain('Records per day');
    expect(html).toContain('Usage day (UTC), 2026-11');
    expect(html).toContain('<ul class="legend">');
    expect(html).toContain('nw-search on 2026-11-07: 1,047,000 records');
    // Thousands separators.
    expect(html).toContain('40,000,000');
    expect(html).toContain('2,000,000');
    // Amount owed per currency in the summary.
    expect(html).toMatch(/id="amount-owed">USD [\d,]+\.\d\d</);
    expect(html).toContain('id="unknown-apps"');
  });

  it('renders with no findings, no usage and a one-day window', () => {
    const html =
      asMap(
        renderReport({
          ...input(),
          reportDate: '2026-03-01',
          agreements: [agreement()],
          usage: [],
          findings: [],
          dataQuality: summariseDataQuality([]),
        }).files,
      ).get('report.html') ?? '';
    expect(html).toContain('No findings');
    expect(html).toContain('No records in the window.');
  });

  it('chooses round gridline steps', () => {
    expect(niceScale(0)).toEqual({ top: 1, step: 1 });
    expect(niceScale(2_000_000)).toEqual({ top: 2_500_000, step: 500_000 });
    expect(niceScale(40_000_000)).toEqual({ top: 50_000_000, step: 10_000_000 });
    expect(niceScale(7)).toEqual({ top: 8, step: 2 });
  });
});

describe('report.html month-end projection', () => {
  const usage = (last: number) =>
    Array.from({ length: last }, (_, i) =>
      row('a1', `2026-04-${String(i + 1).padStart(2, '0')}`, { records: 100 }),
    );
  const html = (reportDate: string, n: number) => {
    const agreements = [agreement({ quotas: { monthly_records: 2_500 } })];
    const u = usage(n);
    const findings = audit({ reportDate, agreements, usage: u });
    return (
      asMap(renderReport({ ...input(), reportDate, agreements, usage: u, findings }).files).get(
        'report.html',
      ) ?? ''
    );
  };

  it('draws a dashed segment from D to the projected month end, on an axis of the whole month', () => {
    // 2026-04-10: 1,000 + 700 / 7 × 20 = 3,000 records projected for 2026-04-30.
    const page = html('2026-04-10', 10);
    const chart = page.slice(page.indexOf('<svg class="chart chart-cumulative"'));
    expect(chart).toContain('<g class="forecast"><line ');
    expect(chart).toContain(
      'stroke-dasharray="8 6"><title>projected for 2026-04-30: 3,000 records = 1,000 to date',
    );
    expect(page).toContain('<span class="sw sw-forecast"></span>projected to month end');
    expect(page).toContain('Dashed: the month-end projection, 3,000 records on 2026-04-30');
    expect(chart.slice(0, chart.indexOf('</svg>'))).toMatch(/>30<\/text>/);
    // The forecast finding says the same.
    expect(page).toContain('quota_forecast');
  });

  it('draws none on the last day of the month', () => {
    const page = html('2026-04-30', 30);
    expect(page).not.toContain('class="forecast"');
    expect(page).not.toContain('projected to month end');
  });
});

describe('manifest and verifyReport', () => {
  it('hashes every other file; a clean report verifies, with its chain link', () => {
    const first = renderReport(input());
    const firstManifest = asMap(first.files).get('manifest.json') ?? '';
    const m = JSON.parse(firstManifest);
    expect(Object.keys(m)).toEqual(['report_date', 'files', 'previous_manifest_sha256', 'content_sha256']);
    expect(Object.keys(m.files)).toEqual([
      'findings.csv',
      'findings.jsonl',
      'report.html',
      'report.json',
      'usage.jsonl',
    ]);
    for (const f of first.files) if (f.name !== 'manifest.json') expect(m.files[f.name]).toBe(sha(f.body));
    expect(m.previous_manifest_sha256).toBeNull();
    expect(verifyReport(asMap(first.files), null)).toEqual([]);

    const second = renderReport(
      input({ reportDate: '2026-11-21', previousManifestSha256: sha(firstManifest) }),
    );
    const files2 = new Map<string, string | Buffer>(asMap(second.files));
    expect(verifyReport(files2, firstManifest)).toEqual([]);
    expect(verifyReport(files2, Buffer.from(firstManifest))).toEqual([]);
    expect(verifyReport(files2)).toEqual([]);
  });

  it('detects a changed byte, a missing file, an extra file and a broken chain', () => {
    const first = renderReport(input());
    const firstManifest = asMap(first.files).get('manifest.json') ?? '';
    const second = renderReport(
      input({ reportDate: '2026-11-21', previousManifestSha256: sha(firstManifest) }),
    );

    const tampered = asMap(second.files);
    const csv = tampered.get('findings.csv') ?? '';
    tampered.set('findings.csv', csv.replace('quota_exceeded', 'quota_exceedeD'));
    expect(verifyReport(tampered, firstManifest)).toEqual([
      'findings.csv: sha256 does not match the manifest',
    ]);

    const bytes = Buffer.from(asMap(second.files).get('report.html') ?? '');
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    const flipped = new Map<string, string | Buffer>(asMap(second.files));
    flipped.set('report.html', bytes);
    expect(verifyReport(flipped)).toEqual(['report.html: sha256 does not match the manifest']);

    const missing = asMap(second.files);
    missing.delete('usage.jsonl');
    expect(verifyReport(missing)).toEqual(['usage.jsonl: listed in the manifest but missing']);

    const extra = asMap(second.files);
    extra.set('evil.html', '<h1>hi</h1>');
    expect(verifyReport(extra)).toEqual(['evil.html: not covered by the manifest']);

    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const sneaky = asMap(second.files);
      sneaky.set(name, '<h1>hi</h1>');
      expect(verifyReport(sneaky), name).toEqual([`${name}: not covered by the manifest`]);
    }

    const changedPrevious = `${firstManifest.slice(0, -2)} \n`;
    expect(verifyReport(asMap(second.files), changedPrevious)[0]).toMatch(/^manifest\.json: chain broken/);
    expect(verifyReport(asMap(second.files), null)[0]).toMatch(/^manifest\.json: chain broken/);

    const badManifest = asMap(second.files);
    badManifest.set('manifest.json', '{ nope');
    expect(verifyReport(badManifest)[0]).toMatch(/^manifest\.json: not valid JSON/);
    expect(verifyReport(new Map())).toEqual(['manifest.json: missing']);
  });
});

describe('checkReport: content_sha256 recomputed from the files, and the anchor', () => {
  it('recomputes the content_sha256 the audit wrote, whatever the run info', () => {
    const runs: RunInfo[] = [
      { trigger: 'schedule' },
      { trigger: 'manual', started_at: '2027-01-01T00:00:00Z' },
    ];
    for (const run of runs) {
      const { files, manifest } = renderReport(input({ run }));
      expect(recomputeContentSha256(asMap(files))).toBe(manifest.content_sha256);
      expect(checkReport(asMap(files), { previous: null })).toEqual([]);
    }
  });

  it('catches a body edited and re-hashed in the manifest, and a manifest that is not the anchor', () => {
    const { files } = renderReport(input());
    const map = asMap(files);
    const report = JSON.parse(map.get('report.json') ?? '{}');
    report.summary = { ...report.summary, forged: true };
    const edited = `${JSON.stringify(report, null, 2)}\n`;
    const m = JSON.parse(map.get('manifest.json') ?? '{}');
    m.files['report.json'] = sha(edited);
    const manifest = `${JSON.stringify(m, null, 2)}\n`;
    map.set('report.json', edited);
    map.set('manifest.json', manifest);
    expect(checkReport(map)).toEqual([
      expect.stringMatching(
        /^manifest\.json: content_sha256 [0-9a-f]{64} does not match the files \(recomputed: /,
      ),
    ]);
    expect(checkReport(map, { anchor: sha('another manifest') })[0]).toBe(
      `manifest.json: sha256 ${sha(manifest)} is not the control table's anchor ${sha('another manifest')}`,
    );
    expect(checkReport(new Map(), { anchor: 'a'.repeat(64) })).toEqual([
      'manifest.json: missing',
      `manifest.json: the control table anchors ${'a'.repeat(64)}`,
    ]);
  });
});
