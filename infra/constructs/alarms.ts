/**
 * CloudWatch alarms --> SNS topic (KMS-encrypted, SSL only) --> e-mail. Sixteen alarms:
 *   - queues not empty: the ingest DLQ, both schedules' DLQs, the audit's and reconcile's
 *     on-failure queues (runs that failed after Lambda's retries, or the audit's state machine's);
 *   - audit runs (state machine executions) that timed out or were stopped;
 *   - function errors: ingest, audit, reconcile; the audit not invoked for a while; an ingest backlog;
 *   - the functions' own metrics (Powertools, namespace `metricsNamespace`, dimension `service`):
 *     quarantined objects, the rejected-line rate, failed ingest records, objects reconcile found
 *     (S3 events that were lost), objects reconcile failed on.
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
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ALARM_TOPIC } from '../../functions/shared/resources.ts';
import { type Check, ensureProps, integer, matching } from './checks.ts';
import { transparent } from './logical-ids.ts';

/** The rules for the alarm props, also applied to the context keys that feed them. */
export const ALARM_CHECKS = {
  email: matching(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an e-mail address'),
  auditMaxSilenceHours: integer(1, 168),
  rejectedLinePercent: integer(0, 99),
  metricsNamespace: matching(/^[A-Za-z0-9._/#:-]{1,255}$/, 'a CloudWatch namespace'),
} satisfies Record<string, Check<never>>;

/**
 * The `service` dimension Powertools puts on each function's metrics: the serviceName given to
 * Metrics in functions/shared/compose.ts (observability), not POWERTOOLS_SERVICE_NAME, which only
 * names the logger's service. Checked against compose.ts by test/infra/alarms.test.ts.
 */
export const METRIC_SERVICES = { ingest: 'ingest', reconcile: 'reconcile' } as const;

export interface AlarmsProps {
  readonly ingestFunction: lambda.IFunction;
  readonly ingestQueue: sqs.IQueue;
  readonly ingestDeadLetterQueue: sqs.IQueue;
  readonly auditFunction: lambda.IFunction;
  /** The audit schedule's dead-letter queue (failed deliveries). */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** Audit runs that failed: executions that failed, timed out or were aborted, and async invocations after Lambda's retries. */
  readonly auditFailureQueue: sqs.IQueue;
  /**
   * The audit's state machine: an execution that timed out or was stopped raises its own alarm
   * too (it is in the on-failure queue as well).
   * @default no such alarm
   */
  readonly auditStateMachine?: sfn.IStateMachine;
  readonly reconcileFunction: lambda.IFunction;
  /** The reconcile schedule's dead-letter queue (failed deliveries). */
  readonly reconcileScheduleDeadLetterQueue: sqs.IQueue;
  /** Reconcile runs that failed after Lambda's retries. */
  readonly reconcileFailureQueue: sqs.IQueue;
  /** Alarm when the audit function was not invoked for this many hours (1–168). */
  readonly auditMaxSilenceHours: number;
  /** CloudWatch namespace of the functions' own metrics (POWERTOOLS_METRICS_NAMESPACE). */
  readonly metricsNamespace: string;
  /** Alarm when ingested objects reject more than this percentage of their lines, on average over an hour (0–99). */
  readonly rejectedLinePercent: number;
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

    // Runs that failed for good, and the schedule of reconcile.
    alarm(
      'ReconcileScheduleDeadLetterAlarm',
      anyAbove(
        props.reconcileScheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible(deepest),
        'Scheduled reconcile invocations that Scheduler could not deliver sit in the reconcile schedule DLQ.',
      ),
    );
    alarm(
      'AuditFailedRunsAlarm',
      anyAbove(
        props.auditFailureQueue.metricApproximateNumberOfMessagesVisible(deepest),
        "Audit runs that failed sit in the audit on-failure queue (state machine executions that failed, timed out or were aborted, and direct async invocations after Lambda's retries): dates went unaudited.",
      ),
    );
    if (props.auditStateMachine) {
      const sm = props.auditStateMachine;
      alarm('AuditRunsStoppedAlarm', {
        alarmDescription:
          'An audit run (an execution of the audit state machine) failed, timed out or was stopped: the dates it had not reached are audited by the next nightly run, or run `auditor audit --from … --to …`. (Each such run is also in the audit on-failure queue; this alarm does not depend on that delivery.)',
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
          usingMetrics: {
            failed: sm.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
            timedOut: sm.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
            aborted: sm.metricAborted({ period: fiveMinutes, statistic: 'Sum' }),
          },
          label: 'AuditRunsStopped',
          period: fiveMinutes,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    alarm(
      'ReconcileFailedRunsAlarm',
      anyAbove(
        props.reconcileFailureQueue.metricApproximateNumberOfMessagesVisible(deepest),
        "Reconcile runs that failed after Lambda's retries sit in the reconcile on-failure queue.",
      ),
    );
    alarm(
      'ReconcileErrorsAlarm',
      anyAbove(props.reconcileFunction.metricErrors(errors), 'The reconcile function failed.'),
    );

    // The functions' own metrics (Powertools EMF): emitted only when something happens, so no
    // data is no problem. Hourly sums: one notification per hour that has any, at most an hour late.
    const own = (
      service: keyof typeof METRIC_SERVICES,
      metricName: string,
      statistic: 'Sum' | 'Average',
      period: Duration,
    ): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: METRIC_SERVICES[service] },
        statistic,
        period,
      });
    const hour = Duration.hours(1);
    alarm(
      'QuarantinedObjectsAlarm',
      anyAbove(
        own('ingest', 'Objects_quarantined', 'Sum', hour),
        'Ingest quarantined log objects in the last hour (unreadable, too large or a zip bomb): their usage is not counted. See data-quality/quarantine/.',
      ),
    );
    // Weighted by lines (not an average of per-object percentages, where ten small good objects
    // would hide one 2M-line drop whose every line was rejected).
    alarm('RejectedLinesAlarm', {
      alarmDescription: `Ingest rejected more than ${props.rejectedLinePercent}% of all lines it read in the last hour. See data-quality/rejects/.`,
      metric: new cloudwatch.MathExpression({
        expression: '100 * rejected / (rejected + counted)',
        usingMetrics: {
          rejected: own('ingest', 'LinesRejected', 'Sum', hour),
          counted: own('ingest', 'LinesCounted', 'Sum', hour),
        },
        label: 'RejectedLinePercent',
        period: hour,
      }),
      threshold: props.rejectedLinePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm(
      'RecordFailuresAlarm',
      anyAbove(
        own('ingest', 'RecordFailures', 'Sum', fiveMinutes),
        'Ingest failed on S3 notifications (they are retried, then go to the ingest DLQ).',
      ),
    );
    alarm(
      'ObjectsReconciledAlarm',
      anyAbove(
        own('reconcile', 'ObjectsReconciled', 'Sum', hour),
        'Reconcile found log objects whose S3 event never reached ingest, and ingested them: check the bucket notification and the ingest queue.',
      ),
    );
    alarm(
      'ReconcileFailuresAlarm',
      anyAbove(
        own('reconcile', 'ReconcileFailures', 'Sum', hour),
        'Reconcile could not ingest some log objects it found.',
      ),
    );
    alarm(
      'ReconcileDeferredAlarm',
      anyAbove(
        own('reconcile', 'ObjectsReconcileDeferred', 'Sum', hour),
        'Reconcile ran out of time before ingesting every object it found; past its window they would be missed: run `auditor reconcile --from … --to …` or raise reconcileTimeoutSeconds.',
      ),
    );
    this.alarms = alarms;
  }
}
