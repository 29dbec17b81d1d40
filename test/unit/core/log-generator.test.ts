import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogObject } from '../../../functions/core/log-reader.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import {
  GENERATOR_RECIPIENTS,
  type GenerateOptions,
  generateLogs,
  LogStream,
  writeLogFile,
} from '../../support/log-generator.ts';
import { ingested, read } from './helpers.ts';

const matcher = compileRegistry(GENERATOR_RECIPIENTS);

describe('log generator', () => {
  it('is deterministic per seed', () => {
    const opts: GenerateOptions = { lines: 500, seed: 9, format: 'jsonl', badLineShare: 0.1 };
    expect(generateLogs(opts)).toEqual(generateLogs(opts));
    expect(generateLogs({ ...opts, seed: 10 }).text).not.toBe(generateLogs(opts).text);
  });

  for (const format of ['jsonl', 'csv'] as const) {
    for (const timestamps of ['iso', 'epoch', 'offset', 'mixed'] as const) {
      it(`${format}, ${timestamps} timestamps: the reader finds exactly the expected usage and bad lines`, async () => {
        const g = generateLogs({
          lines: 3000,
          seed: 5,
          format,
          timestamps,
          ipv6Share: 0.4,
          badLineShare: 0.05,
        });
        const out = ingested(await read(g.text, { matcher }, 4096));
        expect(out.format).toBe(format);
        expect(out.lines).toBe(g.lines);
        expect(out.rejects.map((r) => r.line)).toEqual(g.badLines);
        expect(out.usage).toEqual(g.expected);
        expect(g.badLines.length).toBeGreaterThan(50);
        expect(g.expected.some((u) => Object.keys(u.categories).length > 0)).toBe(true);
      });
    }
  }

  it('offset timestamps cross midnight: the local date is never the UTC date', () => {
    const g = generateLogs({ lines: 400, seed: 3, format: 'jsonl', timestamps: 'offset' });
    for (const line of g.text.trim().split('\n')) {
      const ts = JSON.parse(line).timestamp as string;
      expect(ts).toMatch(/[+-]\d{2}:?\d{2}$/);
      expect(ts.slice(0, 10)).not.toBe(
        new Date(Date.parse(ts.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))).toISOString().slice(0, 10),
      );
    }
  });

  it('uses IPv6 (and IPv4-mapped) client addresses, the given apps and days', () => {
    const g = generateLogs({
      lines: 1000,
      seed: 4,
      format: 'jsonl',
      ipv6Share: 0.5,
      apps: ['one', 'two'],
      days: ['2026-01-31', '2026-02-01'],
    });
    const ips = g.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).client_ip as string | undefined);
    expect(ips.filter((ip) => ip?.includes(':')).length).toBeGreaterThan(300);
    expect(ips.some((ip) => ip?.startsWith('::ffff:'))).toBe(true);
    expect(new Set(g.expected.map((u) => u.app))).toEqual(new Set(['one', 'two']));
    expect(new Set(g.expected.map((u) => u.day))).toEqual(new Set(['2026-01-31', '2026-02-01']));
  });

  it('streams in chunks with the same text and summary, CRLF on request', () => {
    const opts: GenerateOptions = { lines: 1000, seed: 2, format: 'csv', badLineShare: 0.02, eol: '\r\n' };
    const stream = new LogStream(opts);
    const text = [...stream.chunks(7)].map((b) => b.toString('utf8')).join('');
    const whole = generateLogs(opts);
    expect(text).toBe(whole.text);
    expect(stream.result()).toEqual({
      expected: whole.expected,
      badLines: whole.badLines,
      lines: whole.lines,
      bytes: whole.bytes,
    });
    expect(text.split('\r\n').length).toBe(1002);
  });

  it('writes plain and gzip files that read back to the expected usage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gen-test-'));
    try {
      for (const gzip of [false, true]) {
        const file = join(dir, `logs-${gzip}`);
        const summary = await writeLogFile(file, {
          lines: 20_000,
          seed: 8,
          format: 'jsonl',
          gzip,
          badLineShare: 0.01,
        });
        const out = ingested(await readLogObject(createReadStream(file), { matcher }));
        expect(out.compressed).toBe(gzip);
        expect(out.usage).toEqual(summary.expected);
        expect(out.rejects.map((r) => r.line)).toEqual(summary.badLines);
        if (gzip) expect(summary.fileBytes).toBeLessThan(summary.bytes / 3);
        else expect(summary.fileBytes).toBe(summary.bytes);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
