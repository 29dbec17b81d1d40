/**
 * Storage (infra/constructs/storage.ts): the four buckets and the DynamoDB tables.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { TABLES, USAGE_TABLE } from '../../functions/shared/resources.ts';
import { Storage, type StorageProps } from '../../infra/constructs/storage.ts';
import {
  allIdentityStatements,
  asArray,
  bareStack,
  getAtt,
  logicalId,
  mainIds,
  objectsUnder,
  ref,
  resourcesOfType,
  STORAGE_PROPS,
  type Statement,
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
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 365 } }),
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

  it('Object Lock on the reports bucket by default: GOVERNANCE, 365 days; off only when objectLock is false', () => {
    const reports = t.toJSON().Resources[id.reportsBucket as string].Properties;
    expect(reports).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    for (const [bid, b] of Object.entries(resourcesOfType(t, 'AWS::S3::Bucket'))) {
      if (bid !== id.reportsBucket) expect(b.Properties, bid).not.toHaveProperty('ObjectLockEnabled');
    }
    const compliance = synth({ context: { objectLockDays: 2555, objectLockMode: 'COMPLIANCE' } });
    expect(compliance.template.toJSON().Resources[id.reportsBucket as string].Properties).toMatchObject({
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });
    const off = synth({ context: { objectLock: false } });
    for (const b of Object.values(resourcesOfType(off.template, 'AWS::S3::Bucket'))) {
      expect(b.Properties).not.toHaveProperty('ObjectLockEnabled');
      expect(b.Properties).not.toHaveProperty('ObjectLockConfiguration');
    }
  });

  it('noncurrent report versions are kept at least as long as their retention', () => {
    const noncurrent = (template: typeof t, bucket: string): unknown[] =>
      (
        template.toJSON().Resources[bucket].Properties.LifecycleConfiguration as { Rules: Json[] }
      ).Rules.filter((r) => r.NoncurrentVersionExpiration !== undefined).map(
        (r) => r.NoncurrentVersionExpiration,
      );
    // Default: the Object Lock retention (365) for reports, noncurrentVersionDays (90) for logs.
    expect(noncurrent(t, id.reportsBucket as string)).toEqual([{ NoncurrentDays: 365 }]);
    expect(noncurrent(t, id.logBucket as string)).toEqual([{ NoncurrentDays: 90 }]);
    const longer = synth({ context: { objectLockDays: 730 } });
    expect(noncurrent(longer.template, id.reportsBucket as string)).toEqual([{ NoncurrentDays: 730 }]);
    const explicit = synth({ context: { reportsNoncurrentVersionDays: '1000' } });
    expect(noncurrent(explicit.template, id.reportsBucket as string)).toEqual([{ NoncurrentDays: 1000 }]);
    const unlocked = synth({ context: { objectLock: false } });
    expect(noncurrent(unlocked.template, id.reportsBucket as string)).toEqual([{ NoncurrentDays: 90 }]);
    expect(() => synth({ context: { reportsNoncurrentVersionDays: 90 } })).toThrow(
      /^context reportsNoncurrentVersionDays: must be at least the Object Lock retention \(365 days\)/,
    );
    expect(() => synth({ context: { objectLockDays: 400, reportsNoncurrentVersionDays: 365 } })).toThrow(
      /^context reportsNoncurrentVersionDays: must be at least the Object Lock retention \(400 days\)/,
    );
  });

  it("the reports bucket policy denies the stack's function roles removing report versions or their retention", () => {
    const policy = Object.values(resourcesOfType(t, 'AWS::S3::BucketPolicy')).find(
      (p) =>
        JSON.stringify((p.Properties as Json).Bucket) === JSON.stringify(ref(id.reportsBucket as string)),
    );
    expect(policy).toBeDefined();
    const statements =
      (policy?.Properties as { PolicyDocument: { Statement: Statement[] } } | undefined)?.PolicyDocument
        .Statement ?? [];
    const deny = statements.filter((st) => st.Sid === 'DenyReportVersionRemovalToStackRoles');
    expect(deny).toHaveLength(1);
    const st = deny[0] as Statement;
    expect(st.Effect).toBe('Deny');
    expect(asArray(st.Action).slice().sort()).toEqual(
      ['s3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectRetention'].sort(),
    );
    expect(st.Resource).toEqual(objectsUnder(id.reportsBucket as string, 'reports/*'));
    const principals = asArray((st.Principal as { AWS: Json | Json[] }).AWS).map((p) => JSON.stringify(p));
    expect(principals.sort()).toEqual(
      [id.ingestRole, id.auditRole, id.reconcileRole].map((r) => JSON.stringify(getAtt(r as string))).sort(),
    );
    expect(st.Condition).toBeUndefined();
  });

  it('no policy of the stack allows deleting report versions or objects (but evidence files, by a delete marker), or touching their lock', () => {
    const forbidden = [
      's3:DeleteObjectVersion',
      's3:DeleteObject',
      's3:BypassGovernanceRetention',
      's3:PutObjectRetention',
      's3:PutBucketObjectLockConfiguration',
    ];
    // An action pattern (s3:*, s3:Delete*, *) covers an action when it matches it as a glob.
    const covers = (pattern: string, action: string): boolean =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action);
    const allows: Array<{ where: string; statement: Statement }> = [...allIdentityStatements(t)];
    for (const type of ['AWS::S3::BucketPolicy', 'AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy']) {
      for (const [pid, p] of Object.entries(resourcesOfType(t, type))) {
        for (const statement of (p.Properties as { PolicyDocument: { Statement: Statement[] } })
          .PolicyDocument.Statement) {
          allows.push({ where: pid, statement });
        }
      }
    }
    expect(allows.length).toBeGreaterThan(20);
    // The one exception: the audit may put a delete marker on the evidence files of a finding that
    // is gone (s3:DeleteObject on reports/date=*/evidence/* only; every version stays).
    const evidenceOnly = JSON.stringify([
      objectsUnder(id.reportsBucket as string, 'reports/date=*/evidence/*'),
    ]);
    const isEvidenceDelete = (st: Statement): boolean =>
      JSON.stringify(asArray(st.Action)) === JSON.stringify(['s3:DeleteObject']) &&
      JSON.stringify(asArray(st.Resource)) === evidenceOnly;
    const offending = allows.filter(
      ({ statement }) =>
        statement.Effect === 'Allow' &&
        !isEvidenceDelete(statement) &&
        (statement.NotAction !== undefined ||
          asArray(statement.Action).some((a) => forbidden.some((f) => covers(a, f)))),
    );
    expect(offending).toEqual([]);
    expect(allows.filter(({ statement }) => isEvidenceDelete(statement))).toHaveLength(1);
    expect(covers('s3:Delete*', 's3:DeleteObjectVersion')).toBe(true);
    expect(covers('s3:GetObject', 's3:DeleteObject')).toBe(false);
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

  it('reports noncurrent versions default to the lock retention; the deny needs principals', () => {
    const stack = bareStack();
    const storage = new Storage(stack, 'Storage', {
      ...STORAGE_PROPS,
      objectLock: { mode: 'GOVERNANCE', days: 500 },
    });
    const rules = (
      Template.fromStack(stack).toJSON().Resources[
        stack.getLogicalId(storage.reportsBucket.node.defaultChild as s3.CfnBucket)
      ].Properties.LifecycleConfiguration as { Rules: Json[] }
    ).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 500 } }),
      ]),
    );
    expect(() => storage.denyReportVersionRemoval([])).toThrow(/no principals/);
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
    [
      { objectLock: { mode: 'GOVERNANCE', days: 365 }, reportsNoncurrentVersionDays: 364 },
      /^Storage: reportsNoncurrentVersionDays: must be at least the Object Lock retention \(365 days\)/,
    ],
    [{ reportsNoncurrentVersionDays: 0 }, /^Storage: reportsNoncurrentVersionDays: expected an integer/],
  ])('refuses %o, naming the prop', (bad, message) => {
    expect(
      () => new Storage(bareStack(), 'Storage', { ...STORAGE_PROPS, ...(bad as Partial<StorageProps>) }),
    ).toThrow(message);
  });
});
