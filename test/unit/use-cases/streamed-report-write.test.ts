/**
 * The audit writes every report file but the manifest as a stream of bounded chunks (issue 10:
 * report files are never built as one string), restatement.json included, and what it streams is
 * what the manifest hashes (each file is rendered once to hash it and again as it is written).
 */
import { describe, expect, it } from 'vitest';
import { MANIFEST, type ReportFileBody } from '../../../functions/audit/ports.ts';
import { auditDates } from '../../../functions/audit/run-audit.ts';
import { checkReport } from '../../../functions/core/audit/chain.ts';
import { CHUNK_CHARS } from '../../../functions/core/audit/chunks.ts';
import { MAX_FINDING_LINE_BYTES, REPORT_FILES } from '../../../functions/core/audit/report.ts';
import { RESTATEMENT_FILE } from '../../../functions/core/audit/restatement.ts';
import { auditWorld, usageRow } from '../../support/audit-world.ts';
import { FakeReports } from '../../support/fakes.ts';

interface Written {
  date: string;
  name: string;
  /** False when the body was one string. */
  streamed: boolean;
  chunks: number;
  /** The longest chunk (the whole body when it was a string), in characters. */
  largest: number;
  chars: number;
}

/** FakeReports that records, for each body written, whether it came whole or as chunks, and their sizes. */
class RecordingReports extends FakeReports {
  written: Written[] = [];

  override async write(date: string, files: readonly ReportFileBody[]): Promise<void> {
    const recorded = files.map((f): ReportFileBody => {
      const w: Written = {
        date,
        name: f.name,
        streamed: typeof f.body !== 'string',
        chunks: 0,
        largest: 0,
        chars: 0,
      };
      this.written.push(w);
      const count = (chunk: string) => {
        w.chunks++;
        w.largest = Math.max(w.largest, chunk.length);
        w.chars += chunk.length;
      };
      if (typeof f.body === 'string') {
        count(f.body);
        return f;
      }
      const chunks = f.body;
      return {
        ...f,
        body: (async function* () {
          for await (const chunk of chunks) {
            count(chunk);
            yield chunk;
          }
        })(),
      };
    });
    await super.write(date, recorded);
  }
}

const DATE = '2026-11-27';
/** A chunk holds at most CHUNK_CHARS characters plus its last piece (at most a findings line). */
const MAX_CHUNK = CHUNK_CHARS + MAX_FINDING_LINE_BYTES;

describe('the audit writes report files as streams', () => {
  it('streams every report file in bounded chunks, a report with many findings included, and its restatement', async () => {
    const w = auditWorld();
    const reports = new RecordingReports();
    const deps = { ...w.deps, reports };
    // 1,500 apps in no agreement: a finding each, and a report.json of megabytes.
    for (let i = 0; i < 1_500; i++) w.usage.rows.push(usageRow(`bot-${String(i).padStart(4, '0')}`, DATE, 7));
    const [result] = await auditDates(deps, [DATE]);
    expect(result?.findings).toBeGreaterThan(1_500);

    const first = reports.written.filter((x) => x.date === DATE);
    expect(first.map((x) => [x.name, x.streamed])).toEqual([
      ...REPORT_FILES.map((name) => [name, true]),
      [MANIFEST, false],
    ]);
    const reportJson = first.find((x) => x.name === 'report.json');
    expect(reportJson?.chars).toBeGreaterThan(20 * CHUNK_CHARS);
    expect(reportJson?.chunks).toBeGreaterThan(20);
    for (const x of first) expect(x.largest, x.name).toBeLessThanOrEqual(MAX_CHUNK);
    // What was streamed is what the manifest (built from the first rendering) hashes.
    expect(checkReport(reports.folders.get(DATE) ?? new Map())).toEqual([]);

    // Other content for the same date: the report is rewritten with a restatement, streamed too.
    reports.written = [];
    w.usage.rows.push(usageRow('bot-late', DATE, 9));
    w.usage.changed.set(DATE, '2026-11-28T03:00:00.000Z');
    await auditDates({ ...deps, now: () => new Date('2026-11-28T04:00:00Z') }, [DATE]);
    const second = reports.written.filter((x) => x.date === DATE);
    expect(second.map((x) => [x.name, x.streamed])).toEqual([
      ...REPORT_FILES.map((name) => [name, true]),
      [RESTATEMENT_FILE, true],
      [MANIFEST, false],
    ]);
    for (const x of second) expect(x.largest, x.name).toBeLessThanOrEqual(MAX_CHUNK);
    expect(checkReport(reports.folders.get(DATE) ?? new Map())).toEqual([]);
  });
});
