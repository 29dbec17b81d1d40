/**
 * Finding events to an EventBridge bus, and the digest to an SNS topic.
 *
 * PutEvents takes at most 10 entries per call, each under 256 KB, and the entries of one call
 * together under 256 KB (sizes counted as EventBridge counts them: Time 14 bytes, plus the UTF-8
 * bytes of Source, DetailType, Detail and Resources). A call can partly fail (FailedEntryCount):
 * only the failed entries are sent again, with exponential backoff and full jitter, up to
 * `maxAttempts` tries; a whole call that throws is retried the same way. What still fails is
 * answered as not delivered (the outbox keeps it pending).
 */
import type {
  PutEventsCommand,
  PutEventsCommandOutput,
  PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { PublishCommand } from '@aws-sdk/client-sns';
import type { DigestTarget, EventTarget } from '../audit/ports.ts';
import { type Digest, type FindingEvent, utf8Bytes } from '../core/audit/events.ts';
import { backoff, DEFAULT_RETRY, type RetryPolicy } from './dynamo-batch.ts';

/** EventBridge's bound on one entry and on the entries of one PutEvents call. */
export const MAX_ENTRY_BYTES = 256 * 1024;
export const MAX_ENTRIES_PER_CALL = 10;

/** What the bus needs of an EventBridge client (a stub in tests). */
export interface PutEventsClient {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

/**
 * An EventBridge client made on first use: the SDK package loads only when a run has events to put
 * (the CLI and the other functions never load it).
 */
export function lazyEventBridge(): PutEventsClient {
  let client: Promise<PutEventsClient> | undefined;
  return {
    send: async (command) => {
      client ??= import('@aws-sdk/client-eventbridge').then((m) => new m.EventBridgeClient({}));
      return (await client).send(command);
    },
  };
}

/** An SNS client made on first use. */
export function lazySns(): PublishClient {
  let client: Promise<PublishClient> | undefined;
  return {
    send: async (command) => {
      client ??= import('@aws-sdk/client-sns').then((m) => new m.SNSClient({}));
      return (await client).send(command);
    },
  };
}

/** An entry's size as EventBridge computes it. */
export function entrySize(e: PutEventsRequestEntry): number {
  return (
    (e.Time ? 14 : 0) +
    utf8Bytes(e.Source ?? '') +
    utf8Bytes(e.DetailType ?? '') +
    utf8Bytes(e.Detail ?? '') +
    (e.Resources ?? []).reduce((n, r) => n + utf8Bytes(r), 0)
  );
}

/** Groups entries into calls of at most 10 entries and 256 KB (an entry over 256 KB alone is refused). */
export function batchEntries<T extends { entry: PutEventsRequestEntry }>(
  items: readonly T[],
): {
  batches: T[][];
  tooLarge: T[];
} {
  const batches: T[][] = [];
  const tooLarge: T[] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = entrySize(item.entry);
    if (size > MAX_ENTRY_BYTES) {
      tooLarge.push(item);
      continue;
    }
    if (current.length === MAX_ENTRIES_PER_CALL || bytes + size > MAX_ENTRY_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return { batches, tooLarge };
}

export class EventBusTarget implements EventTarget {
  readonly name = 'eventbridge';

  constructor(
    private readonly client: PutEventsClient,
    private readonly busName: string,
    private readonly policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 5, baseDelayMs: 200 },
  ) {}

  async deliver(events: readonly FindingEvent[]): Promise<{ delivered: Set<string>; errors: string[] }> {
    const delivered = new Set<string>();
    const errors: string[] = [];
    const items = events.map((e) => ({
      id: e.id,
      entry: {
        EventBusName: this.busName,
        Source: e.source,
        DetailType: e['detail-type'],
        Time: new Date(e.time),
        Detail: JSON.stringify(e.detail),
      } satisfies PutEventsRequestEntry,
    }));
    const { batches, tooLarge } = batchEntries(items);
    const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    for (const t of tooLarge) errors.push(`${t.id}: entry over 256 KB`);
    for (const batch of batches) {
      let todo = batch;
      let lastError = '';
      for (let attempt = 0; todo.length > 0 && attempt < this.policy.maxAttempts; attempt++) {
        if (attempt > 0) await this.policy.sleep(backoff(this.policy, attempt - 1));
        try {
          const out = await this.client.send(new PutEventsCommand({ Entries: todo.map((t) => t.entry) }));
          const results = out.Entries ?? [];
          const failed: typeof todo = [];
          todo.forEach((t, i) => {
            const r = results[i];
            if (r?.EventId && !r.ErrorCode) delivered.add(t.id);
            else {
              failed.push(t);
              lastError = `${r?.ErrorCode ?? 'no result'}: ${r?.ErrorMessage ?? ''}`.trim();
            }
          });
          todo = failed;
        } catch (err) {
          lastError = `${(err as Error).name}: ${(err as Error).message}`;
        }
      }
      for (const t of todo) errors.push(`${t.id}: ${lastError} (after ${this.policy.maxAttempts} attempts)`);
    }
    return { delivered, errors };
  }
}

/** What the digest needs of an SNS client. */
export interface PublishClient {
  send(command: PublishCommand): Promise<unknown>;
}

/** SNS subjects: at most 100 printable ASCII characters. */
export const snsSubject = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);

export class DigestTopicTarget implements DigestTarget {
  readonly name = 'sns';

  constructor(
    private readonly client: PublishClient,
    private readonly topicArn: string,
  ) {}

  async deliver(digest: Digest): Promise<void> {
    const { PublishCommand } = await import('@aws-sdk/client-sns');
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: snsSubject(digest.subject),
        Message: digest.message,
      }),
    );
  }
}
