/**
 * Evidence files written before their manifest (functions/audit/pending-evidence.ts): a run that
 * fails between an evidence file and the date's manifest (a failed part, an S3 error) no longer
 * blocks every later run at Plan; the next run audits the date again and leaves a folder that
 * verifies clean. Real tampering of a listed evidence file is still refused; a date another run is
 * writing (it holds the date's lease) is left to it.
 */
import { describe, expect, it } from 'vitest';
import { auditInProcess, planAudit } from '../../../functions/audit/fan-out.ts';
import { auditPart } from '../../../functions/audit/parts.ts';
import type { ReportFileBody } from '../../../functions/audit/ports.ts';
import { auditDates, ChainMismatchError } from '../../../functions/audit/run-audit.ts';
import { PENDING_NOTE, verifyStoredReports } from '../../../functions/audit/verify-reports.ts';
import { checkReport } from '../../../functions/core/audit/chain.ts';
import { sha256Hex } from '../../../functions/core/audit/format.ts';
import type { PartPlan } from '../../../functions/core/audit-parts.ts';
import { PARTS_DATE, PARTS_NOW, partsWorld } from '../../support/parts-world.ts';

const nightly = { kind: 'nightly' as const, time: PARTS_NOW };
const once = { kind: 'dates' as const, dates: [PARTS_DATE] };
const GAMMA: PartPlan = { part: 2, of: 4, first: 'gamma', last: 'gamma' };

type World = ReturnType<typeof partsWorld>;

async function audited(opts: Parameters<typeof partsWorld>[0] = {}): Promise<World> {
  const w = partsWorld(opts);
  await auditInProcess(w.deps, once);
  return w;
}

/** A late object for gamma's app on the 3rd: gamma's findings' evidence changes. */
function addLateObject(w: World): void {
  const late = w.usage.rows.find((r) => r.app === 'ga-1' && r.day === '2026-11-03');
  if (!late) throw new Error('no row');
  w.usage.rows.push({ ...late, sources: [{ key: 'logs/late.jsonl', gen: 'g9' }] });
  w.usage.changed.set('2026-11-03', '2026-11-06T01:00:00.000Z');
}

/** Every problem of the date's folder against its anchor. */
async function problems(w: World, date = PARTS_DATE): Promise<string[]> {
  const anchor = (await w.control.anchors()).get(date);
  return checkReport(await w.reports.readAll(date), anchor === undefined ? {} : { anchor });
}

/** The folder an unbroken audit of the same usage writes. */
async function expectedFolder(): Promise<Map<string, string> | undefined> {
  const whole = await audited();
  addLateObject(whole);
  await auditInProcess(whole.deps, nightly);
  return whole.reports.folders.get(PARTS_DATE);
}

/** Report files without report.json's run info (generated_at, trigger differ between worlds). */
const withoutRun = (folder: Map<string, string> | undefined) =>
  new Map([...(folder ?? [])].filter(([n]) => n.startsWith('evidence/')));

describe('a run that failed between evidence files and the manifest', () => {
  it('split: only one part ran; the nightly plan goes on, the run re-audits the date, the folder verifies', async () => {
    const w = await audited({ split: true });
    addLateObject(w);
    await auditPart(w.deps, 'run-failed', PARTS_DATE, GAMMA);
    // The run failed there: its lease lapses (here: released), its files stay.
    await w.control.releaseLease(PARTS_DATE, 'run-failed');
    expect((await problems(w)).some((p) => p.startsWith('evidence/'))).toBe(true);

    const plan = await planAudit(w.deps, nightly);
    expect(plan.dates.map((d) => d.date)).toContain(PARTS_DATE);
    await auditInProcess(w.deps, nightly);
    expect(await problems(w)).toEqual([]);
    expect(withoutRun(w.reports.folders.get(PARTS_DATE))).toEqual(withoutRun(await expectedFolder()));
    // Settled: a later run plans without accepting anything.
    expect(await w.control.pendingOf(PARTS_DATE)).toEqual(new Map());
    await expect(planAudit(w.deps, nightly)).resolves.toBeDefined();
  });

  it('unsplit: the second evidence write fails; the next run succeeds and the folder verifies', async () => {
    const w = await audited();
    addLateObject(w);
    const write = w.reports.write.bind(w.reports);
    let evidenceWrites = 0;
    w.reports.write = async (date: string, files: readonly ReportFileBody[]) => {
      if (files.some((f) => f.name.startsWith('evidence/')) && ++evidenceWrites === 2)
        throw new Error('S3 failed');
      await write(date, files);
    };
    await expect(auditInProcess(w.deps, nightly)).rejects.toThrow('S3 failed');
    expect((await problems(w)).some((p) => p.startsWith('evidence/'))).toBe(true);
    w.reports.write = write;
    // `reports verify` says what they are.
    const verified = await verifyStoredReports(w.reports, await w.control.anchors(), undefined, (d) =>
      w.control.pendingOf(d),
    );
    const evidence = verified.problems.filter((p) => p.file.startsWith('evidence/'));
    expect(evidence.length).toBeGreaterThan(0);
    expect(evidence.every((p) => p.problem.endsWith(PENDING_NOTE))).toBe(true);

    await auditInProcess(w.deps, nightly);
    expect(await problems(w)).toEqual([]);
    expect(withoutRun(w.reports.folders.get(PARTS_DATE))).toEqual(withoutRun(await expectedFolder()));
  });

  it('the failed run’s evidence is not the next run’s (the late object withdrawn): written again', async () => {
    const w = await audited();
    const before = new Map(w.reports.folders.get(PARTS_DATE));
    addLateObject(w);
    const write = w.reports.write.bind(w.reports);
    let evidenceWrites = 0;
    w.reports.write = async (date: string, files: readonly ReportFileBody[]) => {
      if (files.some((f) => f.name.startsWith('evidence/')) && ++evidenceWrites === 2)
        throw new Error('S3 failed');
      await write(date, files);
    };
    await expect(auditInProcess(w.deps, nightly)).rejects.toThrow('S3 failed');
    w.reports.write = write;
    w.usage.rows.pop();
    w.usage.changed.set('2026-11-03', '2026-11-06T01:30:00.000Z');
    await auditInProcess(w.deps, nightly);
    expect(await problems(w)).toEqual([]);
    expect(withoutRun(w.reports.folders.get(PARTS_DATE))).toEqual(withoutRun(before));
    await expect(planAudit(w.deps, nightly)).resolves.toBeDefined();
  });

  it('a date left with pending files is audited by a run of other dates too (auditDates)', async () => {
    const w = await audited();
    await auditInProcess(w.deps, { kind: 'dates', dates: ['2026-11-04'] });
    addLateObject(w);
    const folder = w.reports.folders.get(PARTS_DATE);
    const name = [...(folder?.keys() ?? [])].find((n) => n.startsWith('evidence/')) ?? '';
    // A failed run's file of a finding the manifest does not list.
    const orphan = 'evidence/orphan-finding.jsonl';
    await w.control.pendingEvidence(PARTS_DATE, orphan, sha256Hex('{"x":1}\n'));
    folder?.set(orphan, '{"x":1}\n');
    expect(name).not.toBe('');
    const results = await auditDates(w.deps, ['2026-11-04']);
    expect(results.map((r) => r.date)).toEqual([PARTS_DATE, '2026-11-04']);
    expect(w.reports.folders.get(PARTS_DATE)?.has(orphan)).toBe(false);
    expect(await problems(w)).toEqual([]);
  });
});

describe('tampering is still refused', () => {
  async function tampered(pendingSha?: (body: string) => string) {
    const w = await audited();
    const folder = w.reports.folders.get(PARTS_DATE);
    const name = [...(folder?.keys() ?? [])].find((n) => n.startsWith('evidence/')) ?? '';
    const body = `${folder?.get(name) ?? ''}{"forged":true}\n`;
    if (pendingSha) await w.control.pendingEvidence(PARTS_DATE, name, pendingSha(body));
    folder?.set(name, body);
    return { w, name };
  }

  it('a listed evidence file changed, with no pending record', async () => {
    const { w, name } = await tampered();
    await expect(planAudit(w.deps, nightly)).rejects.toThrow(ChainMismatchError);
    await expect(planAudit(w.deps, nightly)).rejects.toThrow(`${name}: sha256 does not match the manifest`);
  });

  it('a pending record of other bytes', async () => {
    const { w } = await tampered(() => sha256Hex('other bytes'));
    await expect(planAudit(w.deps, nightly)).rejects.toThrow(ChainMismatchError);
  });

  it('a pending record superseded by a later manifest (the bytes of a failed write put back afterwards)', async () => {
    const w = await audited();
    const folder = w.reports.folders.get(PARTS_DATE);
    const name = [...(folder?.keys() ?? [])].find((n) => n.startsWith('evidence/')) ?? '';
    const body = `${folder?.get(name) ?? ''}{"forged":true}\n`;
    await w.control.pendingEvidence(PARTS_DATE, name, sha256Hex(body));
    await auditInProcess(w.deps, once);
    folder?.set(name, body);
    await expect(planAudit(w.deps, nightly)).rejects.toThrow(ChainMismatchError);
  });

  it('another run holding the date’s lease: its folder is left to it; once released, checked again', async () => {
    const { w } = await tampered();
    await w.control.acquireLease(PARTS_DATE, 'other-run', PARTS_NOW.getTime(), PARTS_NOW.getTime() + 600_000);
    await expect(planAudit(w.deps, { kind: 'dates', dates: ['2026-11-04'] })).resolves.toBeDefined();
    await w.control.releaseLease(PARTS_DATE, 'other-run');
    await expect(planAudit(w.deps, { kind: 'dates', dates: ['2026-11-04'] })).rejects.toThrow(
      ChainMismatchError,
    );
  });
});
