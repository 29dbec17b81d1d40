/**
 * IngestPipeline (infra/constructs/ingest-pipeline.ts): S3 -> SQS -> ingest, and the ingest role.
 */
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { CONTROL_TABLE, USAGE_TABLE } from '../../functions/shared/resources.ts';
import { IngestPipeline, type IngestPipelineProps } from '../../infra/constructs/ingest-pipeline.ts';
import {
  FUNCTION_PROPS,
  fixture,
  getAtt,
  logicalId,
  mainIds,
  normalize,
  objectsUnder,
  ref,
  resourcesOfType,
  roleStatements,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);

describe('S3 -> SQS -> ingest', () => {
  it('ingest queue: visibility timeout 6x the function timeout, redrive to the DLQ after 5 receives', () => {
    const q = t.toJSON().Resources[id.ingestQueue as string].Properties;
    const timeout = t.toJSON().Resources[id.ingestFn as string].Properties.Timeout as number;
    expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(q.VisibilityTimeout).toBe(1800);
    expect(q.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(id.ingestDlq as string),
      maxReceiveCount: 5,
    });
  });

  it('every queue is encrypted and refuses non-TLS access', () => {
    const queues = resourcesOfType(t, 'AWS::SQS::Queue');
    // Ingest queue and DLQ, the two schedules' DLQs, the two on-failure queues.
    expect(Object.keys(queues)).toHaveLength(6);
    for (const [qid, q] of Object.entries(queues)) {
      expect((q.Properties as Json).SqsManagedSseEnabled, qid).toBe(true);
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(qid)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: getAtt(qid),
            }),
          ]),
        },
      });
    }
    for (const dlq of [
      id.ingestDlq,
      id.scheduleDlq,
      id.reconcileDlq,
      id.auditFailureQueue,
      id.reconcileFailureQueue,
    ]) {
      expect(t.toJSON().Resources[dlq as string].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });

  it('S3 sends ObjectCreated under logs/ (only) to the ingest queue, which admits only the log bucket', () => {
    t.resourceCountIs('Custom::S3BucketNotifications', 1);
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: ref(id.logBucket as string),
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'logs/' }] } },
            QueueArn: getAtt(id.ingestQueue as string),
          },
        ],
      },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(id.ingestQueue as string)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
            Condition: { ArnLike: { 'aws:SourceArn': getAtt(id.logBucket as string) } },
            Resource: getAtt(id.ingestQueue as string),
          },
        ]),
      },
    });
  });

  it('event source mapping: batch of 1 (no record is ever deferred, so none burns its receives), no window, ReportBatchItemFailures', () => {
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    const esm = Object.values(resourcesOfType(t, 'AWS::Lambda::EventSourceMapping'))[0] as Json;
    expect(esm.Properties).toEqual(
      expect.objectContaining({
        EventSourceArn: getAtt(id.ingestQueue as string),
        FunctionName: ref(id.ingestFn as string),
        BatchSize: 1,
        MaximumBatchingWindowInSeconds: 0,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      }),
    );
    expect(esm.Properties).not.toHaveProperty('ScalingConfig');
    const capped = synth({ context: { ingestMaxConcurrency: 20 } });
    capped.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });
});

describe('least privilege', () => {
  it('ingest role: exactly its statements, each scoped to its resource', () => {
    const got = roleStatements(t, id.ingestRole as string).map(normalize);
    const want = [
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [getAtt(id.ingestLogs as string)],
      },
      {
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [objectsUnder(id.logBucket as string, 'logs/*')],
      },
      { actions: ['s3:ListBucket'], resources: [getAtt(id.logBucket as string)] },
      {
        actions: ['s3:AbortMultipartUpload', 's3:PutObject'],
        resources: [objectsUnder(id.reportsBucket as string, 'data-quality/*')],
      },
      {
        actions: [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        resources: [getAtt(id.usageTable as string)],
      },
      { actions: ['dynamodb:GetItem'], resources: [getAtt(id.controlTable as string)] },
      {
        actions: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ],
        resources: [getAtt(id.ingestQueue as string)],
      },
    ].map((w) => ({ actions: w.actions, resources: w.resources.map((r) => JSON.stringify(r)).sort() }));
    expect(got).toHaveLength(want.length);
    expect(got).toEqual(expect.arrayContaining(want));
    for (const st of roleStatements(t, id.ingestRole as string)) expect(st.Effect).toBe('Allow');
  });

  it('the bucket-notification custom resource may only configure the log bucket', () => {
    const handlerRole = logicalId(t, 'AWS::IAM::Role', 'BucketNotificationsHandler');
    expect(roleStatements(t, handlerRole).map(normalize)).toEqual([
      { actions: ['s3:PutBucketNotification'], resources: [JSON.stringify(getAtt(id.logBucket as string))] },
    ]);
  });
});

describe('IngestPipeline props', () => {
  const build = (props: Partial<IngestPipelineProps> = {}): { stack: Stack; pipeline: IngestPipeline } => {
    const { stack, storage, ingestFunction } = fixture();
    const pipeline = new IngestPipeline(stack, 'Ingest', {
      logBucket: storage.logBucket,
      reportsBucket: storage.reportsBucket,
      usageTable: storage.table(USAGE_TABLE),
      controlTable: storage.table(CONTROL_TABLE),
      ingestFunction,
      batchSize: 10,
      maxBatchingWindowSeconds: 5,
      maxReceiveCount: 5,
      ...props,
    });
    return { stack, pipeline };
  };

  it('defaults: no concurrency cap, 4 days in the queue, 14 in the DLQ, visibility 6x the function timeout', () => {
    const { stack, pipeline } = build();
    const bare = Template.fromStack(stack);
    const props = (c: IConstruct): Json =>
      bare.toJSON().Resources[stack.getLogicalId(c.node.defaultChild as CfnElement)].Properties;
    expect(props(pipeline.queue)).toMatchObject({
      MessageRetentionPeriod: 4 * 24 * 3600,
      VisibilityTimeout: 6 * FUNCTION_PROPS.timeoutSeconds,
    });
    expect(props(pipeline.deadLetterQueue)).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(props(pipeline.eventSourceMapping)).not.toHaveProperty('ScalingConfig');
  });

  it.each([
    [{ batchSize: 0 }, /^IngestPipeline: batchSize: expected an integer from 1 to 10000/],
    [{ batchSize: 10001, maxBatchingWindowSeconds: 5 }, /^IngestPipeline: batchSize: expected an integer/],
    [
      { maxBatchingWindowSeconds: 301 },
      /^IngestPipeline: maxBatchingWindowSeconds: expected an integer from 0 to 300/,
    ],
    [
      { batchSize: 100, maxBatchingWindowSeconds: 0 },
      /^IngestPipeline: maxBatchingWindowSeconds: a batch size above 10 needs a batching window/,
    ],
    [{ maxReceiveCount: 0 }, /^IngestPipeline: maxReceiveCount: expected an integer from 1 to 1000/],
    [{ maxConcurrency: 1 }, /^IngestPipeline: maxConcurrency: expected an integer from 2 to 1000/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
