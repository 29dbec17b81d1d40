#!/usr/bin/env node
// `auditor` / `npx auditor`. Runs the compiled CLI in dist/cli (built by `npm install` through the
// `prepare` script, or `npm run build:cli`) when it is there and none of the sources it was built
// from has changed since; otherwise the TypeScript sources through tsx. So a fresh clone works
// after `npm install`, and edited sources (and the CLI tests) never run a stale bundle.
// AUDITOR_FROM_SOURCE=1 forces the sources.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The AWS SDK's Node-version notice is for library users, not for people at a terminal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = new URL('../', import.meta.url);
const BUNDLE = new URL('dist/cli/main.js', ROOT);

/** The bundle, when present and not older than any source file it was built from. */
function freshBundle() {
  if (process.env.AUDITOR_FROM_SOURCE) return false;
  try {
    const built = statSync(BUNDLE).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', ROOT), 'utf8'));
    return inputs.every((file) => statSync(fileURLToPath(new URL(file, ROOT))).mtimeMs <= built);
  } catch {
    return false; // no bundle, or a source file gone: run the sources
  }
}

if (freshBundle()) {
  await import(BUNDLE.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../functions/cli/main.ts');
}
