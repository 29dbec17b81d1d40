/**
 * LambdaFunction (infra/constructs/lambda-function.ts): both functions, their roles and log groups, the
 * bundles, and the least-privilege rules every role in the stack keeps.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  CONTROL_TABLE,
  FINDING_EVENTS,
  LOG_BUCKET,
  REPORTS_BUCKET,
  USAGE_TABLE,
} from '../../functions/shared/resources.ts';
import {
  LambdaFunction,
  objectsUnder as objectsUnderPrefix,
} from '../../infra/constructs/lambda-function.ts';
import {
  allIdentityStatements,
  asArray,
  bareStack,
  FUNCTION_PROPS,
  fixture,
  getAtt,
  logicalId,
  mainIds,
  objectsUnder,
  ref,
  roleStatements,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

// The one synthesis with esbuild bundling in test/infra; the other files skip bundling.
const s = synth({ bundle: true });
const t = s.template;
const id = mainIds(t);

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
    // Plus the finding events' bus, digest topic and threshold (infra/constructs/finding-events.ts).
    expect(t.toJSON().Resources[id.auditFn as string].Properties.Environment.Variables).toEqual({
      ...envFor('usage-auditor-audit'),
      [FINDING_EVENTS.busEnv]: ref(logicalId(t, 'AWS::Events::EventBus', FINDING_EVENTS.busId)),
      [FINDING_EVENTS.topicEnv]: ref(logicalId(t, 'AWS::SNS::Topic', FINDING_EVENTS.topicId)),
      [FINDING_EVENTS.thresholdEnv]: '10',
    });
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
});

describe('LambdaFunction props and grants', () => {
  const acknowledged = (c: IConstruct): string[] =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.keys(m.data as Record<string, string>))
      .map((k) => k.replace(/^Annotation::/, ''));

  it('defaults: nodejs22.x on arm64, the shared bundling, its own role and log group; L1 acknowledged', () => {
    const { stack, ingestFunction } = fixture();
    const bare = Template.fromStack(stack);
    const fnId = stack.getLogicalId(ingestFunction.lambdaFunction.node.defaultChild as CfnElement);
    expect(bare.toJSON().Resources[fnId].Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: FUNCTION_PROPS.memorySizeMb,
      Timeout: FUNCTION_PROPS.timeoutSeconds,
      Role: getAtt(stack.getLogicalId(ingestFunction.role.node.defaultChild as CfnElement)),
      LoggingConfig: {
        LogGroup: ref(stack.getLogicalId(ingestFunction.logGroup.node.defaultChild as CfnElement)),
      },
    });
    expect(acknowledged(ingestFunction.lambdaFunction)).toEqual(['AwsSolutions-L1']);
  });

  it.each([
    [
      { memorySizeMb: 64 },
      /^LambdaFunction IngestFunction: memorySizeMb: expected an integer from 128 to 10240/,
    ],
    [
      { timeoutSeconds: 901 },
      /^LambdaFunction IngestFunction: timeoutSeconds: expected an integer from 1 to 900/,
    ],
    [{ logRetentionDays: 42 }, /^LambdaFunction IngestFunction: logRetentionDays: expected one of 1, 3, 5/],
    [{ entry: ' ' }, /^LambdaFunction IngestFunction: entry: expected a module path/],
    [{ entry: 'functions/nope/handler.ts' }, /^LambdaFunction IngestFunction: entry: no such file/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(() => new LambdaFunction(bareStack(), 'IngestFunction', { ...FUNCTION_PROPS, ...bad })).toThrow(
      message,
    );
  });

  it('allow: one statement per call, scoped to the bucket, table, queue or object prefix given', () => {
    const { stack, storage, ingestFunction } = fixture();
    const queue = new sqs.Queue(stack, 'Failures', { enforceSSL: true });
    ingestFunction.allow('Objects', ['s3:GetObject'], objectsUnderPrefix(storage.logBucket, 'logs/'));
    ingestFunction.allow('Bucket', ['s3:ListBucket'], storage.logBucket);
    ingestFunction.allow('Table', ['dynamodb:GetItem'], storage.table(USAGE_TABLE));
    ingestFunction.allow('Queue', ['sqs:SendMessage'], queue);
    const bare = Template.fromStack(stack);
    const idOf = (c: IConstruct): string => stack.getLogicalId(c.node.defaultChild as CfnElement);
    const roleId = idOf(ingestFunction.role);
    const got = roleStatements(bare, roleId).filter((st) => st.Sid !== undefined);
    expect(got).toEqual([
      {
        Sid: 'Objects',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: objectsUnder(idOf(storage.logBucket), 'logs/*'),
      },
      { Sid: 'Bucket', Effect: 'Allow', Action: 's3:ListBucket', Resource: getAtt(idOf(storage.logBucket)) },
      {
        Sid: 'Table',
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: getAtt(idOf(storage.table(USAGE_TABLE))),
      },
      { Sid: 'Queue', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(idOf(queue)) },
    ]);
    // The object wildcard, and only it, is acknowledged for cdk-nag, naming the bucket and prefix.
    expect(acknowledged(ingestFunction.role.node.findChild('DefaultPolicy'))).toEqual([
      `AwsSolutions-IAM5[Resource::<${idOf(storage.logBucket)}.Arn>/logs/*]`,
    ]);
  });

  it.each([[['s3:*']], [['s3:Get*']], [[]], [['GetObject']]])('allow refuses actions %o', (actions) => {
    const { storage, ingestFunction } = fixture();
    expect(() => ingestFunction.allow('Bad', actions, storage.logBucket)).toThrow(
      /^IngestFunction\.allow Bad: actions: expected named actions/,
    );
  });
});
