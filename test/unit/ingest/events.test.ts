import { describe, expect, it } from 'vitest';
import {
  decodeS3Key,
  EventError,
  isSqsEvent,
  requestsFromEvent,
  requestsFromSqsBody,
} from '../../../functions/ingest/events.ts';
import { encodeS3Key } from '../../../functions/local/stack.ts';

const s3Record = (key: string, extra: Record<string, unknown> = {}) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  eventName: 'ObjectCreated:Put',
  s3: {
    bucket: { name: 'logs-bucket' },
    object: { key, size: 10, eTag: 'abc123', sequencer: '0055AED6DCD90281E5', ...extra },
  },
});

describe('S3 notification keys', () => {
  it.each([
    ['logs/a+b.jsonl', 'logs/a b.jsonl'],
    ['logs/a%2Bb.jsonl', 'logs/a+b.jsonl'],
    ['logs/date%3D2026-11-27/x.csv', 'logs/date=2026-11-27/x.csv'],
    ['logs/100%25.jsonl', 'logs/100%.jsonl'],
    ['logs/caf%C3%A9+%E6%97%A5%E6%9C%AC.jsonl', 'logs/café 日本.jsonl'],
  ])('decodes %s as %s', (raw, key) => {
    expect(decodeS3Key(raw)).toBe(key);
  });

  it('round-trips the local encoding for awkward keys', () => {
    for (const key of ['logs/a b+c=d%e/ü 日本.gz', 'logs/plain.jsonl', "logs/(1) copy's.csv"]) {
      expect(decodeS3Key(encodeS3Key(key))).toBe(key);
    }
  });

  it('names a key that is not valid URL encoding', () => {
    expect(() => decodeS3Key('logs/%E0%A4%A.jsonl')).toThrow(
      /not valid URL encoding: "logs\/%E0%A4%A.jsonl"/,
    );
  });
});

describe('requestsFromEvent', () => {
  it('reads direct S3 notifications, decoding keys and keeping etag, version and sequencer', () => {
    const reqs = requestsFromEvent({ Records: [s3Record('logs/a+b.jsonl', { versionId: 'v1' })] });
    expect(reqs).toEqual([
      {
        bucket: 'logs-bucket',
        key: 'logs/a b.jsonl',
        versionId: 'v1',
        etag: 'abc123',
        sequencer: '0055AED6DCD90281E5',
      },
    ]);
  });

  it('ignores s3:TestEvent and events other than ObjectCreated', () => {
    expect(requestsFromEvent({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' })).toEqual([]);
    expect(
      requestsFromEvent({ Records: [{ ...s3Record('logs/x'), eventName: 'ObjectRemoved:Delete' }] }),
    ).toEqual([]);
  });

  it('reads EventBridge Object Created events without decoding the key', () => {
    const reqs = requestsFromEvent({
      version: '0',
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: {
        bucket: { name: 'logs-bucket' },
        object: { key: 'logs/a+b.jsonl', etag: 'e1', 'version-id': 'v9', sequencer: '00AB' },
      },
    });
    expect(reqs).toEqual([
      { bucket: 'logs-bucket', key: 'logs/a+b.jsonl', versionId: 'v9', etag: 'e1', sequencer: '00AB' },
    ]);
  });

  it('rejects shapes it does not know, saying what came', () => {
    expect(() => requestsFromEvent({ foo: 1 })).toThrow(EventError);
    expect(() => requestsFromEvent({ Records: [{ eventSource: 'aws:dynamodb' }] })).toThrow(/aws:dynamodb/);
    expect(() =>
      requestsFromEvent({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: {} }] }),
    ).toThrow(/without bucket name or object key/);
  });
});

describe('SQS-wrapped notifications', () => {
  it('recognises an SQS batch and reads each body', () => {
    const event = {
      Records: [
        {
          eventSource: 'aws:sqs',
          messageId: 'm1',
          body: JSON.stringify({ Records: [s3Record('logs/x%3Dy')] }),
        },
      ],
    };
    expect(isSqsEvent(event)).toBe(true);
    expect(isSqsEvent({ Records: [s3Record('logs/x')] })).toBe(false);
    expect(requestsFromSqsBody(event.Records[0]?.body as string).map((r) => r.key)).toEqual(['logs/x=y']);
  });

  it('treats a test event body as nothing to do and a non-JSON body as an error', () => {
    expect(requestsFromSqsBody(JSON.stringify({ Event: 's3:TestEvent' }))).toEqual([]);
    expect(() => requestsFromSqsBody('not json')).toThrow(/SQS message body is not JSON/);
  });
});
