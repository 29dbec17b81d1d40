/**
 * The one place where the system's storage resources are defined. The CDK stack (infra/stack.ts)
 * builds its tables and buckets from these, and the embedded local stack (functions/local) creates
 * the same tables and buckets in the emulators from them. Pure data: no aws-cdk-lib import here.
 */

export interface KeyAttribute {
  name: string;
  type: 'S' | 'N';
}

export interface TableDefinition {
  /** Logical id in the CDK stack and the local table name. */
  id: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** Attribute holding an epoch-seconds expiry, if any. */
  timeToLiveAttribute?: string;
  /** Environment variable through which functions receive the table name. */
  env: string;
  /** CloudFormation output naming the table, read by `auditor --stack`. */
  output: string;
}

export interface BucketDefinition {
  id: string;
  env: string;
  output: string;
}

/** Usage aggregates, object manifests and their indexes (see functions/adapters/usage-store.ts). */
export const USAGE_TABLE: TableDefinition = {
  id: 'UsageTable',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  env: 'USAGE_TABLE',
  output: 'UsageTableName',
};

/** Agreements, the recipients registry and audit bookkeeping. */
export const CONTROL_TABLE: TableDefinition = {
  id: 'ControlTable',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  // Set on the audit's transient records only (its parts' plans and results: adapters/part-store.ts).
  timeToLiveAttribute: 'deleteAfter',
  env: 'CONTROL_TABLE',
  output: 'ControlTableName',
};

export const TABLES = [USAGE_TABLE, CONTROL_TABLE] as const;

/** Where API access logs land; objects under LOG_PREFIX trigger ingestion. */
export const LOG_BUCKET: BucketDefinition = { id: 'LogBucket', env: 'LOG_BUCKET', output: 'LogBucketName' };

/** Compliance reports, rejects and quarantine records. */
export const REPORTS_BUCKET: BucketDefinition = {
  id: 'ReportsBucket',
  env: 'REPORTS_BUCKET',
  output: 'ReportsBucketName',
};

export const BUCKETS = [LOG_BUCKET, REPORTS_BUCKET] as const;

/** Only objects under this prefix are logs (SPEC §2). */
export const LOG_PREFIX = 'logs/';

/** Prefixes inside the reports bucket. */
export const REPORTS_PREFIX = 'reports/';
/** Where a report folder's evidence files are (reports/date=D/evidence/FINDING_ID.jsonl), as an IAM object pattern. */
export const EVIDENCE_PREFIX = `${REPORTS_PREFIX}date=*/evidence/`;

/** The key of one file of a report date's folder. */
export const reportKey = (date: string, name: string): string => `${REPORTS_PREFIX}date=${date}/${name}`;
/** Licensee statements (issue 12): statements/licensee=L/month=YYYY-MM/statement.{html,csv}. */
export const STATEMENTS_PREFIX = 'statements/';
export const statementKey = (licensee: string, month: string, name: string): string =>
  `${STATEMENTS_PREFIX}licensee=${licensee}/month=${month}/${name}`;
export const DATA_QUALITY_PREFIX = 'data-quality/';
export const REJECTS_PREFIX = `${DATA_QUALITY_PREFIX}rejects/`;
export const QUARANTINE_PREFIX = `${DATA_QUALITY_PREFIX}quarantine/`;

/** Function names and their CloudFormation outputs. */
export const INGEST_FUNCTION = {
  id: 'IngestFunction',
  entry: 'functions/ingest/handler.ts',
  output: 'IngestFunctionName',
};
export const AUDIT_FUNCTION = {
  id: 'AuditFunction',
  entry: 'functions/audit/handler.ts',
  output: 'AuditFunctionName',
};
/** The daily reconcile: ingests log objects whose notification never reached ingest. */
export const RECONCILE_FUNCTION = {
  id: 'ReconcileFunction',
  entry: 'functions/reconcile/handler.ts',
  output: 'ReconcileFunctionName',
};

/** The nightly schedule, its alarm topic and the Athena catalog over reports/ (SPEC §5). */
export const ALARM_TOPIC = { id: 'AlarmTopic', output: 'AlarmTopicArn' };

export const ANALYTICS = {
  /** CloudFormation output naming the Athena workgroup (results location, engine, encryption enforced). */
  workgroupOutput: 'AthenaWorkgroup',
  /** CloudFormation output naming the Glue database holding the tables below. */
  databaseOutput: 'GlueDatabase',
  /** Raw table: every line of every file under reports/date=…/, partitioned by `date`. */
  linesTable: 'report_lines',
  /** Athena views over report_lines, restricted to findings.jsonl and usage.jsonl respectively. */
  findingsTable: 'findings',
  usageTable: 'usage',
} as const;

/**
 * Finding events (issue 12): the EventBridge bus every finding change is put on, and the SNS topic
 * the digest of critical and high changes goes to; the environment variables naming them for the
 * audit function, and their outputs.
 */
export const FINDING_EVENTS = {
  busId: 'FindingEventBus',
  busEnv: 'FINDING_EVENT_BUS',
  busOutput: 'FindingEventBusName',
  topicId: 'FindingDigestTopic',
  topicEnv: 'FINDING_DIGEST_TOPIC_ARN',
  topicOutput: 'FindingDigestTopicArn',
  /** Percent of the published value a number must move by to be a change (default 10). */
  thresholdEnv: 'FINDING_CHANGE_PERCENT',
} as const;

/** Extra outputs for operations (dead-letter queues, Athena results). */
export const OPS_OUTPUTS = {
  ingestQueueUrl: 'IngestQueueUrl',
  ingestDeadLetterQueueUrl: 'IngestDeadLetterQueueUrl',
  scheduleDeadLetterQueueUrl: 'ScheduleDeadLetterQueueUrl',
  athenaResultsBucketName: 'AthenaResultsBucketName',
  scheduleName: 'AuditScheduleName',
} as const;

/** Outputs of the reconcile schedule and the functions' on-failure queues. */
export const RUN_OUTPUTS = {
  auditFailureQueueUrl: 'AuditFailureQueueUrl',
  reconcileFailureQueueUrl: 'ReconcileFailureQueueUrl',
  reconcileScheduleDeadLetterQueueUrl: 'ReconcileScheduleDeadLetterQueueUrl',
  reconcileScheduleName: 'ReconcileScheduleName',
  /** The audit's state machine: start an execution with {date}, {from, to} or nothing (the nightly run). */
  auditStateMachineArn: 'AuditStateMachineArn',
} as const;

/** The functions' own metrics and logs: one namespace, a `service` dimension per function. */
export const OBSERVABILITY = {
  /** CloudWatch namespace when POWERTOOLS_METRICS_NAMESPACE is not set (the stack sets it). */
  defaultNamespace: 'UsageAuditor',
  /** The logger's service name of a function (POWERTOOLS_SERVICE_NAME in the stack). */
  loggerService: (fn: 'ingest' | 'audit' | 'reconcile'): string => `usage-auditor-${fn}`,
} as const;

/** Days back (by LastModified) a scheduled reconcile looks under logs/ (RECONCILE_WINDOW_DAYS). */
export const RECONCILE_WINDOW_DAYS_DEFAULT = 2;
