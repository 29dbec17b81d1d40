/**
 * Alarms (infra/constructs/alarms.ts): the topic, its key and the seventeen alarms (sixteen without
 * the audit's state machine).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { observability } from '../../functions/shared/compose.ts';
import { Alarms, type AlarmsProps, METRIC_SERVICES } from '../../infra/constructs/alarms.ts';
import { fixture, getAtt, logicalId, mainIds, ref, resourcesOfType, synth } from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);

describe('alarms', () => {
  const alarms = (): Json[] =>
    Object.values(resourcesOfType(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as Json);

  it('every alarm notifies the alarm topic', () => {
    expect(alarms()).toHaveLength(17);
    for (const a of alarms()) expect(a.AlarmActions).toEqual([ref(id.topic as string)]);
  });

  it('depth > 0 on the three DLQs and the two on-failure queues (runs that failed after Lambda retried)', () => {
    for (const dlq of [
      id.ingestDlq,
      id.scheduleDlq,
      id.reconcileDlq,
      id.auditFailureQueue,
      id.reconcileFailureQueue,
    ]) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(dlq as string, 'QueueName') }],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('errors > 0 on the three functions', () => {
    for (const fn of [id.ingestFn, id.auditFn, id.reconcileFn]) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: ref(fn as string) }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Period: 300,
      });
    }
  });

  it('audit runs stopped: an execution of the audit state machine timed out or was aborted', () => {
    const sm = logicalId(t, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
    const metric = (metricName: string) => ({
      MetricStat: {
        Metric: {
          Namespace: 'AWS/States',
          MetricName: metricName,
          Dimensions: [{ Name: 'StateMachineArn', Value: ref(sm) }],
        },
        Period: 300,
        Stat: 'Sum',
      },
      ReturnData: false,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        {
          Expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
          Id: 'expr_1',
          Label: 'AuditRunsStopped',
        },
        { Id: 'failed', ...metric('ExecutionsFailed') },
        { Id: 'timedOut', ...metric('ExecutionsTimedOut') },
        { Id: 'aborted', ...metric('ExecutionsAborted') },
      ].map((m) => Match.objectLike(m)),
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(id.topic as string)],
    });
  });

  it('audit not run: fewer than 1 invocation in each of 26 hourly periods, missing data breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: ref(id.auditFn as string) }],
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it("the functions' own metrics: namespace metricsNamespace, dimension service as Powertools sets it", () => {
    const own = (service: string, metricName: string, more: Json): void => {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'UsageAuditor',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: service }],
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [ref(id.topic as string)],
        ...more,
      });
    };
    const anyInThe = (period: number): Json => ({
      Statistic: 'Sum',
      Period: period,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    own('ingest', 'Objects_quarantined', anyInThe(3600));
    own('ingest', 'RecordFailures', anyInThe(300));
    own('reconcile', 'ObjectsReconciled', anyInThe(3600));
    own('reconcile', 'ReconcileFailures', anyInThe(3600));
    own('reconcile', 'ObjectsReconcileDeferred', anyInThe(3600));
    // The rejected-line rate is weighted by lines: rejected / (rejected + counted), hourly sums.
    const rate = (namespace: string, threshold: number): Json => ({
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * rejected / (rejected + counted)', ReturnData: true }),
        ...(['rejected', 'counted'] as const).map((id) =>
          Match.objectLike({
            Id: id,
            ReturnData: false,
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: namespace,
                MetricName: id === 'rejected' ? 'LinesRejected' : 'LinesCounted',
                Dimensions: [{ Name: 'service', Value: 'ingest' }],
              },
              Period: 3600,
              Stat: 'Sum',
            }),
          }),
        ),
      ]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', rate('UsageAuditor', 5));
    const v = synth({ context: { metricsNamespace: 'Acme/Usage', rejectedLinePercentThreshold: '20' } });
    v.template.hasResourceProperties('AWS::CloudWatch::Alarm', rate('Acme/Usage', 20));
    expect(() => synth({ context: { rejectedLinePercentThreshold: 100 } })).toThrow(
      /^context rejectedLinePercentThreshold: expected an integer from 0 to 99/,
    );
  });

  it('the service dimension is the one the deployed code puts on its metrics', () => {
    for (const service of Object.values(METRIC_SERVICES)) {
      const { metrics } = observability(service as Parameters<typeof observability>[0], {
        POWERTOOLS_METRICS_NAMESPACE: 'Probe',
      });
      metrics.addMetric('Probe', MetricUnit.Count, 1);
      const emf = metrics.serializeMetrics() as unknown as {
        _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> };
        service: string;
      };
      metrics.clearMetrics();
      expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Probe', Dimensions: [['service']] });
      expect(emf.service).toBe(service);
    }
  });

  it('ingest backlog: oldest message older than an hour', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(id.ingestQueue as string, 'QueueName') }],
      Threshold: 3600,
    });
  });

  it('topic: KMS-encrypted with a rotating customer key CloudWatch may use, SSL-only, CloudWatch may publish', () => {
    expect(t.toJSON().Resources[id.topic as string].Properties.KmsMasterKeyId).toEqual(
      getAtt(id.topicKey as string),
    );
    const key = t.toJSON().Resources[id.topicKey as string].Properties;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
        }),
      ]),
    );
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(id.topic as string)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: ref(id.topic as string),
          }),
        ]),
      },
    });
  });

  it('e-mail subscription only when alarmEmail is set', () => {
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    const v = synth({ context: { alarmEmail: 'ops@example.com' } });
    v.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: ref(id.topic as string),
    });
  });
});

describe('Alarms props', () => {
  const build = (props: Partial<AlarmsProps> = {}): { stack: Stack; alarms: Alarms } => {
    const { stack, ingestFunction, auditFunction, reconcileFunction } = fixture();
    const queue = (queueId: string): sqs.Queue => new sqs.Queue(stack, queueId, { enforceSSL: true });
    const alarms = new Alarms(stack, 'Alarms', {
      ingestFunction: ingestFunction.lambdaFunction,
      ingestQueue: queue('Q'),
      ingestDeadLetterQueue: queue('IngestDlq'),
      auditFunction: auditFunction.lambdaFunction,
      scheduleDeadLetterQueue: queue('ScheduleDlq'),
      auditFailureQueue: queue('AuditFailures'),
      reconcileFunction: reconcileFunction.lambdaFunction,
      reconcileScheduleDeadLetterQueue: queue('ReconcileDlq'),
      reconcileFailureQueue: queue('ReconcileFailures'),
      auditMaxSilenceHours: 48,
      metricsNamespace: 'Test',
      rejectedLinePercent: 0,
      ...props,
    });
    return { stack, alarms };
  };

  it('builds sixteen alarms on one topic; no e-mail subscription by default', () => {
    const { stack, alarms } = build();
    expect(Object.keys(alarms.alarms)).toHaveLength(16);
    const bare = Template.fromStack(stack);
    bare.resourceCountIs('AWS::SNS::Subscription', 0);
    bare.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      EvaluationPeriods: 48,
    });
    bare.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Id: 'rejected',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: 'Test', MetricName: 'LinesRejected' }),
          }),
        }),
      ]),
    });
  });

  it.each([
    [{ email: 'not-an-address' }, /^Alarms: email: expected an e-mail address/],
    [{ auditMaxSilenceHours: 0 }, /^Alarms: auditMaxSilenceHours: expected an integer from 1 to 168/],
    [{ auditMaxSilenceHours: 169 }, /^Alarms: auditMaxSilenceHours: expected an integer from 1 to 168/],
    [{ rejectedLinePercent: 100 }, /^Alarms: rejectedLinePercent: expected an integer from 0 to 99/],
    [{ metricsNamespace: '' }, /^Alarms: metricsNamespace: expected a CloudWatch namespace/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
