/**
 * `tsx test/bench/quick.ts FILE [rounds]`: the reader, its floor and DuckDB (one thread) on one
 * existing gzip JSON Lines file, interleaved, each in its own child; prints each round and the
 * medians of the per-round ratios. For iterating on the reader (npm run bench is the record).
 */
import { runChild } from './children.ts';

const [file = '', roundsText = '3', ...modes] = process.argv.slice(2);
const rounds = Number(roundsText);
const which = modes.length ? modes : ['floor', 'read', 'duckdb'];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const rows: Record<string, { s: number; cpu: number }[]> = {};
for (let i = 0; i < rounds; i++) {
  const line: string[] = [];
  for (const m of which) {
    const r = await runChild(m as 'read', [file]);
    const list = rows[m] ?? [];
    list.push({ s: r.seconds, cpu: r.cpuSeconds });
    rows[m] = list;
    line.push(`${m} ${r.seconds.toFixed(2)}s (cpu ${r.cpuSeconds.toFixed(2)}) rss ${r.maxRssMB.toFixed(0)}`);
  }
  console.log(`round ${i + 1}: ${line.join(' | ')}`);
}
const ratio = (a: string, b: string, k: 's' | 'cpu'): number[] =>
  (rows[a] ?? []).map((x, i) => (rows[b]?.[i]?.[k] ?? Number.NaN) / x[k]);
if (rows.read && rows.duckdb) {
  console.log(
    `median read/duckdb speed ratio wall ${median(ratio('read', 'duckdb', 's')).toFixed(3)} cpu ${median(ratio('read', 'duckdb', 'cpu')).toFixed(3)}`,
  );
}
for (const [m, xs] of Object.entries(rows))
  console.log(
    `${m}: median ${median(xs.map((x) => x.s)).toFixed(3)}s cpu ${median(xs.map((x) => x.cpu)).toFixed(3)}s`,
  );
