import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { S3Objects } from '../../functions/adapters/object-store.ts';
import { reportKey } from '../../functions/adapters/report-store.ts';
import { startLocalStack } from '../../functions/local/stack.ts';
import { CONTROL_TABLE } from '../../functions/shared/resources.ts';
import { runAuditor } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'auditor-cli-'));
const dataDir = join(dir, 'state');

const auditor = (args: string[], env: Record<string, string> = {}) => runAuditor(dataDir, args, env);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('auditor (child process, embedded stack)', () => {
  it('refuses an invalid agreements file whole, naming every error by its path, and stores nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        '- licensee: okay-one',
        '  apps: [a1]',
        '  term: { start: 2026-01-01, end: 2026-12-31 }',
        '- licensee: Bad_Id',
        '  apps: [a2]',
        '  term: { start: 2026-01-01, end: 2026-02-30 }',
        '  quotas: { monthly_records: -5 }',
      ].join('\n'),
    );
    const r = await auditor(['agreements', 'load', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^auditor: .*bad\.yaml: refused, nothing was stored \(3 errors\)/);
    expect(r.stderr).toContain('[1].licensee: expected a licensee id');
    expect(r.stderr).toContain('[1].term.end: expected a date YYYY-MM-DD');
    expect(r.stderr).toContain('[1].quotas.monthly_records: expected a non-negative integer');
    expect(r.stderr).not.toContain('NodeVersionSupportWarning');
    const list = await auditor(['agreements', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual({ agreements: [] });
  });

  it('loads agreements and a registry, uploads logs and prints usage as SPEC §6 says', async () => {
    const agreements = fileURLToPath(new URL('../fixtures/agreements.yaml', import.meta.url));
    const recipients = fileURLToPath(new URL('../fixtures/recipients.yaml', import.meta.url));
    expect((await auditor(['agreements', 'load', agreements])).stdout).toMatch(
      /loaded 2 agreement\(s\): northwind, fabrikam/,
    );
    expect((await auditor(['recipients', 'load', recipients])).code).toBe(0);

    const logs = join(dir, 'drops', 'nov 27+a');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(logs, { recursive: true });
    copyFileSync(
      fileURLToPath(new URL('../fixtures/logs-sample.jsonl', import.meta.url)),
      join(logs, 'a.jsonl'),
    );
    copyFileSync(fileURLToPath(new URL('../fixtures/logs-sample.csv', import.meta.url)), join(logs, 'b.csv'));
    const up = await auditor(['upload', join(dir, 'drops'), '--json']);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).uploads).toEqual([
      expect.objectContaining({
        key: 'logs/nov 27+a/a.jsonl',
        outcome: 'ingested',
        lines: 7,
        counted: 5,
        rejected: 2,
        // Rejected lines per reason class (issue 8), most first.
        reject_reasons: [
          { reason: 'invalid JSON', lines: 1 },
          { reason: 'missing field app_id', lines: 1 },
        ],
      }),
      expect.objectContaining({ key: 'logs/nov 27+a/b.csv', outcome: 'ingested', counted: 3, rejected: 0 }),
    ]);
    const again = await auditor(['upload', join(dir, 'drops'), '--json']);
    expect(JSON.parse(again.stdout).uploads.map((u: { outcome: string }) => u.outcome)).toEqual([
      'duplicate',
      'duplicate',
    ]);

    const usage = await auditor([
      'usage',
      '--licensee',
      'northwind',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-30',
      '--json',
    ]);
    const rows = JSON.parse(usage.stdout).usage as Record<string, unknown>[];
    expect(rows.map((r) => r.app_id)).toEqual([
      'nw-ads',
      'nw-copilot',
      'nw-feed',
      'nw-maps',
      'nw-search',
      'nw-trends',
    ]);
    expect(rows.find((r) => r.app_id === 'nw-copilot')).toMatchObject({
      date: '2026-11-27',
      requests: 1,
      records: 500,
      bytes: 240500,
      errors: 0,
      categories: { government: { requests: 1, records: 500 } },
    });
    expect(rows.find((r) => r.app_id === 'nw-feed')).toMatchObject({
      date: '2026-11-27',
      requests: 1,
      errors: 1,
    });
    const table = await auditor(['usage', '--app', 'nw-maps', '--from', '2026-11-27', '--to', '2026-11-27']);
    expect(table.stdout).toMatch(/nw-maps\s*│\s*2026-11-27\s*│\s*1\s*│\s*80\s*│\s*39,001/);
  });

  it('audits, lists, shows and filters findings, and verify catches a changed byte', async () => {
    const audit = await auditor(['audit', '--date', '2026-11-27', '--json']);
    expect(JSON.parse(audit.stdout).reports).toEqual([
      { date: '2026-11-27', findings: expect.any(Number), written: true },
    ]);
    const findings = JSON.parse(
      (await auditor(['findings', '--rule', 'unknown_app', '--json'])).stdout,
    ).findings;
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'unknown_app',
        licensee: null,
        subject: 'unregistered-bot',
        observed: 1,
      }),
    ]);
    const show = await auditor(['reports', 'show', '--json']);
    expect(JSON.parse(show.stdout).report_date).toBe('2026-11-27');
    expect((await auditor(['reports', 'verify'])).stdout).toMatch(/1 report\(s\) verified/);

    // Change one byte of findings.csv behind the tool's back.
    const stack = await startLocalStack({ dataDir, logLevel: 'SILENT' });
    try {
      const key = reportKey('2026-11-27', 'findings.csv');
      const csv = Buffer.from((await new S3Objects(stack.s3).getText(stack.reportsBucket, key)) ?? '');
      const at = csv.indexOf('unknown_app');
      expect(at).toBeGreaterThan(0);
      csv[at] = 'U'.charCodeAt(0); // one byte: unknown_app → Unknown_app
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.reportsBucket, Key: key, Body: csv }));
    } finally {
      await stack.stop();
    }
    const verify = await auditor(['reports', 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('2026-11-27: findings.csv: sha256 does not match the manifest');
    expect(verify.stderr.trim()).toBe('auditor: verification failed');
  });

  it('says what is wrong in one line: a bad date, a missing file, no reports yet', async () => {
    const r1 = await auditor(['usage', '--from', '2026-02-30']);
    expect([r1.code, r1.stderr.trim()]).toEqual([
      1,
      'auditor: --from: expected a date YYYY-MM-DD, got "2026-02-30"',
    ]);
    const r2 = await auditor(['upload', join(dir, 'nope.jsonl')]);
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim()).toMatch(/^auditor: .*nope\.jsonl: no such file or folder$/);
    const r3 = await auditor(['findings'], { AUDITOR_DATA_DIR: join(dir, 'empty') });
    expect([r3.code, r3.stderr.trim()]).toEqual([1, 'auditor: no reports yet: run `auditor audit` first']);
  });

  it('prints log-derived strings terminal safe: no raw ESC, BEL or bidi override; --json stays exact (issue 8 #11)', async () => {
    const env = { AUDITOR_DATA_DIR: join(dir, 'esc-state') };
    const agreements = fileURLToPath(new URL('../fixtures/agreements.yaml', import.meta.url));
    expect((await auditor(['agreements', 'load', agreements], env)).code).toBe(0);
    const evil = '\u001b]0;pwned\u0007\u001b[2J\u202eevil\u009b31m';
    const logs = join(dir, 'esc-logs');
    mkdirSync(logs, { recursive: true });
    writeFileSync(
      join(logs, 'evil.jsonl'),
      `${JSON.stringify({ timestamp: '2026-11-27T08:00:00Z', app_id: 'nw-search', endpoint: evil, status: 200, records: 1, bytes: 1 })}\n`,
    );
    expect((await auditor(['upload', logs], env)).code).toBe(0);
    expect((await auditor(['audit', '--date', '2026-11-27'], env)).code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for raw control characters.
    const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    for (const args of [['findings'], ['reports', 'show']]) {
      const r = await auditor(args, env);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(raw);
      expect(r.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\u202eevil\\x9b31m');
    }
    const json = JSON.parse(
      (await auditor(['findings', '--rule', 'unauthorized_endpoint', '--json'], env)).stdout,
    );
    expect(json.findings.map((f: { subject: string }) => f.subject)).toContain(evil);
  });

  it('refuses upload keys and prefixes that would leave the data dir, writing nothing (issue 8 #12)', async () => {
    const base = join(dir, 'keys');
    const env = { AUDITOR_DATA_DIR: join(base, 'a', 'b', 'state') };
    const src = join(base, 'src');
    mkdirSync(src, { recursive: true });
    const file = join(src, 'x.jsonl');
    writeFileSync(
      file,
      '{"timestamp":"2026-11-27T08:00:00Z","app_id":"a1","endpoint":"GET /x","status":200}\n',
    );
    const outside = (): string[] =>
      readdirSync(base, { recursive: true, withFileTypes: true })
        .map((e) => relative(base, join(e.parentPath, e.name)))
        .filter((p) => !p.startsWith(join('a', 'b', 'state')))
        .sort();
    const odd = join(src, 'odd');
    mkdirSync(odd);
    writeFileSync(join(odd, 'bad\u001b[2Jname.jsonl'), '');
    expect((await auditor(['usage'], env)).code).toBe(0); // creates the data dir
    const before = outside();
    for (const [prefix, problem] of [
      ['../..', 'has a ".." segment'],
      ['../../../../..', 'has a ".." segment'],
      ['a/./b', 'has a "." segment'],
      ['a//b', 'has an empty segment'],
      ['/etc', 'starts with "/"'],
      ['a\\b', 'holds a backslash'],
      ['a\u001b[2Jb', 'holds a control character'],
    ] as const) {
      const r = await auditor(['upload', '--prefix', prefix, file], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(problem);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toContain('\u001b');
    }
    // A file whose own name is unsafe (and would print an ESC in the error) is refused too.
    const r = await auditor(['upload', odd], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\\x1b\[2Jname\.jsonl.*holds a control character; nothing was uploaded/);
    expect(r.stderr).not.toContain('\u001b');
    expect(outside()).toEqual(before);

    // Keys that reach s3rver another way (any S3 client) are refused by the local stack itself.
    const stack = await startLocalStack({ dataDir: env.AUDITOR_DATA_DIR, logLevel: 'SILENT' });
    try {
      for (const Key of ['logs/../../../../../escape.txt', '../escape.txt', 'logs/./x', 'logs//x']) {
        await expect(
          stack.s3.send(new PutObjectCommand({ Bucket: stack.logBucket, Key, Body: 'x' })),
        ).rejects.toThrow();
        await expect(stack.s3.send(new GetObjectCommand({ Bucket: stack.logBucket, Key }))).rejects.toThrow();
      }
      await stack.drain();
    } finally {
      await stack.stop();
    }
    expect(outside()).toEqual(before);
  });

  it('strict loads (issue 11): an unknown prohibited category, and a registry dropping one unless --force', async () => {
    const env = { AUDITOR_DATA_DIR: join(dir, 'strict-state') };
    const recipients = fileURLToPath(new URL('../fixtures/recipients.yaml', import.meta.url));
    const agreements = fileURLToPath(new URL('../fixtures/agreements.yaml', import.meta.url));
    expect((await auditor(['recipients', 'load', recipients], env)).code).toBe(0);

    const typo = join(dir, 'typo.yaml');
    writeFileSync(
      typo,
      '- licensee: acme\n  apps: [a1]\n  term: { start: 2026-01-01, end: 2026-12-31 }\n  prohibited_recipients: [goverment]\n',
    );
    const r1 = await auditor(['agreements', 'load', typo], env);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^auditor: .*typo\.yaml: refused, nothing was stored \(1 error\)/);
    expect(r1.stderr).toContain(
      '[0].prohibited_recipients[0]: unknown recipient category "goverment" (the registry has: government, data-broker)',
    );
    expect(JSON.parse((await auditor(['agreements', 'list', '--json'], env)).stdout)).toEqual({
      agreements: [],
    });

    expect((await auditor(['agreements', 'load', agreements], env)).code).toBe(0); // northwind prohibits government
    const narrower = join(dir, 'narrower.yaml');
    writeFileSync(narrower, 'data-broker:\n  cidrs: [192.0.2.128/25]\n');
    const r2 = await auditor(['recipients', 'load', narrower], env);
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
    expect(r2.stderr.trim()).toMatch(
      /^auditor: .*narrower\.yaml: refused, nothing was stored: agreements still prohibit recipient categories this registry drops: northwind \(government\); fix those agreements first, or load it with --force$/,
    );

    const r3 = await auditor(['recipients', 'load', narrower, '--force'], env);
    expect(r3.code).toBe(0);
    expect(r3.stdout).toContain('loaded 1 recipient category: data-broker\n');
    const user = userInfo().username;
    const forced = r3.stdout.match(
      /^forced: agreements still prohibit categories this registry drops: northwind \(government\); recorded as forced by (.+) at (\S+) \(registry sha256 ([0-9a-f]{64})\)$/m,
    );
    expect(forced?.[1]).toBe(user);

    const stack = await startLocalStack({ dataDir: env.AUDITOR_DATA_DIR, logLevel: 'SILENT' });
    try {
      const out = await DynamoDBDocumentClient.from(stack.dynamo).send(
        new QueryCommand({
          TableName: stack.env[CONTROL_TABLE.env],
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'FORCED_REGISTRY' },
        }),
      );
      expect(out.Items).toEqual([
        {
          pk: 'FORCED_REGISTRY',
          sk: `${forced?.[2]}#${forced?.[3]}`,
          by: user,
          at: forced?.[2],
          dropped: [{ licensee: 'northwind', categories: ['government'] }],
          hash: forced?.[3],
        },
      ]);
    } finally {
      await stack.stop();
    }
  });
});
