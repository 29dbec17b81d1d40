/**
 * The audit run as a Step Functions (standard) state machine: each part is one invocation of the
 * audit function (functions/audit/fan-out-handler.ts), with its own 900 s.
 *
 *   Plan ──> AuditDates (Map over the plan's dates, newest first, one at a time) ──> Link ──> {reports}
 *              └─ AuditParts (Map over the date's parts, 4 at once; none for most dates)
 *                   └─ AuditPart
 *                 ──> AuditDate ──> FinishDate
 *   any step failed after its retries ──> SendFailedRun (the audit's on-failure queue) ──> RunFailed
 *
 * Plan answers the dates (each with its parts: groups of licensees, when the date is past a
 * size; functions/audit/parts.ts) and checks the chain; AuditPart rebuilds the stale rollups of
 * its licensees' apps and writes their findings' evidence files, under the date's lease held as the
 * run; AuditDate (the join) writes one date's report under the same lease, taking the parts'
 * evidence; FinishDate, once every part of the date is done, links the newest report and makes
 * it latest at once; Link re-links the run's older dates once and moves latest.json. One date at a
 * time (MaxConcurrency 1): a date's report written while another date re-links the chain could
 * have its manifest overwritten by the re-link, and the run's length is not what bounds anything
 * (each invocation is one date; the execution may run for hours).
 *
 * Retries: a Lambda service error as LambdaInvoke retries it; the chain's lease held by another
 * run (LeaseHeldError) up to 5 times from a minute apart; any other failure of a step (a timeout,
 * an S3 or DynamoDB error) twice, from a minute apart (the step's leases outlive its invocation by
 * 30 s). A tampered report (ChainMismatchError) or a bad request (AuditRequestError) is not
 * retried. Every step is idempotent, so a retried or duplicated step rewrites nothing.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { type Check, ensureProps, integer } from './checks.ts';
import { transparent } from './logical-ids.ts';

/** The rules for the fan-out props. */
export const FAN_OUT_CHECKS = {
  stepRetryAttempts: integer(0, 10),
  partConcurrency: integer(1, 40),
  timeoutHours: integer(1, 24 * 7),
} satisfies Record<string, Check<number>>;

/** Errors of the audit function that a retry cannot mend (functions/audit/run-audit.ts, create-handler.ts). */
export const FINAL_ERRORS = ['ChainMismatchError', 'AuditRequestError'];

/**
 * LambdaInvoke granted exactly the unqualified function ARN (the task invokes nothing else):
 * LambdaInvoke's own grant would also allow `<function ARN>:*`, every version and alias.
 */
class InvokeUnqualified extends tasks.LambdaInvoke {
  protected override readonly taskPolicies: iam.PolicyStatement[];
  constructor(scope: Construct, id: string, props: tasks.LambdaInvokeProps) {
    super(scope, id, props);
    this.taskPolicies = [
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [props.lambdaFunction.functionArn],
      }),
    ];
  }
}

export interface AuditFanOutProps {
  /** The audit function; every step is one invocation of it. */
  readonly auditFunction: lambda.IFunction;
  /** Where a failed run goes (with its input and error): the audit's on-failure queue. */
  readonly failureQueue: sqs.IQueue;
  /**
   * Retries of a step that failed (not a tampered report or a bad request), a minute apart, doubling.
   * @default 2
   */
  readonly stepRetryAttempts?: number;
  /**
   * Parts of one split date audited at once (each its own invocation of the audit function).
   * @default 4
   */
  readonly partConcurrency?: number;
  /**
   * An execution that runs longer is stopped (it times out; an alarm tells).
   * @default 23
   */
  readonly timeoutHours?: number;
}

export class AuditFanOut extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: AuditFanOutProps) {
    super(scope, id);
    ensureProps('AuditFanOut', props, FAN_OUT_CHECKS);
    transparent(this);

    const failed = new tasks.SqsSendMessage(this, 'SendFailedRun', {
      comment: 'The run, its input and its error, to the audit on-failure queue (an alarm watches it).',
      queue: props.failureQueue,
      messageBody: sfn.TaskInput.fromObject({
        execution: sfn.JsonPath.executionId,
        input: sfn.JsonPath.objectAt('$$.Execution.Input'),
        error: sfn.JsonPath.objectAt('$.error'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    failed.addRetry({ interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    failed.next(new sfn.Fail(this, 'RunFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' }));

    const step = (stepId: string, comment: string, payload: Record<string, unknown>): InvokeUnqualified => {
      const task = new InvokeUnqualified(this, stepId, {
        comment,
        lambdaFunction: props.auditFunction,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
      });
      task.addRetry({ errors: FINAL_ERRORS, maxAttempts: 0 });
      task.addRetry({
        errors: ['LeaseHeldError'],
        interval: Duration.minutes(1),
        maxAttempts: 5,
        backoffRate: 2,
      });
      task.addRetry({
        errors: [sfn.Errors.ALL],
        interval: Duration.minutes(1),
        maxAttempts: props.stepRetryAttempts ?? 2,
        backoffRate: 2,
      });
      return task;
    };

    const plan = step('Plan', 'The dates, newest first; the chain checked from the earliest.', {
      step: 'plan',
      request: sfn.JsonPath.entirePayload,
    });
    const auditPart = step('AuditPart', 'One part of a split date, under the date’s lease.', {
      step: 'audit-part',
      date: sfn.JsonPath.stringAt('$.date'),
      trigger: sfn.JsonPath.stringAt('$.trigger'),
      run: sfn.JsonPath.stringAt('$.run'),
      part: sfn.JsonPath.objectAt('$.part'),
    });
    const parts = new sfn.Map(this, 'AuditParts', {
      comment: 'The date’s parts (none for a date within the size), a few at once.',
      itemsPath: '$.parts',
      itemSelector: {
        date: sfn.JsonPath.stringAt('$.date'),
        trigger: sfn.JsonPath.stringAt('$.trigger'),
        run: sfn.JsonPath.stringAt('$.run'),
        part: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
      },
      maxConcurrency: props.partConcurrency ?? 4,
      resultPath: '$.parts',
    });
    parts.itemProcessor(auditPart);
    const auditDate = step('AuditDate', 'One report date (the join of its parts), under its lease.', {
      step: 'audit-date',
      date: sfn.JsonPath.stringAt('$.date'),
      trigger: sfn.JsonPath.stringAt('$.trigger'),
      run: sfn.JsonPath.stringAt('$.run'),
      parts: sfn.JsonPath.listAt('$.parts'),
    });
    const finishDate = step('FinishDate', 'The date done: the newest is linked and made latest.', {
      step: 'finish-date',
      result: sfn.JsonPath.entirePayload,
    });
    const dates = new sfn.Map(this, 'AuditDates', {
      comment: 'One date at a time, newest first.',
      itemsPath: '$.dates',
      itemSelector: {
        date: sfn.JsonPath.stringAt('$$.Map.Item.Value.date'),
        parts: sfn.JsonPath.listAt('$$.Map.Item.Value.parts'),
        trigger: sfn.JsonPath.stringAt('$.trigger'),
        run: sfn.JsonPath.stringAt('$.run'),
      },
      maxConcurrency: 1,
      resultPath: '$.reports',
    });
    dates.itemProcessor(parts.next(auditDate).next(finishDate));
    const link = step('Link', 'The run’s older dates re-linked once, latest.json moved.', {
      step: 'link',
      trigger: sfn.JsonPath.stringAt('$.trigger'),
      reports: sfn.JsonPath.listAt('$.reports'),
    });
    for (const s of [plan, dates, link]) s.addCatch(failed, { resultPath: '$.error' });

    this.stateMachine = new sfn.StateMachine(this, 'AuditStateMachine', {
      comment: 'usage-auditor: one audit run, one invocation per report date (SPEC §4)',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(dates).next(link)),
      timeout: Duration.hours(props.timeoutHours ?? 23),
    });
    Validations.of(this.stateMachine).acknowledge(
      {
        id: 'AwsSolutions-SF1',
        reason:
          "Each step's input, output and error are in the execution history (90 days) and in the audit function's own log group; logging to CloudWatch Logs would need logs:*LogDelivery on resource *.",
      },
      {
        id: 'AwsSolutions-SF2',
        reason:
          'The steps are invocations of one function, which is not traced either; X-Ray tracing would need xray:PutTraceSegments on resource *.',
      },
    );
  }
}
