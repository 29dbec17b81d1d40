/**
 * The composition root, written once: from configuration and SDK clients to adapters, use-case
 * dependencies and the two Lambda handlers. The handler modules (functions/{ingest,audit}/handler.ts)
 * call it with the process's clients and environment; the CLI's runtimes build their stores with
 * `createStores`; tests wire the real handlers to emulators with the same functions.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { ControlStore } from '../adapters/control-store.ts';
import { DigestTopicTarget, EventBusTarget, lazyEventBridge, lazySns } from '../adapters/event-bus.ts';
import { FindingEventTable } from '../adapters/finding-event-store.ts';
import { S3Objects } from '../adapters/object-store.ts';
import { PartResultStore } from '../adapters/part-store.ts';
import { UsageTableListingCursor } from '../adapters/reconcile-cursor.ts';
import { ReportStore } from '../adapters/report-store.ts';
import { RollupStore } from '../adapters/rollup-store.ts';
import { UsageStore } from '../adapters/usage-store.ts';
import { WebhookTarget } from '../adapters/webhook.ts';
import { createAuditHandler } from '../audit/create-handler.ts';
import { createFanOutStepHandler, routeAuditEvents } from '../audit/fan-out-handler.ts';
import { FindingEvents } from '../audit/finding-events.ts';
import type { AuditDeps } from '../audit/run-audit.ts';
import { createIngestHandler } from '../ingest/create-handler.ts';
import type { IngestDeps } from '../ingest/ingest-object.ts';
import { createReconcileHandler } from '../ingest/reconcile-handler.ts';
import { cachedRegistry } from '../ingest/registry-cache.ts';
import { createDynamoClient, createS3Client, documentClient } from './clients.ts';
import type { IngestConfig, ReconcileConfig, StoreConfig } from './config.ts';
import type { EventsConfig } from './events-config.ts';
import { OBSERVABILITY } from './resources.ts';

export interface Clients {
  s3: S3Client;
  dynamo: DynamoDBClient;
}

/** The adapters over one set of tables and buckets. */
export interface Stores {
  usage: UsageStore;
  control: ControlStore;
  objects: S3Objects;
  reports: ReportStore;
  /** Finding events' head, states and outbox in the control table. */
  events: FindingEventTable;
  /** Per-(app, day) rollups over `usage`, in the same table (what the audit reads). */
  rollups: RollupStore;
  /** The results of a split date's parts, in the control table (audit/parts.ts). */
  partResults: PartResultStore;
}

/** Clients for this process (AWS defaults, or the emulators named by AUDITOR_*_ENDPOINT). */
export function processClients(env: Record<string, string | undefined> = process.env): Clients {
  return { s3: createS3Client(env), dynamo: createDynamoClient(env) };
}

export function createStores(clients: Clients, config: StoreConfig): Stores {
  const doc = documentClient(clients.dynamo);
  const objects = new S3Objects(clients.s3);
  const usage = new UsageStore(doc, config.usageTable);
  return {
    usage,
    rollups: new RollupStore(doc, config.usageTable, usage),
    control: new ControlStore(doc, config.controlTable),
    objects,
    reports: new ReportStore(objects, config.reportsBucket),
    events: new FindingEventTable(doc, config.controlTable),
    partResults: new PartResultStore(doc, config.controlTable),
  };
}

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

/** Powertools logger and metrics of one function, as deployed. */
export function observability(
  fn: 'ingest' | 'audit' | 'reconcile',
  env: Record<string, string | undefined> = process.env,
): Observability {
  return {
    logger: new Logger({ serviceName: OBSERVABILITY.loggerService(fn) }),
    metrics: new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? OBSERVABILITY.defaultNamespace,
      serviceName: fn,
    }),
  };
}

export interface ComposeOptions {
  now?: () => Date;
  /** Finding events (functions/shared/events-config.ts); absent: none are recorded. */
  events?: EventsConfig;
  /** The size past which a report date is split into parts (AUDIT_PART_OBJECTS). */
  partObjects?: number;
}

/** The finding-event sink: the bus, the digest topic and the webhook that `config` names. */
export function findingEvents(stores: Stores, config: EventsConfig, now: () => Date): FindingEvents {
  const { busName, topicArn, webhook } = config;
  return new FindingEvents({
    store: stores.events,
    targets: [
      ...(busName ? [new EventBusTarget(lazyEventBridge(), busName)] : []),
      ...(webhook ? [new WebhookTarget(webhook)] : []),
    ],
    ...(topicArn ? { digest: new DigestTopicTarget(lazySns(), topicArn) } : {}),
    now,
    thresholdPercent: config.thresholdPercent,
  });
}

export function ingestDeps(
  stores: Stores,
  config: IngestConfig,
  opts: ComposeOptions & { registryTtlMs?: number } = {},
): IngestDeps {
  return {
    objects: stores.objects,
    writer: stores.objects,
    store: stores.usage,
    reportsBucket: config.reportsBucket,
    registry: cachedRegistry(stores.control, opts.registryTtlMs),
    limits: config.limits,
    ...(config.bounds ? { bounds: config.bounds } : {}),
    ...(config.maxRejectsFileBytes !== undefined ? { maxRejectsFileBytes: config.maxRejectsFileBytes } : {}),
    now: opts.now ?? (() => new Date()),
  };
}

export function auditDeps(stores: Stores, opts: ComposeOptions = {}): AuditDeps {
  const now = opts.now ?? (() => new Date());
  return {
    usage: stores.usage,
    control: stores.control,
    reports: stores.reports,
    now,
    ...(opts.events ? { events: findingEvents(stores, opts.events, now) } : {}),
    lifecycle: stores.control,
    statements: stores.reports,
    rollups: stores.rollups,
    partResults: stores.partResults,
    ...(opts.partObjects !== undefined ? { partObjects: opts.partObjects } : {}),
  };
}

export function composeIngestHandler(
  clients: Clients,
  config: IngestConfig,
  obs: Observability,
  opts: ComposeOptions & { registryTtlMs?: number } = {},
) {
  return createIngestHandler({
    ...ingestDeps(createStores(clients, config), config, opts),
    ...obs,
    ...(config.minRemainingMs !== undefined ? { minRemainingMs: config.minRemainingMs } : {}),
    ...(config.deadlineMarginMs !== undefined ? { deadlineMarginMs: config.deadlineMarginMs } : {}),
  });
}

export function composeReconcileHandler(
  clients: Clients,
  config: ReconcileConfig,
  obs: Observability,
  opts: ComposeOptions & { registryTtlMs?: number } = {},
) {
  const stores = createStores(clients, config);
  return createReconcileHandler({
    ...ingestDeps(stores, config, opts),
    ...obs,
    lister: stores.objects,
    manifests: stores.usage,
    logBucket: config.logBucket,
    windowDays: config.windowDays,
    cursor: new UsageTableListingCursor(documentClient(clients.dynamo), config.usageTable),
    ...(config.ingestReadBudgetMs !== undefined ? { ingestReadBudgetMs: config.ingestReadBudgetMs } : {}),
  });
}

export function composeAuditHandler(
  clients: Clients,
  config: StoreConfig,
  obs: Observability,
  opts: ComposeOptions = {},
) {
  const deps = { ...auditDeps(createStores(clients, config), opts), ...obs };
  // One function: the state machine's fan-out steps, and direct invocations (which run them in process).
  return routeAuditEvents(createAuditHandler(deps), createFanOutStepHandler(deps));
}
