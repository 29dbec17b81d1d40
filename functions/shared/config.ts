/**
 * Configuration read once per process from the environment. A missing variable fails fast,
 * naming every variable that is missing.
 */

import { AUDIT_PART_OBJECTS } from '../core/audit-parts.ts';
import { DEFAULT_BOUNDS, DEFAULT_LIMITS, type ReaderLimits, type UsageBounds } from '../core/log-reader.ts';
import { DEFAULT_MAX_REJECTS_FILE_BYTES } from '../core/reader/limits.ts';
import {
  CONTROL_TABLE,
  LOG_BUCKET,
  RECONCILE_WINDOW_DAYS_DEFAULT,
  REPORTS_BUCKET,
  USAGE_TABLE,
} from './resources.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function required(env: Env, names: readonly string[]): Record<string, string> {
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new ConfigError(
      `missing environment variable${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
    );
  }
  return Object.fromEntries(names.map((n) => [n, env[n] as string]));
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ConfigError(`${name}: expected a positive integer, got "${raw}"`);
  return n;
}

export interface StoreConfig {
  usageTable: string;
  controlTable: string;
  reportsBucket: string;
}

export interface IngestConfig extends StoreConfig {
  limits: ReaderLimits;
  /** Distinct endpoints per app-day and organisations per category kept before an overflow entry. */
  bounds?: UsageBounds;
  /** Time kept after reading an object to record it (ms). */
  deadlineMarginMs?: number;
  /** Most bytes of one object's rejects file (the rest are counted, not listed). */
  maxRejectsFileBytes?: number;
  /** An SQS record is started only with at least this much of the invocation left (ms). */
  minRemainingMs?: number;
}

/** The scheduled reconcile function: the ingest configuration plus the log bucket it lists. */
export interface ReconcileConfig extends IngestConfig {
  logBucket: string;
  /** How many days back a scheduled run looks (by LastModified). */
  windowDays: number;
  /** The ingest function's read budget (its timeout minus its deadline margin), ms. */
  ingestReadBudgetMs?: number;
}

export function loadStoreConfig(env: Env = process.env): StoreConfig {
  const v = required(env, [USAGE_TABLE.env, CONTROL_TABLE.env, REPORTS_BUCKET.env]);
  return {
    usageTable: v[USAGE_TABLE.env] as string,
    controlTable: v[CONTROL_TABLE.env] as string,
    reportsBucket: v[REPORTS_BUCKET.env] as string,
  };
}

/** The size past which the audit splits a report date into parts (audit/parts.ts), from AUDIT_PART_OBJECTS. */
export function loadAuditPartObjects(env: Env = process.env): number {
  return positiveInt(env, 'AUDIT_PART_OBJECTS', AUDIT_PART_OBJECTS);
}

export function loadIngestConfig(env: Env = process.env): IngestConfig {
  return {
    ...loadStoreConfig(env),
    limits: {
      maxLineBytes: positiveInt(env, 'MAX_LINE_BYTES', DEFAULT_LIMITS.maxLineBytes),
      maxDecompressedBytes: positiveInt(env, 'MAX_DECOMPRESSED_BYTES', DEFAULT_LIMITS.maxDecompressedBytes),
      maxCompressionRatio: positiveInt(env, 'MAX_COMPRESSION_RATIO', DEFAULT_LIMITS.maxCompressionRatio),
      ratioCheckAfterBytes: positiveInt(env, 'RATIO_CHECK_AFTER_BYTES', DEFAULT_LIMITS.ratioCheckAfterBytes),
    },
    bounds: {
      maxEndpointsPerDay: positiveInt(env, 'MAX_ENDPOINTS_PER_DAY', DEFAULT_BOUNDS.maxEndpointsPerDay),
      maxOrganisationsPerCategory: positiveInt(
        env,
        'MAX_ORGANISATIONS_PER_CATEGORY',
        DEFAULT_BOUNDS.maxOrganisationsPerCategory,
      ),
      maxAppDaysPerObject: positiveInt(env, 'MAX_APP_DAYS_PER_OBJECT', DEFAULT_BOUNDS.maxAppDaysPerObject),
      maxEntriesPerObject: positiveInt(env, 'MAX_ENTRIES_PER_OBJECT', DEFAULT_BOUNDS.maxEntriesPerObject),
    },
    deadlineMarginMs: positiveInt(env, 'DEADLINE_MARGIN_MS', 30_000),
    maxRejectsFileBytes: positiveInt(env, 'MAX_REJECTS_FILE_BYTES', DEFAULT_MAX_REJECTS_FILE_BYTES),
    minRemainingMs: positiveInt(env, 'MIN_REMAINING_MS', 60_000),
  };
}

export function loadReconcileConfig(env: Env = process.env): ReconcileConfig {
  const ingest = loadIngestConfig(env);
  const v = required(env, [LOG_BUCKET.env]);
  return {
    ...ingest,
    logBucket: v[LOG_BUCKET.env] as string,
    windowDays: positiveInt(env, 'RECONCILE_WINDOW_DAYS', RECONCILE_WINDOW_DAYS_DEFAULT),
    ...(env.INGEST_READ_BUDGET_MS !== undefined
      ? { ingestReadBudgetMs: positiveInt(env, 'INGEST_READ_BUDGET_MS', 270_000) }
      : {}),
  };
}
