/**
 * CloudWatch alarms --> SNS topic (KMS-encrypted, SSL only) --> e-mail. Six alarms: either
 * dead-letter queue not empty, ingest or audit errors, the audit not invoked for a while, and an
 * ingest backlog.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARM_TOPIC } from '../../functions/shared/resources.ts';
import { type Check, ensureProps, integer, matching } from './checks.ts';
import { transparent } from './logical-ids.ts';

/** The rules for the alarm props, also applied to the context keys that feed them. */
export const ALARM_CHECKS = {
  email: matching(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an e-mail address'),
  auditMaxSilenceHours: integer(1, 168),
} satisfies Record<string, Check<never>>;

export interface AlarmsProps {
  readonly ingestFunction: lambda.IFunction;
  readonly ingestQueue: sqs.IQueue;
  readonly ingestDeadLetterQueue: sqs.IQueue;
  readonly auditFunction: lambda.IFunction;
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** Alarm when the audit function was not invoked for this many hours (1–168). */
  readonly auditMaxSilenceHours: number;
  /**
   * E-mail address subscribed to the topic.
   * @default no subscription
   */
  readonly email?: string;
}

export class Alarms extends Construct {
  /** Customer managed key of the topic (CloudWatch may use it to publish). */
  public readonly key: kms.Key;
  /** The topic every alarm notifies. */
  public readonly topic: sns.Topic;
  /** The alarms by id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    ensureProps('Alarms', props, ALARM_CHECKS);
    transparent(this);

    this.key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'usage-auditor: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch must be able to use the key to publish to the encrypted topic (an AWS managed
    // key could not grant it, which is why this is a customer managed key).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new sns.Topic(this, ALARM_TOPIC.id, {
      displayName: 'usage-auditor alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (props.email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }

    const action = new cwActions.SnsAction(this.topic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): void => {
      const a = new cloudwatch.Alarm(this, alarmId, alarmProps);
      a.addAlarmAction(action);
      alarms[alarmId] = a;
    };
    const fiveMinutes = Duration.minutes(5);
    const anyAbove = (metric: cloudwatch.IMetric, alarmDescription: string): cloudwatch.AlarmProps => ({
      alarmDescription,
      metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const deepest = { period: fiveMinutes, statistic: 'Maximum' };
    const errors = { period: fiveMinutes, statistic: 'Sum' };
    alarm(
      'IngestDeadLetterAlarm',
      anyAbove(
        props.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible(deepest),
        'S3 notifications of log objects that ingest failed on repeatedly sit in the ingest DLQ.',
      ),
    );
    alarm(
      'ScheduleDeadLetterAlarm',
      anyAbove(
        props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible(deepest),
        'Scheduled audit invocations that failed after all retries sit in the schedule DLQ.',
      ),
    );
    alarm(
      'IngestErrorsAlarm',
      anyAbove(
        props.ingestFunction.metricErrors(errors),
        'The ingest function failed (an invocation error, not a rejected line).',
      ),
    );
    alarm(
      'AuditErrorsAlarm',
      anyAbove(props.auditFunction.metricErrors(errors), 'The audit function failed.'),
    );
    // "Audit not run": hourly invocation counts; every one of the last N hours empty (or without
    // data at all) breaches. CloudWatch allows up to 7 days of evaluation for periods >= 1 hour.
    alarm('AuditNotRunAlarm', {
      alarmDescription: `The audit function has not been invoked for ${props.auditMaxSilenceHours} hours: the nightly schedule is not running.`,
      metric: props.auditFunction.metricInvocations({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: props.auditMaxSilenceHours,
      datapointsToAlarm: props.auditMaxSilenceHours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm('IngestBacklogAlarm', {
      alarmDescription:
        'Log notifications have waited in the ingest queue for over an hour: ingest is not keeping up.',
      metric: props.ingestQueue.metricApproximateAgeOfOldestMessage(deepest),
      threshold: 3600,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms = alarms;
  }
}
