/**
 * JSON Lines. The fast path (jsonl-fast.ts) takes the lines it is sure of; every other line takes
 * the general path here: JSON.parse and validateJsonRecord, which name every reject reason.
 */
import { isUtf8 } from 'node:buffer';
import type { RecipientMatcher } from '../recipients.ts';
import { type UsageRecord, validateJsonRecord } from '../record.ts';
import type { LogFormat, RecordSink } from './format.ts';
import { JsonlFastPath } from './jsonl-fast.ts';

/** One JSON object per line: the fast path first, the general path for every line it declines. */
export class JsonlFormat implements LogFormat {
  readonly name = 'jsonl';
  readonly open = false;
  private readonly fast: JsonlFastPath;

  constructor(
    private readonly sink: RecordSink,
    matcher: RecipientMatcher,
  ) {
    this.fast = new JsonlFastPath(matcher);
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, utf8Valid: boolean): void {
    const record = this.sink.record;
    if (this.fast.scan(buf, start, end, utf8Valid, record)) {
      this.sink.count(this.fast.categories);
      return;
    }
    const reason = readJsonGeneral(buf, start, end, utf8Valid, record);
    if (reason !== undefined) this.sink.reject(lineNo, reason);
    else this.sink.count(undefined);
  }

  overlongWhileOpen(): void {}

  finish(): void {}
}

/** Read the line buf[start, end) into `out`: undefined when valid, else the reject reason. */
export function readJsonGeneral(
  buf: Buffer,
  start: number,
  end: number,
  utf8Valid: boolean,
  out: UsageRecord,
): string | undefined {
  if (!utf8Valid && !isUtf8(buf.subarray(start, end))) return 'invalid UTF-8';
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8', start, end));
  } catch (error) {
    return jsonErrorReason(error);
  }
  return validateJsonRecord(value, out);
}

/** V8's JSON.parse message without the quoted excerpt of the line (so reasons repeat and intern). */
function jsonErrorReason(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  if (message.endsWith(' is not valid JSON')) {
    const cut = message.indexOf(', "');
    if (cut !== -1) message = message.slice(0, cut);
  }
  // One clear line: control and line-separator characters (as an unexpected token) escaped.
  let clean = '';
  for (const ch of message) {
    const c = ch.charCodeAt(0);
    clean +=
      c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029 ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return `invalid JSON: ${clean}`;
}
