/**
 * LambdaFunction (infra/constructs/lambda-function.ts): both functions, their roles and log groups, the
 * bundles, and the least-privilege rules every role in the stack keeps.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_TABLE, LOG_BUCKET, REPORTS_BUCKET, USAGE_TABLE } from '../../functions/shared/resources.ts';
import { allIdentityStatements, asArray, getAtt, mainIds, ref, type Synthesized, synth } from './helpers.ts';

type Json = Record<string, unknown>;

let s: Synthesized;
let t: Template;
/** Logical ids of the main resources, found once. */
let id: ReturnType<typeof mainIds>;

beforeAll(() => {
  // The one synthesis with esbuild bundling in test/infra; the other files skip bundling.
  s = synth({ bundle: true });
  t = s.template;
  id = mainIds(t);
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
});
