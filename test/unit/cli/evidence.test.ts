/**
 * `auditor evidence FINDING_ID` at unit level: the line check against fake object readers (a
 * versioned bucket's version ids and an unversioned one's ETags), the table's terminal safety and
 * bound, and the command's outcome (resolves: exit 0; throws: one line, exit 1) through commander
 * with a fake runtime. No network.
 */
import { gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { displayText, register, TEXT_BOUND } from '../../../functions/cli/commands/evidence.ts';
import type { Runtime } from '../../../functions/cli/context.ts';
import { CliError } from '../../../functions/cli/errors.ts';
import {
  ACCESS_DENIED_REASON,
  checkEvidenceLines,
  type EvidenceLineRef,
  isEtagGen,
  lineRefsOf,
} from '../../../functions/cli/evidence-lines.ts';
import { lineSha256 } from '../../../functions/core/evidence.ts';
import type { ObjectReader, OpenedObject } from '../../../functions/ingest/ports.ts';

const ETAG = '0123456789abcdef0123456789abcdef';
const VERSION = '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY';

const sha = (line: string): string => {
  const b = Buffer.from(line);
  return lineSha256(b, 0, b.length);
};

/** A fake log bucket: key → versions (newest last); each version's id, ETag and bytes. */
interface FakeVersion {
  versionId?: string;
  etag: string;
  body: Uint8Array;
  /** What S3 answers instead of the object (AccessDenied, InvalidArgument). */
  error?: Error;
}

const s3Error = (name: string, httpStatusCode: number): Error =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

class FakeBucket implements ObjectReader {
  readonly opens: { key: string; versionId: string | undefined }[] = [];
  aborted = 0;
  constructor(readonly objects: Map<string, FakeVersion[]>) {}

  async open(_bucket: string, key: string, versionId?: string): Promise<OpenedObject | undefined> {
    this.opens.push({ key, versionId });
    const versions = this.objects.get(key) ?? [];
    const v = versionId === undefined ? versions.at(-1) : versions.find((x) => x.versionId === versionId);
    if (!v) return undefined;
    if (v.error) throw v.error;
    const body = v.body;
    return {
      body: (async function* () {
        // Small chunks, so lines cross chunk boundaries.
        for (let i = 0; i < body.length; i += 7) yield body.subarray(i, i + 7);
      })(),
      etag: v.etag,
      versionId: v.versionId,
      lastModified: undefined,
      size: body.length,
      abort: () => {
        this.aborted++;
      },
    };
  }
}

const LINES = ['{"request_id":"r1","endpoint":"GET /a"}', '{"request_id":"r2"}', 'third line, no id'];
const CONTENT = Buffer.from(`\uFEFF${LINES[0]}\r\n${LINES[1]}\n${LINES[2]}\n`);

const ref = (
  line: number,
  gen: string,
  key = 'logs/a.jsonl',
  text = LINES[line - 1] as string,
): EvidenceLineRef => ({
  key,
  gen,
  line,
  request_id: `r${line}`,
  sha256: sha(text),
});

describe('checkEvidenceLines', () => {
  it('reads a version id by GetObject with VersionId, once per object, and checks every line (BOM, CRLF)', async () => {
    const bucket = new FakeBucket(
      new Map([
        [
          'logs/a.jsonl',
          [
            { versionId: VERSION, etag: ETAG, body: CONTENT },
            { versionId: 'newer', etag: 'f'.repeat(32), body: Buffer.from('overwritten\n') },
          ],
        ],
      ]),
    );
    const refs = [ref(3, VERSION), ref(1, VERSION), ref(2, VERSION)];
    const checked = await checkEvidenceLines(bucket, 'logs', refs);
    expect(checked.map((c) => [c.line, c.status, c.text, c.reason])).toEqual([
      [3, 'ok', LINES[2], null],
      [1, 'ok', LINES[0], null],
      [2, 'ok', LINES[1], null],
    ]);
    expect(checked[0]).toMatchObject(refs[0] as EvidenceLineRef);
    expect(bucket.opens).toEqual([{ key: 'logs/a.jsonl', versionId: VERSION }]);
  });

  it('reads gzip content the same way', async () => {
    const bucket = new FakeBucket(
      new Map([['logs/a.jsonl.gz', [{ versionId: VERSION, etag: ETAG, body: gzipSync(CONTENT) }]]]),
    );
    const checked = await checkEvidenceLines(bucket, 'logs', [ref(2, VERSION, 'logs/a.jsonl.gz')]);
    expect(checked.map((c) => c.status)).toEqual(['ok']);
  });

  it('a version that is gone, a line past the end and a line whose bytes differ', async () => {
    const bucket = new FakeBucket(
      new Map([['logs/a.jsonl', [{ versionId: VERSION, etag: ETAG, body: CONTENT }]]]),
    );
    const checked = await checkEvidenceLines(bucket, 'logs', [
      ref(1, 'gone-version'),
      ref(9, VERSION, 'logs/a.jsonl', 'nine'),
      ref(2, VERSION, 'logs/a.jsonl', '{"request_id":"r2","records":1}'),
    ]);
    expect(checked.map((c) => [c.status, c.text, c.reason])).toEqual([
      ['missing', null, 'version gone-version of the object no longer exists'],
      ['missing', null, 'the object has no line 9'],
      [
        'changed',
        LINES[1],
        `the line now hashes to ${sha(LINES[1] as string).slice(0, 16)}…, the evidence recorded ${sha('{"request_id":"r2","records":1}').slice(0, 16)}…`,
      ],
    ]);
  });

  it('an ETag (unversioned bucket): reads the current object while its ETag is that one, refuses it once overwritten', async () => {
    const objects = new Map([['logs/a.jsonl', [{ etag: ETAG, body: CONTENT }]]]);
    const bucket = new FakeBucket(objects);
    expect(
      (await checkEvidenceLines(bucket, 'logs', [ref(1, ETAG), ref(3, ETAG)])).map((c) => c.status),
    ).toEqual(['ok', 'ok']);
    expect(bucket.opens).toEqual([{ key: 'logs/a.jsonl', versionId: undefined }]);

    objects.set('logs/a.jsonl', [{ etag: 'e'.repeat(32), body: CONTENT }]);
    const overwritten = await checkEvidenceLines(bucket, 'logs', [ref(1, ETAG), ref(2, ETAG)]);
    expect(overwritten.map((c) => [c.status, c.text])).toEqual([
      ['changed', null],
      ['changed', null],
    ]);
    expect(overwritten[0]?.reason).toBe(
      `the object was overwritten since it was read: its ETag is now ${'e'.repeat(32)}, the evidence names ${ETAG} ` +
        '(the bucket is not versioned, so the content read then is gone); not read',
    );
    expect(bucket.aborted).toBe(1);

    objects.delete('logs/a.jsonl');
    expect((await checkEvidenceLines(bucket, 'logs', [ref(1, ETAG)]))[0]).toMatchObject({
      status: 'missing',
      text: null,
      reason: 'the object no longer exists',
    });
  });

  it('content that cannot be what ingest read (corrupt gzip, a NUL byte) is changed', async () => {
    const gz = gzipSync(CONTENT);
    const bucket = new FakeBucket(
      new Map([
        ['logs/bad.gz', [{ versionId: VERSION, etag: ETAG, body: gz.subarray(0, gz.length - 6) }]],
        ['logs/nul.jsonl', [{ versionId: VERSION, etag: ETAG, body: Buffer.from('a\u0000b\n') }]],
      ]),
    );
    const checked = await checkEvidenceLines(bucket, 'logs', [
      ref(3, VERSION, 'logs/bad.gz'),
      ref(4, VERSION, 'logs/bad.gz', 'past the end'),
      ref(1, VERSION, 'logs/nul.jsonl', 'a'),
    ]);
    expect(checked.map((c) => c.status)).toEqual(['changed', 'changed', 'changed']);
    expect(checked[0]?.reason).toMatch(/^the object cannot be what was read at ingest: truncated gzip/);
    expect(checked[2]?.reason).toMatch(/^the object cannot be what was read at ingest: binary content/);
  });

  it('a gzip object is read only up to the last wanted line (its cut trailer is not reached)', async () => {
    const gz = gzipSync(CONTENT);
    const bucket = new FakeBucket(
      new Map([['logs/a.gz', [{ versionId: VERSION, etag: ETAG, body: gz.subarray(0, gz.length - 6) }]]]),
    );
    const checked = await checkEvidenceLines(bucket, 'logs', [ref(1, VERSION, 'logs/a.gz')]);
    expect(checked.map((c) => c.status)).toEqual(['ok']);
  });

  it('a gzip object whose first chunks are empty or 1 byte is still read as gzip', async () => {
    const gz = gzipSync(CONTENT);
    const bucket = new FakeBucket(new Map());
    for (const chunks of [
      [gz.subarray(0, 1), gz.subarray(1)],
      [Buffer.alloc(0), gz],
    ]) {
      bucket.open = async () => ({
        body: (async function* () {
          yield* chunks;
        })(),
        etag: ETAG,
        versionId: VERSION,
        lastModified: undefined,
        size: gz.length,
        abort: () => {},
      });
      const checked = await checkEvidenceLines(bucket, 'logs', [ref(1, VERSION), ref(3, VERSION)]);
      expect(checked.map((c) => [c.status, c.text])).toEqual([
        ['ok', LINES[0]],
        ['ok', LINES[2]],
      ]);
    }
  });

  it('access denied (403: a missing permission, or without s3:ListBucket a deleted object) makes that object unreadable; the others are read', async () => {
    const bucket = new FakeBucket(
      new Map([
        [
          'logs/denied.jsonl',
          [{ versionId: VERSION, etag: ETAG, body: CONTENT, error: s3Error('AccessDenied', 403) }],
        ],
        ['logs/forbidden.jsonl', [{ etag: ETAG, body: CONTENT, error: s3Error('Forbidden', 403) }]],
        ['logs/a.jsonl', [{ versionId: VERSION, etag: ETAG, body: CONTENT }]],
      ]),
    );
    const checked = await checkEvidenceLines(bucket, 'logs', [
      ref(1, VERSION, 'logs/denied.jsonl'),
      ref(2, ETAG, 'logs/forbidden.jsonl'),
      ref(2, VERSION),
    ]);
    expect(checked.map((c) => [c.status, c.text, c.reason])).toEqual([
      ['unreadable', null, ACCESS_DENIED_REASON],
      ['unreadable', null, ACCESS_DENIED_REASON],
      ['ok', LINES[1], null],
    ]);
    expect(ACCESS_DENIED_REASON).toBe(
      'access denied: the object may be gone (without s3:ListBucket S3 answers a missing key with 403), ' +
        'or reading it needs s3:GetObject and s3:GetObjectVersion on the log bucket',
    );
  });

  it('a version id S3 cannot parse (InvalidArgument) is a missing version; other errors stop the command', async () => {
    const bucket = new FakeBucket(
      new Map([
        [
          'logs/a.jsonl',
          [{ versionId: 'not a version', etag: ETAG, body: CONTENT, error: s3Error('InvalidArgument', 400) }],
        ],
      ]),
    );
    expect((await checkEvidenceLines(bucket, 'logs', [ref(1, 'not a version')]))[0]).toMatchObject({
      status: 'missing',
      text: null,
      reason: 'version not a version of the object no longer exists',
    });
    bucket.objects.set('logs/a.jsonl', [
      { versionId: VERSION, etag: ETAG, body: CONTENT, error: s3Error('SlowDown', 503) },
    ]);
    await expect(checkEvidenceLines(bucket, 'logs', [ref(1, VERSION)])).rejects.toThrow('SlowDown');
  });

  it('a multipart ETag ("-N") as gen is compared, not read by version', async () => {
    const multipart = `${ETAG}-3`;
    const bucket = new FakeBucket(new Map([['logs/a.jsonl', [{ etag: multipart, body: CONTENT }]]]));
    const checked = await checkEvidenceLines(bucket, 'logs', [ref(1, multipart), ref(2, multipart)]);
    expect(checked.map((c) => c.status)).toEqual(['ok', 'ok']);
    expect(bucket.opens).toEqual([{ key: 'logs/a.jsonl', versionId: undefined }]);
    bucket.objects.set('logs/a.jsonl', [{ etag: `${ETAG}-4`, body: CONTENT }]);
    expect((await checkEvidenceLines(bucket, 'logs', [ref(1, multipart)]))[0]?.status).toBe('changed');
  });

  it('tells ETags from version ids', () => {
    expect(isEtagGen(ETAG)).toBe(true);
    expect(isEtagGen(`${ETAG}-12`)).toBe(true);
    expect(isEtagGen(VERSION)).toBe(false);
    expect(isEtagGen('null')).toBe(false);
  });
});

describe('lineRefsOf', () => {
  it('absent or empty: none; malformed: one error naming the finding', () => {
    expect(lineRefsOf({ finding_id: 'f', evidence: { sources: [] } })).toBeUndefined();
    expect(lineRefsOf({ finding_id: 'f', evidence: { lines: [] } })).toBeUndefined();
    const good = ref(1, VERSION);
    expect(lineRefsOf({ finding_id: 'f', evidence: { lines: [{ ...good, extra: 1 }] } })).toEqual([good]);
    for (const bad of [{ ...good, line: 0 }, { ...good, sha256: 'x' }, { ...good, request_id: 5 }, 'line'])
      expect(() => lineRefsOf({ finding_id: 'f', evidence: { lines: [bad] } })).toThrow(
        'finding f: evidence.lines is not a list of {key, gen, line, request_id, sha256}',
      );
  });
});

describe('displayText', () => {
  it('cuts at the bound with an ellipsis, never inside a surrogate pair', () => {
    expect(displayText(null)).toBe('—');
    expect(displayText('x'.repeat(TEXT_BOUND))).toBe('x'.repeat(TEXT_BOUND));
    expect(displayText('x'.repeat(TEXT_BOUND + 1))).toBe(`${'x'.repeat(TEXT_BOUND)}…`);
    expect(displayText('ab😀c', 3)).toBe('ab…');
    expect(displayText('abc😀', 3)).toBe('abc…');
  });
});

// ---------------------------------------------------------------------------------------------
// The command through commander, with a fake runtime.

const DATE = '2026-11-27';
const FINDING = 'aaaaaaaaaaaaaaaaaaaa';
const HOSTILE = '{"endpoint":"\u001b]0;pwned\u0007\u001b[2J","note":"\u202edrow"}';
const LONG = `{"pad":"${'y'.repeat(5000)}"}`;
const KEY = 'logs/evil\u001b[31m.jsonl';

function finding(id: string, rule: string, lines?: EvidenceLineRef[]) {
  return {
    finding_id: id,
    rule,
    evidence: { sources: [], source_count: 0, truncated: false, ...(lines ? { lines } : {}) },
  };
}

let stdout = '';
let objects: Map<string, FakeVersion[]>;
let findingsJsonl = '';

beforeEach(() => {
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  objects = new Map([
    [KEY, [{ versionId: VERSION, etag: ETAG, body: Buffer.from(`${HOSTILE}\n${LONG}\n`) }]],
  ]);
  findingsJsonl = [
    finding(FINDING, 'unauthorized_endpoint', [
      ref(1, VERSION, KEY, HOSTILE),
      { ...ref(2, VERSION, KEY, LONG), request_id: null },
    ]),
    finding('bbbbbbbbbbbbbbbbbbbb', 'unknown_app'),
    finding('cccccccccccccccccccc', 'unpaid_usage'),
  ]
    .map((f) => JSON.stringify(f))
    .join('\n');
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `auditor evidence …`: resolves (exit 0) or rejects with the error main.ts prints (exit 1). */
async function evidence(args: string[]): Promise<void> {
  const rt = {
    reports: {
      latest: async () => DATE,
      readFile: async (date: string, name: string) =>
        date === DATE && name === 'findings.jsonl' ? findingsJsonl : undefined,
    },
    objects: new FakeBucket(objects),
    logBucket: 'logs',
  } as unknown as Runtime;
  const program = new Command('auditor').exitOverride();
  register(program, { run: (fn) => fn(rt) as never });
  await program.parseAsync(['node', 'auditor', 'evidence', ...args]);
}

describe('auditor evidence', () => {
  it('every line ok: a table with key and text made terminal safe and the text cut; exit 0', async () => {
    await evidence([FINDING]);
    const out = stdout.split('\n');
    expect(out[0]).toBe(
      `finding ${FINDING} (unauthorized_endpoint, report ${DATE}): 2 lines from 1 object: 2 ok`,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may reach the terminal.
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(stdout).toContain('logs/evil\\x1b[31m.jsonl');
    expect(stdout).toContain('{"endpoint":"\\x1b]0;pwned\\x07\\x1b[2J","note":"\\u202edrow"}');
    expect(stdout).toContain(`${LONG.slice(0, TEXT_BOUND)}…`);
    expect(stdout).not.toContain(LONG.slice(0, TEXT_BOUND + 1));
    expect(stdout).toMatch(/│ +1 │ r1 +│ ok +│/);
    expect(stdout).toMatch(/│ +2 │ — +│ ok +│/);
  });

  it('--json prints the refs with status and the exact text', async () => {
    await evidence([FINDING, '--json', '--date', DATE]);
    const json = JSON.parse(stdout);
    expect(json.finding_id).toBe(FINDING);
    expect(json.lines).toEqual([
      { ...ref(1, VERSION, KEY, HOSTILE), status: 'ok', text: HOSTILE, reason: null },
      { ...ref(2, VERSION, KEY, LONG), request_id: null, status: 'ok', text: LONG, reason: null },
    ]);
  });

  it('a changed or missing line: printed with why, then exit 1 with one line counting them', async () => {
    objects.set(KEY, [{ versionId: VERSION, etag: ETAG, body: Buffer.from(`${HOSTILE} \n`) }]);
    await expect(evidence([FINDING])).rejects.toThrow(
      new CliError(`finding ${FINDING}: 2 of 2 evidence lines no longer check (1 changed, 1 missing)`),
    );
    expect(stdout).toContain('logs/evil\\x1b[31m.jsonl line 2: missing: the object has no line 2');
    expect(stdout).toMatch(
      /logs\/evil\\x1b\[31m\.jsonl line 1: changed: the line now hashes to [0-9a-f]{16}…/,
    );

    stdout = '';
    objects.clear();
    await expect(evidence([FINDING, '--json'])).rejects.toThrow(
      `finding ${FINDING}: 2 of 2 evidence lines no longer check (2 missing)`,
    );
    expect(JSON.parse(stdout).lines.map((l: { status: string }) => l.status)).toEqual(['missing', 'missing']);
  });

  it('an object S3 denies: its lines unreadable, the others still checked, exit 1 counting them', async () => {
    const other = 'logs/other.jsonl';
    objects.set(other, [
      { versionId: VERSION, etag: ETAG, body: Buffer.from('x\n'), error: s3Error('AccessDenied', 403) },
    ]);
    findingsJsonl = JSON.stringify(
      finding(FINDING, 'unknown_app', [ref(1, VERSION, KEY, HOSTILE), ref(1, VERSION, other, 'x')]),
    );
    await expect(evidence([FINDING])).rejects.toThrow(
      new CliError(`finding ${FINDING}: 1 of 2 evidence lines no longer check (1 unreadable)`),
    );
    expect(stdout.split('\n')[0]).toBe(
      `finding ${FINDING} (unknown_app, report ${DATE}): 2 lines from 2 objects: 1 ok, 1 unreadable`,
    );
    expect(stdout).toContain(`logs/other.jsonl line 1: unreadable: ${ACCESS_DENIED_REASON}`);
    expect(stdout).toMatch(/│ +1 │ r1 +│ unreadable +│ — +│/);
  });

  it('an unknown finding id or one without lines: one line, exit 1, nothing printed', async () => {
    await expect(evidence(['0123456789abcdef0123'])).rejects.toThrow(
      new CliError(`unknown finding id "0123456789abcdef0123": the report of ${DATE} has no such finding`),
    );
    await expect(evidence(['cccccccccccccccccccc'])).rejects.toThrow(
      new CliError(
        `finding cccccccccccccccccccc (unpaid_usage, report ${DATE}) has no request-level evidence: ` +
          'only findings of prohibited_recipient, unauthorized_endpoint, unknown_app carry log line references',
      ),
    );
    await expect(evidence(['bbbbbbbbbbbbbbbbbbbb'])).rejects.toThrow(
      /^finding bbbbbbbbbbbbbbbbbbbb \(unknown_app, report 2026-11-27\) has no request-level evidence: no line references were recorded for it: its lines may have been left out by the evidence bounds \(ingest holds at most 200,000 line references per object .*\), or the report predates line references$/,
    );
    await expect(evidence([FINDING, '--date', '2026-11-26'])).rejects.toThrow(
      new CliError('no report for 2026-11-26'),
    );
    expect(stdout).toBe('');
  });
});
