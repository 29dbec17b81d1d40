/**
 * README's webhook verification snippet, run as written: it accepts a good signature and answers
 * false (never throws) for a wrong one, including one whose characters are not ASCII.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Verify = (secret: string, headers: Record<string, string>, rawBody: string) => boolean;

function readmeVerify(): Verify {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const block = /```js\n(import \{ createHmac, timingSafeEqual \} from 'node:crypto';\n[\s\S]*?)```/.exec(
    readme,
  )?.[1];
  if (block === undefined) throw new Error('README: no verification snippet');
  const body = block.replace(/^import .*\n/, '');
  return new Function('createHmac', 'timingSafeEqual', 'Buffer', `${body}\nreturn verify;`)(
    createHmac,
    timingSafeEqual,
    Buffer,
  ) as Verify;
}

describe('README webhook verification snippet', () => {
  it('accepts the right signature and refuses a wrong one, also a non-ASCII one, without throwing', () => {
    const verify = readmeVerify();
    const ts = String(Math.floor(Date.now() / 1000));
    const good = `sha256=${createHmac('sha256', 's').update(`${ts}.body`).digest('hex')}`;
    const h = (sig: string) => ({ 'x-auditor-timestamp': ts, 'x-auditor-signature': sig });
    expect(verify('s', h(good), 'body')).toBe(true);
    expect(verify('other', h(good), 'body')).toBe(false);
    expect(verify('s', h('é'.repeat(good.length)), 'body')).toBe(false);
  });
});
