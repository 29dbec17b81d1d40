/**
 * Finding events to a webhook: one HTTPS POST per event (http only to localhost), the body the
 * event's JSON, signed with HMAC-SHA256.
 *
 * Headers:
 *   Content-Type: application/json
 *   X-Auditor-Event-Id: <event id>            (the same as the body's detail.event_id; de-duplicate on it)
 *   X-Auditor-Timestamp: <unix seconds>       (when this attempt was signed)
 *   X-Auditor-Signature: sha256=<hex>         HMAC-SHA256 with the shared secret over
 *                                             `<timestamp>.<raw body bytes>`
 * A receiver recomputes the HMAC over the timestamp header, a ".", and the raw body as received,
 * compares it in constant time, and refuses a timestamp more than 5 minutes from its clock.
 *
 * Retries: a network error, a timeout, 5xx, 408 or 429 is tried again after base × 2^(n−1)
 * (capped, with full jitter), up to `maxAttempts` tries in all; any other 4xx is not retried.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EventTarget } from '../audit/ports.ts';
import type { FindingEvent } from '../core/audit/events.ts';
import { backoff, DEFAULT_RETRY, type RetryPolicy } from './dynamo-batch.ts';

export const SIGNATURE_HEADER = 'x-auditor-signature';
export const TIMESTAMP_HEADER = 'x-auditor-timestamp';
export const EVENT_ID_HEADER = 'x-auditor-event-id';

export interface WebhookOptions {
  url: string;
  secret: string;
  /** Tries in all per event (default 5). */
  maxAttempts?: number;
  /** First wait between tries (default 500 ms), doubled each time up to maxDelayMs (default 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
}

/** Why a URL may not be a webhook target, or undefined when it may: https, or http to localhost. */
export function webhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return undefined;
  return 'expected https:// (http:// only for localhost)';
}

/** The signature header's value for this timestamp and body. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A receiver's check: the signature matches and the timestamp is within `toleranceSeconds` of now. */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  now: Date = new Date(),
  toleranceSeconds = 300,
): boolean {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const want = Buffer.from(signWebhook(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

const retryable = (status: number): boolean => status >= 500 || status === 408 || status === 429;

export class WebhookTarget implements EventTarget {
  readonly name = 'webhook';
  private readonly policy: RetryPolicy;

  constructor(private readonly opts: WebhookOptions) {
    const problem = webhookUrlProblem(opts.url);
    if (problem) throw new Error(`webhook URL ${opts.url}: ${problem}`);
    if (!opts.secret) throw new Error('webhook: a secret is required');
    this.policy = {
      maxAttempts: opts.maxAttempts ?? 5,
      baseDelayMs: opts.baseDelayMs ?? 500,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
      sleep: opts.sleep ?? DEFAULT_RETRY.sleep,
      random: opts.random ?? DEFAULT_RETRY.random,
    };
  }

  /** One POST; answers the status, or throws on a network error or timeout. */
  private async post(event: FindingEvent, body: string): Promise<number> {
    const timestamp = String(Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000));
    const res = await fetch(this.opts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'usage-auditor',
        [EVENT_ID_HEADER]: event.id,
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signWebhook(this.opts.secret, timestamp, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  }

  /** Delivers one event; answers undefined when delivered, else why not. */
  async send(event: FindingEvent): Promise<string | undefined> {
    const body = JSON.stringify(event);
    let why = '';
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (attempt > 1) await this.policy.sleep(backoff(this.policy, attempt - 2));
      try {
        const status = await this.post(event, body);
        if (status >= 200 && status < 300) return undefined;
        why = `HTTP ${status}`;
        if (!retryable(status)) return `${why} (not retried)`;
      } catch (err) {
        why = `${(err as Error).name}: ${(err as Error).message}`;
      }
    }
    return `${why} (gave up after ${this.policy.maxAttempts} attempts)`;
  }

  async deliver(
    events: readonly FindingEvent[],
  ): Promise<{ delivered: Set<string>; rejected: Set<string>; errors: string[] }> {
    const delivered = new Set<string>();
    const rejected = new Set<string>();
    const errors: string[] = [];
    for (const [i, e] of events.entries()) {
      const problem = await this.send(e);
      if (problem === undefined) delivered.add(e.id);
      else errors.push(`${e.id}: ${problem}`);
      // A 4xx other than 408/429 is the receiver refusing this event: final, not POSTed again.
      if (problem?.endsWith('(not retried)')) rejected.add(e.id);
      // After retries ran out the webhook is down: the rest wait for the next run.
      if (problem?.includes('gave up')) {
        if (i + 1 < events.length) errors.push(`${events.length - i - 1} more event(s) not tried`);
        break;
      }
    }
    return { delivered, rejected, errors };
  }
}
