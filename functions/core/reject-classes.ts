/**
 * Rejected lines counted per reason class: the stable part of a reject reason (the field and the
 * problem), without the part that quotes the line (`timestamp: no time zone in "2026-…"` is in the
 * class `timestamp: no time zone`). Reasons are built in record.ts, timestamps.ts, reader/jsonl.ts,
 * reader/csv-format.ts and log-reader.ts; each puts what varies from line to line after `, got `,
 * ` got `, ` in "`, ` "` or (for a few) a value at its end, which this cuts off.
 *
 * Bounded: at most MAX_REJECT_CLASSES classes per object, by first appearance (in line order, so
 * the same object always gives the same classes); later classes are counted together under
 * OTHER_REASONS. Each class has at most MAX_CLASS_CHARS characters. Stored in the object's manifest:
 * at most ~MAX_REJECT_CLASSES × (3 × MAX_CLASS_CHARS + 30) ≈ 17 KB by DynamoDB's rules.
 */
import { compareStrings } from './support.ts';

export const MAX_REJECT_CLASSES = 40;
export const MAX_CLASS_CHARS = 120;
/** The class that counts the rejects past MAX_REJECT_CLASSES classes. */
export const OTHER_REASONS = '(other reasons)';

/** Lines rejected for one class of reason. */
export interface RejectClassCount {
  reason: string;
  lines: number;
}

const CUTS = [', got ', ' got ', ' in "', ' "'];
/** Reasons whose variable part is a bare value at the end. */
const VALUE_AT_END =
  /^(timestamp: (?:impossible (?:date|time|zone offset)|out of range)|malformed CSV: [^:]*?) (?:of field )?\S*$/;

/** The class of one reject reason. */
export function rejectClass(reason: string): string {
  if (reason.startsWith('invalid JSON')) return 'invalid JSON';
  let cls = reason;
  for (const cut of CUTS) {
    const i = cls.indexOf(cut);
    if (i > 0) cls = cls.slice(0, i);
  }
  const m = VALUE_AT_END.exec(cls);
  if (m && /[0-9]/.test(cls.slice((m[1] as string).length))) cls = m[1] as string;
  if (cls === '') return '(empty reason)';
  if (cls.length > MAX_CLASS_CHARS) {
    let end = MAX_CLASS_CHARS - 1;
    const code = cls.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    cls = `${cls.slice(0, end)}…`;
  }
  return cls;
}

/** Counts rejects per class as they stream by. */
export class RejectTally {
  private readonly counts = new Map<string, number>();
  private other = 0;
  /** The last reason seen and its class (reasons repeat: the reader interns them). */
  private lastReason: string | undefined;
  private lastClass = '';

  add(reason: string): void {
    if (reason !== this.lastReason) {
      this.lastReason = reason;
      this.lastClass = rejectClass(reason);
    }
    const cls = this.lastClass;
    const n = this.counts.get(cls);
    if (n !== undefined) this.counts.set(cls, n + 1);
    else if (this.counts.size < MAX_REJECT_CLASSES) this.counts.set(cls, 1);
    else this.other++;
  }

  /** The classes, most lines first (then by class), OTHER_REASONS last; undefined when none. */
  result(): RejectClassCount[] | undefined {
    if (this.counts.size === 0) return undefined;
    const out = [...this.counts]
      .map(([reason, lines]) => ({ reason, lines }))
      .sort((a, b) => b.lines - a.lines || compareStrings(a.reason, b.reason));
    if (this.other > 0) out.push({ reason: OTHER_REASONS, lines: this.other });
    return out;
  }
}
