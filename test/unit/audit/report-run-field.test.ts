/**
 * report.json is rendered once without its run field and the run put in place (withRunField): the
 * bytes must be those of rendering the document with the run, for any run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stableJson } from '../../../functions/core/audit/format.ts';
import { type RunInfo, withRunField } from '../../../functions/core/audit/report.ts';

/** A report.json-shaped document: the run field fourth, nested objects before and after it. */
const doc = (run: RunInfo | null) => ({
  format: 'usage-auditor/report@1',
  report_date: '2026-11-27',
  window: { start: '2026-11-01', end: '2026-11-27', run: null },
  run: run === null ? null : JSON.parse(stableJson(run, 0, true)),
  summary: { findings: 2, by_rule: { run: null } },
  findings: [{ run: null, detail: '\n  "run": null,\n' }],
});
const render = (run: RunInfo | null) => `${stableJson(doc(run), 2)}\n`;

describe('report.json’s run field', () => {
  it('is put in place with the bytes of rendering the document with it', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json, { maxKeys: 5 }), (run) => {
        expect(withRunField(render(null), run as RunInfo)).toBe(render(run as RunInfo));
      }),
    );
    const run = { generated_at: '2026-11-28T02:00:03.123Z', trigger: 'schedule', reads: { rollups: 24_800 } };
    expect(withRunField(render(null), run)).toBe(render(run));
    expect(withRunField(render(null), null)).toBe(render(null));
  });
});
