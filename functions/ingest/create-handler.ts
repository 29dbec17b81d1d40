/**
 * The ingest Lambda handler, built from its dependencies (so tests and the local stack can wire
 * their own). Direct S3 notifications and EventBridge events are processed in order and any
 * failure fails the invocation (Lambda retries it); SQS batches report partial failures so only
 * the failed messages come back.
 *
 * SQS records are processed one at a time (a batch of large drops in parallel would not fit in
 * the function's memory), and a record is started only while the invocation has at least
 * `minRemainingMs` left: the records not started are returned as batch item failures (SQS
 * delivers them again) and counted as RecordsDeferred, not as failures.
 *
 * Each object must be read by the invocation's end minus `deadlineMarginMs` (default 30 s, to
 * write what was read), and its rejects file and contributions written by the end minus
 * WRITE_MARGIN_MS (8 s, to commit): an object that cannot be is quarantined as too large to finish
 * within the function's time (split it or raise the timeout, then reprocess it), never retried in
 * vain. The stack hands over one SQS record per invocation, so no record is ever deferred (a
 * deferred record's receive would count towards the queue's maxReceiveCount).
 *
 * Metrics (namespace POWERTOOLS_METRICS_NAMESPACE, default UsageAuditor; service "ingest"):
 * Invocations, Objects_<outcome> (ingested, empty, quarantined, duplicate, superseded, missing,
 * skipped), LinesCounted, LinesRejected, RejectedLinePercent (per object with lines),
 * RecordFailures (an SQS record or a direct event whose processing threw), RecordsDeferred.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { boundReason } from '../core/ledger.ts';
import { isSqsEvent, requestsFromEvent, requestsFromSqsBody } from './events.ts';
import {
  type IngestDeps,
  type IngestRequest,
  type IngestResult,
  ingestObject,
  OutOfTimeError,
} from './ingest-object.ts';

export interface IngestHandlerDeps extends IngestDeps {
  logger: Logger;
  metrics: Metrics;
  /** Do not start an SQS record with less than this left of the invocation (default 60 s). */
  minRemainingMs?: number;
  /** The time kept, after reading an object, to record it (default 30 s, env DEADLINE_MARGIN_MS). */
  deadlineMarginMs?: number;
}

export type IngestResponse = SQSBatchResponse | { results: IngestResult[] };

/** Default of IngestHandlerDeps.minRemainingMs (env MIN_REMAINING_MS). */
export const DEFAULT_MIN_REMAINING_MS = 60_000;

/** Default of IngestHandlerDeps.deadlineMarginMs. */
export const DEFAULT_DEADLINE_MARGIN_MS = 30_000;

/**
 * The time kept, after writing an object's rejects file and contributions, to commit it or record
 * its quarantine: the write phase must be done by the invocation's end minus this.
 */
export const WRITE_MARGIN_MS = 8_000;

/** A record left for SQS to deliver again: it was not attempted. */
export class NotAttemptedError extends Error {
  override name = 'NotAttemptedError';
}

export function createIngestHandler(deps: IngestHandlerDeps) {
  const { logger, metrics } = deps;
  const minRemainingMs = deps.minRemainingMs ?? DEFAULT_MIN_REMAINING_MS;
  const deadlineMarginMs = deps.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS;
  const processor = new BatchProcessor(EventType.SQS);

  /**
   * Only an object that had the invocation's whole time is quarantined as too large when its read
   * passes the deadline; a later one in the same invocation is given up and left for redelivery.
   */
  async function run(req: IngestRequest, context: Context, fullBudget: boolean): Promise<IngestResult> {
    let result: IngestResult;
    try {
      const end = Date.now() + context.getRemainingTimeInMillis();
      const deadline = end - deadlineMarginMs;
      const writeDeadline = Math.max(deadline, end - WRITE_MARGIN_MS);
      result = await ingestObject(deps, req, { deadline, writeDeadline, abandonAtDeadline: !fullBudget });
    } catch (err) {
      if (err instanceof OutOfTimeError) throw err;
      logger.error('object failed', {
        key: req.key,
        bucket: req.bucket,
        ...(req.versionId ? { versionId: req.versionId } : {}),
        error: err instanceof Error ? { name: err.name, message: boundReason(err.message) } : String(err),
      });
      throw err;
    }
    logger.info('object processed', { ...result });
    metrics.addMetric(`Objects_${result.outcome}`, MetricUnit.Count, 1);
    if (result.counted) metrics.addMetric('LinesCounted', MetricUnit.Count, result.counted);
    if (result.rejected) metrics.addMetric('LinesRejected', MetricUnit.Count, result.rejected);
    if (result.lines && (result.outcome === 'ingested' || result.outcome === 'empty')) {
      metrics.addMetric(
        'RejectedLinePercent',
        MetricUnit.Percent,
        (100 * (result.rejected ?? 0)) / result.lines,
      );
    }
    if (result.outcome === 'quarantined')
      logger.warn('object quarantined', { key: result.key, reason: result.reason });
    if (result.overflow)
      logger.warn('distinct endpoints or organisations past their bound rolled into an overflow entry', {
        key: result.key,
        overflow: result.overflow,
      });
    return result;
  }

  /** One event's requests in order; a throw is one failed record. */
  async function runAll(
    requests: readonly IngestRequest[],
    context: Context,
    first: boolean,
  ): Promise<IngestResult[]> {
    const results: IngestResult[] = [];
    try {
      for (const req of requests) results.push(await run(req, context, first && results.length === 0));
    } catch (err) {
      if (!(err instanceof OutOfTimeError)) metrics.addMetric('RecordFailures', MetricUnit.Count, 1);
      throw err;
    }
    return results;
  }

  async function handle(event: unknown, context: Context): Promise<IngestResponse> {
    metrics.addMetric('Invocations', MetricUnit.Count, 1);
    if (isSqsEvent(event)) {
      let deferred = 0;
      let started = 0;
      const recordHandler = async (record: SQSRecord) => {
        if (context.getRemainingTimeInMillis() < minRemainingMs) {
          deferred++;
          throw new NotAttemptedError(`not started: less than ${minRemainingMs} ms left`);
        }
        let requests: IngestRequest[];
        try {
          requests = requestsFromSqsBody(record.body);
        } catch (err) {
          metrics.addMetric('RecordFailures', MetricUnit.Count, 1);
          logger.error('record failed', {
            messageId: record.messageId,
            error: err instanceof Error ? { name: err.name, message: boundReason(err.message) } : String(err),
          });
          throw err;
        }
        try {
          await runAll(requests, context, started++ === 0);
        } catch (err) {
          if (!(err instanceof OutOfTimeError)) throw err;
          deferred++;
          logger.warn('record given up: not enough of the invocation left', { messageId: record.messageId });
          throw new NotAttemptedError(err.message);
        }
      };
      try {
        return await processPartialResponse(event as never, recordHandler, processor, {
          context,
          processInParallel: false,
        });
      } finally {
        if (deferred > 0) {
          metrics.addMetric('RecordsDeferred', MetricUnit.Count, deferred);
          logger.warn('records left for redelivery (not enough time left)', { deferred });
        }
      }
    }
    let requests: IngestRequest[];
    try {
      requests = requestsFromEvent(event);
    } catch (err) {
      metrics.addMetric('RecordFailures', MetricUnit.Count, 1);
      throw err;
    }
    return { results: await runAll(requests, context, true) };
  }

  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
