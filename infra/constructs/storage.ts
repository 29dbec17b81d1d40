/**
 * The stateful part: four buckets and the DynamoDB tables of functions/shared/resources.ts.
 *
 * Encryption: S3-managed keys (SSE-S3) everywhere. The server access log destination must use
 * SSE-S3 (S3 cannot deliver access logs into an SSE-KMS bucket), Athena and the CLI read the
 * reports without KMS grants, and a customer key would add cost and key-policy upkeep without
 * changing who can read: access is decided by the IAM and bucket policies.
 *
 * Everything here is retained on stack deletion, and keeps the logical id it had before the
 * constructs existed (LogBucketCC3B17E8, UsageTable28300137, …): see logical-ids.ts.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  DATA_QUALITY_PREFIX,
  LOG_BUCKET,
  LOG_PREFIX,
  REPORTS_BUCKET,
  REPORTS_PREFIX,
  TABLES,
  type TableDefinition,
} from '../../functions/shared/resources.ts';
import { type Check, ensure, ensureProps, integer, oneOf } from './checks.ts';
import { transparent } from './logical-ids.ts';

const S3_ACCESS_LOGS_POLICY_FLAG = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

export const OBJECT_LOCK_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type ObjectLockMode = (typeof OBJECT_LOCK_MODES)[number];

/** The rules for the storage props, also applied to the context keys that feed them. */
export const STORAGE_CHECKS = {
  /** 0 = never expire. */
  logRetentionDays: integer(0, 36500),
  noncurrentVersionDays: integer(1, 36500),
  reportsNoncurrentVersionDays: integer(1, 36500),
  accessLogRetentionDays: integer(1, 36500),
  athenaResultsRetentionDays: integer(1, 36500),
  objectLockDays: integer(1, 36500),
  objectLockMode: oneOf(OBJECT_LOCK_MODES),
} satisfies Record<string, Check<never>>;

export interface ObjectLockProps {
  readonly mode: ObjectLockMode;
  /** Default retention of every object version, days. */
  readonly days: number;
}

/** Why noncurrent report versions would expire before their Object Lock retention ends, or undefined. */
export const reportsNoncurrentProblem = (days: number, lockDays: number | undefined): string | undefined =>
  lockDays !== undefined && days < lockDays
    ? `must be at least the Object Lock retention (${lockDays} days): noncurrent report versions are kept at least as long`
    : undefined;

/**
 * What no role of the stack may do to report versions: remove one (DeleteObjectVersion), remove or
 * shorten its GOVERNANCE retention (BypassGovernanceRetention, PutObjectRetention).
 */
export const REPORT_VERSION_REMOVAL = [
  's3:DeleteObjectVersion',
  's3:BypassGovernanceRetention',
  's3:PutObjectRetention',
] as const;

export interface StorageProps {
  /** Log objects under logs/ and data-quality/ records expire after this many days; 0 = never. */
  readonly logRetentionDays: number;
  /** Noncurrent (overwritten or deleted) object versions expire after this many days. */
  readonly noncurrentVersionDays: number;
  /**
   * Noncurrent versions in the reports bucket expire after this many days; at least `objectLock.days`.
   * @default objectLock.days with Object Lock, else noncurrentVersionDays
   */
  readonly reportsNoncurrentVersionDays?: number;
  /** S3 server access logs expire after this many days. */
  readonly accessLogRetentionDays: number;
  /** Athena query results expire after this many days. */
  readonly athenaResultsRetentionDays: number;
  /**
   * S3 Object Lock default retention on the reports bucket (decide before the first deploy).
   * @default no Object Lock
   */
  readonly objectLock?: ObjectLockProps;
  /**
   * DynamoDB deletion protection (the tables are retained on stack deletion either way).
   * @default true
   */
  readonly tableDeletionProtection?: boolean;
  /**
   * The tables to build.
   * @default TABLES of functions/shared/resources.ts
   */
  readonly tables?: readonly TableDefinition[];
}

export class Storage extends Construct {
  /** Destination of the S3 server access logs of the other three buckets. */
  public readonly accessLogsBucket: s3.Bucket;
  /** API access logs; objects under logs/ trigger ingestion. */
  public readonly logBucket: s3.Bucket;
  /** Compliance reports (reports/, kept) and data-quality records (data-quality/, expire). */
  public readonly reportsBucket: s3.Bucket;
  /** Athena query results. */
  public readonly athenaResultsBucket: s3.Bucket;
  /** The tables by definition id (UsageTable, ControlTable). */
  public readonly tables: Readonly<Record<string, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    ensureProps('Storage', props, STORAGE_CHECKS);
    if (props.objectLock) {
      ensure('Storage: objectLock.mode', props.objectLock.mode, STORAGE_CHECKS.objectLockMode);
      ensure('Storage: objectLock.days', props.objectLock.days, STORAGE_CHECKS.objectLockDays);
    }
    const reportsNoncurrentDays =
      props.reportsNoncurrentVersionDays ?? props.objectLock?.days ?? props.noncurrentVersionDays;
    ensure('Storage: reportsNoncurrentVersionDays', reportsNoncurrentDays, (v) =>
      reportsNoncurrentProblem(v, props.objectLock?.days),
    );
    transparent(this);
    // Server access logs are delivered under a bucket policy (not the legacy log-delivery ACL, which
    // BucketOwnerEnforced ownership forbids). cdk.json sets this flag; set it here too so the buckets
    // build the same inside apps that lack it (tests, other apps embedding the stack).
    if (this.node.tryGetContext(S3_ACCESS_LOGS_POLICY_FLAG) === undefined) {
      this.node.setContext(S3_ACCESS_LOGS_POLICY_FLAG, true);
    }

    const secure = {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    } satisfies s3.BucketProps;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      ...secure,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(props.accessLogRetentionDays) }],
    });

    const versionHousekeeping = (noncurrentDays: number): s3.LifecycleRule[] => [
      {
        id: 'ExpireNoncurrentVersions',
        noncurrentVersionExpiration: Duration.days(noncurrentDays),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
      { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
    ];
    const expireUnder = (prefix: string): s3.LifecycleRule[] =>
      props.logRetentionDays > 0
        ? [
            {
              id: `Expire-${prefix.replace(/\W+/g, '')}`,
              prefix,
              expiration: Duration.days(props.logRetentionDays),
            },
          ]
        : [];

    this.logBucket = new s3.Bucket(this, LOG_BUCKET.id, {
      ...secure,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'log-bucket/',
      lifecycleRules: [...expireUnder(LOG_PREFIX), ...versionHousekeeping(props.noncurrentVersionDays)],
    });

    const lock = props.objectLock;
    this.reportsBucket = new s3.Bucket(this, REPORTS_BUCKET.id, {
      ...secure,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'reports-bucket/',
      // Reports are kept; rejects and quarantine records age out with the logs they describe.
      lifecycleRules: [...expireUnder(DATA_QUALITY_PREFIX), ...versionHousekeeping(reportsNoncurrentDays)],
      ...(lock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              lock.mode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(lock.days))
                : s3.ObjectLockRetention.governance(Duration.days(lock.days)),
          }
        : {}),
    });

    this.athenaResultsBucket = new s3.Bucket(this, 'AthenaResultsBucket', {
      ...secure,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [
        {
          id: 'ExpireQueryResults',
          expiration: Duration.days(props.athenaResultsRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    const attr = (k: TableDefinition['partitionKey']): dynamodb.Attribute => ({
      name: k.name,
      type: k.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
    });
    const tables: Record<string, dynamodb.Table> = {};
    for (const def of props.tables ?? TABLES) {
      tables[def.id] = new dynamodb.Table(this, def.id, {
        partitionKey: attr(def.partitionKey),
        ...(def.sortKey ? { sortKey: attr(def.sortKey) } : {}),
        ...(def.timeToLiveAttribute ? { timeToLiveAttribute: def.timeToLiveAttribute } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.tableDeletionProtection ?? true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.tables = tables;
  }

  /**
   * Denies `principals` (the stack's function roles) removing report versions or their retention,
   * in the reports bucket's policy: an explicit deny that no identity policy added later can
   * override. Everyone else is held by the Object Lock retention (GOVERNANCE: an administrator
   * with s3:BypassGovernanceRetention can still remove a mistaken report).
   */
  denyReportVersionRemoval(principals: readonly iam.IPrincipal[]): void {
    if (principals.length === 0) throw new Error('Storage.denyReportVersionRemoval: no principals');
    this.reportsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyReportVersionRemovalToStackRoles',
        effect: iam.Effect.DENY,
        principals: [...principals],
        actions: [...REPORT_VERSION_REMOVAL],
        resources: [this.reportsBucket.arnForObjects(`${REPORTS_PREFIX}*`)],
      }),
    );
  }

  /** The table built from `def`. */
  table(def: TableDefinition): dynamodb.Table {
    const t = this.tables[def.id];
    if (!t) throw new Error(`Storage: no table ${def.id}`);
    return t;
  }
}
