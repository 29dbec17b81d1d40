import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../functions/core/audit/rules.ts';
import { startLocalStack } from '../../functions/local/stack.ts';
import { CONTROL_TABLE } from '../../functions/shared/resources.ts';
import { runAuditor } from '../support/cli.ts';

/** Each test runs several child processes, each a few seconds on a busy machine. */
const SLOW = 300_000;
const dir = mkdtempSync(join(tmpdir(), 'auditor-lifecycle-'));
const dataDir = join(dir, 'state');
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

const auditor = (args: string[]) => runAuditor(dataDir, args);

/** The control table's lifecycle items (read between commands: the data dir has one user at a time). */
async function storedChanges(): Promise<Record<string, unknown>[]> {
  const stack = await startLocalStack({ dataDir, logLevel: 'SILENT' });
  try {
    const out = await DynamoDBDocumentClient.from(stack.dynamo).send(
      new QueryCommand({
        TableName: stack.env[CONTROL_TABLE.env],
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'LIFECYCLE' },
      }),
    );
    return out.Items ?? [];
  } finally {
    await stack.stop();
  }
}

async function findings(): Promise<Finding[]> {
  return JSON.parse((await auditor(['findings', '--date', '2026-11-27', '--json'])).stdout).findings;
}

let byRule: (rule: string, licensee?: string) => Finding;

beforeAll(async () => {
  expect((await auditor(['agreements', 'load', fixture('agreements.yaml')])).code).toBe(0);
  expect((await auditor(['recipients', 'load', fixture('recipients.yaml')])).code).toBe(0);
  const logs = join(dir, 'drops');
  mkdirSync(logs, { recursive: true });
  copyFileSync(fixture('logs-sample.jsonl'), join(logs, 'a.jsonl'));
  copyFileSync(fixture('logs-sample.csv'), join(logs, 'b.csv'));
  expect((await auditor(['upload', logs])).code).toBe(0);
  expect((await auditor(['audit', '--date', '2026-11-27'])).code).toBe(0);
  const all = await findings();
  byRule = (rule, licensee = 'northwind') => {
    const f = all.find((x) => x.rule === rule && x.licensee === licensee);
    if (!f) throw new Error(`no ${rule} finding for ${licensee}`);
    return f;
  };
}, SLOW);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('auditor findings ack|dispute|waive|resolve', () => {
  it(
    'refuses an unknown finding id and an invalid request in one line, exit 1, storing nothing',
    async () => {
      const id = byRule('unpaid_usage').finding_id;
      const refused = [
        [
          ['findings', 'ack', '0123456789abcdef0123', '--note', 'x'],
          'auditor: unknown finding id "0123456789abcdef0123": no finding of the newest 1 report(s) has it; nothing was stored',
        ],
        [
          ['findings', 'waive', id, '--note', 'x', '--until', '2026-11-26'],
          'auditor: --until: 2026-11-26 is before the report date 2026-11-27 the waiver is made on; nothing was stored',
        ],
        [
          ['findings', 'dispute', id, '--note', ' '],
          'auditor: --note: expected some text; nothing was stored',
        ],
      ] as const;
      for (const [args, line] of refused) {
        const r = await auditor([...args]);
        expect([r.code, r.stderr]).toEqual([1, `${line}\n`]);
      }
      // --until goes only with waive; --note is required (commander's own one-line errors).
      const until = await auditor(['findings', 'ack', id, '--note', 'x', '--until', '2026-12-31']);
      expect([until.code, until.stderr.split('\n')[0]]).toEqual([1, "error: unknown option '--until'"]);
      const noNote = await auditor(['findings', 'resolve', id]);
      expect([noNote.code, noNote.stderr.split('\n')[0]]).toEqual([
        1,
        "error: required option '--note <text>' not specified",
      ]);
      expect(await storedChanges()).toEqual([]);
    },
    SLOW,
  );

  it(
    'records a change with who and when, and refuses an invalid transition',
    async () => {
      const unpaid = byRule('unpaid_usage');
      const ack = await auditor([
        'findings',
        'ack',
        unpaid.finding_id,
        '--note',
        'finance is on it',
        '--json',
      ]);
      expect(ack.code).toBe(0);
      const result = JSON.parse(ack.stdout);
      expect(result).toMatchObject({
        finding_id: unpaid.finding_id,
        licensee: 'northwind',
        rule: 'unpaid_usage',
        change: {
          seq: 1,
          action: 'ack',
          state: 'acknowledged',
          note: 'finance is on it',
          until: null,
          by: userInfo().username,
        },
        reports: { from: '2026-11-27', to: '2026-11-27' },
      });
      // The same action again is not a transition.
      const again = await auditor(['findings', 'ack', unpaid.finding_id, '--note', 'again']);
      expect([again.code, again.stderr]).toEqual([
        1,
        `auditor: finding ${unpaid.finding_id} is acknowledged (report 2026-11-27): cannot ack it; allowed: dispute, waive, resolve; nothing was stored\n`,
      ]);
      const endpoint = byRule('unauthorized_endpoint');
      const waive = await auditor([
        'findings',
        'waive',
        endpoint.finding_id,
        '--note',
        'endpoint added by contract',
        '--until',
        '2026-12-31',
      ]);
      expect(waive.stdout).toMatch(
        new RegExp(
          `^finding ${endpoint.finding_id} \\(unauthorized_endpoint, northwind\\) is now waived until 2026-12-31; recorded by .+ at 20\\d\\d-.+Z\\. The reports of 2026-11-27 show it once audited again`,
        ),
      );
      const prohibited = byRule('prohibited_recipient');
      expect(
        (await auditor(['findings', 'resolve', prohibited.finding_id, '--note', 'client removed'])).code,
      ).toBe(0);
      const resolvedAgain = await auditor(['findings', 'dispute', prohibited.finding_id, '--note', 'x']);
      expect(resolvedAgain.stderr).toContain(
        'cannot dispute it; a resolved finding reopens by itself when it comes back',
      );

      const stored = await storedChanges();
      expect(stored.map((i) => [i.sk, i.action, i.by])).toEqual(
        [
          [`${endpoint.finding_id}#000001`, 'waive', userInfo().username],
          [`${prohibited.finding_id}#000001`, 'resolve', userInfo().username],
          [`${unpaid.finding_id}#000001`, 'ack', userInfo().username],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
    },
    SLOW,
  );

  it(
    'a change reaches findings.jsonl, report.html and the verified chain with the next audit of the date',
    async () => {
      const [unpaid, endpoint, prohibited] = [
        'unpaid_usage',
        'unauthorized_endpoint',
        'prohibited_recipient',
      ].map((r) => byRule(r));
      if (!unpaid || !endpoint || !prohibited) throw new Error('fixture findings missing');
      // Not in the report until it is audited again; then in findings.jsonl (and --json), report.html, and verified.
      expect((await findings()).some((f) => f.lifecycle)).toBe(false);
      expect((await auditor(['audit', '--date', '2026-11-27'])).code).toBe(0);
      const after = await findings();
      expect(after.find((f) => f.finding_id === unpaid.finding_id)?.lifecycle).toMatchObject({
        state: 'acknowledged',
        until: null,
        history: [{ seq: 1, action: 'ack', note: 'finance is on it', report_date: '2026-11-27' }],
      });
      expect(after.find((f) => f.finding_id === endpoint.finding_id)?.lifecycle).toMatchObject({
        state: 'waived',
        until: '2026-12-31',
      });
      expect(after.find((f) => f.finding_id === prohibited.finding_id)?.lifecycle?.state).toBe('resolved');
      expect(after.filter((f) => f.lifecycle).length).toBe(3);
      const show = await auditor(['reports', 'show', '--date', '2026-11-27']);
      const html = readFileSync(join(dataDir, 'exports', 'date=2026-11-27', 'report.html'), 'utf8');
      expect(show.code).toBe(0);
      expect(html).toContain('data-state="waived"');
      expect(html).toContain('waived until 2026-12-31');
      expect((await auditor(['reports', 'verify'])).stdout).toMatch(/1 report\(s\) verified/);
    },
    SLOW,
  );
});

describe('auditor statement', () => {
  it(
    'writes the licensee’s statement as HTML and CSV, with nothing of the other licensee',
    async () => {
      const out = join(dir, 'statements');
      const r = await auditor(['statement', 'northwind', '--month', '2026-11', '--out', out, '--json']);
      expect(r.code).toBe(0);
      const { statement } = JSON.parse(r.stdout);
      expect(statement).toMatchObject({
        licensee: 'northwind',
        month: '2026-11',
        through: '2026-11-27',
        complete: false,
      });
      const html = readFileSync(join(out, 'statement-northwind-2026-11.html'), 'utf8');
      const csv = readFileSync(join(out, 'statement-northwind-2026-11.csv'), 'utf8');
      expect(statement.html).toBe(join(out, 'statement-northwind-2026-11.html'));
      for (const s of ['fabrikam', 'Fabrikam', 'fab-lab', 'unregistered-bot']) {
        expect(html).not.toContain(s);
        expect(csv).not.toContain(s);
      }
      expect(csv).toMatch(/\r\nfinding,[0-9a-f]{20},unpaid_usage,high,.*,acknowledged,,/);
      // The lifecycle note is internal: the statement shows the state only.
      expect(csv).not.toContain('finance is on it');
      expect(html).not.toContain('finance is on it');
      expect(html).toContain('Northwind Analytics');
    },
    SLOW,
  );

  it(
    'says what is wrong in one line',
    async () => {
      for (const [args, line] of [
        [
          ['statement', 'northwind', '--month', '2026-13'],
          'auditor: --month: expected a month YYYY-MM, got "2026-13"',
        ],
        [
          ['statement', 'umbrella', '--month', '2026-11'],
          'auditor: licensee "umbrella" is not in the report of 2026-11-27',
        ],
        [
          ['statement', 'northwind', '--month', '2026-10'],
          'auditor: no report of 2026-10 yet: run `auditor audit` first',
        ],
        [
          ['statement', 'North wind', '--month', '2026-11'],
          'auditor: licensee: expected a licensee id, got "North wind"',
        ],
      ] as const) {
        const r = await auditor([...args]);
        expect([r.code, r.stderr]).toEqual([1, `${line}\n`]);
      }
    },
    SLOW,
  );
});
