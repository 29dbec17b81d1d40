import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ALARM_TOPIC,
  ANALYTICS,
  AUDIT_FUNCTION,
  BUCKETS,
  CONTROL_TABLE,
  INGEST_FUNCTION,
  LOG_BUCKET,
  OPS_OUTPUTS,
  REPORTS_BUCKET,
  TABLES,
  USAGE_TABLE,
} from '../../functions/shared/resources.ts';
import { mainIds, ref, type Synthesized, synth } from './helpers.ts';

let s: Synthesized;
let t: Template;
/** Logical ids of the main resources, found once. */
let id: ReturnType<typeof mainIds>;

beforeAll(() => {
  s = synth();
  t = s.template;
  id = mainIds(t);
});

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
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(outputs[name]?.Value, name).toEqual(value);
    }
    expect(outputs[OPS_OUTPUTS.scheduleName]).toBeDefined();
    for (const b of BUCKETS) expect(outputs).toHaveProperty(b.output);
    for (const tb of TABLES) expect(outputs).toHaveProperty(tb.output);
  });
});
