/**
 * Rejects past the first few held in memory go to a spill file in os.tmpdir() (Lambda's /tmp), one
 * `LINE<TAB>REASON` per line, and are read back in order, once, by whoever writes the rejects file;
 * the file is deleted once read (or discarded). REASON is the number of a reason already seen (the
 * first MAX_REASON_IDS distinct reasons are numbered and kept, as the reader keeps them anyway)
 * or the reason as a JSON string. Memory stays bounded however many lines an object rejects: the
 * reason table, a write buffer of WRITE_BUFFER_CHARS, then the read-back's chunks.
 *
 * This is the only file system access of the reader.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reject } from '../types.ts';
import { Quarantine } from './limits.ts';

const WRITE_BUFFER_CHARS = 256 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const MAX_REASON_IDS = 10_000;

export class RejectSpill {
  private readonly dir: string;
  private readonly path: string;
  private fd: number | undefined;
  private buffer = '';
  private state: 'writing' | 'closed' | 'gone' = 'writing';
  private readonly ids = new Map<string, number>();
  private readonly reasons: string[] = [];
  /** Rejects written to the spill. */
  count = 0;

  constructor(directory: string = tmpdir()) {
    this.dir = mkdtempSync(join(directory, 'rejects-'));
    this.path = join(this.dir, 'spill.jsonl');
    this.fd = openSync(this.path, 'w');
  }

  add(line: number, reason: string): void {
    let id = this.ids.get(reason);
    if (id === undefined && this.reasons.length < MAX_REASON_IDS) {
      id = this.reasons.length;
      this.reasons.push(reason);
      this.ids.set(reason, id);
    }
    this.buffer += id === undefined ? `${line}\t${JSON.stringify(reason)}\n` : `${line}\t${id}\n`;
    this.count++;
    if (this.buffer.length >= WRITE_BUFFER_CHARS) this.flush();
  }

  private flush(): void {
    if (this.buffer !== '' && this.fd !== undefined) {
      try {
        writeSync(this.fd, this.buffer);
      } catch (error) {
        // What the object holds must not fail the function (and send it to the DLQ): a full /tmp
        // quarantines it instead.
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
          throw new Quarantine(
            `too many rejected lines to keep: the function's temporary storage is full after ${this.count} spilled rejects`,
          );
        }
        throw error;
      }
    }
    this.buffer = '';
  }

  /** No more rejects: flush and close for reading. */
  close(): void {
    if (this.state !== 'writing') return;
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.state = 'closed';
  }

  /** The spilled rejects in the order written; the file is deleted when the iteration ends. */
  async *read(): AsyncGenerator<Reject> {
    this.close();
    if (this.state === 'gone') throw new Error('the rejects spill was already read or discarded');
    try {
      let rest = '';
      const stream = createReadStream(this.path, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
      for await (const chunk of stream as AsyncIterable<string>) {
        const text = rest + chunk;
        let start = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          yield this.parse(text, start, nl);
          start = nl + 1;
        }
        rest = text.slice(start);
      }
    } finally {
      this.discard();
    }
  }

  private parse(text: string, start: number, end: number): Reject {
    const tab = text.indexOf('\t', start);
    const line = Number(text.slice(start, tab));
    const reason =
      text.charCodeAt(tab + 1) === 34
        ? (JSON.parse(text.slice(tab + 1, end)) as string)
        : (this.reasons[Number(text.slice(tab + 1, end))] as string);
    return { line, reason };
  }

  /** Delete the spill file (idempotent). */
  discard(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Already closed.
      }
      this.fd = undefined;
    }
    this.state = 'gone';
    this.buffer = '';
    rmSync(this.dir, { recursive: true, force: true });
  }
}
