/**
 * S3 log bucket (logs/…) --ObjectCreated--> SQS queue (+ dead-letter queue) --> ingest function,
 * and what the ingest function may touch: it reads logs/, writes rejects and quarantine records
 * under data-quality/, owns the usage aggregates and reads the recipients registry from the
 * control table.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DATA_QUALITY_PREFIX, LOG_PREFIX } from '../../functions/shared/resources.ts';
import { type Check, ensureProps, integer } from './checks.ts';
import { type LambdaFunction, objectsUnder } from './lambda-function.ts';
import { flatNodeUniqueId, transparent } from './logical-ids.ts';

/** The rules for the queue and event source props, also applied to the context keys that feed them. */
export const INGEST_CHECKS = {
  batchSize: integer(1, 10000),
  maxBatchingWindowSeconds: integer(0, 300),
  maxReceiveCount: integer(1, 1000),
  maxConcurrency: integer(2, 1000),
} satisfies Record<string, Check<number>>;

/** Lambda's rule: a batch size above 10 needs a batching window of at least 1 s. */
export const batchingWindowProblem = (batchSize: number, windowSeconds: number): string | undefined =>
  batchSize > 10 && windowSeconds < 1
    ? 'a batch size above 10 needs a batching window of at least 1 s'
    : undefined;

/** What ingesting a log object touches: the log bucket, the data-quality records, both tables. */
export interface IngestData {
  /** Log objects are read under logs/. */
  readonly logBucket: s3.IBucket;
  /** Rejects and quarantine records are written under data-quality/. */
  readonly reportsBucket: s3.IBucket;
  /** Usage aggregates and object manifests. */
  readonly usageTable: dynamodb.ITable;
  /** The recipients registry (read only). */
  readonly controlTable: dynamodb.ITable;
}

/**
 * The grants of everything that ingests log objects in process (the ingest function, and the
 * reconcile function, which runs the same use case): one scoped statement each.
 */
export function allowIngestData(fn: LambdaFunction, data: IngestData): void {
  fn.allow(
    'ReadLogObjects',
    ['s3:GetObject', 's3:GetObjectVersion'],
    objectsUnder(data.logBucket, LOG_PREFIX),
  );
  // Without ListBucket, S3 answers 403 instead of 404 for a log deleted before it is read, and
  // the message would be retried into the dead-letter queue instead of being skipped as missing.
  // Unconditional on purpose (the 404 does not come from a listing under a prefix); reconcile's
  // listing of logs/ is covered by it too.
  fn.allow('TellMissingLogObjects', ['s3:ListBucket'], data.logBucket);
  // Large rejects files are streamed as multipart uploads; a failed one is aborted (PutObject
  // covers creating, uploading parts and completing).
  fn.allow(
    'WriteDataQualityRecords',
    ['s3:PutObject', 's3:AbortMultipartUpload'],
    objectsUnder(data.reportsBucket, DATA_QUALITY_PREFIX),
  );
  fn.allow(
    'UsageAggregates',
    [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:BatchGetItem',
    ],
    data.usageTable,
  );
  fn.allow('ReadRecipientsRegistry', ['dynamodb:GetItem'], data.controlTable);
}

export interface IngestPipelineProps extends IngestData {
  /** The bucket whose new objects under logs/ are ingested. */
  readonly logBucket: s3.Bucket;
  /** The ingest function; the queue's visibility timeout is 6× its timeout. */
  readonly ingestFunction: LambdaFunction;
  /** SQS messages per invocation (1–10000; above 10 needs a batching window). */
  readonly batchSize: number;
  /** How long Lambda gathers a batch, seconds (0–300). */
  readonly maxBatchingWindowSeconds: number;
  /** Deliveries of one S3 notification before it goes to the dead-letter queue (1–1000). */
  readonly maxReceiveCount: number;
  /**
   * Cap on concurrent invocations from the queue (2–1000).
   * @default no cap
   */
  readonly maxConcurrency?: number;
  /**
   * How long an unprocessed notification stays in the queue.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * How long a failed notification stays in the dead-letter queue.
   * @default Duration.days(14)
   */
  readonly deadLetterRetentionPeriod?: Duration;
}

export class IngestPipeline extends Construct {
  /** Receives the S3 notifications; the ingest function's event source. */
  public readonly queue: sqs.Queue;
  /** Notifications that failed `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The queue -> function mapping (ReportBatchItemFailures). */
  public readonly eventSourceMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    ensureProps('IngestPipeline', props, {
      ...INGEST_CHECKS,
      maxBatchingWindowSeconds: (v) =>
        INGEST_CHECKS.maxBatchingWindowSeconds(v) ?? batchingWindowProblem(props.batchSize, v),
    });
    transparent(this);
    const fn = props.ingestFunction;

    const queueBase = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    } satisfies sqs.QueueProps;
    this.deadLetterQueue = new sqs.Queue(this, 'IngestDeadLetterQueue', {
      ...queueBase,
      retentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'IngestQueue', {
      ...queueBase,
      // Lambda's guidance for SQS event sources: at least 6x the function timeout, so that a
      // message is not redelivered while a (retried) batch is still running.
      // (Lambda's default timeout is 3 s.)
      visibilityTimeout: Duration.seconds((fn.lambdaFunction.timeout?.toSeconds() ?? 3) * 6),
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    props.logBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
      prefix: LOG_PREFIX,
    });
    this.acknowledgeNotificationsHandler();

    allowIngestData(fn, props);

    // What SqsEventSource does, under the id it gave the mapping before this construct existed
    // (it names the mapping after the queue's unique id, which now includes this construct).
    this.eventSourceMapping = fn.lambdaFunction.addEventSourceMapping(
      `SqsEventSource:${flatNodeUniqueId(this.queue)}`,
      {
        eventSourceArn: this.queue.queueArn,
        batchSize: props.batchSize,
        maxBatchingWindow: Duration.seconds(props.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
        ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      },
    );
    this.queue.grantConsumeMessages(fn.lambdaFunction);
  }

  /**
   * S3 bucket notifications are configured by CDK's own singleton custom resource
   * (BucketNotificationsHandler…). Its code and role are CDK's, not ours.
   */
  private acknowledgeNotificationsHandler(): void {
    const stack = Stack.of(this);
    const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (!handler) throw new Error('IngestPipeline: BucketNotificationsHandler not found');
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's BucketNotificationsHandler custom resource (configures the logs/ -> SQS notification) comes with this role; it runs only during deployment.",
    });
  }
}
