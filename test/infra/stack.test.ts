import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAuditEvent } from '../../functions/audit/create-handler.ts';
import {
  ALARM_TOPIC,
  ANALYTICS,
  AUDIT_FUNCTION,
  BUCKETS,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  OPS_OUTPUTS,
  REPORTS_BUCKET,
  TABLES,
  USAGE_TABLE,
} from '../../functions/shared/resources.ts';
import { FINDINGS_VIEW, USAGE_VIEW, viewSql } from '../../infra/constructs/report-catalog.ts';
import { CONTEXT_KEYS, DEFAULT_CONFIG, glueNameFrom } from '../../infra/stack.ts';
import {
  allIdentityStatements,
  asArray,
  cdkJsonContext,
  getAtt,
  logicalId,
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
const id: Record<string, string> = {};

beforeAll(() => {
  // The one synthesis with esbuild bundling in this file; variants below skip bundling.
  s = synth({ bundle: true });
  t = s.template;
  const find = (key: string, type: string, prefix: string): void => {
    id[key] = logicalId(t, type, prefix);
  };
  find('logBucket', 'AWS::S3::Bucket', LOG_BUCKET.id);
  find('reportsBucket', 'AWS::S3::Bucket', REPORTS_BUCKET.id);
  find('accessLogsBucket', 'AWS::S3::Bucket', 'AccessLogsBucket');
  find('resultsBucket', 'AWS::S3::Bucket', 'AthenaResultsBucket');
  find('usageTable', 'AWS::DynamoDB::Table', USAGE_TABLE.id);
  find('controlTable', 'AWS::DynamoDB::Table', CONTROL_TABLE.id);
  find('ingestFn', 'AWS::Lambda::Function', INGEST_FUNCTION.id);
  find('auditFn', 'AWS::Lambda::Function', AUDIT_FUNCTION.id);
  find('ingestRole', 'AWS::IAM::Role', `${INGEST_FUNCTION.id}Role`);
  find('auditRole', 'AWS::IAM::Role', `${AUDIT_FUNCTION.id}Role`);
  find('ingestLogs', 'AWS::Logs::LogGroup', `${INGEST_FUNCTION.id}Logs`);
  find('auditLogs', 'AWS::Logs::LogGroup', `${AUDIT_FUNCTION.id}Logs`);
  find('ingestQueue', 'AWS::SQS::Queue', 'IngestQueue');
  find('ingestDlq', 'AWS::SQS::Queue', 'IngestDeadLetterQueue');
  find('scheduleDlq', 'AWS::SQS::Queue', 'ScheduleDeadLetterQueue');
  find('topic', 'AWS::SNS::Topic', ALARM_TOPIC.id);
  find('topicKey', 'AWS::KMS::Key', 'AlarmTopicKey');
  find('schedulerRole', 'AWS::IAM::Role', 'SchedulerRoleForTarget');
});

describe('context keys', () => {
  it('cdk.json carries a default for every context key, equal to the code default', () => {
    const ctx = cdkJsonContext();
    for (const key of CONTEXT_KEYS) {
      expect(ctx, key).toHaveProperty(key);
      expect(ctx[key], key).toEqual(DEFAULT_CONFIG[key]);
    }
    expect(ctx.stackName).toBe('UsageAuditor');
    expect(ctx.nag).toBe(true);
  });

  it('cdk.json runs the app with tsx', () => {
    const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      app: string;
    };
    expect(cdkJson.app).toBe('npx tsx infra/app.ts');
  });

  it('parses -c values given as strings, and props override context', () => {
    const v = synth({
      context: {
        ingestMemoryMb: '2048',
        ingestTimeoutSeconds: '120',
        objectLock: 'true',
        auditMaxSilenceHours: '50',
      },
      config: { auditMemoryMb: 1536 },
    });
    v.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('aggregates log objects'),
      MemorySize: 2048,
      Timeout: 120,
    });
    v.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('nightly audit'),
      MemorySize: 1536,
    });
    // Visibility timeout follows the function timeout.
    v.template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 720 });
    v.template.hasResourceProperties('AWS::S3::Bucket', { ObjectLockEnabled: true });
    v.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocations',
      EvaluationPeriods: 50,
      DatapointsToAlarm: 50,
    });
    const over = synth({ context: { ingestMemoryMb: 2048 }, config: { ingestMemoryMb: 512 } });
    over.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('aggregates log objects'),
      MemorySize: 512,
    });
  });

  it.each([
    [{ functionLogRetentionDays: 42 }, /functionLogRetentionDays/],
    [{ scheduleTimeZone: 'Mars/Olympus_Mons' }, /scheduleTimeZone/],
    [{ scheduleCron: '0 2 * * *' }, /scheduleCron/],
    [{ ingestMemoryMb: 'lots' }, /ingestMemoryMb: expected an integer/],
    [{ ingestTimeoutSeconds: 901 }, /ingestTimeoutSeconds/],
    [{ objectLock: 'yes' }, /objectLock: expected true or false/],
    [{ objectLockMode: 'STRICT' }, /objectLockMode/],
    [{ ingestBatchSize: 100, ingestMaxBatchingWindowSeconds: 0 }, /ingestMaxBatchingWindowSeconds/],
    [{ ingestMaxConcurrency: 1 }, /ingestMaxConcurrency/],
    [{ alarmEmail: 'not-an-address' }, /alarmEmail/],
    [{ glueDatabaseName: 'Has-Dashes' }, /glueDatabaseName/],
    [{ reportsProjectionStart: '2020-13-45' }, /reportsProjectionStart/],
  ])('refuses %o, naming the key', (context, message) => {
    expect(() => synth({ context })).toThrow(message);
  });

  it('derives Glue-safe names from the stack name', () => {
    expect(glueNameFrom('UsageAuditor')).toBe('usage_auditor');
    expect(glueNameFrom('Prod-UsageAuditor2')).toBe('prod_usage_auditor2');
    expect(glueNameFrom('audit-eu-west-1')).toBe('audit_eu_west_1');
  });
});

describe('buckets', () => {
  it('every bucket: SSE-S3, public access blocked, bucket-owner-enforced, retained', () => {
    const buckets = resourcesOfType(t, 'AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(4);
    for (const [bid, b] of Object.entries(buckets)) {
      expect(b.DeletionPolicy, bid).toBe('Retain');
      expect(b.UpdateReplacePolicy, bid).toBe('Retain');
      expect(b.Properties, bid).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
    }
  });

  it('every bucket policy denies requests without TLS (and below TLS 1.2)', () => {
    const policies = Object.values(resourcesOfType(t, 'AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(4);
    const covered = policies.map((p) => {
      const props = p.Properties as { Bucket: Json; PolicyDocument: { Statement: Json[] } };
      expect(props.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      );
      return (props.Bucket as { Ref: string }).Ref;
    });
    expect(covered.sort()).toEqual(
      [id.logBucket, id.reportsBucket, id.accessLogsBucket, id.resultsBucket].map(String).sort(),
    );
  });

  it('log and reports buckets are versioned and send access logs to the access-log bucket', () => {
    for (const [bucket, prefix] of [
      [id.logBucket, 'log-bucket/'],
      [id.reportsBucket, 'reports-bucket/'],
    ] as const) {
      expect(t.toJSON().Resources[bucket as string].Properties).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: {
          DestinationBucketName: ref(id.accessLogsBucket as string),
          LogFilePrefix: prefix,
        },
      });
    }
    expect(t.toJSON().Resources[id.resultsBucket as string].Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: ref(id.accessLogsBucket as string),
      LogFilePrefix: 'athena-results/',
    });
    // S3 delivers the access logs under a bucket policy scoped to each source bucket.
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref(id.accessLogsBucket as string),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': getAtt(id.logBucket as string) } }),
          }),
        ]),
      },
    });
  });

  it('lifecycle: logs/ expire after logRetentionDays, noncurrent versions expire, access logs and results age out', () => {
    const rules = (bucket: string): Json[] =>
      (t.toJSON().Resources[bucket].Properties.LifecycleConfiguration as { Rules: Json[] }).Rules;
    expect(rules(id.logBucket as string)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'logs/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({
          NoncurrentVersionExpiration: { NoncurrentDays: 90 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          Status: 'Enabled',
        }),
        expect.objectContaining({ ExpiredObjectDeleteMarker: true }),
      ]),
    );
    const reportRules = rules(id.reportsBucket as string);
    expect(reportRules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'data-quality/', ExpirationInDays: 400 }),
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
      ]),
    );
    // Reports themselves never expire.
    expect(
      reportRules.filter((r) => r.ExpirationInDays !== undefined && r.Prefix !== 'data-quality/'),
    ).toEqual([]);
    expect(rules(id.accessLogsBucket as string)).toEqual([
      expect.objectContaining({ ExpirationInDays: 365, Status: 'Enabled' }),
    ]);
    expect(rules(id.resultsBucket as string)).toEqual([
      expect.objectContaining({ ExpirationInDays: 30, Status: 'Enabled' }),
    ]);
    const keep = synth({ context: { logRetentionDays: 0 } });
    const logRules = Object.values(keep.template.findResources('AWS::S3::Bucket')).flatMap(
      (b) => ((b.Properties as Json).LifecycleConfiguration as { Rules: Json[] } | undefined)?.Rules ?? [],
    );
    expect(logRules.filter((r) => r.Prefix === 'logs/')).toEqual([]);
  });

  it('Object Lock on the reports bucket only when context objectLock is true', () => {
    for (const b of Object.values(resourcesOfType(t, 'AWS::S3::Bucket'))) {
      expect(b.Properties).not.toHaveProperty('ObjectLockEnabled');
    }
    const locked = synth({
      context: { objectLock: true, objectLockDays: 2555, objectLockMode: 'COMPLIANCE' },
    });
    const reports = locked.template.toJSON().Resources[id.reportsBucket as string].Properties;
    expect(reports).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    expect(locked.template.toJSON().Resources[id.logBucket as string].Properties).not.toHaveProperty(
      'ObjectLockEnabled',
    );
    const governance = synth({ context: { objectLock: true } });
    expect(governance.template.toJSON().Resources[id.reportsBucket as string].Properties).toMatchObject({
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
    });
  });
});

describe('DynamoDB tables', () => {
  it('are built from functions/shared/resources.ts TABLES: keys, on-demand, PITR, deletion protection, retained', () => {
    const tables = resourcesOfType(t, 'AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(TABLES.length);
    for (const def of TABLES) {
      const tid = logicalId(t, 'AWS::DynamoDB::Table', def.id);
      const table = tables[tid] as Json;
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      const keys = [def.partitionKey, ...(def.sortKey ? [def.sortKey] : [])];
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
      });
      expect(table.Properties).not.toHaveProperty('ProvisionedThroughput');
    }
    const unprotected = synth({ context: { tableDeletionProtection: false } });
    unprotected.template.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });
});

describe('functions', () => {
  const envFor = (service: string): Json => ({
    [USAGE_TABLE.env]: ref(id.usageTable as string),
    [CONTROL_TABLE.env]: ref(id.controlTable as string),
    [REPORTS_BUCKET.env]: ref(id.reportsBucket as string),
    [LOG_BUCKET.env]: ref(id.logBucket as string),
    POWERTOOLS_SERVICE_NAME: service,
    POWERTOOLS_METRICS_NAMESPACE: 'UsageAuditor',
    NODE_OPTIONS: '--enable-source-maps',
  });

  it('ingest: nodejs22.x, arm64, 1024 MB, 5 min, own role and log group, exact environment', () => {
    expect(t.toJSON().Resources[id.ingestFn as string].Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 300,
      Handler: 'index.handler',
      Role: getAtt(id.ingestRole as string),
      LoggingConfig: { LogGroup: ref(id.ingestLogs as string) },
    });
    expect(t.toJSON().Resources[id.ingestFn as string].Properties.Environment.Variables).toEqual(
      envFor('usage-auditor-ingest'),
    );
  });

  it('audit: nodejs22.x, arm64, 1024 MB, 15 min, own role and log group, exact environment', () => {
    expect(t.toJSON().Resources[id.auditFn as string].Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 900,
      Handler: 'index.handler',
      Role: getAtt(id.auditRole as string),
      LoggingConfig: { LogGroup: ref(id.auditLogs as string) },
    });
    expect(t.toJSON().Resources[id.auditFn as string].Properties.Environment.Variables).toEqual(
      envFor('usage-auditor-audit'),
    );
  });

  it('explicit log groups with functionLogRetentionDays', () => {
    for (const lg of [id.ingestLogs, id.auditLogs]) {
      expect(t.toJSON().Resources[lg as string].Properties).toMatchObject({ RetentionInDays: 90 });
    }
    const week = synth({ context: { functionLogRetentionDays: 7 } });
    week.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('bundles each handler as a minified ESM file with a source map that loads and exports handler', async () => {
    for (const fid of [id.ingestFn, id.auditFn]) {
      const fn = t.toJSON().Resources[fid as string];
      expect(fn.Metadata['aws:asset:is-bundled']).toBe(true);
      const dir = path.join(s.outdir, fn.Metadata['aws:asset:path'] as string);
      const file = path.join(dir, 'index.mjs');
      expect(existsSync(file)).toBe(true);
      expect(existsSync(`${file}.map`)).toBe(true);
      const code = readFileSync(file, 'utf8');
      expect(
        code.startsWith("import { createRequire } from 'node:module';const require = createRequire("),
      ).toBe(true);
      expect(code).toMatch(/sourceMappingURL=index\.mjs\.map/);
      // Minified: long lines (a readable bundle averages well under 80 characters a line).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      // The handler modules read their configuration at import time, as they would in Lambda.
      const saved = { ...process.env };
      Object.assign(process.env, {
        [USAGE_TABLE.env]: 'usage',
        [CONTROL_TABLE.env]: 'control',
        [REPORTS_BUCKET.env]: 'reports',
        [LOG_BUCKET.env]: 'logs',
        AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      });
      try {
        const mod = (await import(pathToFileURL(file).href)) as { handler?: unknown };
        expect(typeof mod.handler).toBe('function');
      } finally {
        process.env = saved;
      }
    }
  });
});

describe('least privilege', () => {
  it('no identity policy in the stack has a wildcard action or Resource "*"', () => {
    const all = allIdentityStatements(t);
    expect(all.length).toBeGreaterThan(10);
    for (const { where, statement } of all) {
      expect(statement.NotAction, where).toBeUndefined();
      expect(statement.NotResource, where).toBeUndefined();
      for (const action of asArray(statement.Action)) {
        expect(action, where).not.toMatch(/\*$/);
      }
      for (const r of asArray(statement.Resource as unknown)) {
        expect(r, where).not.toBe('*');
      }
    }
  });

  it('function roles carry no managed policies and trust only Lambda', () => {
    for (const rid of [id.ingestRole, id.auditRole]) {
      const role = t.toJSON().Resources[rid as string].Properties;
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
  });

  it('ingest role: exactly its statements, each scoped to its resource', () => {
    const got = roleStatements(t, id.ingestRole as string).map(normalize);
    const want = [
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [getAtt(id.ingestLogs as string)],
      },
      {
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [objectsUnder(id.logBucket as string, 'logs/*')],
      },
      { actions: ['s3:ListBucket'], resources: [getAtt(id.logBucket as string)] },
      { actions: ['s3:PutObject'], resources: [objectsUnder(id.reportsBucket as string, 'data-quality/*')] },
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
      {
        actions: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ],
        resources: [getAtt(id.ingestQueue as string)],
      },
    ].map((w) => ({ actions: w.actions, resources: w.resources.map((r) => JSON.stringify(r)).sort() }));
    expect(got).toHaveLength(want.length);
    expect(got).toEqual(expect.arrayContaining(want));
    for (const st of roleStatements(t, id.ingestRole as string)) expect(st.Effect).toBe('Allow');
  });

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

  it('the bucket-notification custom resource may only configure the log bucket', () => {
    const handlerRole = logicalId(t, 'AWS::IAM::Role', 'BucketNotificationsHandler');
    expect(roleStatements(t, handlerRole).map(normalize)).toEqual([
      { actions: ['s3:PutBucketNotification'], resources: [JSON.stringify(getAtt(id.logBucket as string))] },
    ]);
  });
});

describe('S3 -> SQS -> ingest', () => {
  it('ingest queue: visibility timeout 6x the function timeout, redrive to the DLQ after 5 receives', () => {
    const q = t.toJSON().Resources[id.ingestQueue as string].Properties;
    const timeout = t.toJSON().Resources[id.ingestFn as string].Properties.Timeout as number;
    expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(q.VisibilityTimeout).toBe(1800);
    expect(q.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(id.ingestDlq as string),
      maxReceiveCount: 5,
    });
  });

  it('every queue is encrypted and refuses non-TLS access', () => {
    const queues = resourcesOfType(t, 'AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(3);
    for (const [qid, q] of Object.entries(queues)) {
      expect((q.Properties as Json).SqsManagedSseEnabled, qid).toBe(true);
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(qid)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: getAtt(qid),
            }),
          ]),
        },
      });
    }
    for (const dlq of [id.ingestDlq, id.scheduleDlq]) {
      expect(t.toJSON().Resources[dlq as string].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });

  it('S3 sends ObjectCreated under logs/ (only) to the ingest queue, which admits only the log bucket', () => {
    t.resourceCountIs('Custom::S3BucketNotifications', 1);
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: ref(id.logBucket as string),
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'logs/' }] } },
            QueueArn: getAtt(id.ingestQueue as string),
          },
        ],
      },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(id.ingestQueue as string)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
            Condition: { ArnLike: { 'aws:SourceArn': getAtt(id.logBucket as string) } },
            Resource: getAtt(id.ingestQueue as string),
          },
        ]),
      },
    });
  });

  it('event source mapping: batch of 10, 5 s window, ReportBatchItemFailures', () => {
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    const esm = Object.values(resourcesOfType(t, 'AWS::Lambda::EventSourceMapping'))[0] as Json;
    expect(esm.Properties).toEqual(
      expect.objectContaining({
        EventSourceArn: getAtt(id.ingestQueue as string),
        FunctionName: ref(id.ingestFn as string),
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 5,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      }),
    );
    expect(esm.Properties).not.toHaveProperty('ScalingConfig');
    const capped = synth({ context: { ingestMaxConcurrency: 20 } });
    capped.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });
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

describe('Glue and Athena', () => {
  const glueTable = (name: string): Json => {
    const match = Object.values(resourcesOfType(t, 'AWS::Glue::Table')).filter(
      (r) => ((r.Properties as Json).TableInput as Json).Name === name,
    );
    expect(match).toHaveLength(1);
    return (match[0] as Json).Properties as Json;
  };
  const reportsRoot = (suffix: string): Json => ({
    'Fn::Join': ['', ['s3://', ref(id.reportsBucket as string), `/reports/${suffix}`]],
  });

  it('database named after the stack', () => {
    t.resourceCountIs('AWS::Glue::Database', 1);
    t.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: ref('AWS::AccountId'),
      DatabaseInput: { Name: 'usage_auditor' },
    });
  });

  it('report_lines: text lines of reports/date=…/, partition projection on date (yyyy-MM-dd, 2020-01-01..NOW)', () => {
    const p = glueTable(ANALYTICS.linesTable);
    expect(p.DatabaseName).toBe('usage_auditor');
    expect(p.TableInput).toEqual(
      expect.objectContaining({
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [expect.objectContaining({ Name: 'date', Type: 'string' })],
        Parameters: {
          EXTERNAL: 'TRUE',
          classification: 'text',
          'projection.enabled': 'true',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': '2020-01-01,NOW',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder.
          'storage.location.template': reportsRoot('date=${date}/'),
        },
        StorageDescriptor: expect.objectContaining({
          Location: reportsRoot(''),
          Columns: [expect.objectContaining({ Name: 'line', Type: 'string' })],
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            Parameters: { 'serialization.format': '1' },
          },
        }),
      }),
    );
  });

  it.each([
    [
      FINDINGS_VIEW.name,
      'findings.jsonl',
      [
        'report_date',
        'finding_id',
        'licensee',
        'rule',
        'severity',
        'metric',
        'subject',
        'period_start',
        'period_end',
        'observed',
        'limit',
        'excess',
        'amount_owed',
        'currency',
        'apps',
        'detail',
        'evidence',
        'date',
      ],
    ],
    [
      USAGE_VIEW.name,
      'usage.jsonl',
      ['licensee', 'app_id', 'usage_date', 'requests', 'records', 'bytes', 'errors', 'date'],
    ],
  ])('%s: an Athena view over report_lines restricted to %s, columns per SPEC §5', (name, file, columns) => {
    const p = glueTable(name);
    const input = p.TableInput as {
      TableType: string;
      Parameters: Json;
      ViewOriginalText: string;
      ViewExpandedText: string;
      StorageDescriptor: { Columns: Array<{ Name: string; Type: string }> };
    };
    expect(input.TableType).toBe('VIRTUAL_VIEW');
    expect(input.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
    expect(input.ViewExpandedText).toBe('/* Presto View */');
    expect(input.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(columns);
    const m = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(input.ViewOriginalText);
    expect(m).not.toBeNull();
    const view = JSON.parse(Buffer.from(m?.[1] as string, 'base64').toString('utf8')) as {
      originalSql: string;
      catalog: string;
      schema: string;
      columns: Array<{ name: string; type: string }>;
    };
    expect(view.catalog).toBe('awsdatacatalog');
    expect(view.schema).toBe('usage_auditor');
    expect(view.originalSql).toContain('FROM "usage_auditor"."report_lines"');
    expect(view.originalSql).toContain(`WHERE "$path" LIKE '%/${file}'`);
    expect(view.columns.map((c) => c.name)).toEqual(columns);
    // Hive and Presto types describe the same column.
    const hiveToPresto = (h: string): string =>
      h
        .replace(/struct<([^>]*)>/g, (_, f: string) => `row(${f.replace(/:/g, ' ')})`)
        .replace(/array<(.*)>/, 'array($1)')
        .replace(/\bstring\b/g, 'varchar');
    expect(view.columns.map((c) => c.type)).toEqual(
      input.StorageDescriptor.Columns.map((c) => hiveToPresto(c.Type)),
    );
    expect(view.columns.find((c) => c.name === 'date')?.type).toBe('varchar');
  });

  it('findings view types: counts are bigint, amount_owed double, apps array of rows', () => {
    const types = Object.fromEntries(FINDINGS_VIEW.columns.map((c) => [c.name, c.prestoType]));
    expect(types).toMatchObject({
      observed: 'bigint',
      limit: 'bigint',
      excess: 'bigint',
      amount_owed: 'double',
      apps: 'array(row(app_id varchar,value bigint,share double))',
      evidence: 'varchar',
    });
    expect(Object.fromEntries(USAGE_VIEW.columns.map((c) => [c.name, c.prestoType]))).toMatchObject({
      requests: 'bigint',
      records: 'bigint',
      bytes: 'bigint',
      errors: 'bigint',
      usage_date: 'varchar',
    });
    expect(viewSql('db', USAGE_VIEW)).toContain(`json_extract_scalar(line, '$.usage_date') AS "usage_date"`);
  });

  it('workgroup: enforced configuration, results in the results bucket (SSE-S3), engine 3, scan limit', () => {
    t.resourceCountIs('AWS::Athena::WorkGroup', 1);
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'UsageAuditor',
      State: 'ENABLED',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', ref(id.resultsBucket as string), '/results/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          ExpectedBucketOwner: ref('AWS::AccountId'),
        },
      },
    });
  });

  it('saved queries in the workgroup rebuild the views and show the latest findings', () => {
    const queries = Object.values(resourcesOfType(t, 'AWS::Athena::NamedQuery')).map(
      (q) => q.Properties as Json,
    );
    expect(queries.map((q) => q.Name).sort()).toEqual([
      'latest-findings',
      'recreate-findings-view',
      'recreate-usage-view',
    ]);
    for (const q of queries) {
      expect(q).toMatchObject({ Database: 'usage_auditor', WorkGroup: 'UsageAuditor' });
    }
    const recreate = queries.find((q) => q.Name === 'recreate-findings-view') as Json;
    expect(recreate.QueryString).toBe(
      `CREATE OR REPLACE VIEW "findings" AS\n${viewSql('usage_auditor', FINDINGS_VIEW)}`,
    );
  });

  it('database and workgroup names follow context', () => {
    const v = synth({ context: { glueDatabaseName: 'audit_prod', athenaWorkgroupName: 'audit-prod' } });
    v.template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'audit_prod' } });
    v.template.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'audit-prod' });
    v.template.hasOutput('GlueDatabase', { Value: 'audit_prod' });
    v.template.hasOutput('AthenaWorkgroup', { Value: 'audit-prod' });
  });
});

describe('alarms', () => {
  const alarms = (): Json[] =>
    Object.values(resourcesOfType(t, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as Json);

  it('every alarm notifies the alarm topic', () => {
    expect(alarms()).toHaveLength(6);
    for (const a of alarms()) expect(a.AlarmActions).toEqual([ref(id.topic as string)]);
  });

  it('dead-letter depth > 0 on both DLQs', () => {
    for (const dlq of [id.ingestDlq, id.scheduleDlq]) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: getAtt(dlq as string, 'QueueName') }],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('errors > 0 on both functions', () => {
    for (const fn of [id.ingestFn, id.auditFn]) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: ref(fn as string) }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Period: 300,
      });
    }
  });

  it('audit not run: fewer than 1 invocation in each of 26 hourly periods, missing data breaching', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: ref(id.auditFn as string) }],
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('ingest backlog: oldest message older than an hour', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(id.ingestQueue as string, 'QueueName') }],
      Threshold: 3600,
    });
  });

  it('topic: KMS-encrypted with a rotating customer key CloudWatch may use, SSL-only, CloudWatch may publish', () => {
    expect(t.toJSON().Resources[id.topic as string].Properties.KmsMasterKeyId).toEqual(
      getAtt(id.topicKey as string),
    );
    const key = t.toJSON().Resources[id.topicKey as string].Properties;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
        }),
      ]),
    );
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(id.topic as string)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: ref(id.topic as string),
          }),
        ]),
      },
    });
  });

  it('e-mail subscription only when alarmEmail is set', () => {
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    const v = synth({ context: { alarmEmail: 'ops@example.com' } });
    v.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: ref(id.topic as string),
    });
  });
});

describe('outputs', () => {
  it('names from functions/shared/resources.ts, pointing at the right resources', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    const expected: Record<string, unknown> = {
      [LOG_BUCKET.output]: ref(id.logBucket as string),
      [REPORTS_BUCKET.output]: ref(id.reportsBucket as string),
      [USAGE_TABLE.output]: ref(id.usageTable as string),
      [CONTROL_TABLE.output]: ref(id.controlTable as string),
      [INGEST_FUNCTION.output]: ref(id.ingestFn as string),
      [AUDIT_FUNCTION.output]: ref(id.auditFn as string),
      [ANALYTICS.workgroupOutput]: 'UsageAuditor',
      [ANALYTICS.databaseOutput]: 'usage_auditor',
      [ALARM_TOPIC.output]: ref(id.topic as string),
      [OPS_OUTPUTS.ingestQueueUrl]: ref(id.ingestQueue as string),
      [OPS_OUTPUTS.ingestDeadLetterQueueUrl]: ref(id.ingestDlq as string),
      [OPS_OUTPUTS.scheduleDeadLetterQueueUrl]: ref(id.scheduleDlq as string),
      [OPS_OUTPUTS.athenaResultsBucketName]: ref(id.resultsBucket as string),
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(outputs[name]?.Value, name).toEqual(value);
    }
    expect(outputs[OPS_OUTPUTS.scheduleName]).toBeDefined();
    for (const b of BUCKETS) expect(outputs).toHaveProperty(b.output);
    for (const tb of TABLES) expect(outputs).toHaveProperty(tb.output);
  });
});
