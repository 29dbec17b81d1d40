/**
 * usage-auditor on AWS: the whole system of SPEC.md in one stack.
 *
 *   S3 log bucket (logs/…) ──ObjectCreated──> SQS (+DLQ) ──> ingest Lambda ──> DynamoDB usage table
 *   EventBridge Scheduler (nightly, +retries, +DLQ) ──> audit Lambda ──> S3 reports bucket (reports/…)
 *   Glue + Athena over reports/ · CloudWatch alarms ──> SNS (KMS, SSL only) ──> e-mail
 *
 * Tables, buckets, environment variable names and output names come from functions/shared/resources.ts, the
 * file the embedded local stack is built from too.
 *
 * ## Context keys
 * Set in cdk.json "context" (defaults are there too) or per command: `npx cdk deploy -c key=value`.
 * In code, `new UsageAuditorStack(app, id, { config: { … } })` overrides both.
 *
 * | key                              | default              | meaning |
 * |----------------------------------|----------------------|---------|
 * | stackName                        | UsageAuditor         | CloudFormation stack name, the `--stack NAME` of the CLI (read by infra/app.ts) |
 * | nag                              | true                 | run cdk-nag AwsSolutions checks on synth; findings fail the synth (infra/app.ts) |
 * | scheduleCron                     | cron(0 2 * * ? *)    | EventBridge Scheduler expression of the nightly audit (cron(…) or rate(…)) |
 * | scheduleTimeZone                 | UTC                  | IANA time zone the cron expression is read in |
 * | scheduleRetryAttempts            | 3                    | Scheduler retries of a failed audit invocation (0–185) |
 * | scheduleMaxEventAgeHours         | 6                    | give up retrying after this many hours (1–24); then the event goes to the DLQ |
 * | alarmEmail                       | (none)               | e-mail address subscribed to the alarm topic; empty = no subscription |
 * | logRetentionDays                 | 400                  | log objects under logs/ (and data-quality/ records) expire after this many days; 0 = never |
 * | noncurrentVersionDays            | 90                   | noncurrent (overwritten or deleted) object versions expire after this many days |
 * | accessLogRetentionDays           | 365                  | S3 server access logs expire after this many days |
 * | functionLogRetentionDays         | 90                   | CloudWatch Logs retention of both functions (a CloudWatch retention value: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, …) |
 * | objectLock                       | false                | S3 Object Lock on the reports bucket (decide before the first deploy) |
 * | objectLockMode                   | GOVERNANCE           | default retention mode: GOVERNANCE or COMPLIANCE |
 * | objectLockDays                   | 365                  | default retention of every report object version, days |
 * | ingestMemoryMb                   | 1024                 | ingest function memory (128–10240) |
 * | ingestTimeoutSeconds             | 300                  | ingest function timeout (1–900); the queue's visibility timeout is 6× this |
 * | ingestBatchSize                  | 10                   | SQS messages per ingest invocation (1–10000; above 10 needs a batching window) |
 * | ingestMaxBatchingWindowSeconds   | 5                    | how long Lambda gathers a batch (0–300) |
 * | ingestMaxReceiveCount            | 5                    | deliveries of one S3 notification before it goes to the ingest DLQ |
 * | ingestMaxConcurrency             | 0                    | cap on concurrent ingest invocations from the queue (2–1000); 0 = no cap |
 * | auditMemoryMb                    | 1024                 | audit function memory (128–10240) |
 * | auditTimeoutSeconds              | 900                  | audit function timeout (1–900) |
 * | auditMaxSilenceHours             | 26                   | alarm when the audit function was not invoked for this many hours (1–168) |
 * | metricsNamespace                 | UsageAuditor         | CloudWatch namespace of the functions' own metrics (POWERTOOLS_METRICS_NAMESPACE) |
 * | tableDeletionProtection          | true                 | DynamoDB deletion protection (tables are retained on stack deletion either way) |
 * | glueDatabaseName                 | from stack name      | Glue database of the Athena tables, e.g. usage_auditor |
 * | athenaWorkgroupName              | stack name           | Athena workgroup |
 * | athenaResultsRetentionDays       | 30                   | Athena query results expire after this many days |
 * | athenaScanLimitGb                | 10                   | per-query scan limit of the workgroup, GB |
 * | reportsProjectionStart           | 2020-01-01           | first report date Athena's partition projection enumerates |
 *
 * Values given with -c arrive as strings; they are parsed and validated here, and a bad value
 * fails the synth with the key's name.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  TimeZone,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';
import {
  ALARM_TOPIC,
  ANALYTICS,
  AUDIT_FUNCTION,
  CONTROL_TABLE,
  DATA_QUALITY_PREFIX,
  INGEST_FUNCTION,
  LOG_BUCKET,
  LOG_PREFIX,
  OPS_OUTPUTS,
  REPORTS_BUCKET,
  REPORTS_PREFIX,
  TABLES,
  type TableDefinition,
  USAGE_TABLE,
} from '../functions/shared/resources.ts';
import { ReportCatalog } from './constructs/report-catalog.ts';

// ---------------------------------------------------------------------------------------------
// Configuration: defaults, context, overrides
// ---------------------------------------------------------------------------------------------

export interface UsageAuditorConfig {
  scheduleCron: string;
  scheduleTimeZone: string;
  scheduleRetryAttempts: number;
  scheduleMaxEventAgeHours: number;
  /** Empty string = no e-mail subscription. */
  alarmEmail: string;
  logRetentionDays: number;
  noncurrentVersionDays: number;
  accessLogRetentionDays: number;
  functionLogRetentionDays: number;
  objectLock: boolean;
  objectLockMode: 'GOVERNANCE' | 'COMPLIANCE';
  objectLockDays: number;
  ingestMemoryMb: number;
  ingestTimeoutSeconds: number;
  ingestBatchSize: number;
  ingestMaxBatchingWindowSeconds: number;
  ingestMaxReceiveCount: number;
  ingestMaxConcurrency: number;
  auditMemoryMb: number;
  auditTimeoutSeconds: number;
  auditMaxSilenceHours: number;
  metricsNamespace: string;
  tableDeletionProtection: boolean;
  /** Empty string = derived from the stack name. */
  glueDatabaseName: string;
  /** Empty string = the stack name. */
  athenaWorkgroupName: string;
  athenaResultsRetentionDays: number;
  athenaScanLimitGb: number;
  reportsProjectionStart: string;
}

export const DEFAULT_CONFIG: Readonly<UsageAuditorConfig> = Object.freeze({
  scheduleCron: 'cron(0 2 * * ? *)',
  scheduleTimeZone: 'UTC',
  scheduleRetryAttempts: 3,
  scheduleMaxEventAgeHours: 6,
  alarmEmail: '',
  logRetentionDays: 400,
  noncurrentVersionDays: 90,
  accessLogRetentionDays: 365,
  functionLogRetentionDays: 90,
  objectLock: false,
  objectLockMode: 'GOVERNANCE',
  objectLockDays: 365,
  // Sized from measurement: the reader streams; peak RSS for a 2M-line object is well under 300 MB.
  // 1024 MB buys CPU (Lambda scales CPU with memory) for gunzip and parsing, not room for data.
  ingestMemoryMb: 1024,
  ingestTimeoutSeconds: 300,
  ingestBatchSize: 10,
  ingestMaxBatchingWindowSeconds: 5,
  ingestMaxReceiveCount: 5,
  ingestMaxConcurrency: 0,
  auditMemoryMb: 1024,
  auditTimeoutSeconds: 900,
  auditMaxSilenceHours: 26,
  metricsNamespace: 'UsageAuditor',
  tableDeletionProtection: true,
  glueDatabaseName: '',
  athenaWorkgroupName: '',
  athenaResultsRetentionDays: 30,
  athenaScanLimitGb: 10,
  reportsProjectionStart: '2020-01-01',
});

type Kind = 'string' | 'int' | 'bool';
const KINDS: { [K in keyof UsageAuditorConfig]: Kind } = {
  scheduleCron: 'string',
  scheduleTimeZone: 'string',
  scheduleRetryAttempts: 'int',
  scheduleMaxEventAgeHours: 'int',
  alarmEmail: 'string',
  logRetentionDays: 'int',
  noncurrentVersionDays: 'int',
  accessLogRetentionDays: 'int',
  functionLogRetentionDays: 'int',
  objectLock: 'bool',
  objectLockMode: 'string',
  objectLockDays: 'int',
  ingestMemoryMb: 'int',
  ingestTimeoutSeconds: 'int',
  ingestBatchSize: 'int',
  ingestMaxBatchingWindowSeconds: 'int',
  ingestMaxReceiveCount: 'int',
  ingestMaxConcurrency: 'int',
  auditMemoryMb: 'int',
  auditTimeoutSeconds: 'int',
  auditMaxSilenceHours: 'int',
  metricsNamespace: 'string',
  tableDeletionProtection: 'bool',
  glueDatabaseName: 'string',
  athenaWorkgroupName: 'string',
  athenaResultsRetentionDays: 'int',
  athenaScanLimitGb: 'int',
  reportsProjectionStart: 'string',
};

/** The context keys this stack reads, in documentation order. */
export const CONTEXT_KEYS = Object.keys(KINDS) as Array<keyof UsageAuditorConfig>;

function parseValue(key: string, kind: Kind, raw: unknown): string | number | boolean {
  if (kind === 'string') {
    if (typeof raw !== 'string')
      throw new Error(`context ${key}: expected a string, got ${JSON.stringify(raw)}`);
    return raw.trim();
  }
  if (kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new Error(`context ${key}: expected true or false, got ${JSON.stringify(raw)}`);
  }
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n))
    throw new Error(`context ${key}: expected an integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Reads the context keys present on `scope` (cdk.json, -c key=value), parsed but not yet validated. */
export function configFromContext(scope: IConstruct): Partial<UsageAuditorConfig> {
  const out: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const raw: unknown = scope.node.tryGetContext(key);
    if (raw === undefined || raw === null) continue;
    out[key] = parseValue(key, KINDS[key], raw);
  }
  return out as Partial<UsageAuditorConfig>;
}

const LOG_RETENTION_VALUES = new Set(
  Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number'),
);

/** Throws on the first invalid setting, naming its key. */
export function validateConfig(c: UsageAuditorConfig): void {
  const fail = (key: keyof UsageAuditorConfig, why: string): never => {
    throw new Error(`context ${key}: ${why} (got ${JSON.stringify(c[key])})`);
  };
  const range = (key: keyof UsageAuditorConfig, min: number, max: number): void => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      fail(key, `expected an integer from ${min} to ${max}`);
    }
  };
  if (!/^(cron|rate)\(.+\)$/.test(c.scheduleCron)) fail('scheduleCron', 'expected cron(…) or rate(…)');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: c.scheduleTimeZone });
  } catch {
    fail('scheduleTimeZone', 'expected an IANA time zone such as UTC or Europe/Berlin');
  }
  range('scheduleRetryAttempts', 0, 185);
  range('scheduleMaxEventAgeHours', 1, 24);
  if (c.alarmEmail !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(c.alarmEmail)) {
    fail('alarmEmail', 'expected an e-mail address or nothing');
  }
  range('logRetentionDays', 0, 36500);
  range('noncurrentVersionDays', 1, 36500);
  range('accessLogRetentionDays', 1, 36500);
  if (!LOG_RETENTION_VALUES.has(c.functionLogRetentionDays)) {
    fail('functionLogRetentionDays', `expected one of ${[...LOG_RETENTION_VALUES].join(', ')}`);
  }
  if (c.objectLockMode !== 'GOVERNANCE' && c.objectLockMode !== 'COMPLIANCE') {
    fail('objectLockMode', 'expected GOVERNANCE or COMPLIANCE');
  }
  range('objectLockDays', 1, 36500);
  range('ingestMemoryMb', 128, 10240);
  range('ingestTimeoutSeconds', 1, 900);
  range('ingestBatchSize', 1, 10000);
  range('ingestMaxBatchingWindowSeconds', 0, 300);
  if (c.ingestBatchSize > 10 && c.ingestMaxBatchingWindowSeconds < 1) {
    fail('ingestMaxBatchingWindowSeconds', 'a batch size above 10 needs a batching window of at least 1 s');
  }
  range('ingestMaxReceiveCount', 1, 1000);
  if (c.ingestMaxConcurrency !== 0) range('ingestMaxConcurrency', 2, 1000);
  range('auditMemoryMb', 128, 10240);
  range('auditTimeoutSeconds', 1, 900);
  range('auditMaxSilenceHours', 1, 168);
  if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(c.metricsNamespace))
    fail('metricsNamespace', 'expected a CloudWatch namespace');
  if (c.glueDatabaseName !== '' && !/^[a-z0-9_]{1,255}$/.test(c.glueDatabaseName)) {
    fail('glueDatabaseName', 'expected lower-case letters, digits and underscores');
  }
  if (c.athenaWorkgroupName !== '' && !/^[a-zA-Z0-9._-]{1,128}$/.test(c.athenaWorkgroupName)) {
    fail('athenaWorkgroupName', 'expected letters, digits, . _ -');
  }
  range('athenaResultsRetentionDays', 1, 36500);
  range('athenaScanLimitGb', 1, 1_000_000);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(c.reportsProjectionStart) ||
    Number.isNaN(Date.parse(`${c.reportsProjectionStart}T00:00:00Z`))
  ) {
    fail('reportsProjectionStart', 'expected a date YYYY-MM-DD');
  }
}

/** `UsageAuditor` → `usage_auditor`: a Glue-safe database name from the stack name. */
export function glueNameFrom(stackName: string): string {
  return stackName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

// ---------------------------------------------------------------------------------------------
// Stack
// ---------------------------------------------------------------------------------------------

export interface UsageAuditorStackProps extends StackProps {
  /** Overrides, applied over DEFAULT_CONFIG and the context keys. */
  config?: Partial<UsageAuditorConfig>;
  /** Folder holding package-lock.json and functions/ (default: the repository root). */
  projectRoot?: string;
}

const S3_ACCESS_LOGS_POLICY_FLAG = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * ESM bundles for Node 22 on Graviton. The banner gives CommonJS dependencies bundled into the
 * ESM output a working `require` for Node built-ins. The AWS SDK is bundled too, so the code that
 * runs is the code that was tested, not whatever SDK version the runtime ships.
 */
export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
  bundleAwsSDK: true,
  externalModules: [],
  forceDockerBundling: false,
  logLevel: nodejs.LogLevel.WARNING,
};

/**
 * Scheduler target that invokes the function's unqualified ARN and is granted exactly that:
 * LambdaInvoke's grantInvoke would also grant `<function ARN>:*` (every version and alias).
 */
class InvokeLatest extends schedulerTargets.LambdaInvoke {
  private readonly target: lambda.IFunction;
  constructor(fn: lambda.IFunction, props: schedulerTargets.ScheduleTargetBaseProps) {
    super(fn, props);
    this.target = fn;
  }
  protected override addTargetActionToRole(role: iam.IRole): void {
    this.target.grantInvokeLatestVersion(role);
  }
}

export class UsageAuditorStack extends Stack {
  readonly config: UsageAuditorConfig;
  readonly accessLogsBucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly reportsBucket: s3.Bucket;
  readonly athenaResultsBucket: s3.Bucket;
  readonly tables: Record<string, dynamodb.Table> = {};
  readonly ingestQueue: sqs.Queue;
  readonly ingestDeadLetterQueue: sqs.Queue;
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly ingestFunction: nodejs.NodejsFunction;
  readonly auditFunction: nodejs.NodejsFunction;
  readonly schedule: scheduler.Schedule;
  readonly alarmTopic: sns.Topic;
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  readonly catalog: ReportCatalog;

  constructor(scope: Construct, id: string, props: UsageAuditorStackProps = {}) {
    super(scope, id, props);
    // Server access logs are delivered under a bucket policy (not the legacy log-delivery ACL, which
    // BucketOwnerEnforced ownership forbids). cdk.json sets this flag; set it here too so the stack
    // builds the same inside apps that lack it (tests, other apps embedding the stack).
    if (this.node.tryGetContext(S3_ACCESS_LOGS_POLICY_FLAG) === undefined) {
      this.node.setContext(S3_ACCESS_LOGS_POLICY_FLAG, true);
    }
    const config: UsageAuditorConfig = { ...DEFAULT_CONFIG, ...configFromContext(this), ...props.config };
    validateConfig(config);
    this.config = config;
    const root = props.projectRoot ?? REPO_ROOT;
    Tags.of(this).add('app', 'usage-auditor');

    // -- Buckets -------------------------------------------------------------------------------
    // Encryption: S3-managed keys (SSE-S3) everywhere. The server access log destination must use
    // SSE-S3 (S3 cannot deliver access logs into an SSE-KMS bucket), Athena and the CLI read the
    // reports without KMS grants, and a customer key would add cost and key-policy upkeep without
    // changing who can read: access is decided by the IAM and bucket policies below.
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
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(config.accessLogRetentionDays) }],
    });

    const versionHousekeeping: s3.LifecycleRule[] = [
      {
        id: 'ExpireNoncurrentVersions',
        noncurrentVersionExpiration: Duration.days(config.noncurrentVersionDays),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
      { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
    ];
    const expireUnder = (prefix: string): s3.LifecycleRule[] =>
      config.logRetentionDays > 0
        ? [
            {
              id: `Expire-${prefix.replace(/\W+/g, '')}`,
              prefix,
              expiration: Duration.days(config.logRetentionDays),
            },
          ]
        : [];

    this.logBucket = new s3.Bucket(this, LOG_BUCKET.id, {
      ...secure,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'log-bucket/',
      lifecycleRules: [...expireUnder(LOG_PREFIX), ...versionHousekeeping],
    });

    this.reportsBucket = new s3.Bucket(this, REPORTS_BUCKET.id, {
      ...secure,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'reports-bucket/',
      // Reports are kept; rejects and quarantine records age out with the logs they describe.
      lifecycleRules: [...expireUnder(DATA_QUALITY_PREFIX), ...versionHousekeeping],
      ...(config.objectLock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              config.objectLockMode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(config.objectLockDays))
                : s3.ObjectLockRetention.governance(Duration.days(config.objectLockDays)),
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
          expiration: Duration.days(config.athenaResultsRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    // -- Tables --------------------------------------------------------------------------------
    const attr = (k: TableDefinition['partitionKey']): dynamodb.Attribute => ({
      name: k.name,
      type: k.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
    });
    for (const def of TABLES) {
      this.tables[def.id] = new dynamodb.Table(this, def.id, {
        partitionKey: attr(def.partitionKey),
        ...(def.sortKey ? { sortKey: attr(def.sortKey) } : {}),
        ...(def.timeToLiveAttribute ? { timeToLiveAttribute: def.timeToLiveAttribute } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: config.tableDeletionProtection,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    const usageTable = this.table(USAGE_TABLE);
    const controlTable = this.table(CONTROL_TABLE);

    // -- Functions -----------------------------------------------------------------------------
    const environment: Record<string, string> = {
      [USAGE_TABLE.env]: usageTable.tableName,
      [CONTROL_TABLE.env]: controlTable.tableName,
      [REPORTS_BUCKET.env]: this.reportsBucket.bucketName,
      [LOG_BUCKET.env]: this.logBucket.bucketName,
      POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
      NODE_OPTIONS: '--enable-source-maps',
    };
    const makeFunction = (
      def: typeof INGEST_FUNCTION,
      opts: { memoryMb: number; timeoutSeconds: number; service: string; description: string },
    ): nodejs.NodejsFunction => {
      // Own role: no AWS managed policy (AWSLambdaBasicExecutionRole allows writing to any log group).
      const role = new iam.Role(this, `${def.id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${def.id}: least privilege, see infra/stack.ts`,
      });
      const logGroup = new logs.LogGroup(this, `${def.id}Logs`, {
        retention: config.functionLogRetentionDays as logs.RetentionDays,
      });
      logGroup.grantWrite(role);
      const fn = new nodejs.NodejsFunction(this, def.id, {
        entry: path.join(root, def.entry),
        handler: 'handler',
        projectRoot: root,
        depsLockFilePath: path.join(root, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: opts.memoryMb,
        timeout: Duration.seconds(opts.timeoutSeconds),
        role,
        logGroup,
        description: opts.description,
        environment: { ...environment, POWERTOOLS_SERVICE_NAME: opts.service },
        bundling: BUNDLING,
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x on purpose: the function code must run on Node 20 and 22 (engines >=20.6, tested on both); nodejs24.x is not a supported target yet.',
      });
      return fn;
    };

    this.ingestFunction = makeFunction(INGEST_FUNCTION, {
      memoryMb: config.ingestMemoryMb,
      timeoutSeconds: config.ingestTimeoutSeconds,
      service: 'usage-auditor-ingest',
      description: 'usage-auditor: aggregates log objects under logs/ into the usage table',
    });
    this.auditFunction = makeFunction(AUDIT_FUNCTION, {
      memoryMb: config.auditMemoryMb,
      timeoutSeconds: config.auditTimeoutSeconds,
      service: 'usage-auditor-audit',
      description: 'usage-auditor: nightly audit of usage against agreements, writes reports/',
    });

    // Ingest: reads logs/, writes rejects and quarantine records, owns the usage aggregates,
    // reads the recipients registry from the control table.
    const ingestRole = this.ingestFunction.role as iam.Role;
    ingestRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadLogObjects',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.logBucket.arnForObjects(`${LOG_PREFIX}*`)],
      }),
    );
    // Without ListBucket, S3 answers 403 instead of 404 for a log deleted before it is read, and
    // the message would be retried into the dead-letter queue instead of being skipped as missing.
    ingestRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TellMissingLogObjects',
        actions: ['s3:ListBucket'],
        resources: [this.logBucket.bucketArn],
      }),
    );
    ingestRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteDataQualityRecords',
        actions: ['s3:PutObject'],
        resources: [this.reportsBucket.arnForObjects(`${DATA_QUALITY_PREFIX}*`)],
      }),
    );
    ingestRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UsageAggregates',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:BatchGetItem',
        ],
        resources: [usageTable.tableArn],
      }),
    );
    ingestRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRecipientsRegistry',
        actions: ['dynamodb:GetItem'],
        resources: [controlTable.tableArn],
      }),
    );

    // Audit: reads usage, keeps agreements and audit bookkeeping, reads and writes reports.
    const auditRole = this.auditFunction.role as iam.Role;
    auditRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadUsage',
        actions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
        resources: [usageTable.tableArn],
      }),
    );
    auditRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'AgreementsAndBookkeeping',
        actions: ['dynamodb:Query', 'dynamodb:PutItem'],
        resources: [controlTable.tableArn],
      }),
    );
    auditRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteReports',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.reportsBucket.arnForObjects(`${REPORTS_PREFIX}*`)],
      }),
    );
    auditRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListReports',
        actions: ['s3:ListBucket'],
        resources: [this.reportsBucket.bucketArn],
      }),
    );
    const objectWildcard =
      'Object ARNs end in a key wildcard under one fixed prefix of one bucket (S3 object permissions cannot name keys that do not exist yet); actions are listed one by one.';
    this.acknowledgeResourceWildcards(
      ingestRole,
      [
        [this.logBucket, `${LOG_PREFIX}*`],
        [this.reportsBucket, `${DATA_QUALITY_PREFIX}*`],
      ],
      objectWildcard,
    );
    this.acknowledgeResourceWildcards(
      auditRole,
      [[this.reportsBucket, `${REPORTS_PREFIX}*`]],
      objectWildcard,
    );

    // -- S3 -> SQS -> ingest ---------------------------------------------------------------------
    const queueBase = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    } satisfies sqs.QueueProps;
    this.ingestDeadLetterQueue = new sqs.Queue(this, 'IngestDeadLetterQueue', {
      ...queueBase,
      retentionPeriod: Duration.days(14),
    });
    this.ingestQueue = new sqs.Queue(this, 'IngestQueue', {
      ...queueBase,
      // Lambda's guidance for SQS event sources: at least 6x the function timeout, so that a
      // message is not redelivered while a (retried) batch is still running.
      visibilityTimeout: Duration.seconds(config.ingestTimeoutSeconds * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.ingestDeadLetterQueue, maxReceiveCount: config.ingestMaxReceiveCount },
    });
    this.logBucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.SqsDestination(this.ingestQueue),
      { prefix: LOG_PREFIX },
    );
    this.ingestFunction.addEventSource(
      new SqsEventSource(this.ingestQueue, {
        batchSize: config.ingestBatchSize,
        maxBatchingWindow: Duration.seconds(config.ingestMaxBatchingWindowSeconds),
        reportBatchItemFailures: true,
        ...(config.ingestMaxConcurrency > 0 ? { maxConcurrency: config.ingestMaxConcurrency } : {}),
      }),
    );
    this.acknowledgeNotificationsHandler();

    // -- Schedule -> audit -----------------------------------------------------------------------
    this.scheduleDeadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      ...queueBase,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the audit schedule; it has no DLQ of its own.',
    });
    this.schedule = new scheduler.Schedule(this, 'AuditSchedule', {
      description: 'usage-auditor: nightly audit (SPEC §4: D = yesterday, plus re-audits of changed dates)',
      schedule: scheduler.ScheduleExpression.expression(
        config.scheduleCron,
        TimeZone.of(config.scheduleTimeZone),
      ),
      timeWindow: scheduler.TimeWindow.off(),
      target: new InvokeLatest(this.auditFunction, {
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: config.scheduleRetryAttempts,
        maxEventAge: Duration.hours(config.scheduleMaxEventAgeHours),
        input: scheduler.ScheduleTargetInput.fromObject({
          source: 'usage-auditor.schedule',
          'detail-type': 'Scheduled Event',
          time: scheduler.ContextAttribute.scheduledTime,
          detail: {},
        }),
      }),
    });

    // -- Alarms ----------------------------------------------------------------------------------
    const alarmKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'usage-auditor: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch must be able to use the key to publish to the encrypted topic (an AWS managed
    // key could not grant it, which is why this is a customer managed key).
    alarmKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, ALARM_TOPIC.id, {
      displayName: 'usage-auditor alarms',
      masterKey: alarmKey,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (config.alarmEmail !== '') {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    }
    const action = new cwActions.SnsAction(this.alarmTopic);
    const alarm = (id: string, props: cloudwatch.AlarmProps): void => {
      const a = new cloudwatch.Alarm(this, id, props);
      a.addAlarmAction(action);
      this.alarms[id] = a;
    };
    const fiveMinutes = Duration.minutes(5);
    alarm('IngestDeadLetterAlarm', {
      alarmDescription:
        'S3 notifications of log objects that ingest failed on repeatedly sit in the ingest DLQ.',
      metric: this.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('ScheduleDeadLetterAlarm', {
      alarmDescription: 'Scheduled audit invocations that failed after all retries sit in the schedule DLQ.',
      metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('IngestErrorsAlarm', {
      alarmDescription: 'The ingest function failed (an invocation error, not a rejected line).',
      metric: this.ingestFunction.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('AuditErrorsAlarm', {
      alarmDescription: 'The audit function failed.',
      metric: this.auditFunction.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // "Audit not run": hourly invocation counts; every one of the last N hours empty (or without
    // data at all) breaches. CloudWatch allows up to 7 days of evaluation for periods >= 1 hour.
    alarm('AuditNotRunAlarm', {
      alarmDescription: `The audit function has not been invoked for ${config.auditMaxSilenceHours} hours: the nightly schedule is not running.`,
      metric: this.auditFunction.metricInvocations({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: config.auditMaxSilenceHours,
      datapointsToAlarm: config.auditMaxSilenceHours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm('IngestBacklogAlarm', {
      alarmDescription:
        'Log notifications have waited in the ingest queue for over an hour: ingest is not keeping up.',
      metric: this.ingestQueue.metricApproximateAgeOfOldestMessage({
        period: fiveMinutes,
        statistic: 'Maximum',
      }),
      threshold: 3600,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // -- Glue + Athena -------------------------------------------------------------------------------
    // Tables `findings` and `usage` are Athena views over one raw table of report lines, restricted
    // by file name through "$path": see infra/constructs/report-catalog.ts for why.
    this.catalog = new ReportCatalog(this, 'Reports', {
      reportsBucket: this.reportsBucket,
      resultsBucket: this.athenaResultsBucket,
      databaseName: config.glueDatabaseName || glueNameFrom(this.stackName),
      workgroupName: config.athenaWorkgroupName || this.stackName,
      projectionStart: config.reportsProjectionStart,
      bytesScannedCutoffPerQuery: config.athenaScanLimitGb * 1024 ** 3,
    });

    // -- Outputs (read by `auditor --stack NAME`) ------------------------------------------------
    const output = (key: string, value: string, description: string): void => {
      new CfnOutput(this, key, { value, description });
    };
    output(LOG_BUCKET.output, this.logBucket.bucketName, `Log bucket; upload log drops under ${LOG_PREFIX}`);
    output(REPORTS_BUCKET.output, this.reportsBucket.bucketName, `Reports bucket (${REPORTS_PREFIX}date=…/)`);
    output(USAGE_TABLE.output, usageTable.tableName, 'DynamoDB usage aggregates');
    output(
      CONTROL_TABLE.output,
      controlTable.tableName,
      'DynamoDB agreements, recipients, audit bookkeeping',
    );
    output(INGEST_FUNCTION.output, this.ingestFunction.functionName, 'Ingest Lambda function');
    output(AUDIT_FUNCTION.output, this.auditFunction.functionName, 'Audit Lambda function');
    output(
      ANALYTICS.workgroupOutput,
      this.catalog.workgroupName,
      'Athena workgroup (results location enforced)',
    );
    output(
      ANALYTICS.databaseOutput,
      this.catalog.databaseName,
      'Glue database with the findings and usage tables',
    );
    output(ALARM_TOPIC.output, this.alarmTopic.topicArn, 'SNS topic the alarms publish to');
    output(OPS_OUTPUTS.ingestQueueUrl, this.ingestQueue.queueUrl, 'SQS queue feeding the ingest function');
    output(
      OPS_OUTPUTS.ingestDeadLetterQueueUrl,
      this.ingestDeadLetterQueue.queueUrl,
      'Ingest dead-letter queue',
    );
    output(
      OPS_OUTPUTS.scheduleDeadLetterQueueUrl,
      this.scheduleDeadLetterQueue.queueUrl,
      'Audit schedule DLQ',
    );
    output(OPS_OUTPUTS.athenaResultsBucketName, this.athenaResultsBucket.bucketName, 'Athena query results');
    output(
      OPS_OUTPUTS.scheduleName,
      this.schedule.scheduleName,
      'EventBridge Scheduler schedule of the audit',
    );
  }

  /** The table built from `def`. */
  table(def: TableDefinition): dynamodb.Table {
    const t = this.tables[def.id];
    if (!t) throw new Error(`no table ${def.id}`);
    return t;
  }

  /**
   * Acknowledges cdk-nag's IAM5 finding for each prefix-scoped object ARN in the role's policy,
   * one finding at a time (the id names the exact resource), so any other wildcard still fails.
   */
  private acknowledgeResourceWildcards(
    role: iam.Role,
    objects: Array<[s3.Bucket, string]>,
    reason: string,
  ): void {
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error(`${role.node.path} has no DefaultPolicy`);
    for (const [bucket, pattern] of objects) {
      const logicalId = this.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${pattern}]`,
        reason,
      });
    }
  }

  /**
   * S3 bucket notifications are configured by CDK's own singleton custom resource
   * (BucketNotificationsHandler…). Its code and role are CDK's, not ours.
   */
  private acknowledgeNotificationsHandler(): void {
    const handler = this.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (!handler) throw new Error('BucketNotificationsHandler not found');
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's BucketNotificationsHandler custom resource (configures the logs/ -> SQS notification) comes with this role; it runs only during deployment.",
    });
  }
}
