/**
 * The scheduled reconcile Lambda handler (daily): lists the log objects last modified in the last
 * `windowDays` days (or `{ "from": ISO, "to": ISO }` when invoked with them) and ingests, in this
 * process, every one that has no manifest or an older one (functions/ingest/reconcile.ts).
 *
 * Metrics (namespace POWERTOOLS_METRICS_NAMESPACE, default UsageAuditor; service "reconcile"):
 * ObjectsReconciled (objects found missing or stale: each is an event S3 did not deliver or the
 * ingest function lost), ObjectsReconcileDeferred (found but left for the next run: no time left;
 * plus 1 when the listing of `logs/` itself ran out of time, since what it did not reach is left
 * too), ReconcileListingIncomplete (1 when the listing stopped short, else 0), ReconcileFailures
 * (an object whose ingestion threw; the run goes on with the others, then fails).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { boundReason } from '../core/ledger.ts';
import { DEFAULT_DEADLINE_MARGIN_MS, WRITE_MARGIN_MS } from './create-handler.ts';
import { type IngestDeps, type IngestResult, ingestObject, OutOfTimeError } from './ingest-object.ts';
import type { ListingCursor, ManifestReader, ObjectLister } from './ports.ts';
import { defaultWindow, type ReconcileReport, reconcile } from './reconcile.ts';

export interface ReconcileHandlerDeps extends IngestDeps {
  lister: ObjectLister;
  manifests: ManifestReader;
  logBucket: string;
  windowDays: number;
  logger: Logger;
  metrics: Metrics;
  /** Stop starting objects with less than this left of the invocation (default 120 s). */
  minRemainingMs?: number;
  /**
   * The read budget the ingest function gives an object (its timeout minus its deadline margin;
   * default DEFAULT_INGEST_READ_BUDGET_MS, env INGEST_READ_BUDGET_MS). An object whose read passes
   * the deadline is quarantined as too large only if it had at least this long; else it is left
   * for the next run (deferred), since the ingest function itself might have finished it.
   */
  ingestReadBudgetMs?: number;
  /**
   * Where the last scheduled run's listing stopped short: a scheduled run (no explicit window)
   * resumes after it and saves where it stops, so keys late in key order are reached across runs.
   */
  cursor?: ListingCursor;
}

/** The ingest function's default timeout (300 s) minus its deadline margin (30 s). */
export const DEFAULT_INGEST_READ_BUDGET_MS = 300_000 - DEFAULT_DEADLINE_MARGIN_MS;

export class ReconcileFailedError extends Error {
  override name = 'ReconcileFailedError';
}

function isExplicit(event: unknown): boolean {
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  return typeof e.from === 'string' && typeof e.to === 'string';
}

function windowOf(event: unknown, now: Date, days: number): { from: Date; to: Date } {
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  if (isExplicit(event) && typeof e.from === 'string' && typeof e.to === 'string') {
    const from = new Date(e.from);
    const to = new Date(e.to);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to)
      throw new ReconcileFailedError(`invalid window ${JSON.stringify([e.from, e.to])}`);
    return { from, to };
  }
  // The scheduled run looks at objects at least an hour old: a newer one may simply still be in
  // the ingest queue, and counting it as "lost" would raise a false alarm. The next run covers it.
  return defaultWindow(new Date(now.getTime() - SCHEDULED_GRACE_MS), days);
}

/** How old an object must be before the scheduled reconcile calls it lost (the queue-age alarm's hour). */
export const SCHEDULED_GRACE_MS = 3_600_000;

export function createReconcileHandler(deps: ReconcileHandlerDeps) {
  const { logger, metrics } = deps;
  const minRemainingMs = deps.minRemainingMs ?? 120_000;
  const ingestReadBudgetMs = deps.ingestReadBudgetMs ?? DEFAULT_INGEST_READ_BUDGET_MS;

  async function handle(event: unknown, context: Context): Promise<ReconcileReport> {
    const window = windowOf(event, deps.now(), deps.windowDays);
    const failures: { key: string; message: string }[] = [];
    let started = 0;
    let outOfTime = 0;
    const report = await reconcile(
      {
        lister: deps.lister,
        manifests: deps.manifests,
        objects: deps.objects,
        hasTime: () => outOfTime === 0 && context.getRemainingTimeInMillis() >= minRemainingMs,
        ...(deps.cursor && !isExplicit(event) ? { cursor: deps.cursor } : {}),
        ingest: async (req): Promise<IngestResult | undefined> => {
          // Read under the invocation's deadline: only the first object, which had the whole
          // invocation, and only when that was at least the ingest function's own read budget, is
          // quarantined as too large; any other is left for the next run.
          const now = Date.now();
          const end = now + context.getRemainingTimeInMillis();
          const deadline = end - DEFAULT_DEADLINE_MARGIN_MS;
          const writeDeadline = Math.max(deadline, end - WRITE_MARGIN_MS);
          const fullBudget = started++ === 0 && deadline - now >= ingestReadBudgetMs;
          try {
            return await ingestObject(deps, req, { deadline, writeDeadline, abandonAtDeadline: !fullBudget });
          } catch (err) {
            if (err instanceof OutOfTimeError) {
              // Given up (nothing written): deferred to the next run, like the objects after it.
              outOfTime++;
              return undefined;
            }
            const message = boundReason(err instanceof Error ? err.message : String(err));
            failures.push({ key: req.key, message });
            logger.error('object failed', { key: req.key, error: message });
            return { outcome: 'missing', key: req.key, reason: `failed: ${message}` };
          }
        },
      },
      { bucket: deps.logBucket, ...window },
    );
    metrics.addMetric('ObjectsReconciled', MetricUnit.Count, report.found.length);
    const listingShort = report.partial ? 1 : 0;
    metrics.addMetric('ObjectsReconcileDeferred', MetricUnit.Count, report.deferred + listingShort);
    metrics.addMetric('ReconcileListingIncomplete', MetricUnit.Count, listingShort);
    metrics.addMetric('ReconcileFailures', MetricUnit.Count, failures.length);
    logger.info('reconcile done', {
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      listed: report.listed,
      found: report.found.map((f) => ({ key: f.key, why: f.why, outcome: f.result?.outcome ?? 'deferred' })),
      deferred: report.deferred,
      ...(report.partial ? { listingStoppedAfter: report.partial } : {}),
      ...(report.resumedAfter !== undefined ? { resumedAfter: report.resumedAfter } : {}),
    });
    if (report.partial) {
      logger.warn('reconcile listing stopped for lack of time', {
        listedThrough: report.partial.listedThrough,
        scanned: report.partial.scanned,
      });
    }
    if (failures.length > 0) {
      throw new ReconcileFailedError(
        `${failures.length} object(s) failed: ${failures
          .slice(0, 5)
          .map((f) => `${f.key}: ${f.message}`)
          .join('; ')}`,
      );
    }
    return report;
  }

  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
