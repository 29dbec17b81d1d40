/**
 * The EventBridge and SNS targets with stub clients: 10 entries per PutEvents call, the 256 KB
 * bound per entry and per call, retries of only the failed entries, a call that throws retried
 * whole, and the digest's subject kept to what SNS accepts.
 */
import type { PutEventsCommand, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import type { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import {
  batchEntries,
  DigestTopicTarget,
  EventBusTarget,
  entrySize,
  MAX_ENTRY_BYTES,
  snsSubject,
} from '../../../functions/adapters/event-bus.ts';
import type { FindingEvent } from '../../../functions/core/audit/events.ts';

function event(id: string, detailBytes = 100): FindingEvent {
  return {
    id,
    source: 'usage-auditor',
    'detail-type': 'Finding Opened',
    time: '2026-11-28T02:00:00.000Z',
    detail: { event_id: id, pad: 'x'.repeat(detailBytes) } as unknown as FindingEvent['detail'],
  };
}

const policy = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 1,
  sleep: async () => undefined,
  random: () => 0,
};

class Stub {
  calls: string[][] = [];
  constructor(private readonly answer: (ids: string[], call: number) => PutEventsCommandOutput | Error) {}
  async send(cmd: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const ids = (cmd.input.Entries ?? []).map((e) => JSON.parse(e.Detail ?? '{}').event_id as string);
    this.calls.push(ids);
    const out = this.answer(ids, this.calls.length);
    if (out instanceof Error) throw out;
    return out;
  }
}

const ok = (ids: string[]): PutEventsCommandOutput => ({
  $metadata: {},
  FailedEntryCount: 0,
  Entries: ids.map((id) => ({ EventId: `eb-${id}` })),
});

describe('EventBusTarget', () => {
  it('sends at most 10 entries per call, in order', async () => {
    const stub = new Stub(ok);
    const events = Array.from({ length: 23 }, (_, i) => event(`e${String(i).padStart(2, '0')}`));
    const out = await new EventBusTarget(stub, 'bus', policy).deliver(events);
    expect(stub.calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(stub.calls.flat()).toEqual(events.map((e) => e.id));
    expect(out).toEqual({ delivered: new Set(events.map((e) => e.id)), errors: [] });
  });

  it('keeps each call under 256 KB, and refuses an entry over it', async () => {
    const stub = new Stub(ok);
    const big = Array.from({ length: 3 }, (_, i) => event(`big${i}`, 100 * 1024));
    const huge = event('huge', MAX_ENTRY_BYTES);
    const out = await new EventBusTarget(stub, 'bus', policy).deliver([...big, huge]);
    expect(stub.calls).toEqual([['big0', 'big1'], ['big2']]);
    expect(out.errors).toEqual(['huge: entry over 256 KB']);
    expect(out.delivered).toEqual(new Set(['big0', 'big1', 'big2']));
  });

  it('entry size as EventBridge counts it: 14 for Time plus the UTF-8 bytes of Source, DetailType, Detail, Resources', () => {
    expect(
      entrySize({ Time: new Date(), Source: 'ab', DetailType: 'é', Detail: '{"a":"€"}', Resources: ['r'] }),
    ).toBe(14 + 2 + 2 + 11 + 1);
    const { batches } = batchEntries(Array.from({ length: 11 }, () => ({ entry: { Detail: 'x' } })));
    expect(batches.map((b) => b.length)).toEqual([10, 1]);
  });

  it('partial failure: only the failed entries are sent again; a call that throws is retried whole', async () => {
    const stub = new Stub((ids, call) => {
      if (call === 1)
        return {
          $metadata: {},
          FailedEntryCount: 1,
          Entries: ids.map((id) =>
            id === 'b' ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: id },
          ),
        };
      if (call === 2) return new Error('socket hang up');
      return ok(ids);
    });
    const out = await new EventBusTarget(stub, 'bus', policy).deliver([event('a'), event('b'), event('c')]);
    expect(stub.calls).toEqual([['a', 'b', 'c'], ['b'], ['b']]);
    expect(out).toEqual({ delivered: new Set(['a', 'b', 'c']), errors: [] });
  });

  it('gives up after maxAttempts, naming the entry and the last error', async () => {
    const stub = new Stub((ids) => ({
      $metadata: {},
      FailedEntryCount: ids.length,
      Entries: ids.map(() => ({ ErrorCode: 'ThrottlingException', ErrorMessage: 'rate' })),
    }));
    const out = await new EventBusTarget(stub, 'bus', policy).deliver([event('a')]);
    expect(stub.calls).toHaveLength(3);
    expect(out).toEqual({
      delivered: new Set(),
      errors: ['a: ThrottlingException: rate (after 3 attempts)'],
    });
  });
});

describe('DigestTopicTarget', () => {
  it('publishes subject and message to the topic; the subject is printable ASCII, at most 100 characters', async () => {
    const sent: PublishCommand['input'][] = [];
    const target = new DigestTopicTarget(
      { send: async (c: PublishCommand) => sent.push(c.input) },
      'arn:aws:sns:eu-west-1:123456789012:digest',
    );
    await target.deliver({
      id: 'd',
      report_date: '2026-11-27',
      event_ids: ['a'],
      subject: 'né\nw',
      message: 'm',
    });
    expect(sent).toEqual([
      { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:digest', Subject: 'n??w', Message: 'm' },
    ]);
    expect(snsSubject('x'.repeat(150))).toHaveLength(100);
  });
});
