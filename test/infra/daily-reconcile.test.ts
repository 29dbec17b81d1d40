/**
 * DailyReconcile (infra/constructs/daily-reconcile.ts) and the reconcile function: the daily
 * schedule before the audit, its DLQ, the on-failure queue, the reconcile role (exactly the data
 * grants of ingest), the environment the handler reads.
 */
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CONTROL_TABLE, LOG_BUCKET, REPORTS_BUCKET, USAGE_TABLE } from '../../functions/shared/resources.ts';
import { DailyReconcile, type DailyReconcileProps } from '../../infra/constructs/daily-reconcile.ts';
import { fixture, getAtt, mainIds, normalize, objectsUnder, ref, roleStatements, synth } from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);
const fnProps = (fid: string): Json => t.toJSON().Resources[fid].Properties as Json;

describe('reconcile function', () => {
  it('sized like ingest (1024 MB), 15 minutes, on arm64 with its own log group', () => {
    expect(fnProps(id.reconcileFn as string)).toMatchObject({
      MemorySize: 1024,
      Timeout: 900,
      Architectures: ['arm64'],
      Role: getAtt(id.reconcileRole as string),
      LoggingConfig: { LogGroup: ref(id.reconcileLogs as string) },
    });
    expect(fnProps(id.reconcileFn as string)).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it("environment: the ingest function's, plus RECONCILE_WINDOW_DAYS, the ingest read budget and its own service name", () => {
    const env = (fid: string): Record<string, unknown> =>
      (fnProps(fid).Environment as { Variables: Record<string, unknown> }).Variables;
    const reconcile = env(id.reconcileFn as string);
    const { POWERTOOLS_SERVICE_NAME: ingestService, ...ingest } = env(id.ingestFn as string);
    expect(ingestService).toBe('usage-auditor-ingest');
    expect(reconcile).toEqual({
      ...ingest,
      POWERTOOLS_SERVICE_NAME: 'usage-auditor-reconcile',
      RECONCILE_WINDOW_DAYS: '2',
      // The ingest function's 300 s less its 30 s margin.
      INGEST_READ_BUDGET_MS: '270000',
    });
    expect(reconcile).toMatchObject({
      [USAGE_TABLE.env]: ref(id.usageTable as string),
      [CONTROL_TABLE.env]: ref(id.controlTable as string),
      [REPORTS_BUCKET.env]: ref(id.reportsBucket as string),
      [LOG_BUCKET.env]: ref(id.logBucket as string),
      POWERTOOLS_METRICS_NAMESPACE: 'UsageAuditor',
    });
    const v = synth({
      context: {
        reconcileWindowDays: '7',
        reconcileMemoryMb: 2048,
        reconcileTimeoutSeconds: '600',
        ingestTimeoutSeconds: 900,
      },
    });
    v.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('daily reconcile'),
      MemorySize: 2048,
      Timeout: 600,
      // Follows the ingest function's timeout: reconcile must not call "too large" what ingest can read.
      Environment: {
        Variables: Match.objectLike({ RECONCILE_WINDOW_DAYS: '7', INGEST_READ_BUDGET_MS: '870000' }),
      },
    });
    expect(() => synth({ context: { reconcileWindowDays: 0 } })).toThrow(
      /^context reconcileWindowDays: expected an integer from 1 to 30/,
    );
  });
});

describe('EventBridge Scheduler -> reconcile', () => {
  it('daily at 01:30 UTC (before the 02:00 audit), retries, DLQ, the scheduled-event input', () => {
    const sched = t.toJSON().Resources[id.reconcileSchedule as string].Properties as Json;
    expect(sched).toMatchObject({
      ScheduleExpression: 'cron(30 1 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: getAtt(id.reconcileFn as string),
        RoleArn: getAtt(id.reconcileSchedulerRole as string),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 6 * 3600 },
        DeadLetterConfig: { Arn: getAtt(id.reconcileDlq as string) },
      },
    });
    expect(JSON.parse((sched.Target as { Input: string }).Input)).toMatchObject({
      source: 'usage-auditor.schedule',
      'detail-type': 'Scheduled Event',
    });
    const v = synth({ context: { reconcileCron: 'rate(12 hours)', scheduleTimeZone: 'Europe/Berlin' } });
    v.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(12 hours)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    expect(() => synth({ context: { reconcileCron: '30 1 * * *' } })).toThrow(/^context reconcileCron: /);
  });

  it("a failed run goes to the reconcile on-failure queue after Lambda's retries", () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(id.reconcileFn as string),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt(id.reconcileFailureQueue as string) } },
    });
    for (const q of [id.reconcileFailureQueue, id.reconcileDlq]) {
      expect(t.toJSON().Resources[q as string].Properties).toMatchObject({ SqsManagedSseEnabled: true });
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(q as string)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('least privilege', () => {
  const scoped = (w: { actions: string[]; resources: Json[] }) => ({
    actions: w.actions,
    resources: w.resources.map((r) => JSON.stringify(r)).sort(),
  });

  it("reconcile role: the ingest role's data statements (listing included) and its on-failure queue, nothing else", () => {
    const got = roleStatements(t, id.reconcileRole as string).map(normalize);
    const want = [
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [getAtt(id.reconcileLogs as string)],
      },
      {
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [objectsUnder(id.logBucket as string, 'logs/*')],
      },
      { actions: ['s3:ListBucket'], resources: [getAtt(id.logBucket as string)] },
      {
        actions: ['s3:AbortMultipartUpload', 's3:PutObject'],
        resources: [objectsUnder(id.reportsBucket as string, 'data-quality/*')],
      },
      {
        actions: [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        resources: [getAtt(id.usageTable as string)],
      },
      { actions: ['dynamodb:GetItem'], resources: [getAtt(id.controlTable as string)] },
      { actions: ['sqs:SendMessage'], resources: [getAtt(id.reconcileFailureQueue as string)] },
    ].map(scoped);
    expect(got).toHaveLength(want.length);
    expect(got).toEqual(expect.arrayContaining(want));
    for (const st of roleStatements(t, id.reconcileRole as string)) expect(st.Effect).toBe('Allow');

    // The same data grants as ingest, statement for statement (ingest adds its queue and log group).
    const data = (roleId: string): string[] =>
      roleStatements(t, roleId)
        .filter((st) =>
          /^(ReadLogObjects|TellMissingLogObjects|WriteDataQualityRecords|UsageAggregates|ReadRecipientsRegistry)$/.test(
            st.Sid ?? '',
          ),
        )
        .map((st) => JSON.stringify(normalize(st)))
        .sort();
    expect(data(id.reconcileRole as string)).toHaveLength(5);
    expect(data(id.reconcileRole as string)).toEqual(data(id.ingestRole as string));
  });

  it('reconcile scheduler role: invoke the reconcile function (unqualified) and send to its DLQ', () => {
    const got = roleStatements(t, id.reconcileSchedulerRole as string).map(normalize);
    expect(got).toEqual(
      expect.arrayContaining([
        scoped({
          actions: ['lambda:InvokeFunction'],
          resources: [
            getAtt(id.reconcileFn as string),
            { 'Fn::Join': ['', [getAtt(id.reconcileFn as string), ':$LATEST']] },
          ],
        }),
        scoped({ actions: ['sqs:SendMessage'], resources: [getAtt(id.reconcileDlq as string)] }),
      ]),
    );
    expect(got).toHaveLength(2);
  });
});

describe('DailyReconcile props', () => {
  const build = (props: Partial<DailyReconcileProps> = {}): { stack: Stack; reconcile: DailyReconcile } => {
    const { stack, storage, reconcileFunction } = fixture();
    const reconcile = new DailyReconcile(stack, 'DailyReconcile', {
      reconcileFunction,
      logBucket: storage.logBucket,
      reportsBucket: storage.reportsBucket,
      usageTable: storage.table(USAGE_TABLE),
      controlTable: storage.table(CONTROL_TABLE),
      expression: 'rate(1 day)',
      timeZone: 'UTC',
      retryAttempts: 1,
      maxEventAgeHours: 2,
      asyncRetryAttempts: 0,
      asyncMaxEventAgeHours: 1,
      ...props,
    });
    return { stack, reconcile };
  };

  it('builds with valid props: one schedule, both queues kept 14 days, the async settings given', () => {
    const { stack, reconcile } = build();
    const bare = Template.fromStack(stack);
    bare.resourceCountIs('AWS::Scheduler::Schedule', 1);
    bare.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
    for (const q of [reconcile.deadLetterQueue, reconcile.failureQueue]) {
      const qid = stack.getLogicalId(q.node.defaultChild as CfnElement);
      expect(bare.toJSON().Resources[qid].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });

  it.each([
    [{ expression: 'daily' }, /^DailyReconcile: expression: expected cron\(…\) or rate\(…\)/],
    [{ timeZone: 'Nowhere/Land' }, /^DailyReconcile: timeZone: expected an IANA time zone/],
    [{ retryAttempts: -1 }, /^DailyReconcile: retryAttempts: expected an integer from 0 to 185/],
    [{ asyncRetryAttempts: 3 }, /^DailyReconcile: asyncRetryAttempts: expected an integer from 0 to 2/],
    [{ asyncMaxEventAgeHours: 7 }, /^DailyReconcile: asyncMaxEventAgeHours: expected an integer from 1 to 6/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => build(bad)).toThrow(message);
  });
});
