/** The audit handler on a chain mismatch: the error propagates (audit errors alarm) and a ChainMismatch metric is added. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { createAuditHandler } from '../../../functions/audit/create-handler.ts';
import { ChainMismatchError } from '../../../functions/audit/run-audit.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { FakeControl, FakeReports, FakeUsage } from '../../support/fakes.ts';

describe('audit handler: chain mismatch', () => {
  it('throws the mismatch naming the date and file, and counts a ChainMismatch metric', async () => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'audit' });
    const added = vi.spyOn(metrics, 'addMetric');
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    const control = new FakeControl();
    const reports = new FakeReports();
    await control.anchorManifest('2026-11-10', 'a'.repeat(64), '2026-11-11T02:00:00.000Z');
    const h = createAuditHandler({
      usage: new FakeUsage(),
      control,
      reports,
      now: () => new Date('2026-11-28T02:00:05Z'),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
    });
    const err = await h({ date: '2026-11-27' }, lambdaContext('audit')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainMismatchError);
    expect(String(err)).toContain('2026-11-10/manifest.json: missing');
    expect(added).toHaveBeenCalledWith('ChainMismatch', 'Count', 1);
    expect(reports.puts).toEqual([]);
  });
});
