/**
 * AuditFanOut (infra/constructs/audit-fan-out.ts): the audit run as a Step Functions state machine.
 * Its definition exactly; its role (one scoped statement); the rule that sends every failed,
 * timed-out or aborted execution to the on-failure queue, and the queue's policy for it; the
 * history events the plan's budget counts, from the definition; its props; and the synthesized
 * definition run, state by state, against the audit function over in-memory fakes, so that the
 * payloads it builds are the ones the function's step handler reads.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { PART_RECORD_DAYS } from '../../functions/adapters/part-store.ts';
import { auditInProcess } from '../../functions/audit/fan-out.ts';
import { auditDates } from '../../functions/audit/run-audit.ts';
import {
  DATE_EVENTS,
  HISTORY_EVENTS_BUDGET,
  PART_EVENTS,
  RUN_EVENTS,
} from '../../functions/core/audit-parts.ts';
import { lambdaContext } from '../../functions/local/stack.ts';
import {
  AuditFanOut,
  type AuditFanOutProps,
  MAX_TIMEOUT_HOURS,
} from '../../infra/constructs/audit-fan-out.ts';
import { auditFunction, auditWorld, DAYS } from '../support/audit-world.ts';
import { PARTS_DATE, partsWorld } from '../support/parts-world.ts';
import {
  bareStack,
  getAtt,
  logicalId,
  mainIds,
  normalize,
  ref,
  resourcesOfType,
  roleStatements,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);
const smId = logicalId(t, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
const sm = t.toJSON().Resources[smId].Properties as Json;

/** The definition with its tokens named: the function's ARN and the failure queue's URL. */
function definitionOf(props: Json, names: Record<string, string>): Json {
  const join = (props.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const text = join
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = JSON.stringify(part);
      const name = Object.entries(names).find(([, v]) => v === token)?.[0];
      if (name === undefined) throw new Error(`unexpected token ${token}`);
      return name;
    })
    .join('');
  return JSON.parse(text) as Json;
}

const definition = definitionOf(sm, { AUDIT_FUNCTION: JSON.stringify(getAtt(id.auditFn)) });

const LAMBDA_RETRY = {
  ErrorEquals: [
    'Lambda.ClientExecutionTimeoutException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
};
const STEP_RETRIES = [
  LAMBDA_RETRY,
  { ErrorEquals: ['ChainMismatchError', 'AuditRequestError'], MaxAttempts: 0 },
  { ErrorEquals: ['LeaseHeldError'], IntervalSeconds: 60, MaxAttempts: 5, BackoffRate: 2 },
  { ErrorEquals: ['States.ALL'], IntervalSeconds: 60, MaxAttempts: 2, BackoffRate: 2 },
];

describe('the audit state machine', () => {
  it('standard; Plan, then one date at a time newest first (its parts 4 at once, AuditDate, FinishDate), then Link; no Catch', () => {
    expect(sm.StateMachineType).toBe('STANDARD');
    const task = (comment: string, parameters: Json, more: Json) => ({
      Type: 'Task',
      Comment: comment,
      Resource: 'AUDIT_FUNCTION',
      Parameters: parameters,
      Retry: STEP_RETRIES,
      ...more,
    });
    expect(definition).toEqual({
      StartAt: 'Plan',
      TimeoutSeconds: 23 * 3600,
      Comment: 'usage-auditor: one audit run, one invocation per report date (SPEC §4)',
      States: {
        Plan: task(
          'The dates, newest first; the chain checked from the earliest.',
          { step: 'plan', 'request.$': '$' },
          { Next: 'AuditDates' },
        ),
        AuditDates: {
          Type: 'Map',
          Comment: 'One date at a time, newest first.',
          ItemsPath: '$.dates',
          ItemSelector: {
            'date.$': '$$.Map.Item.Value.date',
            'parts.$': '$$.Map.Item.Value.parts',
            'trigger.$': '$.trigger',
            'run.$': '$.run',
          },
          MaxConcurrency: 1,
          ResultPath: '$.reports',
          Next: 'Link',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'AuditParts',
            States: {
              AuditParts: {
                Type: 'Map',
                Comment: 'The date’s part numbers (none for a date within the size), a few at once.',
                ItemsPath: '$.parts',
                ItemSelector: {
                  'date.$': '$.date',
                  'trigger.$': '$.trigger',
                  'run.$': '$.run',
                  'part.$': '$$.Map.Item.Value',
                },
                MaxConcurrency: 4,
                ResultPath: '$.parts',
                Next: 'AuditDate',
                ItemProcessor: {
                  ProcessorConfig: { Mode: 'INLINE' },
                  StartAt: 'AuditPart',
                  States: {
                    AuditPart: task(
                      'One part of a split date (its number in the run’s plan), under the date’s lease.',
                      {
                        step: 'audit-part',
                        'date.$': '$.date',
                        'trigger.$': '$.trigger',
                        'run.$': '$.run',
                        'part.$': '$.part',
                      },
                      { End: true },
                    ),
                  },
                },
              },
              AuditDate: task(
                'One report date (the join of its parts), under its lease.',
                {
                  step: 'audit-date',
                  'date.$': '$.date',
                  'trigger.$': '$.trigger',
                  'run.$': '$.run',
                  'parts.$': '$.parts',
                },
                { Next: 'FinishDate' },
              ),
              FinishDate: task(
                'The date done: the newest is linked and made latest.',
                { step: 'finish-date', 'result.$': '$' },
                { End: true },
              ),
            },
          },
        },
        Link: task(
          'The run’s older dates re-linked once, latest.json moved.',
          { step: 'link', 'trigger.$': '$.trigger', 'reports.$': '$.reports' },
          { End: true },
        ),
      },
    });
  });

  it('its role: invoke the audit function (unqualified, no :*), nothing else, trusted by Step Functions only', () => {
    const roleId = (sm.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(roleStatements(t, roleId).map(normalize)).toEqual([
      { actions: ['lambda:InvokeFunction'], resources: [JSON.stringify(getAtt(id.auditFn))] },
    ]);
    const trust = t.toJSON().Resources[roleId].Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        // Only for state machines of this account and region (no confused deputy).
        Condition: {
          ArnLike: { 'aws:SourceArn': expect.objectContaining({}) },
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
        },
      },
    ]);
  });

  it('every execution that failed, timed out or was aborted goes to the on-failure queue: one rule, the whole event', () => {
    const ruleId = logicalId(t, 'AWS::Events::Rule', 'AuditRunFailedRule');
    const { Tags: _tags, ...rule } = t.toJSON().Resources[ruleId].Properties as Json;
    expect(rule).toEqual({
      Description:
        'usage-auditor: an audit run (state machine execution) that failed, timed out or was aborted',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [ref(smId)], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      State: 'ENABLED',
      // No Input nor InputTransformer: the message is the event (detail: executionArn, status,
      // error, cause, input).
      Targets: [{ Arn: getAtt(id.auditFailureQueue), Id: 'Target0' }],
    });
    // The queue takes it from that rule only (besides refusing anything but SSL).
    const policies = Object.values(resourcesOfType(t, 'AWS::SQS::QueuePolicy')).filter(
      (p) => JSON.stringify((p.Properties as Json).Queues) === JSON.stringify([ref(id.auditFailureQueue)]),
    );
    expect(policies).toHaveLength(1);
    const policy = policies[0]?.Properties as { PolicyDocument: { Statement: Json[] } } | undefined;
    expect(policy?.PolicyDocument.Statement).toEqual([
      {
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: getAtt(id.auditFailureQueue),
      },
      {
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ruleId) } },
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: getAtt(id.auditFailureQueue),
      },
    ]);
    // The only rule on this state machine's executions (no second path sends a failed run twice).
    const onExecutions = Object.values(resourcesOfType(t, 'AWS::Events::Rule')).filter((r) =>
      JSON.stringify((r.Properties as Json).EventPattern ?? {}).includes(
        'Step Functions Execution Status Change',
      ),
    );
    expect(onExecutions).toHaveLength(1);
  });

  it('the history events the plan budgets (core/audit-parts.ts) are this definition’s', () => {
    const retries = STEP_RETRIES.find((r) => r.ErrorEquals[0] === 'States.ALL')?.MaxAttempts ?? -1;
    expect(retries).toBe(2);
    // A task: entered, scheduled, started, succeeded, exited; a retry: failed, scheduled, started.
    // A Map: entered, started, succeeded, exited; an iteration: started, succeeded.
    const own = (m: Machine): number =>
      Object.values(m.States).reduce(
        (n, st) => n + (st.Type === 'Task' ? 5 + 3 * retries : st.Type === 'Map' ? 4 : NaN),
        0,
      );
    const top = definition as unknown as Machine;
    const dates = top.States.AuditDates?.ItemProcessor as Machine;
    const parts = dates.States.AuditParts?.ItemProcessor as Machine;
    // The run: the execution started and ended, its own states.
    expect(RUN_EVENTS).toBe(2 + own(top));
    expect(DATE_EVENTS).toBe(2 + own(dates));
    expect(PART_EVENTS).toBe(2 + own(parts));
    expect([RUN_EVENTS, DATE_EVENTS, PART_EVENTS, HISTORY_EVENTS_BUDGET]).toEqual([28, 28, 13, 20_000]);
  });

  it('a part’s stored plan and results outlive the longest execution; the control table expires them', () => {
    expect(PART_RECORD_DAYS * 24).toBeGreaterThan(MAX_TIMEOUT_HOURS);
    expect(t.toJSON().Resources[id.controlTable].Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'deleteAfter',
      Enabled: true,
    });
  });
});

/** A JSON value at a path of the forms the definition uses: `$`, `$.name`, `$$.Map.Item.Value[.name]`. */
function at(path: string, data: unknown, item: unknown): unknown {
  if (path === '$') return data;
  if (path === '$$.Map.Item.Value') return item;
  const m = /^(\$|\$\$\.Map\.Item\.Value)\.([A-Za-z]+)$/.exec(path);
  if (!m?.[2]) throw new Error(`path ${path} not supported here`);
  return ((m[1] === '$' ? data : item) as Json)[m[2]];
}

/** Parameters / ItemSelector filled in from the state's input (`key.$` fields are paths). */
function fill(template: Json, data: unknown, item?: unknown): Json {
  return Object.fromEntries(
    Object.entries(template).map(([k, v]) =>
      k.endsWith('.$') ? [k.slice(0, -2), at(v as string, data, item)] : [k, v],
    ),
  );
}

interface StateJson {
  Type: string;
  Next?: string;
  End?: boolean;
  Parameters?: Json;
  ResultPath?: string;
  ItemsPath?: string;
  ItemSelector?: Json;
  ItemProcessor?: Machine;
}
interface Machine {
  StartAt: string;
  States: Record<string, StateJson>;
}

/**
 * Runs the Task and Map states of `machine` in order (a Map one item at a time, as MaxConcurrency
 * 1 does), each Task an invocation of `invoke` with a JSON round trip, as Step Functions does.
 */
async function execute(machine: Machine, input: unknown, invoke: (payload: Json) => Promise<unknown>) {
  let name: string | undefined = machine.StartAt;
  let data = input;
  while (name !== undefined) {
    const state: StateJson | undefined = machine.States[name];
    if (!state) throw new Error(`no state ${name}`);
    let result: unknown;
    if (state.Type === 'Task') {
      result = JSON.parse(JSON.stringify(await invoke(fill(state.Parameters ?? {}, data))));
    } else if (state.Type === 'Map' && state.ItemProcessor) {
      const out: unknown[] = [];
      for (const item of at(state.ItemsPath ?? '$', data, undefined) as unknown[])
        out.push(await execute(state.ItemProcessor, fill(state.ItemSelector ?? {}, data, item), invoke));
      result = out;
    } else throw new Error(`state type ${state.Type} not run here`);
    const resultPath = state.ResultPath;
    data = resultPath === undefined ? result : { ...(data as Json), [resultPath.slice(2)]: result };
    name = state.End ? undefined : state.Next;
  }
  return data;
}

describe('the synthesized definition, run against the audit function', () => {
  it('audits a range newest first, one invocation per step, with the bytes of the single-invocation audit', async () => {
    const w = auditWorld();
    const fn = auditFunction(w.deps);
    const steps: string[] = [];
    const output = await execute(definition as unknown as Machine, { from: DAYS[0], to: DAYS[3] }, (p) => {
      steps.push(`${p.step}${typeof p.date === 'string' ? ` ${p.date}` : ''}`);
      return fn(JSON.parse(JSON.stringify(p)), lambdaContext('audit'));
    });
    expect(steps).toEqual([
      'plan',
      ...[...DAYS].reverse().flatMap((d) => [`audit-date ${d}`, 'finish-date']),
      'link',
    ]);
    // The execution's output is what a direct invocation answers.
    expect(output).toEqual({
      reports: [...DAYS].reverse().map((date) => ({ date, findings: expect.any(Number), written: true })),
    });
    const single = auditWorld();
    await auditDates({ ...single.deps, trigger: 'on-demand' }, DAYS);
    expect(w.reports.snapshot()).toEqual(single.reports.snapshot());
    expect(w.reports.latestText).toBe(single.reports.latestText);
  });

  it('a date past the size: its parts through the inner Map, then its join, with the unsplit audit’s bytes', async () => {
    const split = partsWorld({ split: true });
    await split.rollups.usage('2026-11-01', PARTS_DATE);
    const fn = auditFunction(split.deps);
    const steps: string[] = [];
    await execute(definition as unknown as Machine, { date: PARTS_DATE }, (p) => {
      steps.push(`${p.step}${p.part === undefined ? '' : ` ${p.part}`}`);
      return fn(JSON.parse(JSON.stringify(p)), lambdaContext('audit'));
    });
    expect(steps).toEqual([
      'plan',
      'audit-part 0',
      'audit-part 1',
      'audit-part 2',
      'audit-part 3',
      'audit-date',
      'finish-date',
      'link',
    ]);
    const whole = partsWorld();
    await auditInProcess(whole.deps, { kind: 'dates', dates: [PARTS_DATE] });
    expect(split.reports.snapshot()).toEqual(whole.reports.snapshot());
    expect(split.reports.latestText).toBe(whole.reports.latestText);
  });

  it('the schedule’s event plans the nightly run', async () => {
    const w = auditWorld();
    const fn = auditFunction(w.deps);
    const sched = t.toJSON().Resources[id.auditSchedule].Properties as { Target: { Input: string } };
    const fired = { ...JSON.parse(sched.Target.Input), time: '2026-11-28T02:00:00Z' };
    const plan = (definition.States as Record<string, StateJson>).Plan?.Parameters ?? {};
    expect(await fn(fill(plan, fired), lambdaContext('audit'))).toEqual({
      dates: [...DAYS].reverse().map((date) => ({ date, parts: [] })),
      trigger: 'schedule',
      run: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });
});

describe('AuditFanOut props', () => {
  const build = (props: Partial<AuditFanOutProps> = {}) => {
    const stack = bareStack();
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => ({});'),
    });
    new AuditFanOut(stack, 'FanOut', {
      auditFunction: fn,
      failureQueue: new sqs.Queue(stack, 'Q'),
      ...props,
    });
    return Template.fromStack(stack);
  };

  it('parts at once', () => {
    const text = JSON.stringify(
      (
        Object.values(build({ partConcurrency: 8 }).toJSON().Resources).find(
          (r) => (r as Json).Type === 'AWS::StepFunctions::StateMachine',
        ) as { Properties: Json }
      ).Properties.DefinitionString,
    );
    expect(text).toContain('\\"ResultPath\\":\\"$.parts\\"');
    expect(text).toContain('\\"MaxConcurrency\\":8');
  });

  it('step retries and the execution timeout', () => {
    const props = Object.values(build({ stepRetryAttempts: 0, timeoutHours: 2 }).toJSON().Resources).find(
      (r) => (r as Json).Type === 'AWS::StepFunctions::StateMachine',
    ) as { Properties: Json };
    const text = JSON.stringify(props.Properties.DefinitionString);
    expect(text).toContain('\\"TimeoutSeconds\\":7200');
    expect(text).toContain(
      '{\\"ErrorEquals\\":[\\"States.ALL\\"],\\"IntervalSeconds\\":60,\\"MaxAttempts\\":0,\\"BackoffRate\\":2}',
    );
  });

  it.each([
    [{ stepRetryAttempts: 3 }, /^AuditFanOut: stepRetryAttempts: expected an integer from 0 to 2/],
    [{ timeoutHours: 0 }, /^AuditFanOut: timeoutHours: expected an integer from 1 to 168/],
    [{ partConcurrency: 0 }, /^AuditFanOut: partConcurrency: expected an integer from 1 to 40/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
