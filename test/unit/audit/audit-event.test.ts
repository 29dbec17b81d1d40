import { describe, expect, it } from 'vitest';
import { AuditRequestError, parseAuditEvent } from '../../../functions/audit/create-handler.ts';

const NOW = new Date('2026-11-28T02:00:05Z');

describe('audit handler events', () => {
  it('reads on-demand dates and date ranges', () => {
    expect(parseAuditEvent({ date: '2026-11-27' }, NOW)).toEqual({ kind: 'dates', dates: ['2026-11-27'] });
    expect(parseAuditEvent({ from: '2026-10-30', to: '2026-11-02' }, NOW)).toEqual({
      kind: 'dates',
      dates: ['2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02'],
    });
  });

  it('treats the schedule envelope (or nothing) as the nightly run at its scheduled time', () => {
    const scheduled = {
      source: 'usage-auditor.schedule',
      'detail-type': 'Scheduled Event',
      time: '2026-11-28T02:00:00Z',
      detail: {},
    };
    expect(parseAuditEvent(scheduled, NOW)).toEqual({
      kind: 'nightly',
      time: new Date('2026-11-28T02:00:00Z'),
    });
    expect(parseAuditEvent({}, NOW)).toEqual({ kind: 'nightly', time: NOW });
    expect(parseAuditEvent(undefined, NOW)).toEqual({ kind: 'nightly', time: NOW });
  });

  it.each([
    [{ date: '2026-11-28' }, /date: 2026-11-28 has not ended yet/],
    [{ date: '2099-01-01' }, /has not ended yet/],
    [{ date: '2026-02-30' }, /date: expected a date YYYY-MM-DD, got "2026-02-30"/],
    [{ from: '2026-11-05', to: '2026-11-01' }, /after/],
    [{ from: '2026-11-01' }, /to: expected a date/],
    [{ dates: ['2026-11-03'] }, /unknown field\(s\) dates/],
    [{ Date: '2026-11-03' }, /unknown field\(s\) Date/],
    [['2026-11-03'], /expected an object/],
    [{ time: 123 }, /time: expected a timestamp string/],
    [{ time: 'soon' }, /time: not a timestamp/],
  ])('refuses %j instead of guessing', (event, message) => {
    expect(() => parseAuditEvent(event, NOW)).toThrow(AuditRequestError);
    expect(() => parseAuditEvent(event, NOW)).toThrow(message);
  });
});
