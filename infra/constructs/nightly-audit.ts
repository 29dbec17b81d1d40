/**
 * EventBridge Scheduler (nightly, + retries, + dead-letter queue) --> audit function, and what the
 * audit function may touch: it reads usage, keeps agreements and audit bookkeeping in the control
 * table, and reads and writes reports/.
 */
import { Duration, TimeZone, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { REPORTS_PREFIX } from '../../functions/shared/resources.ts';
import { type Check, ensureProps, integer, matching, timeZone } from './checks.ts';
import { type LambdaFunction, objectsUnder } from './lambda-function.ts';
import { transparent } from './logical-ids.ts';

/** The rules for the schedule props, also applied to the context keys that feed them. */
export const SCHEDULE_CHECKS = {
  expression: matching(/^(cron|rate)\(.+\)$/, 'cron(…) or rate(…)'),
  timeZone,
  retryAttempts: integer(0, 185),
  maxEventAgeHours: integer(1, 24),
} satisfies Record<string, Check<never>>;

/**
 * Scheduler target that invokes the function's unqualified ARN and is granted exactly that:
 * LambdaInvoke's grantInvoke would also grant `<function ARN>:*` (every version and alias).
 */
class InvokeLatest extends schedulerTargets.LambdaInvoke {
  private readonly target: lambda.IFunction;
  constructor(fn: lambda.IFunction, props: schedulerTargets.ScheduleTargetBaseProps) {
    super(fn, props);
    this.target = fn;
  }
  protected override addTargetActionToRole(role: iam.IRole): void {
    this.target.grantInvokeLatestVersion(role);
  }
}

export interface NightlyAuditProps {
  /** The audit function. */
  readonly auditFunction: LambdaFunction;
  /** Usage aggregates; the audit reads them. */
  readonly usageTable: dynamodb.ITable;
  /** Agreements and audit bookkeeping. */
  readonly controlTable: dynamodb.ITable;
  /** The reports bucket; the audit reads and writes reports/. */
  readonly reportsBucket: s3.IBucket;
  /** EventBridge Scheduler expression: cron(…) or rate(…). */
  readonly expression: string;
  /** IANA time zone the expression is read in. */
  readonly timeZone: string;
  /** Retries of a failed invocation (0–185). */
  readonly retryAttempts: number;
  /** Give up retrying after this many hours (1–24); then the event goes to the dead-letter queue. */
  readonly maxEventAgeHours: number;
  /**
   * How long a failed invocation stays in the dead-letter queue.
   * @default Duration.days(14)
   */
  readonly deadLetterRetentionPeriod?: Duration;
}

export class NightlyAudit extends Construct {
  /** The schedule; it invokes the audit function's unqualified ARN. */
  public readonly schedule: scheduler.Schedule;
  /** Invocations that failed after all retries. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: NightlyAuditProps) {
    super(scope, id);
    ensureProps('NightlyAudit', props, SCHEDULE_CHECKS);
    transparent(this);
    const fn = props.auditFunction;

    fn.allow('ReadUsage', ['dynamodb:Query', 'dynamodb:BatchGetItem'], props.usageTable);
    fn.allow('AgreementsAndBookkeeping', ['dynamodb:Query', 'dynamodb:PutItem'], props.controlTable);
    fn.allow(
      'ReadWriteReports',
      ['s3:GetObject', 's3:PutObject'],
      objectsUnder(props.reportsBucket, REPORTS_PREFIX),
    );
    fn.allow('ListReports', ['s3:ListBucket'], props.reportsBucket);

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the audit schedule; it has no DLQ of its own.',
    });
    this.schedule = new scheduler.Schedule(this, 'AuditSchedule', {
      description: 'usage-auditor: nightly audit (SPEC §4: D = yesterday, plus re-audits of changed dates)',
      schedule: scheduler.ScheduleExpression.expression(props.expression, TimeZone.of(props.timeZone)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new InvokeLatest(fn.lambdaFunction, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: props.retryAttempts,
        maxEventAge: Duration.hours(props.maxEventAgeHours),
        input: scheduler.ScheduleTargetInput.fromObject({
          source: 'usage-auditor.schedule',
          'detail-type': 'Scheduled Event',
          time: scheduler.ContextAttribute.scheduledTime,
          detail: {},
        }),
      }),
    });
  }
}
