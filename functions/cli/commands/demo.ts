/**
 * `auditor demo` (npm start): the whole story on the embedded stack. Loads the demo agreements and
 * recipients registry, generates about a month of logs with a violation of every rule planted in
 * it, uploads them through the normal S3 path, runs the nightly audit as the schedule would and
 * prints the findings and where report.html is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEMO_SCHEDULE_TIME, generateDemoLogs } from '../../demo/generate.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { fmt, writeLine } from '../output.ts';
import { loadAgreements } from './agreements.ts';
import { loadRecipients } from './recipients.ts';
import { showReport } from './reports.ts';
import { upload } from './upload.ts';

const demoFile = (name: string): string => fileURLToPath(new URL(`../../demo/${name}`, import.meta.url));

export async function demo(rt: Runtime): Promise<void> {
  const started = Date.now();
  const say = writeLine;

  const agreements = await loadAgreements(rt, demoFile('agreements.yaml'));
  say(
    `agreements: ${agreements.map((a) => `${a.licensee} (${a.apps.length} app${a.apps.length === 1 ? '' : 's'})`).join(', ')}`,
  );
  const registry = await loadRecipients(rt, demoFile('recipients.yaml'));
  say(`recipients registry: ${Object.keys(registry).join(', ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'auditor-demo-'));
  try {
    const files = generateDemoLogs(dir);
    say(
      `generated ${files.length} log files for 2026-11-01 … 2026-11-27; uploading to s3://${rt.logBucket}/logs/ …`,
    );
    const uploads = await upload(rt, [dir], {});
    const sum = (f: (u: (typeof uploads)[number]) => number) => uploads.reduce((n, u) => n + f(u), 0);
    const quarantined = uploads.filter((u) => u.status === 'quarantined');
    say(
      `ingested: ${fmt(sum((u) => u.counted))} lines counted, ${fmt(sum((u) => u.rejected))} rejected, ` +
        `${quarantined.length} object(s) quarantined${quarantined.map((q) => ` (${q.key}: ${q.reason})`).join('')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  say(`nightly audit, as scheduled at ${DEMO_SCHEDULE_TIME} …`);
  await rt.invokeAudit({
    source: 'usage-auditor.schedule',
    'detail-type': 'Scheduled Event',
    time: DEMO_SCHEDULE_TIME,
  });
  await showReport(rt, {});
  say(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s. Try: npx auditor findings --severity critical`,
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('demo')
    .description('the whole story end to end on generated data (npm start)')
    .action(() => run(demo));
}
