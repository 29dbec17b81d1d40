/**
 * The three shapes in which S3 tells us about a new object, reduced to IngestRequests:
 *   - an S3 event notification (Records[].s3), as Lambda receives it directly;
 *   - the same notification inside SQS messages (Records[].body);
 *   - an EventBridge "Object Created" event (detail.bucket / detail.object).
 * Keys in S3 notifications are URL-encoded ('+' is a space) and are decoded here; EventBridge
 * carries the key as it is. s3:TestEvent messages and events other than ObjectCreated are ignored.
 * `{ "action": "reprocess", "bucket": B, "key": K }` (from `auditor reprocess`) reads a stored
 * object again with the current recipients registry.
 */
import type { IngestRequest } from './ingest-object.ts';

export class EventError extends Error {
  override name = 'EventError';
}

/** Decodes an S3 notification key: '+' is a space, then percent-decoding. */
export function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new EventError(`object key is not valid URL encoding: ${JSON.stringify(raw)}`);
  }
}

interface S3NotificationRecord {
  eventSource?: string;
  eventName?: string;
  s3?: {
    bucket?: { name?: string };
    object?: { key?: string; eTag?: string; versionId?: string; sequencer?: string };
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function isSqsEvent(event: unknown): event is { Records: { body: string; messageId: string }[] } {
  return (
    isObject(event) &&
    Array.isArray(event.Records) &&
    event.Records.length > 0 &&
    event.Records.every((r) => isObject(r) && r.eventSource === 'aws:sqs')
  );
}

function fromNotificationRecord(record: S3NotificationRecord): IngestRequest | undefined {
  if (!record.eventName?.startsWith('ObjectCreated:')) return undefined;
  const bucket = record.s3?.bucket?.name;
  const rawKey = record.s3?.object?.key;
  if (!bucket || rawKey === undefined)
    throw new EventError('S3 event record without bucket name or object key');
  const o = record.s3?.object ?? {};
  return {
    bucket,
    key: decodeS3Key(rawKey),
    ...(o.versionId ? { versionId: o.versionId } : {}),
    ...(o.eTag ? { etag: o.eTag } : {}),
    ...(o.sequencer ? { sequencer: o.sequencer } : {}),
  };
}

function fromEventBridge(event: Record<string, unknown>): IngestRequest[] {
  if (event['detail-type'] !== 'Object Created') return [];
  const detail = isObject(event.detail) ? event.detail : {};
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const object = isObject(detail.object) ? detail.object : {};
  if (typeof bucket !== 'string' || typeof object.key !== 'string') {
    throw new EventError(
      'EventBridge "Object Created" event without detail.bucket.name or detail.object.key',
    );
  }
  return [
    {
      bucket,
      key: object.key,
      ...(typeof object['version-id'] === 'string' ? { versionId: object['version-id'] } : {}),
      ...(typeof object.etag === 'string' ? { etag: object.etag } : {}),
      ...(typeof object.sequencer === 'string' ? { sequencer: object.sequencer } : {}),
    },
  ];
}

/**
 * Requests from an S3 notification (direct, or an SQS message body already parsed) or an
 * EventBridge event. Unknown shapes are an error that says what was received.
 */
export function requestsFromEvent(event: unknown): IngestRequest[] {
  if (!isObject(event)) throw new EventError(`unsupported event: ${JSON.stringify(event)?.slice(0, 200)}`);
  if (event.Event === 's3:TestEvent') return [];
  if (event.action === 'reprocess') {
    if (typeof event.bucket !== 'string' || typeof event.key !== 'string') {
      throw new EventError('reprocess event without bucket or key');
    }
    return [{ bucket: event.bucket, key: event.key, force: true }];
  }
  if (event.source === 'aws.s3' && 'detail-type' in event) return fromEventBridge(event);
  if (Array.isArray(event.Records)) {
    const out: IngestRequest[] = [];
    for (const r of event.Records as S3NotificationRecord[]) {
      if (!isObject(r) || r.eventSource !== 'aws:s3') {
        throw new EventError(
          `unsupported event record from ${JSON.stringify((r as S3NotificationRecord)?.eventSource)}`,
        );
      }
      const req = fromNotificationRecord(r);
      if (req) out.push(req);
    }
    return out;
  }
  throw new EventError(`unsupported event: ${JSON.stringify(event).slice(0, 200)}`);
}

/** Requests from one SQS message body: an S3 notification or an EventBridge event, as JSON. */
export function requestsFromSqsBody(body: string): IngestRequest[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new EventError(`SQS message body is not JSON: ${body.slice(0, 200)}`);
  }
  return requestsFromEvent(parsed);
}
