/**
 * The CDK context keys: the one place they are declared, each with its doc, default, type and rule.
 *
 * Set them in cdk.json "context" (which carries every default too, checked by test/infra/config.test.ts)
 * or per command: `npx cdk deploy -c key=value`. In code, `new UsageAuditorStack(app, id, { config: { … } })`
 * overrides both. Values given with -c arrive as strings; they are parsed here, and a bad value fails
 * the synth naming the key. The rules are those of the construct each key feeds (infra/constructs/).
 */
import type { IConstruct } from 'constructs';
import { OBSERVABILITY, RECONCILE_WINDOW_DAYS_DEFAULT } from '../functions/shared/resources.ts';
import { ALARM_CHECKS } from './constructs/alarms.ts';
import { type Check, ensure, integer, matching, oneOf } from './constructs/checks.ts';
import { emailList, FINDING_EVENT_CHECKS } from './constructs/finding-events.ts';
import { batchingWindowProblem, INGEST_CHECKS } from './constructs/ingest-pipeline.ts';
import { FUNCTION_CHECKS } from './constructs/lambda-function.ts';
import { CATALOG_CHECKS } from './constructs/report-catalog.ts';
import { SCHEDULE_CHECKS } from './constructs/scheduled-invocation.ts';
import {
  OBJECT_LOCK_MODES,
  type ObjectLockMode,
  reportsNoncurrentProblem,
  STORAGE_CHECKS,
} from './constructs/storage.ts';

interface Key<T> {
  readonly kind: 'string' | 'int' | 'bool';
  readonly default: T;
  /** Method syntax: checked bivariantly, so a Key<'A' | 'B'> is a Key<string>. */
  check?(value: T): string | undefined;
}
const str = (d: string, check?: Check<string>): Key<string> => ({ kind: 'string', default: d, check });
const choice = <T extends string>(d: T, values: readonly T[]): Key<T> => ({
  kind: 'string',
  default: d,
  check: oneOf(values),
});
const int = (d: number, check: Check<number>): Key<number> => ({ kind: 'int', default: d, check });
const bool = (d: boolean): Key<boolean> => ({ kind: 'bool', default: d });
/** An optional string: '' means "not set" (and is always valid). */
const optional =
  (check: Check<string>): Check<string> =>
  (v) =>
    v === '' ? undefined : check(v);
/** An optional number: 0 means "not set" (and is always valid). */
const orZero =
  (check: Check<number>): Check<number> =>
  (v) =>
    v === 0 ? undefined : check(v);

/** Keys read by infra/app.ts. */
export const APP_CONTEXT = {
  /** CloudFormation stack name, the `--stack NAME` of the CLI. */
  stackName: str('UsageAuditor', matching(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name')),
  /** Run cdk-nag AwsSolutions checks on synth; any finding fails the synth. */
  nag: bool(true),
};

/** Keys read by the stack (infra/stack.ts), in documentation order. */
export const STACK_CONTEXT = {
  /** EventBridge Scheduler expression of the nightly audit: cron(…) or rate(…). */
  scheduleCron: str('cron(0 2 * * ? *)', SCHEDULE_CHECKS.expression),
  /** IANA time zone the cron expression is read in. */
  scheduleTimeZone: str('UTC', SCHEDULE_CHECKS.timeZone),
  /**
   * Scheduler retries of a failed delivery of the audit or reconcile event (0–185). Scheduler invokes
   * asynchronously, so it retries only when Lambda did not accept the event (throttled, function or
   * permission missing); a run that fails is retried by Lambda (asyncRetryAttempts), then goes to
   * the function's on-failure queue.
   */
  scheduleRetryAttempts: int(3, SCHEDULE_CHECKS.retryAttempts),
  /** Scheduler gives up delivering after this many hours (1–24); then the event goes to the schedule's DLQ. */
  scheduleMaxEventAgeHours: int(6, SCHEDULE_CHECKS.maxEventAgeHours),
  /** EventBridge Scheduler expression of the daily reconcile (before the audit), read in scheduleTimeZone. */
  reconcileCron: str('cron(30 1 * * ? *)', SCHEDULE_CHECKS.expression),
  /** Lambda retries of a failed audit or reconcile run (0–2); then the event goes to the on-failure queue. */
  asyncRetryAttempts: int(2, SCHEDULE_CHECKS.asyncRetryAttempts),
  /** Lambda drops a queued audit or reconcile event older than this many hours (1–6) to the on-failure queue. */
  asyncMaxEventAgeHours: int(6, SCHEDULE_CHECKS.asyncMaxEventAgeHours),
  /** E-mail address subscribed to the alarm topic; empty = no subscription. */
  alarmEmail: str('', optional(ALARM_CHECKS.email)),
  /** Comma-separated e-mail addresses subscribed to the digest of critical and high finding changes; empty = none. */
  findingEmails: str('', emailList),
  /** A finding's observed, excess or amount owed must move by this percent of the published value to be a Finding Changed event (0–1000). */
  findingChangePercent: int(10, FINDING_EVENT_CHECKS.changeThresholdPercent),
  /** Log objects under logs/ (and data-quality/ records) expire after this many days; 0 = never. */
  logRetentionDays: int(400, STORAGE_CHECKS.logRetentionDays),
  /** Noncurrent (overwritten or deleted) object versions expire after this many days. */
  noncurrentVersionDays: int(90, STORAGE_CHECKS.noncurrentVersionDays),
  /** S3 server access logs expire after this many days. */
  accessLogRetentionDays: int(365, STORAGE_CHECKS.accessLogRetentionDays),
  /** CloudWatch Logs retention of the functions: a CloudWatch retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, …). */
  functionLogRetentionDays: int(90, FUNCTION_CHECKS.logRetentionDays),
  /**
   * S3 Object Lock on the reports bucket (decide before the first deploy: CloudFormation cannot
   * turn it on for a deployed bucket without replacing the bucket).
   */
  objectLock: bool(true),
  /** Default retention mode: GOVERNANCE or COMPLIANCE. */
  objectLockMode: choice<ObjectLockMode>('GOVERNANCE', OBJECT_LOCK_MODES),
  /** Default retention of every report object version, days. */
  objectLockDays: int(365, STORAGE_CHECKS.objectLockDays),
  /**
   * Noncurrent versions in the reports bucket expire after this many days; at least objectLockDays
   * with Object Lock on. 0 = objectLockDays with Object Lock on, else noncurrentVersionDays.
   */
  reportsNoncurrentVersionDays: int(0, orZero(STORAGE_CHECKS.reportsNoncurrentVersionDays)),
  /**
   * Ingest function memory (128–10240). Sized from measurement: the reader streams; peak RSS for a
   * 2M-line object is well under 300 MB. 1024 MB buys CPU (Lambda scales CPU with memory) for gunzip
   * and parsing, not room for data.
   */
  ingestMemoryMb: int(1024, FUNCTION_CHECKS.memorySizeMb),
  /** Ingest function timeout (1–900); the queue's visibility timeout is 6× this. */
  ingestTimeoutSeconds: int(300, FUNCTION_CHECKS.timeoutSeconds),
  /**
   * SQS messages per ingest invocation (1–10000; above 10 needs a batching window). 1: every
   * record then has the invocation's whole time, so none is ever deferred. With more, a record
   * not started (or given up) for lack of time goes back to the queue as a batch item failure, and
   * every such receive counts towards ingestMaxReceiveCount: a healthy object deferred that many
   * times lands in the DLQ.
   */
  ingestBatchSize: int(1, INGEST_CHECKS.batchSize),
  /** How long Lambda gathers a batch (0–300). */
  ingestMaxBatchingWindowSeconds: int(0, INGEST_CHECKS.maxBatchingWindowSeconds),
  /** Deliveries of one S3 notification before it goes to the ingest DLQ. */
  ingestMaxReceiveCount: int(5, INGEST_CHECKS.maxReceiveCount),
  /** Cap on concurrent ingest invocations from the queue (2–1000); 0 = no cap. */
  ingestMaxConcurrency: int(0, orZero(INGEST_CHECKS.maxConcurrency)),
  /** Reconcile function memory (128–10240); it ingests like the ingest function. */
  reconcileMemoryMb: int(1024, FUNCTION_CHECKS.memorySizeMb),
  /**
   * Reconcile function timeout (1–900). A run starts no object with less than 2 minutes left and
   * leaves the rest to the next day, so the full 15 minutes.
   */
  reconcileTimeoutSeconds: int(900, FUNCTION_CHECKS.timeoutSeconds),
  /** Days back (by LastModified) the daily reconcile looks under logs/ (RECONCILE_WINDOW_DAYS, 1–30). */
  reconcileWindowDays: int(RECONCILE_WINDOW_DAYS_DEFAULT, integer(1, 30)),
  /** Audit function memory (128–10240). */
  auditMemoryMb: int(1024, FUNCTION_CHECKS.memorySizeMb),
  /** Audit function timeout (1–900). */
  auditTimeoutSeconds: int(900, FUNCTION_CHECKS.timeoutSeconds),
  /** Alarm when the audit function was not invoked for this many hours (1–168). */
  auditMaxSilenceHours: int(26, ALARM_CHECKS.auditMaxSilenceHours),
  /** Alarm when more than this percentage of all lines ingest read in an hour were rejected (0–99). */
  rejectedLinePercentThreshold: int(5, ALARM_CHECKS.rejectedLinePercent),
  /** CloudWatch namespace of the functions' own metrics (POWERTOOLS_METRICS_NAMESPACE); the alarms read it. */
  metricsNamespace: str(OBSERVABILITY.defaultNamespace, ALARM_CHECKS.metricsNamespace),
  /** DynamoDB deletion protection (tables are retained on stack deletion either way). */
  tableDeletionProtection: bool(true),
  /** Glue database of the Athena tables, e.g. usage_auditor; empty = derived from the stack name. */
  glueDatabaseName: str('', optional(CATALOG_CHECKS.databaseName)),
  /** Athena workgroup; empty = the stack name. */
  athenaWorkgroupName: str('', optional(CATALOG_CHECKS.workgroupName)),
  /** Athena query results expire after this many days. */
  athenaResultsRetentionDays: int(30, STORAGE_CHECKS.athenaResultsRetentionDays),
  /** Per-query scan limit of the workgroup, GB. */
  athenaScanLimitGb: int(10, integer(1, 1_000_000)),
  /** First report date Athena's partition projection enumerates. */
  reportsProjectionStart: str('2020-01-01', CATALOG_CHECKS.projectionStart),
};

type Values<K> = { -readonly [P in keyof K]: K[P] extends Key<infer T> ? T : never };

/** The stack's settings: one field per key of STACK_CONTEXT. */
export type UsageAuditorConfig = Values<typeof STACK_CONTEXT>;
export type AppConfig = Values<typeof APP_CONTEXT>;

type AnyKey = Key<string> | Key<number> | Key<boolean>;
const entries = <K extends Record<string, AnyKey>>(keys: K): Array<[keyof K & string, AnyKey]> =>
  Object.entries(keys) as Array<[keyof K & string, AnyKey]>;
const defaults = <K extends Record<string, AnyKey>>(keys: K): Values<K> =>
  Object.freeze(Object.fromEntries(entries(keys).map(([k, v]) => [k, v.default]))) as Values<K>;

/** The keys the stack reads, in documentation order. */
export const CONTEXT_KEYS = Object.keys(STACK_CONTEXT) as Array<keyof UsageAuditorConfig>;
export const DEFAULT_CONFIG: Readonly<UsageAuditorConfig> = defaults(STACK_CONTEXT);
export const DEFAULT_APP_CONFIG: Readonly<AppConfig> = defaults(APP_CONTEXT);

function parseValue(key: string, kind: AnyKey['kind'], raw: unknown): string | number | boolean {
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

function fromContext<K extends Record<string, AnyKey>>(scope: IConstruct, keys: K): Partial<Values<K>> {
  const out: Record<string, unknown> = {};
  for (const [key, def] of entries(keys)) {
    const raw: unknown = scope.node.tryGetContext(key);
    if (raw === undefined || raw === null) continue;
    out[key] = parseValue(key, def.kind, raw);
  }
  return out as Partial<Values<K>>;
}

function validate<K extends Record<string, AnyKey>>(keys: K, values: Values<K>): void {
  for (const [key, def] of entries(keys)) {
    if (def.check) ensure(`context ${key}`, values[key] as never, def.check as Check<unknown>);
  }
}

/** Reads the stack's context keys present on `scope` (cdk.json, -c key=value), parsed but not yet validated. */
export function configFromContext(scope: IConstruct): Partial<UsageAuditorConfig> {
  return fromContext(scope, STACK_CONTEXT);
}

/** Throws on the first invalid setting, naming its key. */
export function validateConfig(c: UsageAuditorConfig): void {
  validate(STACK_CONTEXT, c);
  const why = batchingWindowProblem(c.ingestBatchSize, c.ingestMaxBatchingWindowSeconds);
  if (why !== undefined)
    ensure('context ingestMaxBatchingWindowSeconds', c.ingestMaxBatchingWindowSeconds, () => why);
  if (c.objectLock && c.reportsNoncurrentVersionDays !== 0) {
    ensure('context reportsNoncurrentVersionDays', c.reportsNoncurrentVersionDays, (v) =>
      reportsNoncurrentProblem(v, c.objectLockDays),
    );
  }
}

/** Days after which noncurrent report versions expire: reportsNoncurrentVersionDays, or what 0 stands for. */
export function reportsNoncurrentDays(c: UsageAuditorConfig): number {
  if (c.reportsNoncurrentVersionDays !== 0) return c.reportsNoncurrentVersionDays;
  return c.objectLock ? c.objectLockDays : c.noncurrentVersionDays;
}

/** Defaults, then the context keys on `scope`, then `overrides`; validated. */
export function resolveConfig(
  scope: IConstruct,
  overrides: Partial<UsageAuditorConfig> = {},
): UsageAuditorConfig {
  const config: UsageAuditorConfig = { ...DEFAULT_CONFIG, ...configFromContext(scope), ...overrides };
  validateConfig(config);
  return config;
}

/** The app's keys (stackName, nag) from `scope`'s context, validated. */
export function appConfig(scope: IConstruct): AppConfig {
  const config: AppConfig = { ...DEFAULT_APP_CONFIG, ...fromContext(scope, APP_CONTEXT) };
  validate(APP_CONTEXT, config);
  return config;
}

/** `UsageAuditor` → `usage_auditor`: a Glue-safe database name from the stack name. */
export function glueNameFrom(stackName: string): string {
  return stackName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
}
