/**
 * The ingest Lambda handler, built from its dependencies (so tests and the local stack can wire
 * their own). Direct S3 notifications and EventBridge events are processed in order and any
 * failure fails the invocation (Lambda retries it); SQS batches report partial failures so only
 * the failed messages come back.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { isSqsEvent, requestsFromEvent, requestsFromSqsBody } from './events.ts';
import { type IngestDeps, type IngestRequest, type IngestResult, ingestObject } from './ingest-object.ts';

export interface IngestHandlerDeps extends IngestDeps {
  logger: Logger;
  metrics: Metrics;
}

export type IngestResponse = SQSBatchResponse | { results: IngestResult[] };

export function createIngestHandler(deps: IngestHandlerDeps) {
  const { logger, metrics } = deps;
  const processor = new BatchProcessor(EventType.SQS);

  async function run(req: IngestRequest): Promise<IngestResult> {
    const result = await ingestObject(deps, req);
    logger.info('object processed', { ...result });
    metrics.addMetric(`Objects_${result.outcome}`, MetricUnit.Count, 1);
    if (result.counted) metrics.addMetric('LinesCounted', MetricUnit.Count, result.counted);
    if (result.rejected) metrics.addMetric('LinesRejected', MetricUnit.Count, result.rejected);
    if (result.outcome === 'quarantined')
      logger.warn('object quarantined', { key: result.key, reason: result.reason });
    return result;
  }

  async function handle(event: unknown, context: Context): Promise<IngestResponse> {
    metrics.addMetric('Invocations', MetricUnit.Count, 1);
    if (isSqsEvent(event)) {
      const recordHandler = async (record: SQSRecord) => {
        for (const req of requestsFromSqsBody(record.body)) await run(req);
      };
      return processPartialResponse(event as never, recordHandler, processor, { context });
    }
    const results: IngestResult[] = [];
    for (const req of requestsFromEvent(event)) results.push(await run(req));
    return { results };
  }

  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
