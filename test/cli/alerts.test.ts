import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../functions/adapters/webhook.ts';
import { runAuditor } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'auditor-alerts-'));
const SECRET = 'local-secret';

const auditor = (dataDir: string, args: string[], env: Record<string, string> = {}) =>
  runAuditor(dataDir, args, env);

const received: { headers: IncomingMessage['headers']; body: string }[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

/** Agreements and the sample logs of 2026-11-27 in a fresh data dir. */
async function seeded(name: string): Promise<string> {
  const dataDir = join(dir, name);
  const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/${f}`, import.meta.url));
  expect((await auditor(dataDir, ['agreements', 'load', fixture('agreements.yaml')])).code).toBe(0);
  expect((await auditor(dataDir, ['recipients', 'load', fixture('recipients.yaml')])).code).toBe(0);
  const logs = join(dir, `${name}-drops`, '2026-11-27');
  mkdirSync(logs, { recursive: true });
  copyFileSync(fixture('logs-sample.jsonl'), join(logs, 'a.jsonl'));
  expect((await auditor(dataDir, ['upload', join(dir, `${name}-drops`)])).code).toBe(0);
  return dataDir;
}

interface AlertsJson {
  date: string;
  events: {
    id: string;
    status: string;
    sent_to: string[];
    event: { 'detail-type': string; detail: { finding: { finding_id: string } } };
  }[];
  digests: { status: string; digest: { event_ids: string[] } }[];
}

describe('auditor alerts (child process, embedded stack)', () => {
  it('shows one Finding Opened per finding after the first audit, and nothing new after a re-run', async () => {
    const dataDir = await seeded('plain');
    expect((await auditor(dataDir, ['audit', '--date', '2026-11-27'])).code).toBe(0);
    const findings = JSON.parse((await auditor(dataDir, ['findings', '--json'])).stdout).findings as {
      finding_id: string;
      severity: string;
    }[];
    const first = JSON.parse((await auditor(dataDir, ['alerts', '--json'])).stdout) as AlertsJson;
    expect(first.date).toBe('2026-11-27');
    expect(first.events.map((e) => e.event.detail.finding.finding_id).sort()).toEqual(
      findings.map((f) => f.finding_id).sort(),
    );
    expect(new Set(first.events.map((e) => `${e.event['detail-type']} ${e.status}`))).toEqual(
      new Set(['Finding Opened sent']),
    );
    // Locally there is no bus: the control table is the record.
    expect(first.events.every((e) => e.sent_to.length === 0)).toBe(true);
    const serious = findings.filter((f) => f.severity === 'critical' || f.severity === 'high');
    expect(first.digests.map((d) => d.digest.event_ids.length)).toEqual([serious.length]);

    expect((await auditor(dataDir, ['audit', '--date', '2026-11-27'])).code).toBe(0);
    const second = JSON.parse((await auditor(dataDir, ['alerts', '--date', '2026-11-27', '--json'])).stdout);
    expect(second).toEqual(first);

    const table = await auditor(dataDir, ['alerts']);
    expect(table.stdout).toMatch(/Finding Opened\s*│\s*critical\s*│\s*prohibited_recipient/);
    expect(table.stdout).toMatch(
      /digest digest-2026-11-27-[0-9a-f]{16}: \d+ critical\/high event\(s\), sent/,
    );
  }, 300_000);

  it('with a webhook configured, POSTs each event signed, and alerts names the webhook', async () => {
    const dataDir = await seeded('hook');
    received.length = 0;
    const env = { AUDITOR_WEBHOOK_URL: url, AUDITOR_WEBHOOK_SECRET: SECRET };
    expect((await auditor(dataDir, ['audit', '--date', '2026-11-27'], env)).code).toBe(0);
    const alerts = JSON.parse((await auditor(dataDir, ['alerts', '--json'])).stdout) as AlertsJson;
    expect(alerts.events.length).toBeGreaterThan(0);
    expect(alerts.events.every((e) => e.status === 'sent' && e.sent_to.join() === 'webhook')).toBe(true);
    expect(received.map((r) => JSON.parse(r.body).id).sort()).toEqual(alerts.events.map((e) => e.id).sort());
    for (const r of received)
      expect(
        verifyWebhook(
          SECRET,
          {
            timestamp: r.headers[TIMESTAMP_HEADER] as string,
            signature: r.headers[SIGNATURE_HEADER] as string,
          },
          r.body,
        ),
      ).toBe(true);
    // A re-run posts nothing.
    expect((await auditor(dataDir, ['audit', '--date', '2026-11-27'], env)).code).toBe(0);
    expect(received).toHaveLength(alerts.events.length);
    // A webhook that is not https (and not localhost) is refused in one line.
    const bad = await auditor(dataDir, ['audit', '--date', '2026-11-27'], {
      AUDITOR_WEBHOOK_URL: 'http://hooks.example.com/x',
      AUDITOR_WEBHOOK_SECRET: SECRET,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'auditor: AUDITOR_WEBHOOK_URL: expected https:// (http:// only for localhost)',
    );
  }, 300_000);
});
