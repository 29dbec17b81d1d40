/**
 * Storage (infra/constructs/storage.ts): the four buckets and the DynamoDB tables.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TABLES, USAGE_TABLE } from '../../functions/shared/resources.ts';
import { Storage, type StorageProps } from '../../infra/constructs/storage.ts';
import {
  bareStack,
  getAtt,
  logicalId,
  mainIds,
  ref,
  resourcesOfType,
  STORAGE_PROPS,
  synth,
} from './helpers.ts';

type Json = Record<string, unknown>;

// One synthesis for the whole file, at collection.
const t = synth().template;
const id = mainIds(t);

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

describe('Storage props', () => {
  it('builds with valid props; tables default to TABLES with deletion protection on', () => {
    const stack = bareStack();
    const storage = new Storage(stack, 'Storage', STORAGE_PROPS);
    expect(Object.keys(storage.tables).sort()).toEqual(TABLES.map((d) => d.id).sort());
    const bare = Template.fromStack(stack);
    bare.resourceCountIs('AWS::S3::Bucket', 4);
    bare.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    expect(() => storage.table({ ...USAGE_TABLE, id: 'Nope' })).toThrow(/Storage: no table Nope/);
  });

  it.each([
    [{ logRetentionDays: -1 }, /^Storage: logRetentionDays: expected an integer from 0 to 36500 \(got -1\)$/],
    [{ noncurrentVersionDays: 0 }, /^Storage: noncurrentVersionDays: expected an integer/],
    [{ accessLogRetentionDays: 1.5 }, /^Storage: accessLogRetentionDays: expected an integer/],
    [{ athenaResultsRetentionDays: 0 }, /^Storage: athenaResultsRetentionDays: expected an integer/],
    [
      { objectLock: { mode: 'STRICT', days: 1 } },
      /^Storage: objectLock\.mode: expected GOVERNANCE or COMPLIANCE/,
    ],
    [{ objectLock: { mode: 'GOVERNANCE', days: 0 } }, /^Storage: objectLock\.days: expected an integer/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(
      () => new Storage(bareStack(), 'Storage', { ...STORAGE_PROPS, ...(bad as Partial<StorageProps>) }),
    ).toThrow(message);
  });
});
