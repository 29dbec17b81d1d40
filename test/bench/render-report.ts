/**
 * `tsx test/bench/render-report.ts [licensees] [rounds] [joined]`: CPU time of rendering one
 * report (test/support/report-input.ts: `licensees` × 4 apps × 20 days, 5 objects an app-day) and
 * writing it to a sink that reads every body as an upload would (sha256 of its bytes). Default:
 * the audit's path, streamReport (the manifest's hashes from a first rendering, then each file
 * rendered again as it is written); `joined`: renderReport, each file one string. Prints one JSON
 * line: the CPU milliseconds of each round, the bytes written, the longest body or chunk written
 * (characters) and the peak RSS. Not part of vitest or npm run bench.
 */
import { createHash } from 'node:crypto';
import { renderReport, streamReport } from '../../functions/core/audit/report.ts';
import { reportInput } from '../support/report-input.ts';

const [licensees = '40', rounds = '5', mode = 'streamed'] = process.argv.slice(2);
const input = {
  ...reportInput({ licensees: Number(licensees), appsPerLicensee: 4, sourcesPerRow: 5, seed: 3 }),
  sourcesTruncated: true,
};
const cpuMs: number[] = [];
let bytes = 0;
let longest = 0;
for (let i = 0; i < Number(rounds); i++) {
  const c0 = process.cpuUsage();
  const { files } = mode === 'joined' ? renderReport(input) : streamReport(input);
  bytes = 0;
  for (const f of files) {
    const upload = createHash('sha256');
    for await (const chunk of typeof f.body === 'string' ? [f.body] : f.body) {
      upload.update(chunk);
      bytes += Buffer.byteLength(chunk);
      longest = Math.max(longest, chunk.length);
    }
    upload.digest();
  }
  const c = process.cpuUsage(c0);
  cpuMs.push(Math.round((c.user + c.system) / 1000));
}
process.stdout.write(
  `${JSON.stringify({ mode, findings: input.findings.length, bytes, longest, cpuMs, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
