/**
 * UsageAuditorStack (infra/stack.ts): the wiring of the constructs, the outputs and the logical ids.
 */
import { App, type CfnElement, CfnOutput, CfnParameter, CfnRule, Names, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { stackResources } from '../../functions/cli/remote.ts';
import {
  ALARM_TOPIC,
  ANALYTICS,
  AUDIT_FUNCTION,
  BUCKETS,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  OPS_OUTPUTS,
  RECONCILE_FUNCTION,
  REPORTS_BUCKET,
  RUN_OUTPUTS,
  TABLES,
  USAGE_TABLE,
} from '../../functions/shared/resources.ts';
import { logicalId, mainIds, ref, resourcesOfType, synth } from './helpers.ts';

// One synthesis for the whole file, at collection.
const s = synth();
const t = s.template;
const id = mainIds(t);

describe('outputs', () => {
  it('names from functions/shared/resources.ts, pointing at the right resources', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    const expected: Record<string, unknown> = {
      [LOG_BUCKET.output]: ref(id.logBucket as string),
      [REPORTS_BUCKET.output]: ref(id.reportsBucket as string),
      [USAGE_TABLE.output]: ref(id.usageTable as string),
      [CONTROL_TABLE.output]: ref(id.controlTable as string),
      [INGEST_FUNCTION.output]: ref(id.ingestFn as string),
      [AUDIT_FUNCTION.output]: ref(id.auditFn as string),
      [ANALYTICS.workgroupOutput]: 'UsageAuditor',
      [ANALYTICS.databaseOutput]: 'usage_auditor',
      [ALARM_TOPIC.output]: ref(id.topic as string),
      [OPS_OUTPUTS.ingestQueueUrl]: ref(id.ingestQueue as string),
      [OPS_OUTPUTS.ingestDeadLetterQueueUrl]: ref(id.ingestDlq as string),
      [OPS_OUTPUTS.scheduleDeadLetterQueueUrl]: ref(id.scheduleDlq as string),
      [OPS_OUTPUTS.athenaResultsBucketName]: ref(id.resultsBucket as string),
      [RECONCILE_FUNCTION.output]: ref(id.reconcileFn as string),
      [RUN_OUTPUTS.auditFailureQueueUrl]: ref(id.auditFailureQueue as string),
      [RUN_OUTPUTS.reconcileFailureQueueUrl]: ref(id.reconcileFailureQueue as string),
      [RUN_OUTPUTS.reconcileScheduleDeadLetterQueueUrl]: ref(id.reconcileDlq as string),
      [RUN_OUTPUTS.auditStateMachineArn]: ref(
        logicalId(t, 'AWS::StepFunctions::StateMachine', 'AuditStateMachine'),
      ),
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(outputs[name]?.Value, name).toEqual(value);
    }
    expect(outputs[OPS_OUTPUTS.scheduleName]?.Value).toEqual(ref(id.auditSchedule as string));
    expect(outputs[RUN_OUTPUTS.reconcileScheduleName]?.Value).toEqual(ref(id.reconcileSchedule as string));
    for (const b of BUCKETS) expect(outputs).toHaveProperty(b.output);
    for (const tb of TABLES) expect(outputs).toHaveProperty(tb.output);
  });

  it('gives `auditor --stack` every resource it reads, the audit state machine included', async () => {
    const outputs = Object.fromEntries(
      Object.keys(t.toJSON().Outputs as Record<string, unknown>).map((k) => [k, `value-of-${k}`]),
    );
    const resources = await stackResources('UsageAuditor', 'eu-west-1', async () => ({ outputs }));
    expect(resources.auditStateMachine).toBe(`value-of-${RUN_OUTPUTS.auditStateMachineArn}`);
    expect(resources.auditFunction).toBe(`value-of-${AUDIT_FUNCTION.output}`);
  });
});

/** Every resource the stack had when it was one constructor, by the logical id it was deployed with. */
const DEPLOYED_IDS = [
  'AccessLogsBucket83982689',
  'AccessLogsBucketPolicy7F77476F',
  'AlarmTopicD01E77F9',
  'AlarmTopicKey57B0D3A7',
  'AlarmTopicPolicy309DB5F8',
  'AthenaResultsBucket879938FA',
  'AthenaResultsBucketPolicyD63DEF63',
  'AuditErrorsAlarmE9C03E64',
  'AuditFunctionE377F5C8',
  'AuditFunctionLogsFBC8BCBF',
  'AuditFunctionRoleA885DC2B',
  'AuditFunctionRoleDefaultPolicyF303D9F4',
  'AuditNotRunAlarm1D64CA8C',
  'AuditScheduleBBFF5C50',
  'BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691',
  'BucketNotificationsHandler050a0587b7544547bf325f094a3db834RoleB6FB88EC',
  'ControlTableF3E1E223',
  'IngestBacklogAlarm1EC64682',
  'IngestDeadLetterAlarm6B9B40CF',
  'IngestDeadLetterQueue48D59084',
  'IngestDeadLetterQueuePolicyBAEC65F6',
  'IngestErrorsAlarm406C4623',
  'IngestFunction4B2F2EB2',
  'IngestFunctionLogsAF4D8C26',
  'IngestFunctionRole67E59991',
  'IngestFunctionRoleDefaultPolicy5F0ECA10',
  'IngestFunctionSqsEventSourceUsageAuditorIngestQueue506E88BC48D70E42',
  'IngestQueue2280FF4E',
  'IngestQueuePolicy853373B8',
  'LogBucketCC3B17E8',
  'LogBucketNotificationsF250B1AC',
  'LogBucketNotificationsHandlerPolicyFC25C547',
  'LogBucketPolicy900DBE48',
  'ReportsBucket4E7C5994',
  'ReportsBucketPolicy11C4A507',
  'ReportsDatabaseE93144CB',
  'ReportsFindingsViewDD17E10B',
  'ReportsLatestFindingsA4521443',
  'ReportsRecreateFindingsViewB49ADD60',
  'ReportsRecreateUsageView85C5CA96',
  'ReportsReportLinesDAB0F73B',
  'ReportsUsageViewAFECDA01',
  'ReportsWorkgroup3BA0049C',
  'ScheduleDeadLetterAlarm21E1C1A0',
  'ScheduleDeadLetterQueue0D6B48D2',
  'ScheduleDeadLetterQueuePolicy71B1C1FF',
  'SchedulerRoleForTargetd490452FB0EE0C',
  'SchedulerRoleForTargetd49045DefaultPolicy92837182',
  'UsageTable28300137',
];

/** Resources added since: reconcile, the on-failure queues, the new alarms, the audit's state machine. */
const ADDED_IDS = [
  'AuditAsyncInvokeConfig39965259',
  'AuditFailedRunsAlarm2ABCC753',
  'AuditFailureQueue8510D76F',
  'AuditFailureQueuePolicy6FDBC808',
  'AuditRunFailedRuleEA6D025A',
  'AuditRunsStoppedAlarm382A3308',
  'AuditStateMachineE6329614',
  'AuditStateMachineRole5C7FD52C',
  'AuditStateMachineRoleDefaultPolicyC23260F2',
  'FindingDigestTopic679FDA6F',
  'FindingDigestTopicPolicy3BECC28C',
  'FindingEventBus60C60C5D',
  'ObjectsReconciledAlarm3FD6A079',
  'QuarantinedObjectsAlarm2DF252E9',
  'ReconcileAsyncInvokeConfig5FA6852B',
  'ReconcileDeferredAlarmE4E52D36',
  'ReconcileErrorsAlarm6D527BC7',
  'ReconcileFailedRunsAlarm7BE55B34',
  'ReconcileFailureQueue0BD19F24',
  'ReconcileFailureQueuePolicy23A5A697',
  'ReconcileFailuresAlarm1D3BD01A',
  'ReconcileFunction30829CB6',
  'ReconcileFunctionLogsD790908C',
  'ReconcileFunctionRole70C02309',
  'ReconcileFunctionRoleDefaultPolicyE6F9DADF',
  'ReconcileSchedule3E7728F7',
  'ReconcileScheduleDeadLetterAlarmD1924E23',
  'ReconcileScheduleDeadLetterQueue1ED3EF32',
  'ReconcileScheduleDeadLetterQueuePolicy2A002A95',
  'RecordFailuresAlarmEA2B6F15',
  'RejectedLinesAlarmF43C108C',
  'SchedulerRoleForTarget55debfDefaultPolicyDD3AE9D3',
  'SchedulerRoleForTarget55debfE07298B4',
];

describe('logical ids', () => {
  it('buckets, tables and log groups keep the ids they were deployed with (no replacement)', () => {
    const ids = (type: string): string[] => Object.keys(resourcesOfType(t, type)).sort();
    expect(ids('AWS::S3::Bucket')).toEqual([
      'AccessLogsBucket83982689',
      'AthenaResultsBucket879938FA',
      'LogBucketCC3B17E8',
      'ReportsBucket4E7C5994',
    ]);
    expect(ids('AWS::DynamoDB::Table')).toEqual(['ControlTableF3E1E223', 'UsageTable28300137']);
    expect(ids('AWS::Logs::LogGroup')).toEqual([
      'AuditFunctionLogsFBC8BCBF',
      'IngestFunctionLogsAF4D8C26',
      'ReconcileFunctionLogsD790908C',
    ]);
  });

  it('every resource keeps the id it was deployed with; the rest are the resources added since', () => {
    expect(Object.keys(t.toJSON().Resources)).toEqual(expect.arrayContaining(DEPLOYED_IDS));
    expect(Object.keys(t.toJSON().Resources).sort()).toEqual([...DEPLOYED_IDS, ...ADDED_IDS].sort());
  });

  it('the event source mapping is named after the queue as CDK named it in a plain stack, whatever the stack name', () => {
    const prod = synth({ context: { stackName: 'Prod' } });
    const plain = new sqs.Queue(new Stack(new App(), 'Prod'), 'IngestQueue');
    const esm = Object.keys(resourcesOfType(prod.template, 'AWS::Lambda::EventSourceMapping'));
    expect(esm).toHaveLength(1);
    expect(esm[0]).toMatch(
      new RegExp(`^IngestFunctionSqsEventSource${Names.nodeUniqueId(plain.node)}[0-9A-F]{8}$`),
    );
  });
});

describe('wiring', () => {
  it('the stack holds the concern constructs, its outputs, the bootstrap check and CDK singletons, nothing else', () => {
    const children = s.stack.node.children.filter(
      (c) => !(c instanceof CfnOutput || c instanceof CfnParameter || c instanceof CfnRule),
    );
    const cdkSingletons = children.filter((c) =>
      /^(BucketNotificationsHandler|SchedulerRoleForTarget)/.test(c.node.id),
    );
    // The notifications handler and one scheduler role per scheduled function.
    expect(cdkSingletons).toHaveLength(3);
    expect(children.filter((c) => !cdkSingletons.includes(c)).map((c) => c.node.id)).toEqual([
      'Storage',
      INGEST_FUNCTION.id,
      AUDIT_FUNCTION.id,
      RECONCILE_FUNCTION.id,
      'Ingest',
      'NightlyAudit',
      'DailyReconcile',
      'Alarms',
      'FindingEvents',
      'Reports',
    ]);
  });

  it('the constructs share their resources: one log bucket, one reports bucket, one function of each', () => {
    const { storage, ingest, audit, reconcile, alarms } = s.stack;
    const idOf = (c: IConstruct): string => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
    expect(idOf(storage.logBucket)).toBe(id.logBucket);
    expect(idOf(ingest.queue)).toBe(id.ingestQueue);
    expect(idOf(audit.deadLetterQueue)).toBe(id.scheduleDlq);
    expect(idOf(audit.failureQueue)).toBe(id.auditFailureQueue);
    expect(idOf(reconcile.deadLetterQueue)).toBe(id.reconcileDlq);
    expect(idOf(s.stack.reconcileFunction.role)).toBe(id.reconcileRole);
    expect(idOf(alarms.topic)).toBe(id.topic);
    expect(idOf(s.stack.ingestFunction.lambdaFunction)).toBe(id.ingestFn);
    expect(idOf(s.stack.auditFunction.role)).toBe(id.auditRole);
    t.resourceCountIs('AWS::Lambda::Function', 4); // ingest, audit, reconcile, CDK's BucketNotificationsHandler
  });
});
