/**
 * Text from data (log lines, stored reports, files) on its way to a terminal: C0 and C1 control
 * characters, DEL and the bidi overrides/isolates (U+202A–U+202E, U+2066–U+2069) are shown as
 * visible escapes (`\x1b`, `\x7f`, `\u202e`), so an endpoint like `"\u001b]0;pwned\u0007\u001b[2J"`
 * can neither retitle nor clear the terminal of whoever runs `auditor findings`, nor reorder what
 * it shows. Newlines and tabs are escaped too: one value stays on one line of a table or message.
 * Everything else (including a literal backslash) is shown as is. `--json` output does not go
 * through here: it stays exact (JSON.stringify escapes C0 controls itself).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function visibleEscape(c: string): string {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** `text` with every control and bidi-override character as a visible escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visibleEscape);
}
