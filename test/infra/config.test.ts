/**
 * The context keys (infra/config.ts): defaults in cdk.json, parsing of -c values, validation naming the key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  APP_CONTEXT,
  appConfig,
  CONTEXT_KEYS,
  DEFAULT_APP_CONFIG,
  DEFAULT_CONFIG,
  glueNameFrom,
  validateConfig,
} from '../../infra/config.ts';
import { cdkJsonContext, ROOT, synth } from './helpers.ts';

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

describe('the config module is the one description of the keys', () => {
  it('app keys: cdk.json carries their defaults; stackName and nag are parsed and checked like the rest', () => {
    const ctx = cdkJsonContext();
    for (const key of Object.keys(APP_CONTEXT) as Array<keyof typeof DEFAULT_APP_CONFIG>) {
      expect(ctx[key], key).toEqual(DEFAULT_APP_CONFIG[key]);
    }
    const app = (context: Record<string, unknown>): App => new App({ context });
    expect(appConfig(app({}))).toEqual({ stackName: 'UsageAuditor', nag: true });
    expect(appConfig(app({ stackName: 'Prod', nag: 'false' }))).toEqual({ stackName: 'Prod', nag: false });
    expect(() => appConfig(app({ stackName: '1-bad' }))).toThrow(
      /^context stackName: expected a CloudFormation/,
    );
    expect(() => appConfig(app({ nag: 'off' }))).toThrow(/^context nag: expected true or false/);
  });

  it('every key in infra/config.ts has a doc comment, and no other file lists the keys', () => {
    const source = readFileSync(path.join(ROOT, 'infra/config.ts'), 'utf8');
    for (const key of [...CONTEXT_KEYS, ...Object.keys(APP_CONTEXT)]) {
      expect(source, key).toMatch(new RegExp(`\\*/\\n  ${key}: `));
    }
    for (const file of ['infra/stack.ts', 'infra/app.ts']) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      expect(text, file).not.toMatch(/\| *scheduleCron *\|/);
    }
  });

  it('validation follows the construct rules it borrows (one range per rule)', () => {
    expect(() => validateConfig({ ...DEFAULT_CONFIG, ingestMaxConcurrency: 1001 })).toThrow(
      /^context ingestMaxConcurrency: expected an integer from 2 to 1000 \(got 1001\)$/,
    );
    expect(() => validateConfig({ ...DEFAULT_CONFIG, ingestMaxConcurrency: 0 })).not.toThrow();
    expect(() => validateConfig({ ...DEFAULT_CONFIG, alarmEmail: '' })).not.toThrow();
    expect(() => validateConfig({ ...DEFAULT_CONFIG, auditMaxSilenceHours: 169 })).toThrow(
      /^context auditMaxSilenceHours: expected an integer from 1 to 168/,
    );
  });
});
