/**
 * EventBridge Scheduler (daily, before the nightly audit; + retries, + dead-letter queue) -->
 * reconcile function (+ Lambda's retries, + on-failure queue: see scheduled-invocation.ts).
 *
 * S3 event notifications can be lost; reconcile lists the log objects under logs/ last modified in
 * the last few days and ingests, in its own process, every one the usage table has not counted
 * (functions/ingest/reconcile.ts). It therefore needs exactly what ingesting needs
 * (ingest-pipeline.ts, allowIngestData), listing included, and nothing of the ingest queue.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ensureProps } from './checks.ts';
import { allowIngestData } from './ingest-pipeline.ts';
import type { LambdaFunction } from './lambda-function.ts';
import { transparent } from './logical-ids.ts';
import {
  SCHEDULE_CHECKS,
  ScheduledInvocation,
  type ScheduleSettings,
  scheduledEvent,
  scheduleSettingsOf,
} from './scheduled-invocation.ts';

export interface DailyReconcileProps extends ScheduleSettings {
  /** The reconcile function. */
  readonly reconcileFunction: LambdaFunction;
  /** The log bucket; reconcile lists and reads logs/. */
  readonly logBucket: s3.IBucket;
  /** Where rejects and quarantine records go (under data-quality/). */
  readonly reportsBucket: s3.IBucket;
  /** Usage aggregates and object manifests. */
  readonly usageTable: dynamodb.ITable;
  /** The recipients registry (read only). */
  readonly controlTable: dynamodb.ITable;
}

export class DailyReconcile extends Construct {
  /** The schedule; it invokes the reconcile function's unqualified ARN. */
  public readonly schedule: scheduler.Schedule;
  /** Scheduled invocations Scheduler could not deliver after its retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Reconcile runs that failed after Lambda's retries. */
  public readonly failureQueue: sqs.Queue;
  /** The schedule, its queues and the async invocation settings of the reconcile function. */
  public readonly invocation: ScheduledInvocation;

  constructor(scope: Construct, id: string, props: DailyReconcileProps) {
    super(scope, id);
    ensureProps('DailyReconcile', props, SCHEDULE_CHECKS);
    transparent(this);
    const fn = props.reconcileFunction;
    allowIngestData(fn, props);

    this.invocation = new ScheduledInvocation(this, 'Invocation', {
      fn,
      name: 'Reconcile',
      description:
        'usage-auditor: daily reconcile of logs/ against the usage table (ingests objects whose S3 event was lost)',
      ...scheduleSettingsOf(props),
      // The handler looks back RECONCILE_WINDOW_DAYS from the time it runs; it ignores the fields.
      input: scheduledEvent(),
    });
    this.schedule = this.invocation.schedule;
    this.deadLetterQueue = this.invocation.deadLetterQueue;
    this.failureQueue = this.invocation.failureQueue;
  }
}
