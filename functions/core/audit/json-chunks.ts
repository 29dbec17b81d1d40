/**
 * stableJson (format.ts) as a stream: the same text, byte for byte, produced as chunks of about
 * CHUNK_CHARS instead of one string, so a large document (report.json) is never held whole.
 * Iterative (an explicit stack, no recursion): one piece per member or element is appended to a
 * buffer, and the buffer is yielded once it reaches the chunk size, so a chunk is shorter than the
 * chunk size plus the longest single piece (a key or a string value).
 *
 * The value is read as stableJson reads it: object keys in insertion order (sorted everywhere with
 * sortKeys, array-index keys then first in ascending order as in any JS object), members whose
 * value is undefined, a function or a symbol left out, such an element written null, a key
 * "__proto__" left out, non-finite numbers and bigints refused.
 *
 * A hole: where the value JSON_HOLE stands, stableJsonParts yields the buffer, then a JsonHole
 * naming the depth, for the caller to fill (report.json's run field: its content hash is taken
 * with null there, the file is written with the run).
 */
import { compareStrings } from '../support.ts';
import { CHUNK_CHARS } from './chunks.ts';

/** Stands for a value the caller fills in (see JsonHole). */
export const JSON_HOLE: Readonly<Record<string, never>> = Object.freeze({});

/** Where JSON_HOLE stood: the caller writes a value there, at this nesting depth. */
export interface JsonHole {
  hole: true;
  depth: number;
}

export interface JsonChunkOptions {
  /** As stableJson's indent (JSON.stringify's space): 0 for none. */
  indent?: number;
  sortKeys?: boolean;
  /** The chunk size in characters (default CHUNK_CHARS). */
  size?: number;
  /** The nesting depth the value is written at (its members indented one deeper). */
  depth?: number;
}

type Frame =
  | { items: readonly unknown[]; keys: null; i: number; depth: number }
  | { items: Readonly<Record<string, unknown>>; keys: readonly string[]; i: number; depth: number };

const left_out = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/** The members stableJson writes, in its order. */
function memberKeys(obj: object, sortKeys: boolean): string[] {
  const keys = Object.keys(obj);
  if (sortKeys) keys.sort(compareStrings);
  const kept = keys.filter((k) => k !== '__proto__' && !left_out((obj as Record<string, unknown>)[k]));
  if (!sortKeys) return kept;
  // The object stableJson builds from the sorted keys lists array-index keys first, ascending.
  const built: Record<string, 0> = {};
  for (const k of kept) built[k] = 0;
  return Object.keys(built);
}

function scalar(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('non-finite number in JSON output');
    return JSON.stringify(v);
  }
  if (typeof v === 'bigint') throw new Error('bigint in JSON output');
  // An element that JSON leaves out of an object is null in an array.
  if (left_out(v)) return 'null';
  return JSON.stringify(v);
}

/** The text of stableJson(value, indent, sortKeys) as chunks, with a JsonHole where JSON_HOLE stands. */
export function* stableJsonParts(
  value: unknown,
  options: JsonChunkOptions = {},
): Generator<string | JsonHole> {
  const gap = ' '.repeat(Math.max(0, Math.min(10, Math.trunc(options.indent ?? 0))));
  const sortKeys = options.sortKeys === true;
  const size = options.size ?? CHUNK_CHARS;
  const colon = gap === '' ? ':' : ': ';
  const pads: string[] = [];
  const pad = (depth: number) => {
    if (gap === '') return '';
    pads[depth] ??= `\n${gap.repeat(depth)}`;
    return pads[depth];
  };
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
    throw new Error('nothing to write as JSON');
  const stack: Frame[] = [];
  let buf = '';
  let next: { value: unknown; depth: number } | undefined = { value, depth: options.depth ?? 0 };
  for (;;) {
    if (next !== undefined) {
      const { value: v, depth } = next;
      next = undefined;
      if (v === JSON_HOLE) {
        if (buf !== '') yield buf;
        buf = '';
        yield { hole: true, depth };
      } else if (v === null || typeof v !== 'object') buf += scalar(v);
      else if (Array.isArray(v)) {
        if (v.length === 0) buf += '[]';
        else {
          buf += '[';
          stack.push({ items: v, keys: null, i: 0, depth });
        }
      } else {
        const keys = memberKeys(v, sortKeys);
        if (keys.length === 0) buf += '{}';
        else {
          buf += '{';
          stack.push({ items: v as Record<string, unknown>, keys, i: 0, depth });
        }
      }
    }
    const top = stack.at(-1);
    if (top === undefined) break;
    if (buf.length >= size) {
      yield buf;
      buf = '';
    }
    const length = top.keys === null ? top.items.length : top.keys.length;
    if (top.i < length) {
      const depth = top.depth + 1;
      buf += top.i > 0 ? `,${pad(depth)}` : pad(depth);
      if (top.keys === null) next = { value: top.items[top.i], depth };
      else {
        const key = top.keys[top.i] as string;
        buf += JSON.stringify(key) + colon;
        next = { value: top.items[key], depth };
      }
      top.i++;
    } else {
      buf += pad(top.depth) + (top.keys === null ? ']' : '}');
      stack.pop();
    }
  }
  if (buf !== '') yield buf;
}

/** stableJson(value, indent, sortKeys) as chunks: their concatenation is that text, byte for byte. */
export function* stableJsonChunks(value: unknown, options: JsonChunkOptions = {}): Generator<string> {
  for (const part of stableJsonParts(value, options)) {
    if (typeof part !== 'string') throw new Error('a JSON hole left unfilled');
    yield part;
  }
}
