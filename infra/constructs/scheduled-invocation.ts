/**
 * EventBridge Scheduler --> one function, asynchronously, and both places a failure can end up:
 *
 *   schedule ──(retries, max event age)──> Lambda async queue ──(Lambda's retries)──> function
 *      │ delivery failed                                       │ run failed
 *      └──> dead-letter queue                                  └──> on-failure queue
 *
 * Scheduler invokes with InvocationType Event: a delivery counts as successful once Lambda has
 * queued the event, so Scheduler's retries and its dead-letter queue only ever see failed
 * deliveries (throttled, function missing, no permission). A run that fails is retried by Lambda
 * (EventInvokeConfig: retryAttempts, maxEventAge) and then sent to the on-failure destination,
 * an SQS queue here; without one it would be dropped silently.
 *
 * With `execution`, the schedule starts a state machine instead (the audit's fan-out): its
 * failed runs go to the same on-failure queue, and the function's async invocations keep theirs.
 */
import { Duration, TimeZone, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Check, ensureProps, integer, matching, timeZone } from './checks.ts';
import type { LambdaFunction } from './lambda-function.ts';
import { transparent } from './logical-ids.ts';

/** The rules for the schedule props, also applied to the context keys that feed them. */
export const SCHEDULE_CHECKS = {
  expression: matching(/^(cron|rate)\(.+\)$/, 'cron(…) or rate(…)'),
  timeZone,
  retryAttempts: integer(0, 185),
  maxEventAgeHours: integer(1, 24),
  /** Lambda's limits for asynchronous invocations. */
  asyncRetryAttempts: integer(0, 2),
  asyncMaxEventAgeHours: integer(1, 6),
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

/**
 * On-failure destination that only names the queue: the function is granted sqs:SendMessage on it
 * through LambdaFunction.allow (SqsDestination would also grant GetQueueAttributes and GetQueueUrl).
 */
class SendToQueue implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}
  bind(): lambda.DestinationConfig {
    return { destination: this.queue.queueArn };
  }
}

/**
 * Scheduler target that starts an execution of a state machine, under the role the schedule had
 * when it invoked the function (CDK names a schedule's role after its target's ARN: computed from
 * `roleKeyArn`, the function's, the role keeps its logical id).
 */
class StartExecutionAs extends schedulerTargets.StepFunctionsStartExecution {
  constructor(
    stateMachine: sfn.IStateMachine,
    props: schedulerTargets.ScheduleTargetBaseProps,
    private readonly roleKeyArn: string,
  ) {
    super(stateMachine, props);
  }
  protected override bindBaseTargetConfig(schedule: scheduler.ISchedule): scheduler.ScheduleTargetConfig {
    const self = this as unknown as { targetArn: string };
    const arn = self.targetArn;
    self.targetArn = this.roleKeyArn;
    try {
      return { ...super.bindBaseTargetConfig(schedule), arn };
    } finally {
      self.targetArn = arn;
    }
  }
}

/** When and how a function is invoked on a schedule: shared by the nightly audit and the daily reconcile. */
export interface ScheduleSettings {
  /** EventBridge Scheduler expression: cron(…) or rate(…). */
  readonly expression: string;
  /** IANA time zone the expression is read in. */
  readonly timeZone: string;
  /** Scheduler's retries of a failed delivery (0–185). */
  readonly retryAttempts: number;
  /** Scheduler gives up delivering after this many hours (1–24); then the event goes to the dead-letter queue. */
  readonly maxEventAgeHours: number;
  /** Lambda's retries of a failed run (0–2); then the event goes to the on-failure queue. */
  readonly asyncRetryAttempts: number;
  /** Lambda discards a queued event older than this many hours (1–6), to the on-failure queue. */
  readonly asyncMaxEventAgeHours: number;
  /**
   * How long a failed delivery or run stays in its queue.
   * @default Duration.days(14)
   */
  readonly deadLetterRetentionPeriod?: Duration;
}

/** Just the schedule settings of a construct's props (so nothing else is passed along). */
export function scheduleSettingsOf(p: ScheduleSettings): ScheduleSettings {
  return {
    expression: p.expression,
    timeZone: p.timeZone,
    retryAttempts: p.retryAttempts,
    maxEventAgeHours: p.maxEventAgeHours,
    asyncRetryAttempts: p.asyncRetryAttempts,
    asyncMaxEventAgeHours: p.asyncMaxEventAgeHours,
    ...(p.deadLetterRetentionPeriod ? { deadLetterRetentionPeriod: p.deadLetterRetentionPeriod } : {}),
  };
}

export interface ScheduledInvocationProps extends ScheduleSettings {
  /** The function the schedule invokes (its unqualified ARN, i.e. $LATEST). */
  readonly fn: LambdaFunction;
  /** Names the resources: `<name>Schedule`, `<name>FailureQueue`, `<name>AsyncInvokeConfig`. */
  readonly name: string;
  /** The schedule's description. */
  readonly description: string;
  /** The event the function receives. */
  readonly input: scheduler.ScheduleTargetInput;
  /**
   * Logical id of the schedule's dead-letter queue.
   * @default `<name>ScheduleDeadLetterQueue`
   */
  readonly deadLetterQueueId?: string;
  /**
   * Builds the state machine the schedule starts, instead of invoking the function, from the
   * function's on-failure queue (where its failed runs go too).
   * @default the schedule invokes the function
   */
  readonly execution?: (failureQueue: sqs.IQueue) => sfn.IStateMachine;
}

export class ScheduledInvocation extends Construct {
  /** The schedule; it invokes the function's unqualified ARN. */
  public readonly schedule: scheduler.Schedule;
  /** Events Scheduler could not deliver after its retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Runs that failed after Lambda's retries (the on-failure destination of async invocations). */
  public readonly failureQueue: sqs.Queue;
  /** Lambda's retries, event age and on-failure destination for the function's async invocations. */
  public readonly invokeConfig: lambda.EventInvokeConfig;
  /** The state machine the schedule starts (`execution`), if any. */
  public readonly stateMachine?: sfn.IStateMachine;

  constructor(scope: Construct, id: string, props: ScheduledInvocationProps) {
    super(scope, id);
    ensureProps('ScheduledInvocation', props, {
      ...SCHEDULE_CHECKS,
      name: matching(/^[A-Z][A-Za-z0-9]*$/, 'a PascalCase name'),
    });
    transparent(this);
    const fn = props.fn;
    const failureQueue = (queueId: string, reason: string): sqs.Queue => {
      const queue = new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(14),
      });
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason });
      return queue;
    };

    this.deadLetterQueue = failureQueue(
      props.deadLetterQueueId ?? `${props.name}ScheduleDeadLetterQueue`,
      `This queue is the dead-letter queue of the ${props.name} schedule; it has no DLQ of its own.`,
    );
    this.failureQueue = failureQueue(
      `${props.name}FailureQueue`,
      `This queue is the on-failure destination of the ${props.name} function's async invocations; it has no DLQ of its own.`,
    );
    fn.allow(`${props.name}SendFailedRuns`, ['sqs:SendMessage'], this.failureQueue);
    this.invokeConfig = new lambda.EventInvokeConfig(this, `${props.name}AsyncInvokeConfig`, {
      function: fn.lambdaFunction,
      qualifier: '$LATEST',
      retryAttempts: props.asyncRetryAttempts,
      maxEventAge: Duration.hours(props.asyncMaxEventAgeHours),
      onFailure: new SendToQueue(this.failureQueue),
    });
    // Lambda checks the role's permission when the destination is configured.
    const policy = fn.role.node.tryFindChild('DefaultPolicy');
    if (policy) this.invokeConfig.node.addDependency(policy);

    const targetProps: schedulerTargets.ScheduleTargetBaseProps = {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: props.retryAttempts,
      maxEventAge: Duration.hours(props.maxEventAgeHours),
      input: props.input,
    };
    if (props.execution) this.stateMachine = props.execution(this.failureQueue);
    this.schedule = new scheduler.Schedule(this, `${props.name}Schedule`, {
      description: props.description,
      schedule: scheduler.ScheduleExpression.expression(props.expression, TimeZone.of(props.timeZone)),
      timeWindow: scheduler.TimeWindow.off(),
      target: this.stateMachine
        ? new StartExecutionAs(this.stateMachine, targetProps, fn.lambdaFunction.functionArn)
        : new InvokeLatest(fn.lambdaFunction, targetProps),
    });
  }
}

/** The event both schedules send: a scheduled event stamped with the scheduled time. */
export const scheduledEvent = (): scheduler.ScheduleTargetInput =>
  scheduler.ScheduleTargetInput.fromObject({
    source: 'usage-auditor.schedule',
    'detail-type': 'Scheduled Event',
    time: scheduler.ContextAttribute.scheduledTime,
    detail: {},
  });
