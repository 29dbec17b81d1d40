/**
 * `npm run bench`: the reader alone and the whole ingest path, each case in a process of its own.
 * Prints one JSON line per case; exits non-zero if any case breaks its memory bound (300 MB peak
 * RSS for a 2M-line drop) or its totals are wrong. Compare ratios within one run, not absolute
 * times across runs: the machine is shared.
 *
 *   npm run bench [-- lines]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const lines = process.argv[2] ?? '2000000';
let failed = false;
for (const script of ['reader-bench.ts', 'ingest-bench.ts']) {
  const res = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL(script, import.meta.url)), lines],
    {
      stdio: 'inherit',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  if (res.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
