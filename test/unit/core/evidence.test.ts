/** Request-level evidence in the reader: bounded line references and duplicate request_ids (issue 11 item 5). */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DuplicateCounter, fingerprintInto, MAX_DAY_EXTRA_REFS } from '../../../functions/core/evidence.ts';
import { checkLines } from '../../../functions/core/evidence-check.ts';
import { type ReadOutcome, readLogObject } from '../../../functions/core/log-reader.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import { MAX_REQUEST_ID_CHARS } from '../../../functions/core/request-evidence.ts';
import { cut, source } from './helpers.ts';

const matcher = compileRegistry({ government: { cidrs: ['198.51.100.0/24'], organisations: [] } });
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const T = '2026-11-27T10:00:00Z';

function json(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ timestamp: T, app_id: 'app1', endpoint: `/e${i % 2}`, status: 200, ...extra });
}

async function read(text: string | Buffer, evidenceLines = 3, chunking: 'whole' | number = 'whole') {
  const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out = await readLogObject(source(cut(data, chunking)), { matcher, evidenceLines });
  if (out.status !== 'ingested') throw new Error(`not ingested: ${JSON.stringify(out)}`);
  return out as Exclude<ReadOutcome, { status: 'quarantined' }>;
}

describe('line references', () => {
  it('keeps the first N lines per app-day, endpoint and category, with line number, request_id and sha256', async () => {
    const lines = Array.from({ length: 20 }, (_, i) =>
      json(i, { client_ip: i % 3 === 0 ? '198.51.100.7' : '192.0.2.1', request_id: `r-${i}` }),
    );
    const out = await read(`${lines.join('\n')}\n`);
    expect(out.evidence).toHaveLength(1);
    const ev = out.evidence?.[0];
    const ref = (n: number) => ({ line: n, request_id: `r-${n - 1}`, sha256: sha(lines[n - 1] as string) });
    expect(ev?.app).toBe('app1');
    expect(ev?.day).toBe('2026-11-27');
    expect(ev?.lines).toEqual([ref(1), ref(2), ref(3)]);
    expect(ev?.endpoints).toEqual({ '/e0': [ref(1), ref(3), ref(5)], '/e1': [ref(2), ref(4), ref(6)] });
    // Category lines are kept per declared organisation ('' for none: issue 11's store step).
    expect(ev?.categories).toEqual({ government: { '': [ref(1), ref(4), ref(7)] } });
    expect(out.duplicateRequestIds).toBe(0);
    expect(out.requestIds).toBe(20);
    // Fewer than KMV_K request_ids: the app-day's sketch holds every one.
    expect(ev?.sketch?.h).toHaveLength(20);
  });

  it('hashes the line as split: without CRLF and the BOM; request_id null when absent, null or empty', async () => {
    const a = json(0);
    const b = json(1, { request_id: null });
    const c = json(2, { request_id: '' });
    const out = await read(`\uFEFF${a}\r\n${b}\r\n\r\n${c}`);
    expect(out.evidence?.[0]?.lines).toEqual([
      { line: 1, request_id: null, sha256: sha(a) },
      { line: 2, request_id: null, sha256: sha(b) },
      { line: 4, request_id: null, sha256: sha(c) },
    ]);
  });

  it('the same references whatever the chunking and whether gzipped', async () => {
    const text = `${Array.from({ length: 50 }, (_, i) => json(i, { request_id: `id-${i % 7}` })).join('\n')}\n`;
    const whole = await read(text);
    for (const chunking of [1, 7, 64] as const) {
      const other = await read(text, 3, chunking);
      expect(other.evidence).toEqual(whole.evidence);
      expect(other.duplicateRequestIds).toBe(whole.duplicateRequestIds);
    }
    const gz = await read(gzipSync(Buffer.from(text)), 3, 10);
    expect(gz.evidence).toEqual(whole.evidence);
  });

  it('CSV: fast and general lines alike; a record spanning lines gets no reference', async () => {
    const header = 'timestamp,app_id,endpoint,status,request_id';
    const rows = [`${T},app1,/a,200,r1`, `${T},app1,/a,200,"r""2"`, `${T},app1,"/multi`, `line",200,r3`];
    const out = await read(`${header}\n${rows.join('\n')}\n`);
    expect(out.counted).toBe(3);
    expect(out.evidence?.[0]?.lines).toEqual([
      { line: 2, request_id: 'r1', sha256: sha(rows[0] as string) },
      { line: 3, request_id: 'r"2', sha256: sha(rows[1] as string) },
    ]);
  });

  it('is off by default: the outcome then has neither field', async () => {
    const out = await read(`${json(0)}\n`, 0);
    expect(out).not.toHaveProperty('evidence');
    expect(out).not.toHaveProperty('duplicateRequestIds');
  });
});

describe('line references within the object budget', () => {
  it('cuts a long request_id to 128 characters as it is taken (the sha256 covers the whole line)', async () => {
    const long = `${'x'.repeat(200)}-tail`;
    const line = json(0, { request_id: long });
    const out = await read(`${line}\n`);
    expect(out.evidence?.[0]?.lines).toEqual([
      { line: 1, request_id: long.slice(0, MAX_REQUEST_ID_CHARS), sha256: sha(line) },
    ]);
  });

  it('past MAX_DAY_EXTRA_REFS a key keeps only its first line, and every later key still gets one', async () => {
    // 3,000 endpoints seen twice each (2 lines in a row), then one seen once at the end.
    const lines: string[] = [];
    for (let e = 0; e < 3000; e++)
      for (let r = 0; r < 2; r++)
        lines.push(JSON.stringify({ timestamp: T, app_id: 'app1', endpoint: `/e${e}`, status: 200 }));
    lines.push(JSON.stringify({ timestamp: T, app_id: 'app1', endpoint: '/rare', status: 200 }));
    const out = await read(`${lines.join('\n')}\n`, 5);
    const eps = out.evidence?.[0]?.endpoints ?? {};
    expect(Object.keys(eps)).toHaveLength(3001);
    expect(eps['/rare']?.map((r) => r.line)).toEqual([6001]);
    expect(eps['/e0']?.map((r) => r.line)).toEqual([1, 2]);
    expect(eps['/e2999']?.map((r) => r.line)).toEqual([5999]);
    const held = 5 + Object.values(eps).reduce((n, l) => n + l.length, 0);
    expect(held).toBeLessThanOrEqual(MAX_DAY_EXTRA_REFS + 3001);
  });
});

describe('duplicate request_ids within an object', () => {
  it('counts every repeat exactly, on the fast and the general path alike', async () => {
    const lines = [
      json(0, { request_id: 'r-1' }),
      json(1, { request_id: 'r\\u002d1' }), // escaped: the general path; the same id
      json(2, { request_id: 'r-2' }),
      `{"timestamp":"${T}", "app_id":"app1","endpoint":"/x","status":200,"request_id":"r-1","extra":[1,{"a":2}]}`,
      json(3, { request_id: 'r-2' }),
      json(4, { request_id: 'r-3' }),
      json(5),
      json(6),
      '{"bad":1}',
    ];
    // JSON.stringify escapes the backslash: undo it so the line holds a real \u escape.
    const text = lines.join('\n').replace('r\\\\u002d1', 'r\\u002d1');
    const out = await read(text);
    expect(out.counted).toBe(8);
    expect(out.duplicateRequestIds).toBe(3);
    expect(out.evidence?.[0]?.lines[1]?.request_id).toBe('r-1');
  });

  it('CSV: a doubled quote and its plain twin are the same id', async () => {
    const text = `timestamp,app_id,endpoint,status,request_id\n${T},app1,/a,200,"x""y"\n${T},app1,/a,200,"x""y"\n${T},app1,/a,200,xy\n`;
    expect((await read(text)).duplicateRequestIds).toBe(1);
  });

  it('DuplicateCounter grows past its first block and caps at its maximum', () => {
    const d = new DuplicateCounter(5000);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(`id-${i % 1000}`);
      d.add(b, 0, b.length);
    }
    expect(d.count).toBe(3000);
    expect(d.duplicates()).toBe(2000);
    const capped = new DuplicateCounter(1500);
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(`id-${i}`);
      capped.add(b, 0, b.length);
    }
    expect(capped.count).toBe(1500);
    expect(capped.capped).toBe(true);
    expect(capped.duplicates()).toBe(0);
  });

  it.each([
    ['one block', undefined],
    ['blocks of 7,777 merged', 7777],
  ])('agrees with an exact Set count on 100,000 ids drawn with repeats (%s)', (_, block) => {
    const d = new DuplicateCounter(undefined, block);
    const seen = new Set<string>();
    let expected = 0;
    let x = 12345;
    for (let i = 0; i < 100_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const id = `req-${x % 60_000}`;
      if (seen.has(id)) expected++;
      else seen.add(id);
      const b = Buffer.from(id);
      d.add(b, 0, b.length);
    }
    expect(expected).toBeGreaterThan(30_000);
    expect(d.duplicates()).toBe(expected);
  });

  it('fingerprints: 64 bits, no collision among 200,000 distinct ids, depend on every byte', () => {
    const n = 200_000;
    const words = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const b = Buffer.from(`req-${i}`);
      fingerprintInto(b, 0, b.length, words, i * 2);
    }
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(`${words[i * 2]}:${words[i * 2 + 1]}`);
    expect(seen.size).toBe(n);
    const lo = new Set<number>();
    for (let i = 0; i < n; i++) lo.add(words[i * 2] as number);
    expect(lo.size).toBeGreaterThan(n - 20); // each half is a hash of its own
  });
});

describe('checkLines (what `auditor evidence` runs on the fetched object)', () => {
  const lines = Array.from({ length: 30 }, (_, i) => json(i, { request_id: `r-${i}` }));
  const text = `\uFEFF${lines.join('\r\n')}\n`;

  it('finds every recorded line, plain or gzip, in any chunking, and each still hashes to its record', async () => {
    const out = await read(text);
    const refs = [
      ...(out.evidence?.[0]?.lines ?? []),
      ...Object.values(out.evidence?.[0]?.endpoints ?? {}).flat(),
    ];
    expect(refs.length).toBeGreaterThan(3);
    for (const data of [Buffer.from(text), gzipSync(Buffer.from(text))]) {
      for (const chunking of ['whole', 5] as const) {
        const checked = await checkLines(source(cut(data, chunking)), refs);
        expect(checked.every((c) => c.ok)).toBe(true);
        expect(checked.map((c) => c.text)).toEqual(refs.map((r) => lines[r.line - 1]));
      }
    }
  });

  it('names the line that no longer matches, and a line the object no longer has', async () => {
    const out = await read(text);
    const refs = out.evidence?.[0]?.lines ?? [];
    const tampered = text.replace('"r-1"', '"r-X"');
    const checked = await checkLines(source([Buffer.from(tampered)]), refs);
    expect(checked.map((c) => [c.ref.line, c.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    const short = await checkLines(source([Buffer.from(lines.slice(0, 2).join('\n'))]), refs);
    expect(short[2]).toMatchObject({ ok: false, text: null, sha256: null });
  });
});
