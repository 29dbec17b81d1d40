/**
 * usage-auditor on AWS: the whole system of SPEC.md in one stack, wired from one construct per concern.
 *
 *   Storage          buckets (logs, reports, access logs, Athena results) and DynamoDB tables
 *   LambdaFunction   ×3: ingest, audit and reconcile, each with its own role and log group
 *   IngestPipeline   S3 log bucket (logs/…) ──ObjectCreated──> SQS (+DLQ) ──> ingest ──> usage table
 *   NightlyAudit     EventBridge Scheduler (nightly, +retries, +DLQ) ──> audit (+on-failure queue) ──> reports/…
 *   DailyReconcile   EventBridge Scheduler (daily, +retries, +DLQ) ──> reconcile (+on-failure queue):
 *                    lists logs/ and ingests what no S3 event brought
 *   Alarms           CloudWatch alarms ──> SNS (KMS, SSL only) ──> e-mail
 *   ReportCatalog    Glue + Athena over reports/
 *   FindingEvents    audit ──> EventBridge bus (finding events) and SNS digest topic ──> e-mail
 *
 * Settings: the context keys of infra/config.ts. Tables, buckets, environment variable names and output
 * names come from functions/shared/resources.ts, the file the embedded local stack is built from too.
 * Logical ids are those the resources had when they were created directly in the stack (see
 * infra/constructs/logical-ids.ts), so a deployed stack replaces nothing.
 */
import { type CfnElement, CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  ALARM_TOPIC,
  ANALYTICS,
  AUDIT_FUNCTION,
  CONTROL_TABLE,
  FINDING_EVENTS,
  INGEST_FUNCTION,
  LOG_BUCKET,
  LOG_PREFIX,
  OBSERVABILITY,
  OPS_OUTPUTS,
  RECONCILE_FUNCTION,
  REPORTS_BUCKET,
  REPORTS_PREFIX,
  RUN_OUTPUTS,
  USAGE_TABLE,
} from '../functions/shared/resources.ts';
import { glueNameFrom, reportsNoncurrentDays, resolveConfig, type UsageAuditorConfig } from './config.ts';
import { Alarms } from './constructs/alarms.ts';
import { DailyReconcile } from './constructs/daily-reconcile.ts';
import { FindingEvents, splitEmails } from './constructs/finding-events.ts';
import { IngestPipeline } from './constructs/ingest-pipeline.ts';
import { LambdaFunction } from './constructs/lambda-function.ts';
import { flatComponents, uniqueId } from './constructs/logical-ids.ts';
import { NightlyAudit } from './constructs/nightly-audit.ts';
import { ReportCatalog } from './constructs/report-catalog.ts';
import { Storage } from './constructs/storage.ts';

export interface UsageAuditorStackProps extends StackProps {
  /** Overrides, applied over the defaults and the context keys (infra/config.ts). */
  readonly config?: Partial<UsageAuditorConfig>;
  /**
   * Folder holding package-lock.json and functions/.
   * @default the repository root
   */
  readonly projectRoot?: string;
}

export class UsageAuditorStack extends Stack {
  /** The settings in effect: defaults, context keys, props.config. */
  public readonly config: UsageAuditorConfig;
  /** Buckets and tables. */
  public readonly storage: Storage;
  public readonly ingestFunction: LambdaFunction;
  public readonly auditFunction: LambdaFunction;
  public readonly reconcileFunction: LambdaFunction;
  /** logs/ -> queue -> ingest, and the ingest grants. */
  public readonly ingest: IngestPipeline;
  /** Schedule -> audit, and the audit grants. */
  public readonly audit: NightlyAudit;
  /** Schedule -> reconcile, and the reconcile grants. */
  public readonly reconcile: DailyReconcile;
  /** Topic, key and alarms. */
  public readonly alarms: Alarms;
  /** Glue and Athena over reports/. */
  public readonly catalog: ReportCatalog;
  /** The bus and digest topic of finding events, and the audit's grants on them. */
  public readonly findingEvents: FindingEvents;

  constructor(scope: Construct, id: string, props: UsageAuditorStackProps = {}) {
    super(scope, id, props);
    const config = resolveConfig(this, props.config);
    this.config = config;
    Tags.of(this).add('app', 'usage-auditor');

    const storage = new Storage(this, 'Storage', {
      logRetentionDays: config.logRetentionDays,
      noncurrentVersionDays: config.noncurrentVersionDays,
      reportsNoncurrentVersionDays: reportsNoncurrentDays(config),
      accessLogRetentionDays: config.accessLogRetentionDays,
      athenaResultsRetentionDays: config.athenaResultsRetentionDays,
      ...(config.objectLock
        ? { objectLock: { mode: config.objectLockMode, days: config.objectLockDays } }
        : {}),
      tableDeletionProtection: config.tableDeletionProtection,
    });
    this.storage = storage;
    const usageTable = storage.table(USAGE_TABLE);
    const controlTable = storage.table(CONTROL_TABLE);

    const environment: Record<string, string> = {
      [USAGE_TABLE.env]: usageTable.tableName,
      [CONTROL_TABLE.env]: controlTable.tableName,
      [REPORTS_BUCKET.env]: storage.reportsBucket.bucketName,
      [LOG_BUCKET.env]: storage.logBucket.bucketName,
      POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
      NODE_OPTIONS: '--enable-source-maps',
    };
    // What ingesting needs beyond the names above: the reader limits (MAX_LINE_BYTES, …) are not
    // set, so the defaults of functions/core/log-reader.ts apply. Whatever is set here reaches both
    // functions that ingest, ingest and reconcile.
    const ingestEnvironment: Record<string, string> = {};
    const fn = (
      def: { readonly id: string; readonly entry: string },
      memorySizeMb: number,
      timeoutSeconds: number,
      service: string,
      description: string,
      extra: Record<string, string> = {},
    ): LambdaFunction =>
      new LambdaFunction(this, def.id, {
        entry: def.entry,
        ...(props.projectRoot ? { projectRoot: props.projectRoot } : {}),
        description,
        memorySizeMb,
        timeoutSeconds,
        logRetentionDays: config.functionLogRetentionDays,
        environment: { ...environment, ...extra, POWERTOOLS_SERVICE_NAME: service },
      });
    this.ingestFunction = fn(
      INGEST_FUNCTION,
      config.ingestMemoryMb,
      config.ingestTimeoutSeconds,
      OBSERVABILITY.loggerService('ingest'),
      'usage-auditor: aggregates log objects under logs/ into the usage table',
      ingestEnvironment,
    );
    this.auditFunction = fn(
      AUDIT_FUNCTION,
      config.auditMemoryMb,
      config.auditTimeoutSeconds,
      OBSERVABILITY.loggerService('audit'),
      'usage-auditor: nightly audit of usage against agreements, writes reports/',
    );
    // No reserved concurrency: the stack reserves none elsewhere, and a reservation fails to deploy
    // in accounts near the 10-unreserved minimum. One run a day; the handler is idempotent.
    this.reconcileFunction = fn(
      RECONCILE_FUNCTION,
      config.reconcileMemoryMb,
      config.reconcileTimeoutSeconds,
      OBSERVABILITY.loggerService('reconcile'),
      'usage-auditor: daily reconcile, ingests log objects under logs/ that no S3 event brought',
      {
        ...ingestEnvironment,
        RECONCILE_WINDOW_DAYS: String(config.reconcileWindowDays),
        // The ingest function's read budget (its timeout less the 30 s it keeps to record an object,
        // DEFAULT_DEADLINE_MARGIN_MS): reconcile quarantines an object as too large only when it
        // had at least that long to read it.
        INGEST_READ_BUDGET_MS: String(config.ingestTimeoutSeconds * 1000 - 30_000),
      },
    );

    this.ingest = new IngestPipeline(this, 'Ingest', {
      logBucket: storage.logBucket,
      reportsBucket: storage.reportsBucket,
      usageTable,
      controlTable,
      ingestFunction: this.ingestFunction,
      batchSize: config.ingestBatchSize,
      maxBatchingWindowSeconds: config.ingestMaxBatchingWindowSeconds,
      maxReceiveCount: config.ingestMaxReceiveCount,
      ...(config.ingestMaxConcurrency > 0 ? { maxConcurrency: config.ingestMaxConcurrency } : {}),
    });

    this.audit = new NightlyAudit(this, 'NightlyAudit', {
      auditFunction: this.auditFunction,
      usageTable,
      controlTable,
      reportsBucket: storage.reportsBucket,
      expression: config.scheduleCron,
      timeZone: config.scheduleTimeZone,
      retryAttempts: config.scheduleRetryAttempts,
      maxEventAgeHours: config.scheduleMaxEventAgeHours,
      asyncRetryAttempts: config.asyncRetryAttempts,
      asyncMaxEventAgeHours: config.asyncMaxEventAgeHours,
    });

    this.reconcile = new DailyReconcile(this, 'DailyReconcile', {
      reconcileFunction: this.reconcileFunction,
      logBucket: storage.logBucket,
      reportsBucket: storage.reportsBucket,
      usageTable,
      controlTable,
      expression: config.reconcileCron,
      timeZone: config.scheduleTimeZone,
      retryAttempts: config.scheduleRetryAttempts,
      maxEventAgeHours: config.scheduleMaxEventAgeHours,
      asyncRetryAttempts: config.asyncRetryAttempts,
      asyncMaxEventAgeHours: config.asyncMaxEventAgeHours,
    });

    // No function of the stack may remove a report version or its retention, whatever its grants.
    storage.denyReportVersionRemoval(
      [this.ingestFunction, this.auditFunction, this.reconcileFunction].map((f) => f.role),
    );

    this.alarms = new Alarms(this, 'Alarms', {
      ingestFunction: this.ingestFunction.lambdaFunction,
      ingestQueue: this.ingest.queue,
      ingestDeadLetterQueue: this.ingest.deadLetterQueue,
      auditFunction: this.auditFunction.lambdaFunction,
      scheduleDeadLetterQueue: this.audit.deadLetterQueue,
      auditFailureQueue: this.audit.failureQueue,
      auditStateMachine: this.audit.fanOut.stateMachine,
      reconcileFunction: this.reconcileFunction.lambdaFunction,
      reconcileScheduleDeadLetterQueue: this.reconcile.deadLetterQueue,
      reconcileFailureQueue: this.reconcile.failureQueue,
      auditMaxSilenceHours: config.auditMaxSilenceHours,
      metricsNamespace: config.metricsNamespace,
      rejectedLinePercent: config.rejectedLinePercentThreshold,
      ...(config.alarmEmail !== '' ? { email: config.alarmEmail } : {}),
    });

    this.findingEvents = new FindingEvents(this, 'FindingEvents', {
      auditFunction: this.auditFunction,
      emails: splitEmails(config.findingEmails),
      changeThresholdPercent: config.findingChangePercent,
    });

    // Tables `findings` and `usage` are Athena views over one raw table of report lines, restricted
    // by file name through "$path": see infra/constructs/report-catalog.ts for why.
    this.catalog = new ReportCatalog(this, 'Reports', {
      reportsBucket: storage.reportsBucket,
      resultsBucket: storage.athenaResultsBucket,
      databaseName: config.glueDatabaseName || glueNameFrom(this.stackName),
      workgroupName: config.athenaWorkgroupName || this.stackName,
      projectionStart: config.reportsProjectionStart,
      bytesScannedCutoffPerQuery: config.athenaScanLimitGb * 1024 ** 3,
    });

    // -- Outputs (read by `auditor --stack NAME`) ------------------------------------------------
    const output = (key: string, value: string, description: string): void => {
      new CfnOutput(this, key, { value, description });
    };
    output(
      LOG_BUCKET.output,
      storage.logBucket.bucketName,
      `Log bucket; upload log drops under ${LOG_PREFIX}`,
    );
    output(
      REPORTS_BUCKET.output,
      storage.reportsBucket.bucketName,
      `Reports bucket (${REPORTS_PREFIX}date=…/)`,
    );
    output(USAGE_TABLE.output, usageTable.tableName, 'DynamoDB usage aggregates');
    output(
      CONTROL_TABLE.output,
      controlTable.tableName,
      'DynamoDB agreements, recipients, audit bookkeeping',
    );
    output(INGEST_FUNCTION.output, this.ingestFunction.lambdaFunction.functionName, 'Ingest Lambda function');
    output(AUDIT_FUNCTION.output, this.auditFunction.lambdaFunction.functionName, 'Audit Lambda function');
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
    output(ALARM_TOPIC.output, this.alarms.topic.topicArn, 'SNS topic the alarms publish to');
    output(
      FINDING_EVENTS.busOutput,
      this.findingEvents.bus.eventBusName,
      'EventBridge bus of finding events',
    );
    output(FINDING_EVENTS.topicOutput, this.findingEvents.topic.topicArn, 'SNS topic of the finding digest');
    output(OPS_OUTPUTS.ingestQueueUrl, this.ingest.queue.queueUrl, 'SQS queue feeding the ingest function');
    output(
      OPS_OUTPUTS.ingestDeadLetterQueueUrl,
      this.ingest.deadLetterQueue.queueUrl,
      'Ingest dead-letter queue',
    );
    output(OPS_OUTPUTS.scheduleDeadLetterQueueUrl, this.audit.deadLetterQueue.queueUrl, 'Audit schedule DLQ');
    output(
      OPS_OUTPUTS.athenaResultsBucketName,
      storage.athenaResultsBucket.bucketName,
      'Athena query results',
    );
    output(
      OPS_OUTPUTS.scheduleName,
      this.audit.schedule.scheduleName,
      'EventBridge Scheduler schedule of the audit',
    );
    output(
      RECONCILE_FUNCTION.output,
      this.reconcileFunction.lambdaFunction.functionName,
      'Reconcile Lambda function',
    );
    output(
      RUN_OUTPUTS.auditFailureQueueUrl,
      this.audit.failureQueue.queueUrl,
      "Audit runs that failed after Lambda's retries",
    );
    output(
      RUN_OUTPUTS.auditStateMachineArn,
      this.audit.fanOut.stateMachine.stateMachineArn,
      'Audit runs, one invocation per report date: start an execution with {"date"} or {"from","to"}',
    );
    output(
      RUN_OUTPUTS.reconcileFailureQueueUrl,
      this.reconcile.failureQueue.queueUrl,
      "Reconcile runs that failed after Lambda's retries",
    );
    output(
      RUN_OUTPUTS.reconcileScheduleDeadLetterQueueUrl,
      this.reconcile.deadLetterQueue.queueUrl,
      'Reconcile schedule DLQ',
    );
    output(
      RUN_OUTPUTS.reconcileScheduleName,
      this.reconcile.schedule.scheduleName,
      'EventBridge Scheduler schedule of the reconcile',
    );
  }

  /** Names each resource by its construct path with the constructs' own scopes taken out (logical-ids.ts). */
  protected override allocateLogicalId(element: CfnElement): string {
    const scopes = element.node.scopes;
    return uniqueId(flatComponents(scopes.slice(scopes.indexOf(this) + 1)));
  }
}
