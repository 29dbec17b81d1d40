/**
 * EventBridge Scheduler (nightly, + retries, + dead-letter queue) --> the audit's state machine
 * (one invocation of the audit function per step and report date, + retries, + the on-failure
 * queue: see audit-fan-out.ts); the function's own async invocations keep Lambda's retries and the
 * same on-failure queue (scheduled-invocation.ts). And what the audit function may touch:
 * it reads usage, keeps agreements and audit bookkeeping in the control table, and reads and writes
 * reports/ and statements/.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVIDENCE_PREFIX, REPORTS_PREFIX, STATEMENTS_PREFIX } from '../../functions/shared/resources.ts';
import { AuditFanOut } from './audit-fan-out.ts';
import { ensureProps } from './checks.ts';
import { type LambdaFunction, objectsUnder } from './lambda-function.ts';
import { transparent } from './logical-ids.ts';
import {
  SCHEDULE_CHECKS,
  ScheduledInvocation,
  type ScheduleSettings,
  scheduledEvent,
  scheduleSettingsOf,
} from './scheduled-invocation.ts';

export interface NightlyAuditProps extends ScheduleSettings {
  /** The audit function. */
  readonly auditFunction: LambdaFunction;
  /** Usage aggregates; the audit reads them. */
  readonly usageTable: dynamodb.ITable;
  /** Agreements and audit bookkeeping. */
  readonly controlTable: dynamodb.ITable;
  /** The reports bucket; the audit reads and writes reports/. */
  readonly reportsBucket: s3.IBucket;
}

export class NightlyAudit extends Construct {
  /** The schedule; it starts an execution of the audit's state machine. */
  public readonly schedule: scheduler.Schedule;
  /** The audit run as a state machine: one invocation of the audit function per step and date. */
  public readonly fanOut: AuditFanOut;
  /** Scheduled invocations Scheduler could not deliver after its retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Audit runs that failed: executions of the state machine, and async invocations after Lambda's retries. */
  public readonly failureQueue: sqs.Queue;
  /** The schedule, its queues and the async invocation settings of the audit function. */
  public readonly invocation: ScheduledInvocation;

  constructor(scope: Construct, id: string, props: NightlyAuditProps) {
    super(scope, id);
    ensureProps('NightlyAudit', props, SCHEDULE_CHECKS);
    transparent(this);
    const fn = props.auditFunction;

    fn.allow('ReadUsage', ['dynamodb:Query', 'dynamodb:BatchGetItem'], props.usageTable);
    // The per-(app, day) rollups the audit keeps as a cache in the usage table (rollup-store.ts):
    // only items whose partition key starts RU#, never the ledger's own items.
    fn.allow('WriteRollups', ['dynamodb:BatchWriteItem'], props.usageTable, {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RU#*'] },
    });
    fn.allow('AgreementsAndBookkeeping', ['dynamodb:Query', 'dynamodb:PutItem'], props.controlTable);
    fn.allow(
      'ReadWriteReports',
      // Report files are streamed (multipart for large ones, aborted on failure).
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      objectsUnder(props.reportsBucket, REPORTS_PREFIX),
    );
    // The evidence files of findings that are gone (audit-rollups.ts removeStaleEvidence), and only
    // those: a delete marker over the current version; every version stays (Object Lock, and the
    // bucket policy denies DeleteObjectVersion to the stack's roles).
    fn.allow('RemoveStaleEvidence', ['s3:DeleteObject'], objectsUnder(props.reportsBucket, EVIDENCE_PREFIX));
    fn.allow('ListReports', ['s3:ListBucket'], props.reportsBucket);
    // Licensee statements, written after a month's last day (functions/audit/statements.ts).
    fn.allow(
      'ReadWriteStatements',
      ['s3:GetObject', 's3:PutObject'],
      objectsUnder(props.reportsBucket, STATEMENTS_PREFIX),
    );

    // Existing ids: the schedule is AuditSchedule, its dead-letter queue ScheduleDeadLetterQueue.
    this.invocation = new ScheduledInvocation(this, 'Invocation', {
      fn,
      name: 'Audit',
      deadLetterQueueId: 'ScheduleDeadLetterQueue',
      description: 'usage-auditor: nightly audit (SPEC §4: D = yesterday, plus re-audits of changed dates)',
      ...scheduleSettingsOf(props),
      input: scheduledEvent(),
      execution: (failureQueue) =>
        new AuditFanOut(this, 'FanOut', { auditFunction: fn.lambdaFunction, failureQueue }).stateMachine,
    });
    this.fanOut = this.node.findChild('FanOut') as AuditFanOut;
    this.schedule = this.invocation.schedule;
    this.deadLetterQueue = this.invocation.deadLetterQueue;
    this.failureQueue = this.invocation.failureQueue;
  }
}
