/**
 * Request-level evidence (issue 11 item 5) through the real stores: line references and request_id
 * sketches stored with each object's contributions, merged in rollups, carried by findings, and
 * duplicate request_ids under data quality. On both DynamoDB emulators (DynamoDB Local measures
 * items in UTF-8 bytes, as DynamoDB does), then upload → nightly audit on the embedded stack.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlStore } from '../../functions/adapters/control-store.ts';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import { RollupStore } from '../../functions/adapters/rollup-store.ts';
import type { Agreement } from '../../functions/core/audit/agreements.ts';
import { parseAgreementsFile } from '../../functions/core/audit/agreements.ts';
import { audit, type Finding } from '../../functions/core/audit/rules.ts';
import { ITEM_BUDGET_BYTES, itemBytes } from '../../functions/core/ledger.ts';
import {
  duplicateRequestIds,
  type EvidenceLine,
  MAX_FULL_EVIDENCE_ENDPOINTS,
  MAX_FULL_EVIDENCE_ORGS,
  MAX_REQUEST_ID_CHARS,
} from '../../functions/core/request-evidence.ts';
import type { RecipientsRegistry } from '../../functions/core/types.ts';
import { ingestObject } from '../../functions/ingest/ingest-object.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';
import { documentClient } from '../../functions/shared/clients.ts';
import { BACKENDS, startTestBed, type TestBed } from '../support/emulators.ts';

const DAY = '2026-11-20';
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const REGISTRY: RecipientsRegistry = {
  government: { cidrs: ['198.51.100.0/24'], organisations: ['dept-of-examples', 'example-agency'] },
};

function line(fields: Record<string, unknown>): string {
  return JSON.stringify({
    timestamp: `${DAY}T10:00:00Z`,
    app_id: 'acme-app',
    endpoint: '/ok',
    status: 200,
    records: 1,
    client_ip: '192.0.2.1',
    ...fields,
  });
}

/**
 * Object A: r-3 twice (one duplicate within it), an endpoint outside the agreement, government
 * lines with no organisation, for an approved one (excused) and for another. Object B: r-1 and
 * r-2 again (two ids in both objects of the app-day) and an app no agreement covers.
 */
const A = [
  line({ request_id: 'r-1' }),
  line({ request_id: 'r-2', endpoint: '/bad' }),
  line({ request_id: 'r-3' }),
  line({ request_id: 'r-3' }),
  line({ request_id: 'r-4', client_ip: '198.51.100.9', on_behalf_of: 'dept-of-examples' }),
  line({ request_id: 'r-5', client_ip: '198.51.100.9' }),
  line({ request_id: 'r-6', on_behalf_of: 'example-agency' }),
  line({ request_id: 'r-7', client_ip: '198.51.100.10', on_behalf_of: 'dept-of-examples' }),
];
const B = [
  line({ request_id: 'r-1' }),
  line({ request_id: 'r-2', endpoint: '/bad' }),
  line({ request_id: 'u-1', app_id: 'stray-app' }),
  line({ request_id: 'r-9' }),
];
const TEXT: Record<string, string[]> = { 'logs/ev/a.jsonl': A, 'logs/ev/b.jsonl': B };

const agreementsYaml = `
- licensee: acme
  name: Acme
  apps: [acme-app]
  term: { start: 2026-01-01, end: 2026-12-31 }
  paid_through: null
  endpoints: [/ok]
  prohibited_recipients: [government]
  approved_organisations: [dept-of-examples]
  rate: { per_1000_records: 1, currency: USD }
`;
function agreements(): Agreement[] {
  const parsed = parseAgreementsFile(agreementsYaml, 'agreements.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.agreements;
}

/** Each line of a finding's evidence is the line of the uploaded object it names, byte for byte. */
function expectRealLines(lines: readonly EvidenceLine[], gens: ReadonlyMap<string, string>): void {
  for (const l of lines) {
    const text = TEXT[l.key]?.[l.line - 1] as string;
    expect(l.gen).toBe(gens.get(l.key));
    expect(l.sha256).toBe(sha(text));
    expect(l.request_id).toBe(JSON.parse(text).request_id);
  }
}

const rule = (fs: readonly Finding[], name: string) => fs.find((f) => f.rule === name);
const linesOf = (f: Finding | undefined) => (f?.evidence.lines ?? []).map((l) => [l.key, l.line]);

describe.each(BACKENDS)('request-level evidence on %s', (backend) => {
  let bed: TestBed;
  let seq = 0x7000;
  const gens = new Map<string, string>();
  beforeAll(async () => {
    bed = await startTestBed(backend, REGISTRY);
    for (const [key, lines] of Object.entries(TEXT)) {
      const etag = await bed.put(key, `${lines.join('\n')}\n`);
      gens.set(key, etag);
      const out = await ingestObject(bed.deps(), {
        bucket: bed.logBucket,
        key,
        etag,
        sequencer: (seq++).toString(16).toUpperCase(),
      });
      expect(out.outcome).toBe('ingested');
    }
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('counts duplicate request_ids exactly within an object (manifest) and across the objects of a day', async () => {
    const [a, b] = await bed.store.getManifests(['logs/ev/a.jsonl', 'logs/ev/b.jsonl']);
    expect(a?.requestIds).toEqual({ ids: 8, duplicates: 1 });
    expect(b?.requestIds).toEqual({ ids: 4, duplicates: 0 });
    const perSource = await bed.store.queryUsage({ from: DAY, to: DAY, perSource: true });
    expect(duplicateRequestIds(perSource, DAY, DAY)).toEqual({
      within_objects: 1,
      across_objects_estimate: 2,
      method: 'kmv-256',
    });
    const rollups = await new RollupStore(bed.doc, bed.usageTable, bed.store).window(DAY, DAY);
    expect(duplicateRequestIds(rollups.rows, DAY, DAY)).toEqual(duplicateRequestIds(perSource, DAY, DAY));
  });

  it('gives findings the real lines behind them, the same from per-object rows and from rollups, never an excused one', async () => {
    const perSource = await bed.store.queryUsage({ from: DAY, to: DAY, perSource: true });
    const rollups = await new RollupStore(bed.doc, bed.usageTable, bed.store).window(DAY, DAY);
    const input = { reportDate: DAY, agreements: agreements() };
    const fromParts = audit({ ...input, usage: perSource });
    const fromRollups = audit({ ...input, usage: rollups.rows });
    expect(fromRollups.map((f) => f.evidence.lines)).toEqual(fromParts.map((f) => f.evidence.lines));

    const [ka, kb] = ['logs/ev/a.jsonl', 'logs/ev/b.jsonl'];
    // Lines 5 and 8 of A are for the approved dept-of-examples: excused, never evidence.
    expect(linesOf(rule(fromParts, 'prohibited_recipient'))).toEqual([
      [ka, 6],
      [ka, 7],
    ]);
    expect(linesOf(rule(fromParts, 'unauthorized_endpoint'))).toEqual([
      [ka, 2],
      [kb, 2],
    ]);
    expect(linesOf(rule(fromParts, 'unknown_app'))).toEqual([[kb, 3]]);
    for (const f of fromParts) {
      if (['prohibited_recipient', 'unauthorized_endpoint', 'unknown_app'].includes(f.rule))
        expectRealLines(f.evidence.lines ?? [], gens);
      else expect(f.evidence).not.toHaveProperty('lines');
    }
  });

  it('keeps every item under 400 KB in UTF-8 bytes with long request_ids, many endpoints and organisations', async () => {
    const key = 'logs/ev/wide.jsonl';
    const rid = (i: number) => `${'é'.repeat(300)}-${i}`;
    const lines: string[] = [];
    // 300 endpoints × 5 lines, then 20+ organisations of the category, with 600-byte request_ids.
    for (let i = 0; i < 1500; i++)
      lines.push(line({ request_id: rid(i), endpoint: `/e/${'ü'.repeat(40)}/${i % 300}` }));
    for (let i = 0; i < 150; i++)
      lines.push(
        line({
          request_id: rid(10_000 + i),
          client_ip: '198.51.100.1',
          on_behalf_of: `org-${'ø'.repeat(60)}-${i % 30}`,
        }),
      );
    const etag = await bed.put(key, `${lines.join('\n')}\n`);
    const out = await ingestObject(bed.deps(), {
      bucket: bed.logBucket,
      key,
      etag,
      sequencer: (seq++).toString(16).toUpperCase(),
    });
    expect(out.outcome).toBe('ingested');
    const items = (await bed.scan('U#')).filter((i) => i.key === key);
    expect(items.length).toBeGreaterThan(1); // the evidence did not fit one item
    for (const i of items) expect(itemBytes(i)).toBeLessThanOrEqual(ITEM_BUDGET_BYTES);

    const row = (await bed.store.queryUsage({ from: DAY, to: DAY, perSource: true })).find(
      (r) => r.sources[0]?.key === key,
    );
    // Every endpoint keeps a line (the 300 and the organisations' one, the busiest); the 200 with
    // the fewest requests (then by name) up to 5.
    const counts = (o: Record<string, unknown[]>) => Object.values(o).map((l) => l.length);
    const perEndpoint = counts(row?.evidence?.endpoints ?? {});
    expect(perEndpoint).toHaveLength(301);
    expect(perEndpoint.filter((n) => n === 5)).toHaveLength(MAX_FULL_EVIDENCE_ENDPOINTS);
    expect(perEndpoint.filter((n) => n === 1)).toHaveLength(301 - MAX_FULL_EVIDENCE_ENDPOINTS);
    expect(row?.evidence?.lines[0]?.request_id).toBe(rid(0).slice(0, MAX_REQUEST_ID_CHARS));
    // '' is not among them (every government line declared one): every organisation keeps a line, 20 of them 5.
    const perOrg = counts(row?.evidence?.categories.government ?? {});
    expect(perOrg).toHaveLength(30);
    expect(perOrg.filter((n) => n === 5)).toHaveLength(MAX_FULL_EVIDENCE_ORGS);

    const rollups = new RollupStore(bed.doc, bed.usageTable, bed.store);
    const win = await rollups.window(DAY, DAY);
    // The rollup (with the earlier tests' objects) keeps a line for each of them too.
    expect(Object.keys(win.rows.find((r) => r.app === 'acme-app')?.evidence?.endpoints ?? {})).toEqual(
      expect.arrayContaining(Object.keys(row?.evidence?.endpoints ?? {})),
    );
    const parts = await bed.scan('RU#');
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(itemBytes(p)).toBeLessThanOrEqual(ITEM_BUDGET_BYTES);
    await bed.deleteManifest(key);
  });
});

describe('upload → nightly audit on the embedded stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditor-evidence-e2e-'));
  let stack: LocalStack;
  let reports: ReportStore;
  beforeAll(async () => {
    stack = await startLocalStack({ dataDir: dir, logLevel: 'SILENT' });
    const doc = documentClient(stack.dynamo);
    const control = new ControlStore(doc, stack.env.CONTROL_TABLE as string);
    reports = new ReportStore(new S3Objects(stack.s3), stack.reportsBucket);
    await control.putRegistry(REGISTRY);
    await control.putAgreements(agreements());
    for (const [key, lines] of Object.entries(TEXT))
      await stack.s3.send(
        new PutObjectCommand({ Bucket: stack.logBucket, Key: key, Body: `${lines.join('\n')}\n` }),
      );
    await stack.drain();
    expect(stack.takeErrors()).toEqual([]);
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the duplicates under data quality and the lines on the findings', async () => {
    await stack.invokeAudit({ source: 'usage-auditor.schedule', time: '2026-11-21T02:00:00Z' });
    const report = JSON.parse((await reports.readFile(DAY, 'report.json')) ?? '{}');
    expect(report.data_quality.duplicate_request_ids).toEqual({
      within_objects: 1,
      across_objects_estimate: 2,
      method: 'kmv-256',
    });
    const html = (await reports.readFile(DAY, 'report.html')) ?? '';
    expect(html).toContain('id="duplicate-request-ids"');
    const findings = ((await reports.readFile(DAY, 'findings.jsonl')) ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Finding);
    expect(report.findings).toEqual(findings);
    const prohibited = rule(findings, 'prohibited_recipient');
    expect(linesOf(prohibited)).toEqual([
      ['logs/ev/a.jsonl', 6],
      ['logs/ev/a.jsonl', 7],
    ]);
    for (const l of prohibited?.evidence.lines ?? []) {
      expect(Object.keys(l)).toEqual(['key', 'gen', 'line', 'request_id', 'sha256']);
      expect(l.sha256).toBe(sha(TEXT[l.key]?.[l.line - 1] as string));
    }
    expect(linesOf(rule(findings, 'unknown_app'))).toEqual([['logs/ev/b.jsonl', 3]]);
    expect(rule(findings, 'unpaid_usage')?.evidence).not.toHaveProperty('lines');
  });
});
