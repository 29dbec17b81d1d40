/**
 * Ingest Lambda entry point: configuration read once, clients created once per process.
 * The embedded local stack imports this same module after pointing the environment at its
 * emulators.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ControlStore } from '../adapters/control-store.ts';
import { S3Objects } from '../adapters/object-store.ts';
import { UsageStore } from '../adapters/usage-store.ts';
import { createDynamoClient, createS3Client, documentClient } from '../shared/clients.ts';
import { loadIngestConfig } from '../shared/config.ts';
import { createIngestHandler } from './create-handler.ts';
import { cachedRegistry } from './registry-cache.ts';

const config = loadIngestConfig();
const s3 = new S3Objects(createS3Client());
const doc = documentClient(createDynamoClient());

export const handler = createIngestHandler({
  objects: s3,
  writer: s3,
  store: new UsageStore(doc, config.usageTable),
  reportsBucket: config.reportsBucket,
  registry: cachedRegistry(new ControlStore(doc, config.controlTable)),
  limits: config.limits,
  now: () => new Date(),
  logger: new Logger({ serviceName: 'usage-auditor-ingest' }),
  metrics: new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'UsageAuditor',
    serviceName: 'ingest',
  }),
});
