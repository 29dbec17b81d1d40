/**
 * Rejects past the first few held in memory go to a spill file in os.tmpdir() (Lambda's /tmp), one
 * JSON array `[line, reason]` per line, and are read back in order, once, by whoever writes the
 * rejects file; the file is deleted once read (or discarded). Memory stays bounded however many
 * lines an object rejects: a write buffer of WRITE_BUFFER_CHARS, then the read-back's chunks.
 *
 * This is the only file system access of the reader.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Reject } from '../types.ts';

const WRITE_BUFFER_CHARS = 256 * 1024;

export class RejectSpill {
  private readonly dir: string;
  private readonly path: string;
  private fd: number | undefined;
  private buffer = '';
  private state: 'writing' | 'closed' | 'gone' = 'writing';
  /** Rejects written to the spill. */
  count = 0;

  constructor(directory: string = tmpdir()) {
    this.dir = mkdtempSync(join(directory, 'rejects-'));
    this.path = join(this.dir, 'spill.jsonl');
    this.fd = openSync(this.path, 'w');
  }

  add(line: number, reason: string): void {
    this.buffer += `[${line},${JSON.stringify(reason)}]\n`;
    this.count++;
    if (this.buffer.length >= WRITE_BUFFER_CHARS) this.flush();
  }

  private flush(): void {
    if (this.buffer !== '' && this.fd !== undefined) writeSync(this.fd, this.buffer);
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
      const lines = createInterface({ input: createReadStream(this.path), crlfDelay: Infinity });
      for await (const text of lines) {
        const [line, reason] = JSON.parse(text) as [number, string];
        yield { line, reason };
      }
    } finally {
      this.discard();
    }
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
