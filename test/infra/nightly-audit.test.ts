import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAuditEvent } from '../../functions/audit/create-handler.ts';
import {
  getAtt,
  mainIds,
  normalize,
  objectsUnder,
  ref,
  resourcesOfType,
  roleStatements,
  type Synthesized,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

let s: Synthesized;
let t: Template;
/** Logical ids of the main resources, found once. */
let id: ReturnType<typeof mainIds>;

beforeAll(() => {
  s = synth();
  t = s.template;
  id = mainIds(t);
});

describe('EventBridge Scheduler -> audit', () => {
  it('cron 02:00 UTC by default, no flexible window, retries, max event age, DLQ, input', () => {
    t.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const sched = (Object.values(resourcesOfType(t, 'AWS::Scheduler::Schedule'))[0] as Json)
      .Properties as Json;
    expect(sched).toMatchObject({
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: getAtt(id.auditFn as string),
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
      { actions: ['dynamodb:PutItem', 'dynamodb:Query'], resources: [getAtt(id.controlTable as string)] },
      {
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [objectsUnder(id.reportsBucket as string, 'reports/*')],
      },
      { actions: ['s3:ListBucket'], resources: [getAtt(id.reportsBucket as string)] },
    ].map((w) => ({ actions: w.actions, resources: w.resources.map((r) => JSON.stringify(r)).sort() }));
    expect(got).toHaveLength(want.length);
    expect(got).toEqual(expect.arrayContaining(want));
  });

  it('scheduler role: invoke the audit function (unqualified, no :*) and send to its DLQ, trusted by Scheduler only', () => {
    const got = roleStatements(t, id.schedulerRole as string).map(normalize);
    expect(got).toEqual(
      expect.arrayContaining([
        {
          actions: ['lambda:InvokeFunction'],
          resources: [
            getAtt(id.auditFn as string),
            { 'Fn::Join': ['', [getAtt(id.auditFn as string), ':$LATEST']] },
          ]
            .map((r) => JSON.stringify(r))
            .sort(),
        },
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
