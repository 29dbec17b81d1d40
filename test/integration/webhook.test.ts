/**
 * The webhook target against a real HTTP server (node:http, in this process, on 127.0.0.1): the
 * signature verifies over timestamp + body, 5xx and dropped connections are retried with growing
 * waits, 4xx is not, and it gives up after N tries. Also the configuration that turns it on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
  WebhookTarget,
  webhookUrlProblem,
} from '../../functions/adapters/webhook.ts';
import { diffFindings, eventOf, type FindingEvent } from '../../functions/core/audit/events.ts';
import { loadEventsConfig } from '../../functions/shared/events-config.ts';

const SECRET = 'shh-0123456789';
const NOW = new Date('2026-11-28T02:00:00Z');

function event(id: string): FindingEvent {
  const [c] = diffFindings(
    [],
    [
      {
        report_date: '2026-11-27',
        finding_id: id,
        licensee: 'northwind',
        rule: 'unpaid_usage',
        severity: 'high',
        metric: 'records',
        subject: null,
        period_start: '2026-11-16',
        period_end: '2026-11-27',
        observed: 2000,
        limit: null,
        excess: null,
        amount_owed: 1.5,
        currency: 'USD',
        apps: [],
        detail: 'unpaid — «ünïcödé»',
        evidence: { sources: [], source_count: 0, truncated: false },
      },
    ],
  );
  if (!c) throw new Error('no change');
  return eventOf(c, '2026-11-27', NOW.toISOString());
}

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** The server answers each request with the next of `script` (a status, or 'drop' to cut the connection). */
let script: (number | 'drop')[] = [];
const received: Received[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = script.shift() ?? 204;
      if (next === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(next).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/auditor`;
});

afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

function target(maxAttempts = 4) {
  const waits: number[] = [];
  const t = new WebhookTarget({
    url,
    secret: SECRET,
    maxAttempts,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.999999,
    now: () => NOW,
  });
  return { t, waits };
}

describe('webhook target (real HTTP server)', () => {
  it('POSTs the event JSON with a signature that verifies over timestamp + body', async () => {
    script = [200];
    received.length = 0;
    const e = event('f-sig');
    const out = await target().t.deliver([e]);
    expect(out).toEqual({ delivered: new Set([e.id]), rejected: new Set(), errors: [] });
    expect(received).toHaveLength(1);
    const r = received[0] as Received;
    expect(JSON.parse(r.body)).toEqual(e);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers[EVENT_ID_HEADER]).toBe('f-sig.v1');
    const ts = r.headers[TIMESTAMP_HEADER] as string;
    expect(ts).toBe(String(NOW.getTime() / 1000));
    const sig = r.headers[SIGNATURE_HEADER] as string;
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    // A receiver's check, as the README describes it.
    expect(verifyWebhook(SECRET, { timestamp: ts, signature: sig }, r.body, NOW)).toBe(true);
    expect(verifyWebhook('wrong', { timestamp: ts, signature: sig }, r.body, NOW)).toBe(false);
    expect(verifyWebhook(SECRET, { timestamp: ts, signature: sig }, `${r.body} `, NOW)).toBe(false);
    expect(verifyWebhook(SECRET, { timestamp: String(Number(ts) + 1), signature: sig }, r.body, NOW)).toBe(
      false,
    );
    // Older than the 5-minute tolerance: refused even with the right signature.
    expect(
      verifyWebhook(SECRET, { timestamp: ts, signature: sig }, r.body, new Date(NOW.getTime() + 301_000)),
    ).toBe(false);
    expect(sig).toBe(signWebhook(SECRET, ts, r.body));
  });

  it('retries 5xx and a dropped connection with exponential backoff, then succeeds', async () => {
    script = [503, 'drop', 500, 200];
    received.length = 0;
    const { t, waits } = target(5);
    const e = event('f-retry');
    const out = await t.deliver([e]);
    expect(out.delivered).toEqual(new Set([e.id]));
    expect(received).toHaveLength(4);
    // Each try carries the same body and a valid signature.
    for (const r of received) {
      expect(r.body).toBe(JSON.stringify(e));
      expect(
        verifyWebhook(
          SECRET,
          {
            timestamp: r.headers[TIMESTAMP_HEADER] as string,
            signature: r.headers[SIGNATURE_HEADER] as string,
          },
          r.body,
          NOW,
        ),
      ).toBe(true);
    }
    // Full jitter with random ≈ 1: just under 100, 200, 400 ms.
    expect(waits).toEqual([99, 199, 399]);
  });

  it('does not retry a 4xx', async () => {
    script = [400, 200];
    received.length = 0;
    const { t, waits } = target();
    const out = await t.deliver([event('f-4xx')]);
    // Refused for good: the flush marks it rejected for this target and never POSTs it again.
    expect(out).toEqual({
      delivered: new Set(),
      rejected: new Set(['f-4xx.v1']),
      errors: ['f-4xx.v1: HTTP 400 (not retried)'],
    });
    expect(received).toHaveLength(1);
    expect(waits).toEqual([]);
    script = [];
  });

  it('gives up after N tries, and leaves the events after it for the next run', async () => {
    script = [502, 502, 502, 200];
    received.length = 0;
    const { t, waits } = target(3);
    const out = await t.deliver([event('f-down'), event('f-next')]);
    expect(out.delivered).toEqual(new Set());
    expect(out.errors).toEqual([
      'f-down.v1: HTTP 502 (gave up after 3 attempts)',
      '1 more event(s) not tried',
    ]);
    expect(received).toHaveLength(3);
    expect(waits).toEqual([99, 199]);
    script = [];
  });
});

describe('webhook configuration', () => {
  it('https anywhere, http only to localhost', () => {
    expect(webhookUrlProblem('https://hooks.example.com/x')).toBeUndefined();
    expect(webhookUrlProblem('http://localhost:8080/x')).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1/x')).toBeUndefined();
    expect(webhookUrlProblem('http://[::1]:9/x')).toBeUndefined();
    expect(webhookUrlProblem('http://hooks.example.com/x')).toBe(
      'expected https:// (http:// only for localhost)',
    );
    expect(webhookUrlProblem('ftp://localhost/x')).toBe('expected https:// (http:// only for localhost)');
    expect(webhookUrlProblem('not a url')).toBe('not a URL');
  });

  it('the environment: URL with secret, attempts, threshold, bus and topic; bad values fail naming the variable', () => {
    expect(loadEventsConfig({})).toEqual({ thresholdPercent: 10 });
    expect(
      loadEventsConfig({
        AUDITOR_WEBHOOK_URL: 'https://hooks.example.com/x',
        AUDITOR_WEBHOOK_SECRET: 's',
        AUDITOR_WEBHOOK_ATTEMPTS: '3',
        FINDING_CHANGE_PERCENT: '25',
        FINDING_EVENT_BUS: 'bus',
        FINDING_DIGEST_TOPIC_ARN: 'arn:aws:sns:eu-west-1:1:t',
      }),
    ).toEqual({
      busName: 'bus',
      topicArn: 'arn:aws:sns:eu-west-1:1:t',
      thresholdPercent: 25,
      webhook: { url: 'https://hooks.example.com/x', secret: 's', maxAttempts: 3 },
    });
    expect(() => loadEventsConfig({ AUDITOR_WEBHOOK_URL: 'https://h.example/x' })).toThrow(
      'AUDITOR_WEBHOOK_SECRET: required with AUDITOR_WEBHOOK_URL',
    );
    expect(() =>
      loadEventsConfig({ AUDITOR_WEBHOOK_URL: 'http://h.example/x', AUDITOR_WEBHOOK_SECRET: 's' }),
    ).toThrow('AUDITOR_WEBHOOK_URL: expected https://');
    expect(() => loadEventsConfig({ FINDING_CHANGE_PERCENT: '-1' })).toThrow(
      'FINDING_CHANGE_PERCENT: expected a number from 0 to 1000, got "-1"',
    );
  });
});
