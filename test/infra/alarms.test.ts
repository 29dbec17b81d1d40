/**
 * Alarms (infra/constructs/alarms.ts): the topic, its key and the six alarms.
 */
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { Alarms, type AlarmsProps } from '../../infra/constructs/alarms.ts';
import { fixture, getAtt, mainIds, ref, resourcesOfType, synth } from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);

describe('alarms', () => {
  const alarms = (): Json[] =>
    Object.values(resourcesOfType(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as Json);

  it('every alarm notifies the alarm topic', () => {
    expect(alarms()).toHaveLength(6);
    for (const a of alarms()) expect(a.AlarmActions).toEqual([ref(id.topic as string)]);
  });

  it('dead-letter depth > 0 on both DLQs', () => {
    for (const dlq of [id.ingestDlq, id.scheduleDlq]) {
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

  it('errors > 0 on both functions', () => {
    for (const fn of [id.ingestFn, id.auditFn]) {
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
    const { stack, ingestFunction, auditFunction } = fixture();
    const queue = (queueId: string): sqs.Queue => new sqs.Queue(stack, queueId, { enforceSSL: true });
    const alarms = new Alarms(stack, 'Alarms', {
      ingestFunction: ingestFunction.lambdaFunction,
      ingestQueue: queue('Q'),
      ingestDeadLetterQueue: queue('IngestDlq'),
      auditFunction: auditFunction.lambdaFunction,
      scheduleDeadLetterQueue: queue('ScheduleDlq'),
      auditMaxSilenceHours: 48,
      ...props,
    });
    return { stack, alarms };
  };

  it('builds six alarms on one topic; no e-mail subscription by default', () => {
    const { stack, alarms } = build();
    expect(Object.keys(alarms.alarms)).toHaveLength(6);
    const bare = Template.fromStack(stack);
    bare.resourceCountIs('AWS::SNS::Subscription', 0);
    bare.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      EvaluationPeriods: 48,
    });
  });

  it.each([
    [{ email: 'not-an-address' }, /^Alarms: email: expected an e-mail address/],
    [{ auditMaxSilenceHours: 0 }, /^Alarms: auditMaxSilenceHours: expected an integer from 1 to 168/],
    [{ auditMaxSilenceHours: 169 }, /^Alarms: auditMaxSilenceHours: expected an integer from 1 to 168/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
