/**
 * Audit Lambda entry point: configuration read once, clients created once per process. The local
 * stack's `auditor audit` invokes this same module.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ControlStore } from '../adapters/control-store.ts';
import { S3Objects } from '../adapters/object-store.ts';
import { ReportStore } from '../adapters/report-store.ts';
import { UsageStore } from '../adapters/usage-store.ts';
import { createDynamoClient, createS3Client, documentClient } from '../shared/clients.ts';
import { loadStoreConfig } from '../shared/config.ts';
import { createAuditHandler } from './create-handler.ts';

const config = loadStoreConfig();
const doc = documentClient(createDynamoClient());

export const handler = createAuditHandler({
  usage: new UsageStore(doc, config.usageTable),
  control: new ControlStore(doc, config.controlTable),
  reports: new ReportStore(new S3Objects(createS3Client()), config.reportsBucket),
  now: () => new Date(),
  logger: new Logger({ serviceName: 'usage-auditor-audit' }),
  metrics: new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'UsageAuditor',
    serviceName: 'audit',
  }),
});
