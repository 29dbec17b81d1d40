/**
 * Byte-level helpers of the fast paths: a table of known values looked up by their bytes, and
 * timestamps parsed straight from bytes. Each helper either succeeds exactly as the general
 * (string) code would, or says "not here" so that the caller falls back to the general path.
 */

import { daysInMonth } from '../support.ts';
import { daysFromCivil, MAX_DAY, MIN_DAY, MS_PER_DAY } from '../timestamps.ts';

/** FNV-1a over buf[start, end). */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 16_777_619);
  return h;
}

/**
 * Values known by their bytes: a small open-addressing hash table (linear probing) over one byte
 * arena, no object per entry. Each slot holds a value's hash next to its index, so a probe that
 * misses touches one cache line; the slots grow with the table (few values, few cache lines).
 * Bounded: once full, `add` stores nothing and the caller decodes such values every time.
 */
export class ByteTable<T> {
  readonly values: T[] = [];
  /** Per slot: [hash, entry index or -1]. At most half the slots are used. */
  private slots: Int32Array;
  /** Mask of a slot's first Int32 index: (slots.length - 1) & ~1. */
  private mask: number;
  private readonly offsets: Int32Array;
  private readonly lengths: Int32Array;
  private arena: Uint8Array = new Uint8Array(16 * 1024);
  private used = 0;

  constructor(
    private readonly maxEntries = 16_384,
    private readonly maxArenaBytes = 4 * 1024 * 1024,
  ) {
    this.slots = emptySlots(64);
    this.mask = 127 & ~1;
    this.offsets = new Int32Array(maxEntries);
    this.lengths = new Int32Array(maxEntries);
  }

  /** Index of the entry whose bytes equal buf[start, end) (h = their hash), or -1. */
  find(buf: Uint8Array, start: number, end: number, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let k = (h << 1) & mask; ; k = (k + 2) & mask) {
      const e = slots[k + 1] as number;
      if (e === -1) return -1;
      if (slots[k] !== h || this.lengths[e] !== end - start) continue;
      const arena = this.arena;
      let o = this.offsets[e] as number;
      let i = start;
      while (i < end && arena[o] === buf[i]) {
        i++;
        o++;
      }
      if (i === end) return e;
    }
  }

  /** Remember buf[start, end) → value; returns false when the table is full (nothing stored). */
  add(buf: Uint8Array, start: number, end: number, h: number, value: T): boolean {
    const e = this.values.length;
    const len = end - start;
    if (e >= this.maxEntries) return false;
    if (this.used + len > this.arena.length) {
      let size = this.arena.length * 2;
      while (size < this.used + len) size *= 2;
      if (size > this.maxArenaBytes) return false;
      const bigger = new Uint8Array(size);
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    this.arena.set(buf.subarray(start, end), this.used);
    this.offsets[e] = this.used;
    this.lengths[e] = len;
    this.used += len;
    this.values.push(value);
    // Keep at least half the slots free (so a probe ends soon), growing as needed.
    if ((e + 1) * 4 > this.slots.length) this.grow();
    this.place(this.slots, this.mask, h, e);
    return true;
  }

  private place(slots: Int32Array, mask: number, h: number, e: number): void {
    let k = (h << 1) & mask;
    while (slots[k + 1] !== -1) k = (k + 2) & mask;
    slots[k] = h;
    slots[k + 1] = e;
  }

  private grow(): void {
    const old = this.slots;
    const slots = emptySlots(old.length);
    const mask = (slots.length - 1) & ~1;
    for (let k = 0; k < old.length; k += 2) {
      const e = old[k + 1] as number;
      if (e !== -1) this.place(slots, mask, old[k] as number, e);
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** Slots for `count` entries ([hash, -1] each). */
function emptySlots(count: number): Int32Array {
  const slots = new Int32Array(count * 2);
  for (let k = 1; k < slots.length; k += 2) slots[k] = -1;
  return slots;
}

/** Value of two ASCII digits at buf[at] (both before the caller's limit), or -1. */
function twoDigits(buf: Uint8Array, at: number): number {
  const a = (buf[at] as number) - 48;
  const b = (buf[at + 1] as number) - 48;
  return a < 0 || a > 9 || b < 0 || b > 9 ? -1 : a * 10 + b;
}

let lastDate = -1;
let lastDays = 0;

/** What the last successful isoTimestampEnd() read: epoch milliseconds and usage day. */
export const isoParsed = { ms: 0, day: 0 };

/**
 * Read an ISO-8601 timestamp in ASCII bytes starting at buf[s], no further than `limit`: the index
 * just past it (its own grammar decides where it ends; the caller checks what follows), with the
 * instant in `isoParsed`; or -1 whenever parseIsoTimestamp would reject the same text (the
 * caller then takes the general path, which names the reason). One pass, every byte checked.
 */
export function isoTimestampEnd(buf: Uint8Array, s: number, limit: number): number {
  if (limit - s < 20) return -1;
  const y1 = twoDigits(buf, s);
  const y2 = twoDigits(buf, s + 2);
  const mo = twoDigits(buf, s + 5);
  const d = twoDigits(buf, s + 8);
  const h = twoDigits(buf, s + 11);
  const mi = twoDigits(buf, s + 14);
  const sec = twoDigits(buf, s + 17);
  const sep = buf[s + 10];
  if (
    y1 < 0 ||
    y2 < 0 ||
    mo < 0 ||
    d < 0 ||
    h < 0 ||
    mi < 0 ||
    sec < 0 ||
    buf[s + 4] !== 45 ||
    buf[s + 7] !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    buf[s + 13] !== 58 ||
    buf[s + 16] !== 58
  ) {
    return -1;
  }
  let i = s + 19;
  let ms = 0;
  let z = buf[i] as number;
  if (z === 46 || z === 44) {
    i++;
    const from = i;
    while (i < limit) {
      const c = (buf[i] as number) - 48;
      if (c < 0 || c > 9) break;
      if (i - from < 3) ms = ms * 10 + c;
      i++;
    }
    const count = i - from;
    if (count === 0 || count > 9 || i >= limit) return -1;
    if (count === 1) ms *= 100;
    else if (count === 2) ms *= 10;
    z = buf[i] as number;
  }
  let offsetMinutes = 0;
  let e: number;
  if (z === 90 || z === 122) e = i + 1;
  else if (z === 43 || z === 45) {
    if (i + 5 > limit) return -1;
    const oh = twoDigits(buf, i + 1);
    let om: number;
    if (buf[i + 3] === 58) {
      if (i + 6 > limit) return -1;
      om = twoDigits(buf, i + 4);
      e = i + 6;
    } else {
      om = twoDigits(buf, i + 3);
      e = i + 5;
    }
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return -1;
    offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else {
    return -1;
  }
  const y = y1 * 100 + y2;
  if (mo < 1 || mo > 12 || d < 1 || (d > 28 && d > daysInMonth(y, mo))) return -1;
  if (h > 23 || mi > 59 || sec > 59) return -1;
  const date = y * 10_000 + mo * 100 + d;
  if (date !== lastDate) {
    lastDays = daysFromCivil(y, mo, d);
    lastDate = date;
  }
  const epochMs =
    lastDays * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms - offsetMinutes * 60_000;
  const day = Math.floor(epochMs / MS_PER_DAY);
  if (day < MIN_DAY || day > MAX_DAY) return -1;
  isoParsed.ms = epochMs;
  isoParsed.day = day;
  return e;
}

/**
 * The epoch milliseconds of an ISO-8601 timestamp in ASCII bytes buf[s, e), exactly as
 * parseIsoTimestamp reads the same text when it accepts it; NaN whenever parseIsoTimestamp would
 * reject it.
 */
export function isoBytesToMs(buf: Uint8Array, s: number, e: number): number {
  return isoTimestampEnd(buf, s, e) === e ? isoParsed.ms : Number.NaN;
}
