import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, formatBytes, readLogObject } from '../../../functions/core/log-reader.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import type { DayUsage } from '../../../functions/core/types.ts';
import { bytes, cut, fixture, gzip, ingested, jl, read, rec, sampleRegistry, source } from './helpers.ts';

const matcher = compileRegistry(sampleRegistry());

const counts = (requests: number, records: number, b: number, errors: number) => ({
  requests,
  records,
  bytes: b,
  errors,
});

/** Usage of logs-sample.jsonl, computed by hand from the file and recipients.yaml. */
const SAMPLE_JSONL_USAGE: DayUsage[] = [
  {
    app: 'nw-ads',
    day: '2026-11-27',
    ...counts(1, 12, 6120, 0),
    endpoints: { 'GET /2/users/by': counts(1, 12, 6120, 0) },
    // 198.51.100.23 is inside government's 198.51.100.0/24
    categories: { government: { requests: 1, records: 12, orgs: {} } },
  },
  {
    // epoch ms 1795767302600 = 2026-11-27T08:15:02.600Z
    app: 'nw-copilot',
    day: '2026-11-27',
    ...counts(1, 500, 240500, 0),
    endpoints: { 'GET /2/tweets/sample/stream': counts(1, 500, 240500, 0) },
    // 2001:db8:a001::17 is inside 2001:db8:a000::/36, and example-agency is a government organisation
    categories: {
      government: { requests: 1, records: 500, orgs: { 'example-agency': { requests: 1, records: 500 } } },
    },
  },
  {
    // 2026-11-27T09:01:44+01:00 = 08:01:44Z, same UTC day; status 429 is an error
    app: 'nw-feed',
    day: '2026-11-27',
    ...counts(1, 0, 120, 1),
    endpoints: { 'GET /2/tweets/search/all': counts(1, 0, 120, 1) },
    categories: {},
  },
  {
    app: 'nw-search',
    day: '2026-11-27',
    ...counts(1, 100, 48213, 0),
    endpoints: { 'GET /2/tweets/search/recent': counts(1, 100, 48213, 0) },
    categories: {},
  },
  {
    app: 'unregistered-bot',
    day: '2026-11-27',
    ...counts(1, 100, 47000, 0),
    endpoints: { 'GET /2/tweets/search/recent': counts(1, 100, 47000, 0) },
    categories: {},
  },
];

describe('example files', () => {
  it('logs-sample.jsonl: 7 lines, 5 counted, line 6 (not JSON) and line 7 (no app_id) rejected', async () => {
    const out = ingested(await read(fixture('logs-sample.jsonl'), { matcher }));
    expect(out).toMatchObject({
      status: 'ingested',
      format: 'jsonl',
      compressed: false,
      lines: 7,
      counted: 5,
    });
    expect(out.rejected).toBe(2);
    expect(out.rejects).toEqual([
      { line: 6, reason: expect.stringMatching(/^invalid JSON: /) },
      { line: 7, reason: 'missing field app_id' },
    ]);
    expect(out.usage).toEqual(SAMPLE_JSONL_USAGE);
  });

  it('logs-sample.csv: 3 records, nw-maps in data-broker by address and organisation', async () => {
    const out = ingested(await read(fixture('logs-sample.csv'), { matcher }));
    expect(out).toMatchObject({
      status: 'ingested',
      format: 'csv',
      lines: 4,
      counted: 3,
      rejected: 0,
      rejects: [],
    });
    expect(out.usage).toEqual([
      {
        app: 'fab-lab',
        day: '2026-11-27',
        ...counts(1, 100, 48800, 0),
        endpoints: { 'GET /2/tweets/search/recent': counts(1, 100, 48800, 0) },
        categories: {},
      },
      {
        app: 'nw-maps',
        day: '2026-11-27',
        ...counts(1, 80, 39001, 0),
        endpoints: { 'GET /2/users/:id/tweets': counts(1, 80, 39001, 0) },
        categories: {
          'data-broker': {
            requests: 1,
            records: 80,
            orgs: { 'acme-brokerage': { requests: 1, records: 80 } },
          },
        },
      },
      {
        app: 'nw-trends',
        day: '2026-11-27',
        ...counts(1, 0, 812, 0),
        endpoints: { 'GET /2/tweets/counts/recent': counts(1, 0, 812, 0) },
        categories: {},
      },
    ]);
  });

  it('without a matcher, no categories', async () => {
    const out = ingested(await read(fixture('logs-sample.jsonl')));
    expect(out.usage.map((u) => u.categories)).toEqual([{}, {}, {}, {}, {}]);
  });

  it('gzip is recognised by its magic bytes and gives the same result', async () => {
    const plain = ingested(await read(fixture('logs-sample.jsonl'), { matcher }));
    const zipped = ingested(await read(gzip(fixture('logs-sample.jsonl')), { matcher }));
    expect(zipped.compressed).toBe(true);
    expect({ ...zipped, compressed: false }).toEqual(plain);
    const csv = ingested(await read(gzip(fixture('logs-sample.csv')), { matcher }, 1));
    expect(csv).toMatchObject({ format: 'csv', compressed: true, counted: 3 });
  });

  it('a NUL-free file starting with 1f but not 8b is not gzip', async () => {
    const out = await read(Buffer.from([0x1f, 0x41, 0x0a]));
    expect(out).toMatchObject({ status: 'quarantined', compressed: false });
  });
});

describe('gzip', () => {
  const text = fixture('logs-sample.jsonl');

  it('reads multi-member gzip whole', async () => {
    const half = text.indexOf(10, text.length / 2) + 1;
    const multi = Buffer.concat([gzip(text.subarray(0, half)), gzip(text.subarray(half)), gzip('')]);
    const out = ingested(await read(multi, { matcher }, 7));
    expect(out.usage).toEqual(SAMPLE_JSONL_USAGE);
    expect(out.lines).toBe(7);
  });

  it('quarantines truncated gzip, counting nothing', async () => {
    const z = gzip(text);
    for (const end of [z.length - 4, Math.floor(z.length / 2), 12]) {
      const out = await read(z.subarray(0, end), { matcher });
      expect(out).toMatchObject({
        status: 'quarantined',
        compressed: true,
        reason: 'truncated gzip: unexpected end of file',
      });
      expect(out).not.toHaveProperty('usage');
    }
  });

  it('quarantines corrupt gzip', async () => {
    const z = gzip(text);
    const flipped = Buffer.from(z);
    flipped.writeUInt8(flipped.readUInt8(Math.floor(z.length / 2)) ^ 0xff, Math.floor(z.length / 2));
    const crc = Buffer.from(z);
    crc.writeUInt8(crc.readUInt8(z.length - 6) ^ 0x01, z.length - 6);
    const method = Buffer.from(z);
    method[2] = 7;
    for (const bad of [flipped, crc, method, Buffer.concat([z, Buffer.from('trailing garbage')])]) {
      const out = await read(bad, { matcher });
      expect(out).toMatchObject({ status: 'quarantined', compressed: true });
      expect(out.status === 'quarantined' && out.reason).toMatch(/^corrupt gzip: /);
    }
  });

  it('quarantines a decompression bomb made of a valid repeated line, and stops reading', async () => {
    const line = `${jl(rec({ app_id: 'bomb' }))}\n`;
    const z = gzip(line.repeat(Math.ceil((48 * 1024 * 1024) / line.length)));
    let pulled = 0;
    async function* slowly() {
      for (let i = 0; i < z.length; i += 512) {
        pulled += Math.min(512, z.length - i);
        yield z.subarray(i, i + 512);
      }
    }
    const out = await readLogObject(slowly(), { limits: { ratioCheckAfterBytes: 1024 * 1024 } });
    expect(out).toMatchObject({
      status: 'quarantined',
      compressed: true,
      reason: 'suspected decompression bomb: compression ratio above 200:1',
    });
    expect(out).not.toHaveProperty('usage');
    expect(pulled).toBeLessThan(z.length / 4);
  });

  it('quarantines more than maxDecompressedBytes', async () => {
    const z = gzip(`${jl(rec())}\n`.repeat(5000));
    const out = await read(z, { limits: { maxDecompressedBytes: 100 * 1024 } });
    expect(out).toMatchObject({
      status: 'quarantined',
      reason: 'suspected decompression bomb: more than 100 KiB decompressed',
    });
  });

  it('does not check the ratio before ratioCheckAfterBytes (a small, very compressible log is fine)', async () => {
    const z = gzip(`${jl(rec())}\n`.repeat(5000));
    const out = ingested(await read(z));
    expect(out.counted).toBe(5000);
    expect(DEFAULT_LIMITS).toEqual({
      maxLineBytes: 1_048_576,
      maxDecompressedBytes: 8 * 1024 ** 3,
      maxCompressionRatio: 200,
      ratioCheckAfterBytes: 16 * 1024 ** 2,
    });
  });

  it('an empty gzip member is an empty object', async () => {
    expect(await read(gzip(''))).toEqual({
      status: 'empty',
      format: null,
      compressed: true,
      lines: 0,
      counted: 0,
      rejected: 0,
      rejects: [],
      usage: [],
    });
  });
});

describe('quarantine', () => {
  it('binary content: the NUL byte offset is named, nothing counts', async () => {
    const good = `${jl(rec())}\n`;
    const data = Buffer.concat([Buffer.from(good.repeat(3)), Buffer.from([0x41, 0x00, 0x42, 0x0a])]);
    for (const chunking of ['whole', 1, 5] as const) {
      const out = await read(data, {}, chunking);
      expect(out).toEqual({
        status: 'quarantined',
        reason: `binary content: NUL byte at offset ${good.length * 3 + 1}`,
        compressed: false,
        lines: 3,
      });
    }
    const zipped = await read(gzip(data));
    expect(zipped).toMatchObject({
      status: 'quarantined',
      compressed: true,
      reason: expect.stringMatching(/^binary/),
    });
  });

  it('a PNG is binary', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    expect(await read(png)).toMatchObject({
      status: 'quarantined',
      reason: 'binary content: NUL byte at offset 8',
    });
  });

  it('unrecognised format', async () => {
    const out = await read('hello world\nthis is prose\nnot a log\n');
    expect(out).toMatchObject({ status: 'quarantined', lines: 3 });
    expect(out.status === 'quarantined' && out.reason).toMatch(/^unrecognised format: line 1 is neither/);
  });

  it('a CSV header without a required column is unrecognised and says which', async () => {
    const out = await read('timestamp,app_id,endpoint\n2026-11-27T10:00:00Z,a,GET /x\n');
    expect(out.status === 'quarantined' && out.reason).toMatch(/^unrecognised format: .*without status/);
  });

  it('a duplicate CSV column', async () => {
    const out = await read(
      'timestamp,app_id,endpoint,status,Status\n2026-11-27T10:00:00Z,a,GET /x,200,201\n',
    );
    expect(out).toMatchObject({ status: 'quarantined', reason: 'CSV header: duplicate column "status"' });
  });

  it('a sum over 2^53 − 1', async () => {
    const max = Number.MAX_SAFE_INTEGER;
    const one = await read(`${jl(rec({ records: max }))}\n`);
    expect(ingested(one).usage[0]?.records).toBe(max);
    const two = await read(`${jl(rec({ records: max }))}\n${jl(rec({ records: 1 }))}\n`);
    expect(two).toMatchObject({
      status: 'quarantined',
      reason: 'usage overflow: records of app app-1 on 2026-11-27 exceed 2^53−1',
    });
    const bytesOver = await read(`${jl(rec({ bytes: max }))}\n${jl(rec({ bytes: max }))}\n`);
    expect(bytesOver.status === 'quarantined' && bytesOver.reason).toMatch(/^usage overflow: bytes/);
  });
});

describe('format detection', () => {
  it('a bad first line followed by JSON lines: JSON Lines, the first line rejected', async () => {
    const out = ingested(await read(`not json at all\n\n${jl(rec())}\n`));
    expect(out).toMatchObject({ format: 'jsonl', counted: 1, lines: 3 });
    expect(out.rejects).toEqual([{ line: 1, reason: expect.stringMatching(/^invalid JSON/) }]);
  });

  it('looks ahead only about 64 KiB for a JSON line', async () => {
    const prose = 'lorem ipsum dolor sit amet\n'.repeat(3000); // ~80 KiB
    const out = await read(`${prose}${jl(rec())}\n`);
    expect(out).toMatchObject({
      status: 'quarantined',
      reason: expect.stringMatching(/^unrecognised format/),
    });
    const near = ingested(await read(`${'lorem ipsum\n'.repeat(100)}${jl(rec())}\n`));
    expect(near).toMatchObject({ counted: 1, rejected: 100 });
  });

  it('CSV header: any order, extra columns, spaces and case, BOM, CRLF', async () => {
    const text =
      '\uFEFF Status ,endpoint,extra,TIMESTAMP,app_id\r\n200,GET /a,zz,2026-11-27T10:00:00Z,app-1\r\n\r\n404,GET /b,,1795767302600,app-2\r\n';
    const out = ingested(await read(text));
    expect(out).toMatchObject({ format: 'csv', counted: 2, rejected: 0, lines: 4 });
    expect(out.usage.map((u) => [u.app, u.day, u.requests, u.records, u.bytes, u.errors])).toEqual([
      ['app-1', '2026-11-27', 1, 0, 0, 0],
      ['app-2', '2026-11-27', 1, 0, 0, 1],
    ]);
  });

  it('an over-long first line starting with { means JSON Lines', async () => {
    const long = `{"x":"${'a'.repeat(300)}"}`;
    const out = ingested(await read(`${long}\n${jl(rec())}\n`, { limits: { maxLineBytes: 150 } }, 64));
    expect(out).toMatchObject({
      format: 'jsonl',
      counted: 1,
      rejects: [{ line: 1, reason: 'line exceeds 150 bytes' }],
    });
  });
});

describe('empty objects', () => {
  const empty = (lines: number) => ({
    status: 'empty',
    format: null,
    compressed: false,
    lines,
    counted: 0,
    rejected: 0,
    rejects: [],
    usage: [],
  });
  it('0 bytes, BOM only, blank lines only', async () => {
    expect(await readLogObject(source([]))).toEqual(empty(0));
    expect(await read('')).toEqual(empty(0));
    expect(await read('\uFEFF')).toEqual(empty(1));
    expect(await read('\uFEFF\n\r\n  \n\t\n')).toEqual(empty(4));
  });
  it('a CSV header alone is ingested with nothing counted', async () => {
    expect(await read('timestamp,app_id,endpoint,status\n')).toMatchObject({
      status: 'ingested',
      format: 'csv',
      counted: 0,
      usage: [],
    });
  });
});

describe('lines', () => {
  it('CRLF, BOM, blank lines: ignored but numbered; a last line without a line break counts', async () => {
    const text = `\uFEFF${jl(rec())}\r\n\r\n   \r\nbad\r\n\n${jl(rec({ records: 5 }))}\r\n${jl(rec({ status: 'x' }))}\n${jl(rec({ records: 2 }))}`;
    const out = ingested(await read(text));
    expect(out).toMatchObject({ lines: 8, counted: 3, rejected: 2 });
    expect(out.rejects.map((r) => r.line)).toEqual([4, 7]);
    expect(out.usage[0]?.records).toBe(8);
  });

  it('a BOM only counts at the very start', async () => {
    const out = ingested(await read(`${jl(rec())}\n\uFEFF${jl(rec())}\n`));
    expect(out.rejects).toEqual([{ line: 2, reason: expect.stringMatching(/^invalid JSON/) }]);
  });

  it('a 2 MiB line is rejected and the lines after it count', async () => {
    const huge = `{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`;
    const text = `${jl(rec())}\n${huge}\n${jl(rec())}\n${huge}`;
    for (const chunking of ['whole', 997, 65536] as const) {
      const out = ingested(await read(text, {}, chunking));
      expect(out).toMatchObject({ lines: 4, counted: 2 });
      expect(out.rejects).toEqual([
        { line: 2, reason: 'line exceeds 1 MiB' },
        { line: 4, reason: 'line exceeds 1 MiB' },
      ]);
    }
  });

  it('maxLineBytes is exact and excludes the line break', async () => {
    const line = jl(rec({ request_id: '' }));
    const limits = { maxLineBytes: line.length };
    const longer = jl(rec({ request_id: 'x' }));
    for (const eol of ['\n', '\r\n']) {
      for (const chunking of ['whole', 1, 3] as const) {
        const out = ingested(await read(`${line}${eol}${longer}${eol}${line}`, { limits }, chunking));
        expect(out.rejects).toEqual([{ line: 2, reason: `line exceeds ${line.length} bytes` }]);
        expect(out.counted).toBe(2);
      }
    }
  });

  it('a BOM does not count toward the length of the first line', async () => {
    const line = jl(rec());
    const limits = { maxLineBytes: line.length };
    for (const chunking of ['whole', 1, 2, line.length + 3] as const) {
      const out = ingested(await read(`\uFEFF${line}\r\n${line}`, { limits }, chunking));
      expect(out).toMatchObject({ counted: 2, rejected: 0 });
    }
  });

  it('invalid UTF-8 rejects the line only', async () => {
    const good = Buffer.from(`${jl(rec({ endpoint: 'GET /ünï' }))}\n`);
    const bad = [
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]),
      Buffer.concat([Buffer.from('{"endpoint":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}\n')]),
      Buffer.concat([Buffer.from('{"endpoint":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}\n')]),
    ];
    const data = Buffer.concat([good, bad[0] as Buffer, good, bad[1] as Buffer, bad[2] as Buffer, good]);
    for (const chunking of ['whole', 1, 4] as const) {
      const out = ingested(await read(data, {}, chunking));
      expect(out.counted).toBe(3);
      expect(out.rejects).toEqual([
        { line: 2, reason: 'invalid UTF-8' },
        { line: 4, reason: 'invalid UTF-8' },
        { line: 5, reason: 'invalid UTF-8' },
      ]);
      expect(Object.keys(out.usage[0]?.endpoints ?? {})).toEqual(['GET /ünï']);
    }
  });

  it('accepts plain Uint8Array chunks', async () => {
    const data = fixture('logs-sample.jsonl');
    const chunks = cut(data, 10).map((b) => new Uint8Array(b));
    const out = ingested(await readLogObject(source(chunks), { matcher }));
    expect(out.usage).toEqual(SAMPLE_JSONL_USAGE);
  });

  it('a failing source rejects with its error (to be retried), plain or gzip', async () => {
    const boom = new Error('connection reset');
    for (const head of [Buffer.from(`${jl(rec())}\n`), gzip(`${jl(rec())}\n`).subarray(0, 20)]) {
      async function* failing() {
        yield head;
        throw boom;
      }
      await expect(readLogObject(failing())).rejects.toBe(boom);
    }
  });
});

describe('JSON records', () => {
  const reasonOf = async (o: Record<string, unknown> | string): Promise<string | undefined> => {
    const line = typeof o === 'string' ? o : jl(o);
    const out = ingested(await read(`${jl(rec())}\n${line}\n`));
    return out.rejects[0]?.reason;
  };

  it.each([
    [rec({ app_id: undefined }), 'missing field app_id'],
    [rec({ app_id: null }), 'missing field app_id'],
    [rec({ timestamp: undefined }), 'missing field timestamp'],
    [rec({ endpoint: undefined }), 'missing field endpoint'],
    [rec({ status: undefined }), 'missing field status'],
    [rec({ status: '200' }), 'status: expected an integer 100–599, got "200" (string)'],
    [rec({ status: 99 }), 'status: expected an integer 100–599, got 99'],
    [rec({ status: 600 }), 'status: expected an integer 100–599, got 600'],
    [rec({ status: 200.5 }), 'status: expected an integer 100–599, got 200.5'],
    [rec({ status: true }), 'status: expected an integer 100–599, got true (boolean)'],
    [rec({ records: '5' }), 'records: expected an integer 0–9007199254740991, got "5" (string)'],
    [rec({ records: -1 }), 'records: expected an integer 0–9007199254740991, got -1'],
    [rec({ records: 2 ** 53 }), 'records: expected an integer 0–9007199254740991, got 9007199254740992'],
    [rec({ bytes: 1.5 }), 'bytes: expected an integer 0–9007199254740991, got 1.5'],
    [rec({ bytes: [1] }), 'bytes: expected an integer 0–9007199254740991, got an array'],
    [rec({ app_id: 'a b' }), 'app_id: expected 1–128 characters of A–Z a–z 0–9 . _ : -, got "a b"'],
    [rec({ app_id: '' }), 'app_id: expected 1–128 characters of A–Z a–z 0–9 . _ : -, got ""'],
    [rec({ app_id: 'a'.repeat(129) }), expect.stringMatching(/^app_id: expected 1–128/)],
    [rec({ app_id: 7 }), 'app_id: expected a string, got 7'],
    [rec({ endpoint: '' }), 'endpoint: empty'],
    [rec({ endpoint: 'x'.repeat(2049) }), 'endpoint: longer than 2048 characters'],
    [rec({ endpoint: { a: 1 } }), 'endpoint: expected a string, got an object'],
    [rec({ client_ip: '999.1.1.1' }), 'client_ip: expected an IPv4 or IPv6 address, got "999.1.1.1"'],
    [rec({ client_ip: '10.1' }), 'client_ip: expected an IPv4 or IPv6 address, got "10.1"'],
    [rec({ client_ip: 'fe80::1%eth0' }), 'client_ip: expected an IPv4 or IPv6 address, got "fe80::1%eth0"'],
    [rec({ client_ip: 17 }), 'client_ip: expected an IPv4 or IPv6 address, got 17'],
    [rec({ on_behalf_of: 5 }), 'on_behalf_of: expected a string, got 5'],
    [rec({ on_behalf_of: 'o'.repeat(257) }), 'on_behalf_of: longer than 256 characters'],
    [rec({ request_id: 12 }), 'request_id: expected a string, got 12'],
    [rec({ timestamp: '2026-02-30T10:00:00Z' }), 'timestamp: impossible date 2026-02-30'],
    [rec({ timestamp: '2026-13-01T10:00:00Z' }), 'timestamp: impossible date 2026-13-01'],
    [rec({ timestamp: '2100-02-29T10:00:00Z' }), 'timestamp: impossible date 2100-02-29'],
    [rec({ timestamp: '2026-11-27T25:00:00Z' }), 'timestamp: impossible time 25:00:00'],
    [rec({ timestamp: '2026-11-27T23:60:00Z' }), 'timestamp: impossible time 23:60:00'],
    [rec({ timestamp: '2026-11-27T10:00:00+24:00' }), 'timestamp: impossible zone offset +24:00'],
    [rec({ timestamp: '2026-11-27T10:00:00' }), 'timestamp: no time zone in "2026-11-27T10:00:00"'],
    [
      rec({ timestamp: '27/11/2026 10:00' }),
      expect.stringMatching(/^timestamp: expected ISO-8601 with a zone/),
    ],
    [
      rec({ timestamp: '2026-11-27T10:00Z' }),
      expect.stringMatching(/^timestamp: expected ISO-8601 with a zone/),
    ],
    [rec({ timestamp: 1.5 }), 'timestamp: epoch milliseconds must be an integer, got 1.5'],
    [rec({ timestamp: 9e15 }), 'timestamp: epoch milliseconds out of range, got 9000000000000000'],
    [
      rec({ timestamp: '1795767302600' }),
      expect.stringMatching(/^timestamp: epoch milliseconds must be a JSON number/),
    ],
    [
      rec({ timestamp: false }),
      'timestamp: expected an ISO-8601 string or epoch milliseconds, got false (boolean)',
    ],
    ['[1,2]', 'expected a JSON object, got an array'],
    ['null', 'expected a JSON object, got null'],
    ['"text"', 'expected a JSON object, got "text" (string)'],
    ['{"timestamp": ', 'invalid JSON: Unexpected end of JSON input'],
    ['\u0001', "invalid JSON: Unexpected token '\\u0001'"],
  ])('rejects %j: %s', async (line, reason) => {
    expect(await reasonOf(line as Record<string, unknown> | string)).toEqual(reason);
  });

  it('null optional fields are absent, unknown fields ignored, records/bytes default to 0', async () => {
    const out = ingested(
      await read(
        `${jl(rec({ records: null, bytes: undefined, client_ip: null, on_behalf_of: null, request_id: null, x: { y: 1 } }))}\n`,
        { matcher },
      ),
    );
    expect(out.usage).toEqual([
      {
        app: 'app-1',
        day: '2026-11-27',
        ...counts(1, 0, 0, 0),
        endpoints: { 'GET /2/users/by': counts(1, 0, 0, 0) },
        categories: {},
      },
    ]);
  });

  it('accepts the edges: app_id of 128, endpoint of 2048, status 100 and 599, 2^53−1', async () => {
    const lines = [
      rec({ app_id: 'A'.repeat(128) }),
      rec({ endpoint: 'e'.repeat(2048) }),
      rec({ status: 100 }),
      rec({ status: 599, bytes: Number.MAX_SAFE_INTEGER, app_id: 'max' }),
      rec({ app_id: 'a.b_c:d-E9' }),
    ];
    const out = ingested(await read(lines.map(jl).join('\n')));
    expect(out).toMatchObject({ counted: 5, rejected: 0 });
  });
});

describe('timestamps and usage days', () => {
  const dayOf = async (timestamp: unknown): Promise<string | undefined> => {
    const out = ingested(await read(jl(rec({ timestamp }))));
    if (out.rejects.length > 0) throw new Error(out.rejects[0]?.reason);
    return out.usage[0]?.day;
  };
  it.each([
    ['2026-11-27T08:15:02.114Z', '2026-11-27'],
    ['2026-11-27t08:15:02z', '2026-11-27'],
    ['2026-11-27 08:15:02Z', '2026-11-27'],
    ['2026-11-27T00:30:00+01:00', '2026-11-26'],
    ['2026-11-27T00:30:00+0100', '2026-11-26'],
    ['2026-11-26T23:30:00-02:00', '2026-11-27'],
    ['2026-11-26T23:30:00.123456789-0200', '2026-11-27'],
    ['2026-12-31T23:59:59.999-00:01', '2027-01-01'],
    ['2024-02-29T12:00:00Z', '2024-02-29'],
    ['2000-02-29T12:00:00Z', '2000-02-29'],
    ['1969-12-31T23:59:59Z', '1969-12-31'],
    [1795767302600, '2026-11-27'],
    [0, '1970-01-01'],
    [-1, '1969-12-31'],
    [1795737600000, '2026-11-27'],
    [1795737599999, '2026-11-26'],
  ])('%j is on %s', async (ts, day) => {
    expect(await dayOf(ts)).toBe(day);
  });
});

describe('CSV', () => {
  const header = 'timestamp,app_id,endpoint,status,records,bytes,client_ip,on_behalf_of,request_id';

  it('RFC 4180 quoting: commas, escaped quotes, line breaks; record line = its first line', async () => {
    const text = [
      header,
      '2026-11-27T10:00:00Z,app-1,"GET /2/users/by?ids=1,2",200,1,10,,,r1',
      '2026-11-27T10:00:00Z,app-1,"GET /say ""hi""",200,2,20,,,r2',
      '2026-11-27T10:00:00Z,app-1,"GET /multi',
      '',
      'line",200,3,30,,,"r',
      '3"',
      'bad,row',
      '"2026-11-27T10:00:00Z","app-1","GET /q",404,"4","40","","",""',
    ].join('\r\n');
    for (const chunking of ['whole', 1, 7] as const) {
      const out = ingested(await read(text, {}, chunking));
      expect(out).toMatchObject({ format: 'csv', lines: 9, counted: 4 });
      expect(out.rejects).toEqual([{ line: 8, reason: 'expected 9 fields, got 2' }]);
      expect(out.usage[0]?.endpoints).toEqual({
        'GET /2/users/by?ids=1,2': counts(1, 1, 10, 0),
        'GET /multi\n\nline': counts(1, 3, 30, 0),
        'GET /q': counts(1, 4, 40, 1),
        'GET /say "hi"': counts(1, 2, 20, 0),
      });
    }
  });

  it('empty values are absent fields; digits are epoch milliseconds', async () => {
    const text = [
      header,
      '1795767302600,app-1,GET /a,200,,,,,',
      ',app-1,GET /a,200,,,,,',
      '2026-11-27T10:00:00Z,,GET /a,200,,,,,',
      '2026-11-27T10:00:00Z,app-1,,200,,,,,',
      '2026-11-27T10:00:00Z,app-1,GET /a,,,,,,',
    ].join('\n');
    const out = ingested(await read(text));
    expect(out.usage).toEqual([
      {
        app: 'app-1',
        day: '2026-11-27',
        ...counts(1, 0, 0, 0),
        endpoints: { 'GET /a': counts(1, 0, 0, 0) },
        categories: {},
      },
    ]);
    expect(out.rejects).toEqual([
      { line: 3, reason: 'missing field timestamp' },
      { line: 4, reason: 'missing field app_id' },
      { line: 5, reason: 'missing field endpoint' },
      { line: 6, reason: 'missing field status' },
    ]);
  });

  it.each([
    ['2026-11-27T10:00:00Z,app-1,GET /a,200.0,1,1,,,', 'status: expected an integer 100–599, got "200.0"'],
    ['2026-11-27T10:00:00Z,app-1,GET /a, 200,1,1,,,', 'status: expected an integer 100–599, got " 200"'],
    [
      '2026-11-27T10:00:00Z,app-1,GET /a,200,-1,1,,,',
      'records: expected an integer 0–9007199254740991, got "-1"',
    ],
    [
      '2026-11-27T10:00:00Z,app-1,GET /a,200,1,9007199254740992,,,',
      expect.stringMatching(/^bytes: expected/),
    ],
    [
      '2026-11-27T10:00:00Z,app-1,GET /a,200,1,1,1.2.3,,',
      'client_ip: expected an IPv4 or IPv6 address, got "1.2.3"',
    ],
    ['2026-02-29T10:00:00Z,app-1,GET /a,200,1,1,,,', 'timestamp: impossible date 2026-02-29'],
    ['2026-11-27T10:00:00Z,app-1,GET /a,200,1,1,,,,', 'expected 9 fields, got 10'],
    ['2026-11-27T10:00:00Z,app-1,GET /a,200,1,1', 'expected 9 fields, got 6'],
    [
      '"2026-11-27T10:00:00Z"x,app-1,GET /a,200,1,1,,,',
      'malformed CSV: text after the closing quote of field 1',
    ],
  ])('rejects %j: %s', async (row, reason) => {
    const out = ingested(await read(`${header}\n${row}\n`));
    expect(out.rejects).toEqual([{ line: 2, reason }]);
  });

  it('an unterminated quoted field at the end is rejected at its first line', async () => {
    const out = ingested(await read(`${header}\n2026-11-27T10:00:00Z,app-1,"GET /a,200,1,1,,,\nmore\n`));
    expect(out.rejects).toEqual([{ line: 2, reason: 'malformed CSV: unterminated quoted field' }]);
    expect(out.lines).toBe(3);
  });

  it('an unterminated quoted field stops at maxLineBytes and reading resumes after', async () => {
    const row = '2026-11-27T10:00:00Z,app-1,GET /a,200,1,1,,,';
    const text = `${header}\n2026-11-27T10:00:00Z,app-1,"GET /a\n${'filler line\n'.repeat(20)}${row}\n`;
    const out = ingested(await read(text, { limits: { maxLineBytes: 150 } }));
    // The record is cut where it passes the limit; the lines after the cut are read as records again.
    expect(out.rejects[0]).toEqual({
      line: 2,
      reason: 'CSV record exceeds 150 bytes (unterminated quoted field?)',
    });
    expect(out.rejects.slice(1).every((r) => r.reason === 'expected 9 fields, got 1')).toBe(true);
    expect(out.rejects.length).toBeLessThan(21);
    expect(out.counted).toBe(1);
  });

  it('a bare quote inside an unquoted field is taken literally', async () => {
    const out = ingested(await read(`${header}\n2026-11-27T10:00:00Z,app-1,GET /a"b,200,1,1,,,\n`));
    expect(Object.keys(out.usage[0]?.endpoints ?? {})).toEqual(['GET /a"b']);
  });

  it('IPv6 and IPv4-mapped addresses in CSV', async () => {
    const rows = [
      '2026-11-27T10:00:00Z,app-1,GET /a,200,1,1,2001:db8:a001::17,,',
      '2026-11-27T10:00:00Z,app-1,GET /a,200,2,1,::ffff:198.51.100.9,,',
      '2026-11-27T10:00:00Z,app-1,GET /a,200,4,1,2001:db8:b::1,,',
      '2026-11-27T10:00:00Z,app-1,GET /a,200,8,1,::ffff:192.0.2.200,acme-brokerage,',
    ];
    const out = ingested(await read(`${header}\n${rows.join('\n')}\n`, { matcher }));
    expect(out.usage[0]?.categories).toEqual({
      'data-broker': { requests: 1, records: 8, orgs: { 'acme-brokerage': { requests: 1, records: 8 } } },
      government: { requests: 2, records: 3, orgs: {} },
    });
  });
});

describe('aggregation', () => {
  it('per app × UTC day, per endpoint, errors are status ≥ 400; sorted output and keys', async () => {
    const lines = [
      rec({ app_id: 'zeta', endpoint: 'GET /b', status: 399, records: 1, bytes: 1 }),
      rec({
        app_id: 'alpha',
        endpoint: 'GET /z',
        status: 400,
        records: 2,
        bytes: 2,
        timestamp: '2026-11-28T00:00:00Z',
      }),
      rec({ app_id: 'alpha', endpoint: 'GET /a', status: 500, records: 4, bytes: 4 }),
      rec({ app_id: 'alpha', endpoint: 'GET /z', status: 200, records: 8, bytes: 8 }),
      rec({ app_id: 'alpha', endpoint: 'GET /a', status: 599, records: 16, bytes: 16 }),
    ];
    const out = ingested(await read(lines.map(jl).join('\n')));
    expect(out.usage.map((u) => `${u.app}/${u.day}`)).toEqual([
      'alpha/2026-11-27',
      'alpha/2026-11-28',
      'zeta/2026-11-27',
    ]);
    const alpha = out.usage[0] as DayUsage;
    expect(alpha).toMatchObject({ requests: 3, records: 28, bytes: 28, errors: 2 });
    expect(JSON.stringify(alpha.endpoints)).toBe(
      JSON.stringify({ 'GET /a': counts(2, 20, 20, 2), 'GET /z': counts(1, 8, 8, 0) }),
    );
    expect(out.usage[2]).toMatchObject({ requests: 1, errors: 0 });
  });

  it('categories by address and organisation, with the on_behalf_of breakdown', async () => {
    const lines = [
      // government by address, no organisation: totals only
      rec({ client_ip: '198.51.100.1', records: 1 }),
      // government by address, declared for a broker organisation: in both categories, with orgs
      rec({ client_ip: '198.51.100.2', on_behalf_of: 'acme-brokerage', records: 2 }),
      // no address, government organisation
      rec({ on_behalf_of: 'dept-of-examples', records: 4 }),
      // a neutral address on behalf of an unknown organisation: no category
      rec({ client_ip: '203.0.113.5', on_behalf_of: 'someone', records: 8 }),
      // data-broker by IPv6-mapped address, declared for an unknown organisation
      rec({ client_ip: '::FFFF:192.0.2.129', on_behalf_of: 'someone', records: 16 }),
      // government by IPv6 range and by organisation: counted once
      rec({
        client_ip: '2001:db8:afff:ffff:ffff:ffff:ffff:ffff',
        on_behalf_of: 'example-agency',
        records: 32,
      }),
      // just outside the IPv6 range
      rec({ client_ip: '2001:db8:b000::', records: 64 }),
    ];
    const out = ingested(await read(lines.map(jl).join('\n'), { matcher }));
    const categories = out.usage[0]?.categories;
    expect(categories).toEqual({
      'data-broker': {
        requests: 2,
        records: 18,
        orgs: { 'acme-brokerage': { requests: 1, records: 2 }, someone: { requests: 1, records: 16 } },
      },
      government: {
        requests: 4,
        records: 39,
        orgs: {
          'acme-brokerage': { requests: 1, records: 2 },
          'dept-of-examples': { requests: 1, records: 4 },
          'example-agency': { requests: 1, records: 32 },
        },
      },
    });
    expect(JSON.stringify(Object.keys(categories ?? {}))).toBe('["data-broker","government"]');
    expect(out.usage[0]?.requests).toBe(7);
  });

  it('an endpoint or organisation named __proto__ is an ordinary key', async () => {
    const out = ingested(
      await read(jl(rec({ endpoint: '__proto__', on_behalf_of: '__proto__', client_ip: '198.51.100.1' })), {
        matcher,
      }),
    );
    const u = out.usage[0] as DayUsage;
    expect(Object.keys(u.endpoints)).toEqual(['__proto__']);
    expect(
      Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(u)).endpoints, '__proto__')?.value,
    ).toEqual(counts(1, 1, 10, 0));
    expect(Object.keys(u.categories.government?.orgs ?? {})).toEqual(['__proto__']);
  });
});

describe('chunk boundaries', () => {
  const rich = Buffer.concat([
    Buffer.from(`\uFEFF${jl(rec({ endpoint: 'GET /ünïcødé/😀' }))}\r\n\r\n`),
    Buffer.from(`${jl(rec({ client_ip: '2001:db8:a001::17', on_behalf_of: 'acme-brokerage' }))}\n`),
    Buffer.from([0x7b, 0xff, 0x7d, 0x0a]),
    Buffer.from(`{"pad":"${'p'.repeat(400)}"}\n`),
    Buffer.from(`${jl(rec({ timestamp: '2026-11-27T00:30:00+01:00' }))}\nnot json\n`),
    Buffer.from(jl(rec({ timestamp: 1795767302600, records: 7 }))),
  ]);
  const limits = { maxLineBytes: 300 };

  it('1-byte, fixed and random chunks give the same outcome (plain and gzip)', async () => {
    const whole = await read(rich, { matcher, limits });
    expect(ingested(whole)).toMatchObject({ counted: 4, rejected: 3, lines: 8 });
    for (const chunking of [1, 2, 3, 5, 64, 299, 300, 301]) {
      expect(await read(rich, { matcher, limits }, chunking)).toEqual(whole);
    }
    const zWhole = await read(gzip(rich), { matcher, limits });
    expect({ ...zWhole, compressed: false }).toEqual(whole);
    expect(await read(gzip(rich), { matcher, limits }, 1)).toEqual(zWhole);
  });

  it('random cuts (seeded)', async () => {
    const whole = await read(rich, { matcher, limits });
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 50; round++) {
      const offsets = Array.from({ length: 1 + Math.floor(rand() * 40) }, () =>
        Math.floor(rand() * rich.length),
      );
      expect(await read(rich, { matcher, limits }, offsets)).toEqual(whole);
    }
  });
});

describe('formatBytes', () => {
  it('names round sizes', () => {
    expect([1_048_576, 8 * 1024 ** 3, 64 * 1024, 100, 1_048_577].map(formatBytes)).toEqual([
      '1 MiB',
      '8 GiB',
      '64 KiB',
      '100 bytes',
      '1048577 bytes',
    ]);
  });
});

describe('bytes helper sanity', () => {
  it('cut() keeps all bytes', () => {
    const b = bytes('abcdefghij');
    expect(Buffer.concat(cut(b, [3, 3, 0, 10, 7])).equals(b)).toBe(true);
    expect(cut(b, 4).map((c) => c.length)).toEqual([4, 4, 2]);
  });
});
