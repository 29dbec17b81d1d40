/**
 * cdk-nag AwsSolutions pack over the stack, as `npx cdk synth` runs it (infra/app.ts registers the
 * pack as a CDK policy-validation plugin: findings fail the synthesis).
 *
 * cdk-nag 3 reports through CDK's validation framework, not through annotations, so the checks
 * that count here are the pack's own report (validateScope) and the synthesis not failing; the
 * Annotations assertions are kept because nag 2 style code expects them, and must stay empty too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { cdkJsonContext, ROOT, type Synthesized, synth } from './helpers.ts';

let s: Synthesized;

beforeAll(() => {
  // Bundling is exercised (once) by stack.test.ts; the rules do not look inside the code.
  s = synth();
});

/** All findings of the pack, ignoring acknowledgments (to see what the acknowledgments cover). */
function findingsIgnoringAcknowledgments(scope: Synthesized['stack']): Array<[string, string]> {
  const pack = new AwsSolutionsChecks();
  // cdk-nag's (private) acknowledgment lookup, bypassed for this one pack instance.
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  const report = pack.validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => [v.ruleName, r.constructPath ?? '?'] as [string, string]),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('zero unacknowledged errors and warnings (the pack report)', () => {
    const report = new AwsSolutionsChecks().validateScope(s.stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledgments cover exactly these findings, each with a written reason', () => {
    const stackPath = s.stack.node.path;
    const got = findingsIgnoringAcknowledgments(s.stack)
      .map(([rule, where]) => `${rule} @ ${where.replace(`${stackPath}/`, '')}`)
      .sort();
    const bucketId = (b: s3.Bucket): string => s.stack.getLogicalId(b.node.defaultChild as s3.CfnBucket);
    const logs = bucketId(s.stack.storage.logBucket);
    const reports = bucketId(s.stack.storage.reportsBucket);
    expect(got).toEqual(
      [
        // Runtime: nodejs22.x on purpose (Node 20 and 22 support), not the newest nodejs24.x.
        'AwsSolutions-L1 @ IngestFunction/Default/Resource',
        'AwsSolutions-L1 @ AuditFunction/Default/Resource',
        'AwsSolutions-L1 @ ReconcileFunction/Default/Resource',
        // Object ARNs end in a key wildcard under one fixed prefix.
        `AwsSolutions-IAM5[Resource::<${logs}.Arn>/logs/*] @ IngestFunction/Role/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::<${reports}.Arn>/data-quality/*] @ IngestFunction/Role/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::<${reports}.Arn>/reports/*] @ AuditFunction/Role/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::<${reports}.Arn>/reports/date=*/evidence/*] @ AuditFunction/Role/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::<${reports}.Arn>/statements/*] @ AuditFunction/Role/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::<${logs}.Arn>/logs/*] @ ReconcileFunction/Role/DefaultPolicy/Resource`,
        `AwsSolutions-IAM5[Resource::<${reports}.Arn>/data-quality/*] @ ReconcileFunction/Role/DefaultPolicy/Resource`,
        // The audit's state machine: no CloudWatch Logs delivery nor X-Ray (each needs a grant on *).
        'AwsSolutions-SF1 @ NightlyAudit/FanOut/AuditStateMachine/Resource',
        'AwsSolutions-SF2 @ NightlyAudit/FanOut/AuditStateMachine/Resource',
        // A dead-letter queue (or an on-failure destination) has no dead-letter queue.
        'AwsSolutions-SQS3 @ NightlyAudit/Invocation/ScheduleDeadLetterQueue/Resource',
        'AwsSolutions-SQS3 @ NightlyAudit/Invocation/AuditFailureQueue/Resource',
        'AwsSolutions-SQS3 @ DailyReconcile/Invocation/ReconcileScheduleDeadLetterQueue/Resource',
        'AwsSolutions-SQS3 @ DailyReconcile/Invocation/ReconcileFailureQueue/Resource',
        // CDK's own custom resource for S3 bucket notifications.
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] @ BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource',
      ].sort(),
    );

    const acks = s.stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acks.length).toBeGreaterThanOrEqual(6);
    for (const [rule, reason] of acks) {
      expect(rule).toMatch(/AwsSolutions-/);
      expect(reason.length, rule).toBeGreaterThan(40);
    }
  });

  it.each([
    ['no objectLock and an alarm e-mail', { objectLock: false, alarmEmail: 'ops@example.com' }],
    ['a concurrency cap and a long retention', { ingestMaxConcurrency: 10, logRetentionDays: 0 }],
  ])('stays clean with %s', (_, context) => {
    const v = synth({ context });
    expect(new AwsSolutionsChecks().validateScope(v.stack).violations).toEqual([]);
  });

  it('is not vacuous: a bucket without TLS enforcement and access logs fails the synthesis', () => {
    const { app, stack } = buildApp({
      appProps: {
        outdir: mkdtempSync(path.join(tmpdir(), 'usage-auditor-nag-')),
        context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
      },
    });
    new s3.Bucket(stack, 'Planted', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
    expect(() => app.synth()).toThrow(/AwsSolutions-S10|Validation failed/);
    const findings = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(findings).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});

describe('npx cdk synth', () => {
  it('works without AWS credentials or Docker, with the nag pack on', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'usage-auditor-cli-'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !/^AWS_|^CDK_DEFAULT_/.test(k)) env[k] = v;
    }
    Object.assign(env, {
      AWS_CONFIG_FILE: path.join(out, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(out, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    const run = promisify(execFile);
    await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', out], {
      cwd: ROOT,
      env,
      timeout: 110_000,
    });
    const template = JSON.parse(readFileSync(path.join(out, 'UsageAuditor.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((ty) => ty === 'AWS::Lambda::Function').length).toBe(4);
    expect(types).toContain('AWS::Scheduler::Schedule');
  }, 120_000);
});
