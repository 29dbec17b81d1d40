/**
 * JSON Lines, the general path: JSON.parse and validateJsonRecord, which name every reject reason.
 * The fast path (jsonl-fast.ts) takes the lines it is sure of; every other line comes here.
 */
import { isUtf8 } from 'node:buffer';
import { type UsageRecord, validateJsonRecord } from '../record.ts';

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
