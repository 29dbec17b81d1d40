/** Issue 10 item 4: a nightly run whose scheduled time lies in the future is refused, nothing written. */
import { describe, expect, it } from 'vitest';
import { AuditRequestError, parseAuditEvent } from '../../../functions/audit/create-handler.ts';

const NOW = new Date('2026-11-28T02:00:05Z');

describe('audit events for report dates that have not ended', () => {
  it.each([
    [
      '2026-11-29T02:00:00Z',
      /time: 2026-11-29T02:00:00Z is in the future: its report date 2026-11-28 has not ended yet \(today is 2026-11-28 UTC\)/,
    ],
    ['2027-03-01T00:00:00Z', /report date 2027-02-28 has not ended yet/],
  ])('refuses a schedule event whose time is %s', (time, message) => {
    const event = { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', time, detail: {} };
    expect(() => parseAuditEvent(event, NOW)).toThrow(AuditRequestError);
    expect(() => parseAuditEvent(event, NOW)).toThrow(message);
  });

  it('accepts a schedule time later today (its report date, yesterday, has ended)', () => {
    expect(parseAuditEvent({ time: '2026-11-28T23:59:00Z' }, NOW)).toEqual({
      kind: 'nightly',
      time: new Date('2026-11-28T23:59:00Z'),
    });
  });
});
