/**
 * A real headless Chromium for the rendering tests, with nothing installed by hand:
 * `CHROMIUM_PATH` when set, else Debian's /usr/bin/chromium when present, else the Chromium that
 * the npm package @sparticuz/chromium ships inside itself (unpacked to /tmp on first use, a few
 * seconds). Every network request the page makes is recorded and refused.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface LaunchedBrowser {
  browser: Browser;
  /** Where the executable came from, for test names and failure messages. */
  source: string;
}

export async function launchChromium(): Promise<LaunchedBrowser> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return {
      browser: await chromium.launch({ executablePath: fromEnv, args: COMMON_ARGS }),
      source: fromEnv,
    };
  }
  if (existsSync('/usr/bin/chromium')) {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: COMMON_ARGS });
    return { browser, source: '/usr/bin/chromium' };
  }
  const { default: packaged } = await import('@sparticuz/chromium');
  const executablePath = await packaged.executablePath();
  const browser = await chromium.launch({
    executablePath,
    args: [...packaged.args, ...COMMON_ARGS],
  });
  return { browser, source: `@sparticuz/chromium (${executablePath})` };
}
