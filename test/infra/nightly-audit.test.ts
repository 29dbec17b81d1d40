/**
 * NightlyAudit (infra/constructs/nightly-audit.ts): the schedule (it starts the audit's state
 * machine: test/infra/audit-fan-out.test.ts), its DLQ, the on-failure queue of the audit's runs,
 * the audit and scheduler roles.
 */
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseAuditEvent } from '../../functions/audit/create-handler.ts';
import { CONTROL_TABLE, FINDING_EVENTS, USAGE_TABLE } from '../../functions/shared/resources.ts';
import { NightlyAudit, type NightlyAuditProps } from '../../infra/constructs/nightly-audit.ts';
import {
  fixture,
  getAtt,
  logicalId,
  mainIds,
  normalize,
  objectsUnder,
  ref,
  resourcesOfType,
  roleStatements,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);

describe('EventBridge Scheduler -> audit', () => {
  it('cron 02:00 UTC by default, no flexible window, retries, max event age, DLQ, input', () => {
    const sched = t.toJSON().Resources[id.auditSchedule as string].Properties as Json;
    expect(sched).toMatchObject({
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        // The audit's state machine (audit-fan-out.ts), which invokes the function per step and date.
        Arn: ref(logicalId(t, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine')),
        RoleArn: getAtt(id.schedulerRole as string),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 6 * 3600 },
        DeadLetterConfig: { Arn: getAtt(id.scheduleDlq as string) },
      },
    });
    const input = JSON.parse((sched.Target as { Input: string }).Input);
    expect(input).toEqual({
      source: 'usage-auditor.schedule',
      'detail-type': 'Scheduled Event',
      time: '<aws.scheduler.scheduled-time>',
      detail: {},
    });
    // The audit handler reads exactly this as the nightly run at the scheduled time.
    const fired = { ...input, time: '2026-11-28T02:00:00Z' };
    expect(parseAuditEvent(fired, new Date('2026-11-28T02:00:04Z'))).toEqual({
      kind: 'nightly',
      time: new Date('2026-11-28T02:00:00Z'),
    });
  });

  it("a failed run goes to an encrypted, SSL-only on-failure queue after Lambda's 2 retries within 6 hours", () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(id.auditFn as string),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt(id.auditFailureQueue as string) } },
    });
    const q = t.toJSON().Resources[id.auditFailureQueue as string].Properties;
    expect(q).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(id.auditFailureQueue as string)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    // Lambda checks the role when the destination is configured: the grant comes first.
    const config = Object.entries(resourcesOfType(t, 'AWS::Lambda::EventInvokeConfig')).find(
      ([, r]) =>
        JSON.stringify((r.Properties as Json).FunctionName) === JSON.stringify(ref(id.auditFn as string)),
    );
    expect(config?.[1].DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^AuditFunctionRoleDefaultPolicy/)]),
    );
  });

  it('Lambda retries and event age of the async invocations come from context', () => {
    const v = synth({ context: { asyncRetryAttempts: '0', asyncMaxEventAgeHours: 1 } });
    v.template.allResourcesProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
    expect(() => synth({ context: { asyncRetryAttempts: 3 } })).toThrow(
      /^context asyncRetryAttempts: expected an integer from 0 to 2/,
    );
    expect(() => synth({ context: { asyncMaxEventAgeHours: 7 } })).toThrow(
      /^context asyncMaxEventAgeHours: expected an integer from 1 to 6/,
    );
  });

  it('cron, time zone and retries come from context', () => {
    const v = synth({
      context: {
        scheduleCron: 'cron(30 3 * * ? *)',
        scheduleTimeZone: 'Europe/Berlin',
        scheduleRetryAttempts: '0',
        scheduleMaxEventAgeHours: 1,
      },
    });
    v.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 } }),
    });
  });
});

describe('least privilege', () => {
  it('audit role: exactly its statements, each scoped to its resource', () => {
    const got = roleStatements(t, id.auditRole as string).map(normalize);
    const want = [
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [getAtt(id.auditLogs as string)] },
      { actions: ['dynamodb:BatchGetItem', 'dynamodb:Query'], resources: [getAtt(id.usageTable as string)] },
      // Rollups only (the condition is checked below).
      { actions: ['dynamodb:BatchWriteItem'], resources: [getAtt(id.usageTable as string)] },
      { actions: ['dynamodb:PutItem', 'dynamodb:Query'], resources: [getAtt(id.controlTable as string)] },
      {
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: [objectsUnder(id.reportsBucket as string, 'reports/*')],
      },
      // Only the evidence files (a finding that is gone): a delete marker, never a version.
      {
        actions: ['s3:DeleteObject'],
        resources: [objectsUnder(id.reportsBucket as string, 'reports/date=*/evidence/*')],
      },
      { actions: ['s3:ListBucket'], resources: [getAtt(id.reportsBucket as string)] },
      {
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [objectsUnder(id.reportsBucket as string, 'statements/*')],
      },
      { actions: ['sqs:SendMessage'], resources: [getAtt(id.auditFailureQueue as string)] },
      // Finding events (infra/constructs/finding-events.ts): this bus and this topic only.
      {
        actions: ['events:PutEvents'],
        resources: [getAtt(logicalId(t, 'AWS::Events::EventBus', FINDING_EVENTS.busId))],
      },
      { actions: ['sns:Publish'], resources: [ref(logicalId(t, 'AWS::SNS::Topic', FINDING_EVENTS.topicId))] },
    ].map((w) => ({ actions: w.actions, resources: w.resources.map((r) => JSON.stringify(r)).sort() }));
    expect(got).toHaveLength(want.length);
    expect(got).toEqual(expect.arrayContaining(want));
  });

  it('audit role: writes to the usage table only rollup items (partition keys RU#…)', () => {
    const rollups = roleStatements(t, id.auditRole as string).filter(
      (st: { Sid?: string }) => st.Sid === 'WriteRollups',
    );
    expect(rollups).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:BatchWriteItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RU#*'] } },
      }),
    ]);
  });

  it('scheduler role (the id it had when it invoked the function): start the audit state machine and send to its DLQ, trusted by Scheduler only', () => {
    expect(id.schedulerRole).toBe('SchedulerRoleForTargetd490452FB0EE0C');
    const got = roleStatements(t, id.schedulerRole as string).map(normalize);
    const stateMachine = logicalId(t, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine');
    expect(got).toEqual(
      expect.arrayContaining([
        { actions: ['states:StartExecution'], resources: [JSON.stringify(ref(stateMachine))] },
        { actions: ['sqs:SendMessage'], resources: [JSON.stringify(getAtt(id.scheduleDlq as string))] },
      ]),
    );
    expect(got).toHaveLength(2);
    const trust =
      t.toJSON().Resources[id.schedulerRole as string].Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: expect.objectContaining({ 'aws:SourceAccount': ref('AWS::AccountId') }) },
      }),
    ]);
  });
});

describe('NightlyAudit props', () => {
  const build = (props: Partial<NightlyAuditProps> = {}): { stack: Stack; audit: NightlyAudit } => {
    const { stack, storage, auditFunction } = fixture();
    const audit = new NightlyAudit(stack, 'NightlyAudit', {
      auditFunction,
      usageTable: storage.table(USAGE_TABLE),
      controlTable: storage.table(CONTROL_TABLE),
      reportsBucket: storage.reportsBucket,
      expression: 'rate(1 day)',
      timeZone: 'Europe/Berlin',
      retryAttempts: 0,
      maxEventAgeHours: 1,
      asyncRetryAttempts: 1,
      asyncMaxEventAgeHours: 2,
      ...props,
    });
    return { stack, audit };
  };

  it('builds with valid props; the DLQ and the on-failure queue keep failures 14 days by default', () => {
    const { stack, audit } = build();
    const bare = Template.fromStack(stack);
    bare.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 day)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    for (const q of [audit.deadLetterQueue, audit.failureQueue]) {
      const qid = stack.getLogicalId(q.node.defaultChild as CfnElement);
      expect(bare.toJSON().Resources[qid].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
    bare.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 7200,
    });
  });

  it.each([
    [{ expression: '0 2 * * *' }, /^NightlyAudit: expression: expected cron\(…\) or rate\(…\)/],
    [{ timeZone: 'Mars/Olympus_Mons' }, /^NightlyAudit: timeZone: expected an IANA time zone/],
    [{ retryAttempts: 186 }, /^NightlyAudit: retryAttempts: expected an integer from 0 to 185/],
    [{ maxEventAgeHours: 25 }, /^NightlyAudit: maxEventAgeHours: expected an integer from 1 to 24/],
    [{ asyncRetryAttempts: 3 }, /^NightlyAudit: asyncRetryAttempts: expected an integer from 0 to 2/],
    [{ asyncMaxEventAgeHours: 0 }, /^NightlyAudit: asyncMaxEventAgeHours: expected an integer from 1 to 6/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
