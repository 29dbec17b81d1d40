/**
 * The audit run as a Step Functions (standard) state machine: each part is one invocation of the
 * audit function (functions/audit/fan-out-handler.ts), with its own 900 s.
 *
 *   Plan ──> AuditDates (Map over the plan's dates, newest first, one at a time) ──> Link ──> {reports}
 *              └─ AuditParts (Map over the date's part numbers, 4 at once; none for most dates)
 *                   └─ AuditPart
 *                 ──> AuditDate ──> FinishDate
 *   an execution FAILED, TIMED_OUT or ABORTED ──> EventBridge rule ──> the audit on-failure queue ──> alarm
 *
 * Plan answers the dates, each with the numbers of its parts (groups of licensees, when the date
 * is past a size; functions/audit/parts.ts), and checks the chain; it stores each split date's
 * parts under (run, date) in the control table, and AuditPart loads its own by (run, date,
 * number) (functions/audit/fan-out.ts). AuditPart rebuilds the stale rollups of its licensees'
 * apps and writes their findings' evidence files, under the date's lease held as the run;
 * AuditDate (the join) writes one date's report under the same lease, taking the parts' evidence;
 * FinishDate, once every part of the date is done, links the newest report and makes it latest at
 * once; Link re-links the run's older dates once and moves latest.json. One date at a time
 * (MaxConcurrency 1): a date's report written while another date re-links the chain could have
 * its manifest overwritten by the re-link, and the run's length is not what bounds anything (each
 * invocation is one date; the execution may run for hours).
 *
 * Limits of one execution, which no Catch sees (States.DataLimitExceeded is not States.ALL; an
 * execution past its history is failed outright), so the plan is bounded by them
 * (functions/core/audit-parts.ts boundParts):
 *   - history: 25,000 events. A task state is 5 events (entered, scheduled, started, succeeded,
 *     exited) and 3 more a retry; a Map state 4, and 2 an iteration. Budgeted with 2 retries a
 *     task (11 events): the run 28 (execution started and ended 2, Plan 11, Link 11, AuditDates 4),
 *     a date 28 (its iteration 2, AuditParts 4, AuditDate 11, FinishDate 11), a part 13 (its
 *     iteration 2, AuditPart 11). A plan may use 20,000: 28 + 28 × dates + 13 × parts. A date has
 *     at most 16 parts (more are merged, each larger); a plan over the budget has its dates'
 *     parts merged down to 8 each, and past that it is refused (AuditRequestError naming the
 *     limit and how many dates fit). So one execution holds at most 713 dates (unsplit) or,
 *     all split, 84 dates of 16 parts or 151 of 8; the nightly run (about 36 dates) never comes
 *     near, and an `audit --from/--to` is at most 400 dates (11,228 events unsplit).
 *   - payload: 256 KB a state. A plan names dates and part numbers only, never licensees: the
 *     largest state, after AuditDates, is at most 113,457 bytes (713 dates, each skipped with its
 *     lease message; any mix of dates and parts the budget allows is smaller).
 *
 * Retries: a Lambda service error as LambdaInvoke retries it; the chain's lease held by another
 * run (LeaseHeldError) up to 5 times from a minute apart; any other failure of a step (a timeout,
 * an S3 or DynamoDB error) twice, from a minute apart (the step's leases outlive its invocation by
 * 30 s). A tampered report (ChainMismatchError) or a bad request (AuditRequestError) is not
 * retried. Every step is idempotent, so a retried or duplicated step rewrites nothing; a retried
 * Plan plans a new run (a new id), and the first attempt's stored parts are never read (they
 * expire after 8 days, functions/adapters/part-store.ts).
 *
 * Failed runs: a step that fails after its retries fails the execution. Every execution that ends
 * FAILED, TIMED_OUT or ABORTED (a step's error, States.DataLimitExceeded, the history limit, the
 * execution timeout, a StopExecution) is sent by an EventBridge rule on "Step Functions Execution
 * Status Change" to the audit's on-failure queue, whose alarm is AuditFailedRunsAlarm: the whole
 * event, with detail.executionArn, status, error, cause and input. There is no Catch sending it
 * from inside: that path sees only step errors, and with the rule it would send each of those
 * twice.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { BUDGETED_STEP_RETRIES } from '../../functions/core/audit-parts.ts';
import { type Check, ensureProps, integer } from './checks.ts';
import { transparent } from './logical-ids.ts';

/** The longest an execution may run (7 days): shorter than a stored part lives (adapters/part-store.ts). */
export const MAX_TIMEOUT_HOURS = 24 * 7;

/** The rules for the fan-out props. */
export const FAN_OUT_CHECKS = {
  // The plan's history budget counts this many retries a step (core/audit-parts.ts).
  stepRetryAttempts: integer(0, BUDGETED_STEP_RETRIES),
  partConcurrency: integer(1, 40),
  timeoutHours: integer(1, MAX_TIMEOUT_HOURS),
} satisfies Record<string, Check<number>>;

/** The end states of an execution that are failures (each goes to the on-failure queue). */
export const FAILED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'];

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

/**
 * EventBridge target that sends the whole event to a queue, allowed by the queue's policy for
 * events.amazonaws.com from this rule only (aws:SourceArn), sqs:SendMessage only (the SqsQueue
 * target would also allow GetQueueAttributes and GetQueueUrl).
 */
class SendEventToQueue implements events.IRuleTarget {
  constructor(private readonly queue: sqs.IQueue) {}
  bind(rule: events.IRuleRef): events.RuleTargetConfig {
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': events.CfnRule.arnForRule(rule) } },
      }),
    );
    return { arn: this.queue.queueArn, targetResource: this.queue };
  }
}

export interface AuditFanOutProps {
  /** The audit function; every step is one invocation of it. */
  readonly auditFunction: lambda.IFunction;
  /** Where a failed, timed-out or aborted execution goes (its status change event): the audit's on-failure queue. */
  readonly failureQueue: sqs.IQueue;
  /**
   * Retries of a step that failed (not a tampered report or a bad request), a minute apart, doubling.
   * At most 2: the plan's budget of history events counts 2 a step (core/audit-parts.ts).
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
  /** Sends every execution that failed, timed out or was aborted to the on-failure queue. */
  public readonly failedRunRule: events.Rule;

  constructor(scope: Construct, id: string, props: AuditFanOutProps) {
    super(scope, id);
    ensureProps('AuditFanOut', props, FAN_OUT_CHECKS);
    transparent(this);

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
    const auditPart = step(
      'AuditPart',
      'One part of a split date (its number in the run’s plan), under the date’s lease.',
      {
        step: 'audit-part',
        date: sfn.JsonPath.stringAt('$.date'),
        trigger: sfn.JsonPath.stringAt('$.trigger'),
        run: sfn.JsonPath.stringAt('$.run'),
        part: sfn.JsonPath.objectAt('$.part'),
      },
    );
    const parts = new sfn.Map(this, 'AuditParts', {
      comment: 'The date’s part numbers (none for a date within the size), a few at once.',
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
    this.stateMachine = new sfn.StateMachine(this, 'AuditStateMachine', {
      comment: 'usage-auditor: one audit run, one invocation per report date (SPEC §4)',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(dates).next(link)),
      timeout: Duration.hours(props.timeoutHours ?? 23),
    });
    this.failedRunRule = new events.Rule(this, 'AuditRunFailedRule', {
      description:
        'usage-auditor: an audit run (state machine execution) that failed, timed out or was aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: FAILED_STATUSES },
      },
      targets: [new SendEventToQueue(props.failureQueue)],
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
