/**
 * The audit process of audit-scale.ts: `audit-child <date>` audits that date against the emulators
 * named by the environment and prints one JSON object with its time and peak RSS. audit-scale.ts
 * bundles this file as the stack bundles the audit function (esbuild, everything bundled) and runs
 * the bundle with plain node, so that the peak RSS is the audit's as deployed, without a
 * transpiler; `BENCH_AUDIT_RUNNER=tsx` runs the TypeScript through tsx instead.
 */
import { auditPlannedPart, planAudit } from '../../functions/audit/fan-out.ts';
import { joinDate, type PartOutcome } from '../../functions/audit/parts.ts';
import { type AuditDeps, auditDate } from '../../functions/audit/run-audit.ts';
import { auditDeps, createStores, processClients } from '../../functions/shared/compose.ts';
import { loadStoreConfig } from '../../functions/shared/config.ts';

/**
 * `date` split into parts of AUDIT_SCALE_PART_OBJECTS objects (audit/parts.ts), one after another:
 * the plan, each part and the join timed (the figures of README's fan-out section).
 */
async function auditParts(deps: AuditDeps, date: string, partObjects: number): Promise<void> {
  const p0 = performance.now();
  const plan = await planAudit({ ...deps, partObjects }, { kind: 'dates', dates: [date] });
  const planSeconds = (performance.now() - p0) / 1000;
  const parts = plan.dates[0]?.parts ?? [];
  const partSeconds: number[] = [];
  const outcomes: PartOutcome[] = [];
  for (const part of parts) {
    const t = performance.now();
    outcomes.push(await auditPlannedPart(deps, plan.run, date, part));
    partSeconds.push((performance.now() - t) / 1000);
  }
  const j0 = performance.now();
  const result = await joinDate(deps, plan.run, date, outcomes);
  const joinSeconds = (performance.now() - j0) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      partObjects,
      parts: parts.length,
      planSeconds,
      partSeconds,
      joinSeconds,
      findings: result.findings,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
  process.exit(0);
}

const date = process.argv[2];
if (!date) throw new Error('usage: audit-child <date>');
const stores = createStores(processClients(), loadStoreConfig());
const deps = { ...auditDeps(stores, { now: () => new Date('2026-11-01T02:00:00Z') }), trigger: 'bench' };
const partObjects = Number(process.env.AUDIT_SCALE_PART_OBJECTS ?? 0);
if (partObjects > 0) await auditParts(deps, date, partObjects);
const a0 = performance.now();
const c0 = process.cpuUsage();
const result = await auditDate(deps, date, []);
const auditSeconds = (performance.now() - a0) / 1000;
const cpu = process.cpuUsage(c0);
const peakRssMb = process.resourceUsage().maxRSS / 1024;
const report = await stores.reports.readFile(date, 'report.json');
const findingsJsonl = await stores.reports.readFile(date, 'findings.jsonl');
const longest = Math.max(...(findingsJsonl ?? '').split('\n').map((l) => Buffer.byteLength(l)));
process.stdout.write(
  `${JSON.stringify({
    auditSeconds,
    // The audit process's own CPU (user + system, every thread); the emulators run in the parent.
    auditCpuSeconds: (cpu.user + cpu.system) / 1e6,
    findings: result.findings,
    reportJsonKb: Buffer.byteLength(report ?? '') / 1024,
    longestFindingLine: longest,
    peakRssMb,
  })}\n`,
);
process.exit(0);
