/**
 * `auditor evidence FINDING_ID` against the embedded local stack (s3rver), as a child process per
 * run: log objects put in the log bucket (one plain, one gzip), a report whose finding carries
 * line references into them (written through the reports port, as the audit would), then the
 * command: every line ok (exit 0); the plain object overwritten (changed, exit 1); the gzip object
 * deleted (missing, exit 1). s3rver has no versioning, so the generations are ETags, as ingest
 * records them for an unversioned bucket; version ids (a deployed stack's versioned bucket) are
 * covered at unit level (test/unit/cli/evidence.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { ReportStore } from '../../functions/adapters/report-store.ts';
import { generationOf } from '../../functions/cli/context.ts';
import type { EvidenceLineRef } from '../../functions/cli/evidence-lines.ts';
import { lineSha256 } from '../../functions/core/evidence.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.ts';

/** Each test runs child processes, each a few seconds on a busy machine. */
const SLOW = 300_000;
const BIN = fileURLToPath(new URL('../../bin/auditor.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'auditor-evidence-'));
const dataDir = join(dir, 'state');
const DATE = '2026-11-27';
const FINDING = '5fd6b772316ead7a93d7';

const logLine = (n: number, endpoint: string) =>
  JSON.stringify({
    timestamp: `2026-11-27T08:15:0${n}.000Z`,
    app_id: 'nw-search',
    endpoint,
    status: 200,
    records: 10,
    bytes: 100,
    request_id: `r-${n}`,
  });
// A line with a raw escape sequence (JSON would escape it; a hostile log line need not).
const HOSTILE = logLine(2, 'GET /2/ESC').replace('ESC', '\u001b]0;pwned\u0007\u001b[2J');
const PLAIN = [logLine(1, 'GET /2/a'), HOSTILE, logLine(3, 'GET /2/c')];
const GZ = [logLine(4, 'GET /2/d'), logLine(5, 'GET /2/e')];
const PLAIN_KEY = 'logs/2026/11/27/a.jsonl';
const GZ_KEY = 'logs/2026/11/27/b.jsonl.gz';

async function auditor(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { ...process.env, AUDITOR_DATA_DIR: dataDir },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs `fn` on the local stack (the data dir has one user at a time: stopped before the CLI runs). */
async function withStack<T>(fn: (stack: LocalStack) => Promise<T>): Promise<T> {
  const stack = await startLocalStack({ dataDir, logLevel: 'SILENT' });
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}

const put = (stack: LocalStack, key: string, body: string | Uint8Array) =>
  stack.s3.send(new PutObjectCommand({ Bucket: stack.logBucket, Key: key, Body: body }));

const ref = (key: string, gen: string, line: number, text: string): EvidenceLineRef => {
  const b = Buffer.from(text);
  return {
    key,
    gen,
    line,
    request_id: /"request_id":"([^"]+)"/.exec(text)?.[1] ?? null,
    sha256: lineSha256(b, 0, b.length),
  };
};

let refs: EvidenceLineRef[];

beforeAll(async () => {
  await withStack(async (stack) => {
    const plain = await put(stack, PLAIN_KEY, `${PLAIN.join('\r\n')}\r\n`);
    const gz = await put(stack, GZ_KEY, gzipSync(`\uFEFF${GZ.join('\n')}`));
    // The local log bucket is not versioned: ingest records the ETag as the generation.
    expect([plain.VersionId, gz.VersionId]).toEqual([undefined, undefined]);
    const [plainGen, gzGen] = [generationOf(plain), generationOf(gz)];
    expect(plainGen).toMatch(/^[0-9a-f]{32}$/);
    refs = [
      ref(PLAIN_KEY, plainGen, 2, PLAIN[1] as string),
      ref(GZ_KEY, gzGen, 1, GZ[0] as string),
      ref(PLAIN_KEY, plainGen, 3, PLAIN[2] as string),
      ref(GZ_KEY, gzGen, 2, GZ[1] as string),
    ];
    const finding = {
      report_date: DATE,
      finding_id: FINDING,
      licensee: 'northwind',
      rule: 'unauthorized_endpoint',
      evidence: { sources: [], source_count: 0, truncated: false, lines: refs },
    };
    const other = {
      report_date: DATE,
      finding_id: '0123456789abcdef0123',
      rule: 'unpaid_usage',
      evidence: {},
    };
    const reports = new ReportStore(new S3Objects(stack.s3), stack.reportsBucket);
    await reports.write(DATE, [
      {
        name: 'findings.jsonl',
        body: `${JSON.stringify(finding)}\n${JSON.stringify(other)}\n`,
        contentType: 'application/x-ndjson',
      },
    ]);
    await reports.setLatest(DATE);
  });
}, SLOW);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface JsonLine extends EvidenceLineRef {
  status: string;
  text: string | null;
}

describe('auditor evidence (child process, embedded stack)', () => {
  it(
    'every line checks: exit 0, a terminal-safe table; --json gives each ref with status and exact text',
    async () => {
      const table = await auditor(['evidence', FINDING]);
      expect([table.code, table.stderr]).toEqual([0, '']);
      expect(table.stdout.split('\n')[0]).toBe(
        `finding ${FINDING} (unauthorized_endpoint, report ${DATE}): 4 lines from 2 objects: 4 ok`,
      );
      expect(table.stdout).not.toContain('\u001b');
      expect(table.stdout).toContain('"endpoint":"GET /2/\\x1b]0;pwned\\x07\\x1b[2J"');

      const json = await auditor(['evidence', FINDING, '--date', DATE, '--json']);
      expect(json.code).toBe(0);
      const out = JSON.parse(json.stdout) as { finding_id: string; lines: JsonLine[] };
      expect(out.finding_id).toBe(FINDING);
      expect(out.lines.map(({ status, text, ...r }) => [r, status, text])).toEqual(
        refs.map((r, i) => [{ ...r, reason: null }, 'ok', [PLAIN[1], GZ[0], PLAIN[2], GZ[1]][i]]),
      );
    },
    SLOW,
  );

  it(
    'an unknown finding id, or one without line references: one line, exit 1',
    async () => {
      const unknown = await auditor(['evidence', 'ffffffffffffffffffff']);
      expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([
        1,
        '',
        `auditor: unknown finding id "ffffffffffffffffffff": the report of ${DATE} has no such finding\n`,
      ]);
      const none = await auditor(['evidence', '0123456789abcdef0123']);
      expect([none.code, none.stderr]).toEqual([
        1,
        `auditor: finding 0123456789abcdef0123 (unpaid_usage, report ${DATE}) has no request-level evidence: ` +
          'only findings of prohibited_recipient, unauthorized_endpoint, unknown_app carry log line references\n',
      ]);
    },
    SLOW,
  );

  it(
    'an overwritten object: its lines are changed; a deleted one: missing; exit 1 naming how many',
    async () => {
      await withStack(async (stack) => {
        // Same lines, one byte more: a new ETag, so what ingest read is gone.
        await put(stack, PLAIN_KEY, `${PLAIN.join('\r\n')}\r\n\r\n`);
      });
      const changed = await auditor(['evidence', FINDING, '--json']);
      expect([changed.code, changed.stderr]).toEqual([
        1,
        `auditor: finding ${FINDING}: 2 of 4 evidence lines no longer check (2 changed)\n`,
      ]);
      expect((JSON.parse(changed.stdout).lines as JsonLine[]).map((l) => l.status)).toEqual([
        'changed',
        'ok',
        'changed',
        'ok',
      ]);

      await withStack(async (stack) => {
        await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.logBucket, Key: GZ_KEY }));
      });
      const missing = await auditor(['evidence', FINDING]);
      expect([missing.code, missing.stderr]).toEqual([
        1,
        `auditor: finding ${FINDING}: 4 of 4 evidence lines no longer check (2 changed, 2 missing)\n`,
      ]);
      expect(missing.stdout).toContain(`${GZ_KEY} line 1: missing: the object no longer exists`);
      expect(missing.stdout).toMatch(
        new RegExp(
          `${PLAIN_KEY.replace(/\./g, '\\.')} line 2: changed: the object was overwritten since it was read: its ETag is now [0-9a-f]{32}`,
        ),
      );
    },
    SLOW,
  );
});
