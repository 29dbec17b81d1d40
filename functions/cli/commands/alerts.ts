/**
 * `auditor alerts [--date D] [--json]`: the finding events (and digests) recorded for a report
 * date (default: the latest report), read from the control table's outbox: what was published,
 * to which targets, and what is still pending.
 */
import type { Command } from 'commander';
import type { OutboxRow } from '../../audit/ports.ts';
import { compareStrings } from '../../core/support.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { printJson, printTable } from '../output.ts';
import { resolveDate } from './findings.ts';

export interface Alerts {
  date: string;
  events: OutboxRow[];
  digests: OutboxRow[];
}

export async function queryAlerts(rt: Runtime, opts: { date?: string }): Promise<Alerts> {
  const date = await resolveDate(rt, opts.date);
  const rows = (await rt.events.outbox(date.slice(0, 7))).filter((r) => r.report_date === date);
  const order = (a: OutboxRow, b: OutboxRow) =>
    compareStrings(a.recorded_at, b.recorded_at) || compareStrings(a.id, b.id);
  return {
    date,
    events: rows.filter((r) => r.kind === 'event').sort(order),
    digests: rows.filter((r) => r.kind === 'digest').sort(order),
  };
}

const num = (n: number | null | undefined): string => (n === null || n === undefined ? '' : String(n));

export function printAlerts(alerts: Alerts, json: boolean): void {
  if (json) {
    printJson({ date: alerts.date, events: alerts.events, digests: alerts.digests });
    return;
  }
  if (alerts.events.length === 0) {
    process.stdout.write(`no finding events for ${alerts.date}\n`);
    return;
  }
  printTable(
    ['event', 'severity', 'rule', 'licensee', 'subject', 'observed', 'was', 'event id', 'status'],
    alerts.events.map((r) => {
      const d = r.event?.detail;
      const f = d?.finding;
      return [
        r.event?.['detail-type'] ?? '',
        f?.severity ?? '',
        f?.rule ?? '',
        f?.licensee ?? '—',
        f?.subject ?? '',
        num(f?.observed),
        d?.previous ? `${d.previous.severity} ${num(d.previous.observed)}` : '',
        r.id,
        r.status === 'sent'
          ? `sent${r.sent_to.length ? ` (${r.sent_to.join(', ')})` : ''}`
          : r.status === 'rejected'
            ? `rejected (${(r.rejected_by ?? []).join(', ')})`
            : r.status,
      ];
    }),
    new Set([5]),
  );
  for (const g of alerts.digests)
    process.stdout.write(
      `digest ${g.id}: ${g.digest?.event_ids.length ?? 0} critical/high event(s), ${g.status}${
        g.sent_to.length ? ` (${g.sent_to.join(', ')})` : ''
      }\n`,
    );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('alerts')
    .description('finding events published for a report (default: the latest)')
    .option('--date <date>', 'report date')
    .option('--json', 'print JSON')
    .action(async (opts: { date?: string; json?: boolean }) => {
      printAlerts(await run((rt) => queryAlerts(rt, opts)), opts.json === true);
    });
}
