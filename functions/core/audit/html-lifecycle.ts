/**
 * A finding's lifecycle in report.html (only for a finding someone changed; see lifecycle.ts): its
 * state under the detail, and its history in a <details>. Uses report.html's existing classes, so
 * the stylesheet (and so every report without lifecycle changes) is unchanged.
 */
import { esc } from './html-escape.ts';
import type { FindingLifecycle, LifecycleChange } from './types.ts';

/** `waived until 2026-12-31`, `resolved`, `waiver expired (until 2026-11-20)`. */
export function stateText(l: FindingLifecycle): string {
  if (l.state === 'waived') return l.until === null ? 'waived (no end)' : `waived until ${l.until}`;
  if (l.state === 'waiver_expired') return `waiver expired (until ${l.until ?? ''})`;
  return l.state;
}

function changeItem(c: LifecycleChange): string {
  const until = c.until === null ? '' : ` until ${c.until}`;
  return `<li>${esc(c.at)} · ${esc(c.action)}${esc(until)} by <span class="seg">${esc(c.by)}</span> (report ${esc(c.report_date)}): ${esc(c.note)}</li>`;
}

/** The finding row's data-state attribute; nothing without a lifecycle. */
export function lifecycleAttr(l: FindingLifecycle | undefined): string {
  return l === undefined ? '' : ` data-state="${esc(l.state)}"`;
}

/** The state and the history, under the detail; nothing without a lifecycle. */
export function lifecycleCell(l: FindingLifecycle | undefined): string {
  if (l === undefined) return '';
  return (
    `<div class="lifecycle"><strong>${esc(stateText(l))}</strong>` +
    `<details><summary class="sub">history (${l.history.length})</summary><ul class="apps-all">${l.history.map(changeItem).join('')}</ul></details></div>`
  );
}
