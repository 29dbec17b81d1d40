/**
 * Shared setup for the infra tests: synthesize the app the way `npx cdk synth` does (cdk.json
 * context, cdk-nag plugin from infra/app.ts), into a temporary cloud assembly.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import {
  ALARM_TOPIC,
  AUDIT_FUNCTION,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  RECONCILE_FUNCTION,
  REPORTS_BUCKET,
  USAGE_TABLE,
} from '../../functions/shared/resources.ts';
import { buildApp } from '../../infra/app.ts';
import type { UsageAuditorConfig } from '../../infra/config.ts';
import { LambdaFunction, type LambdaFunctionProps } from '../../infra/constructs/lambda-function.ts';
import { Storage, type StorageProps } from '../../infra/constructs/storage.ts';
import type { UsageAuditorStack } from '../../infra/stack.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The "context" block of cdk.json: context-key defaults and feature flags. */
export function cdkJsonContext(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return json.context;
}

export interface Synthesized {
  app: App;
  stack: UsageAuditorStack;
  template: Template;
  assembly: CloudAssembly;
  outdir: string;
}

export interface SynthOptions {
  /** Extra context, as `-c key=value` would give it (values may be strings). */
  context?: Record<string, unknown>;
  /** Overrides passed as stack props. */
  config?: Partial<UsageAuditorConfig>;
  /** Bundle the function code with esbuild (slow-ish); otherwise CDK skips bundling. */
  bundle?: boolean;
}

export function synth(options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), 'usage-auditor-cdk-'));
  const context: Record<string, unknown> = {
    ...cdkJsonContext(),
    // What the CLI adds: asset paths in resource metadata.
    'aws:cdk:enable-asset-metadata': true,
    ...options.context,
  };
  // Same switch as `cdk synth --exclusively`: an empty list bundles no stack's assets.
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  const { app, stack } = buildApp({
    appProps: { outdir, context },
    ...(options.config ? { stackProps: { config: options.config } } : {}),
  });
  const assembly = app.synth();
  return { app, stack, template: Template.fromStack(stack), assembly, outdir };
}

type Json = Record<string, unknown>;

export function resourcesOfType(template: Template, type: string): Record<string, Json> {
  return template.findResources(type) as Record<string, Json>;
}

/** Logical id of the only resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

export const ref = (id: string): Json => ({ Ref: id });
export const getAtt = (id: string, attr = 'Arn'): Json => ({ 'Fn::GetAtt': [id, attr] });
export const objectsUnder = (bucketId: string, prefix: string): Json => ({
  'Fn::Join': ['', [getAtt(bucketId), `/${prefix}`]],
});

export interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
  Sid?: string;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Identity-policy statements attached to a role: its DefaultPolicy, other AWS::IAM::Policy, inline policies. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const out: Statement[] = [];
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    const props = policy.Properties as { Roles?: Json[]; PolicyDocument: { Statement: Statement[] } };
    if ((props.Roles ?? []).some((r) => JSON.stringify(r) === JSON.stringify(ref(roleId)))) {
      out.push(...props.PolicyDocument.Statement);
    }
  }
  const role = resourcesOfType(template, 'AWS::IAM::Role')[roleId];
  const inline = (role?.Properties as { Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }> })
    ?.Policies;
  for (const p of inline ?? []) out.push(...p.PolicyDocument.Statement);
  return out;
}

/** Every identity-policy statement in the template (roles' inline policies and AWS::IAM::Policy/ManagedPolicy). */
export function allIdentityStatements(template: Template): Array<{ where: string; statement: Statement }> {
  const out: Array<{ where: string; statement: Statement }> = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, r] of Object.entries(resourcesOfType(template, type))) {
      const doc = (r.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument;
      for (const statement of doc.Statement) out.push({ where: id, statement });
    }
  }
  for (const [id, r] of Object.entries(resourcesOfType(template, 'AWS::IAM::Role'))) {
    for (const p of (r.Properties as { Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }> })
      .Policies ?? []) {
      for (const statement of p.PolicyDocument.Statement) out.push({ where: id, statement });
    }
  }
  return out;
}

/** A statement reduced to sorted actions and its resources, for exact comparison. */
export function normalize(s: Statement): { actions: string[]; resources: string[] } {
  return {
    actions: asArray(s.Action).slice().sort(),
    resources: asArray(s.Resource as unknown)
      .map((r) => JSON.stringify(r))
      .sort(),
  };
}

export { asArray };

const MAIN_RESOURCES = {
  logBucket: ['AWS::S3::Bucket', LOG_BUCKET.id],
  reportsBucket: ['AWS::S3::Bucket', REPORTS_BUCKET.id],
  accessLogsBucket: ['AWS::S3::Bucket', 'AccessLogsBucket'],
  resultsBucket: ['AWS::S3::Bucket', 'AthenaResultsBucket'],
  usageTable: ['AWS::DynamoDB::Table', USAGE_TABLE.id],
  controlTable: ['AWS::DynamoDB::Table', CONTROL_TABLE.id],
  ingestFn: ['AWS::Lambda::Function', INGEST_FUNCTION.id],
  auditFn: ['AWS::Lambda::Function', AUDIT_FUNCTION.id],
  ingestRole: ['AWS::IAM::Role', `${INGEST_FUNCTION.id}Role`],
  auditRole: ['AWS::IAM::Role', `${AUDIT_FUNCTION.id}Role`],
  ingestLogs: ['AWS::Logs::LogGroup', `${INGEST_FUNCTION.id}Logs`],
  auditLogs: ['AWS::Logs::LogGroup', `${AUDIT_FUNCTION.id}Logs`],
  ingestQueue: ['AWS::SQS::Queue', 'IngestQueue'],
  ingestDlq: ['AWS::SQS::Queue', 'IngestDeadLetterQueue'],
  scheduleDlq: ['AWS::SQS::Queue', 'ScheduleDeadLetterQueue'],
  topic: ['AWS::SNS::Topic', ALARM_TOPIC.id],
  topicKey: ['AWS::KMS::Key', 'AlarmTopicKey'],
  // The scheduler roles are named after a hash of their target (the function's ARN token).
  schedulerRole: ['AWS::IAM::Role', 'SchedulerRoleForTargetd49045'],
  reconcileFn: ['AWS::Lambda::Function', RECONCILE_FUNCTION.id],
  reconcileRole: ['AWS::IAM::Role', `${RECONCILE_FUNCTION.id}Role`],
  reconcileLogs: ['AWS::Logs::LogGroup', `${RECONCILE_FUNCTION.id}Logs`],
  reconcileDlq: ['AWS::SQS::Queue', 'ReconcileScheduleDeadLetterQueue'],
  reconcileSchedulerRole: ['AWS::IAM::Role', 'SchedulerRoleForTarget55debf'],
  auditFailureQueue: ['AWS::SQS::Queue', 'AuditFailureQueue'],
  reconcileFailureQueue: ['AWS::SQS::Queue', 'ReconcileFailureQueue'],
  auditSchedule: ['AWS::Scheduler::Schedule', 'AuditSchedule'],
  reconcileSchedule: ['AWS::Scheduler::Schedule', 'ReconcileSchedule'],
} as const;

/** Logical ids of the main resources, found by type and id prefix. */
export function mainIds(template: Template): Record<keyof typeof MAIN_RESOURCES, string> {
  return Object.fromEntries(
    Object.entries(MAIN_RESOURCES).map(([key, [type, prefix]]) => [key, logicalId(template, type, prefix)]),
  ) as Record<keyof typeof MAIN_RESOURCES, string>;
}

/** A plain stack for construct unit tests: no context, no bundling, no nag. */
export function bareStack(): Stack {
  return new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bare');
}

/** Valid props of the constructs, for their unit tests. */
export const STORAGE_PROPS: StorageProps = {
  logRetentionDays: 400,
  noncurrentVersionDays: 90,
  accessLogRetentionDays: 365,
  athenaResultsRetentionDays: 30,
};
export const FUNCTION_PROPS: LambdaFunctionProps = {
  entry: INGEST_FUNCTION.entry,
  description: 'test function',
  memorySizeMb: 1024,
  timeoutSeconds: 300,
  logRetentionDays: 90,
};

/** A bare stack holding storage and the three functions, for the constructs that wire them. */
export function fixture(): {
  stack: Stack;
  storage: Storage;
  ingestFunction: LambdaFunction;
  auditFunction: LambdaFunction;
  reconcileFunction: LambdaFunction;
} {
  const stack = bareStack();
  return {
    stack,
    storage: new Storage(stack, 'Storage', STORAGE_PROPS),
    ingestFunction: new LambdaFunction(stack, INGEST_FUNCTION.id, FUNCTION_PROPS),
    auditFunction: new LambdaFunction(stack, AUDIT_FUNCTION.id, {
      ...FUNCTION_PROPS,
      entry: AUDIT_FUNCTION.entry,
    }),
    reconcileFunction: new LambdaFunction(stack, RECONCILE_FUNCTION.id, {
      ...FUNCTION_PROPS,
      entry: RECONCILE_FUNCTION.entry,
    }),
  };
}
