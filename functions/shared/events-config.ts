/**
 * Configuration of finding events, read from the environment (the audit function's, or the shell's
 * for the local stack):
 *
 *   FINDING_EVENT_BUS          EventBridge bus name (the stack sets it); absent: no bus
 *   FINDING_DIGEST_TOPIC_ARN   SNS topic of the digest (the stack sets it); absent: no digest
 *   FINDING_CHANGE_PERCENT     change threshold, percent of the published value (default 10, 0–1000)
 *   AUDITOR_WEBHOOK_URL        webhook target: https://…, or http:// to localhost; absent: none
 *   AUDITOR_WEBHOOK_SECRET     its HMAC-SHA256 secret (required with the URL)
 *   AUDITOR_WEBHOOK_ATTEMPTS   tries per event (default 5, 1–10)
 *
 * With none of the targets set (the local stack), events are recorded in the control table only,
 * where `auditor alerts` shows them.
 */

import { webhookUrlProblem } from '../adapters/webhook.ts';
import { DEFAULT_CHANGE_THRESHOLD_PERCENT } from '../core/audit/events.ts';
import { ConfigError } from './config.ts';
import { FINDING_EVENTS } from './resources.ts';

export interface EventsConfig {
  busName?: string;
  topicArn?: string;
  thresholdPercent: number;
  webhook?: { url: string; secret: string; maxAttempts: number };
}

type Env = Record<string, string | undefined>;

function bounded(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ConfigError(`${name}: expected a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export function loadEventsConfig(env: Env = process.env): EventsConfig {
  const url = env.AUDITOR_WEBHOOK_URL;
  let webhook: EventsConfig['webhook'];
  if (url) {
    const problem = webhookUrlProblem(url);
    if (problem) throw new ConfigError(`AUDITOR_WEBHOOK_URL: ${problem}`);
    const secret = env.AUDITOR_WEBHOOK_SECRET;
    if (!secret) throw new ConfigError('AUDITOR_WEBHOOK_SECRET: required with AUDITOR_WEBHOOK_URL');
    const maxAttempts = bounded(env, 'AUDITOR_WEBHOOK_ATTEMPTS', 5, 1, 10);
    if (!Number.isInteger(maxAttempts))
      throw new ConfigError(
        `AUDITOR_WEBHOOK_ATTEMPTS: expected an integer, got "${env.AUDITOR_WEBHOOK_ATTEMPTS}"`,
      );
    webhook = { url, secret, maxAttempts };
  }
  const busName = env[FINDING_EVENTS.busEnv];
  const topicArn = env[FINDING_EVENTS.topicEnv];
  return {
    ...(busName ? { busName } : {}),
    ...(topicArn ? { topicArn } : {}),
    thresholdPercent: bounded(env, FINDING_EVENTS.thresholdEnv, DEFAULT_CHANGE_THRESHOLD_PERCENT, 0, 1000),
    ...(webhook ? { webhook } : {}),
  };
}
