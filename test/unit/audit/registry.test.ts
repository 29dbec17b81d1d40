/**
 * The rule registry is the list of SPEC §4 (the same rules, in the same order, with the same
 * severities) followed by exactly the documented extensions (helpers.ts EXTENSION_RULES).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_REGISTRY, RULE_SEVERITIES, RULES } from '../../../functions/core/audit/rules/registry.ts';
import { RULES as RULES_AT_OLD_PATH } from '../../../functions/core/audit/rules.ts';
import { SEVERITIES } from '../../../functions/core/audit/types.ts';
import { EXTENSION_RULES } from './helpers.ts';

/** The rows of SPEC §4's table: the rule name and the severity words of its last column, in order. */
function specRules(): { rule: string; severities: string[] }[] {
  const spec = readFileSync(new URL('../../../docs/SPEC.md', import.meta.url), 'utf8');
  const section = spec.slice(spec.indexOf('## 4. Audit rules'), spec.indexOf('## 5.'));
  const table = section.split('\n').filter((line) => line.startsWith('|'));
  expect(table[0]).toMatch(/^\| rule \|.*\| severity \|$/);
  expect(table[1]).toMatch(/^\|(---\|)+$/);
  return table.slice(2).map((line) => {
    const cells = line.split('|').map((c) => c.trim());
    return {
      rule: cells[1] as string,
      severities: (cells[cells.length - 2] ?? '').match(/\b(critical|high|medium|low)\b/g) ?? [],
    };
  });
}

describe('rule registry', () => {
  it('SPEC §4 has its table of seven rules', () => {
    expect(specRules()).toHaveLength(7);
  });

  it('lists the rules of SPEC §4, in its order, then exactly the documented extensions', () => {
    const names = RULE_REGISTRY.map((r) => r.name);
    const spec = specRules().map((r) => r.rule);
    expect(names.slice(0, spec.length)).toEqual(spec);
    expect(names.slice(spec.length)).toEqual(Object.keys(EXTENSION_RULES));
    for (const ext of Object.keys(EXTENSION_RULES)) expect(spec).not.toContain(ext);
  });

  it('gives each rule the severities of SPEC §4, each extension its documented ones (never critical)', () => {
    for (const { rule, severities } of specRules())
      expect(RULE_SEVERITIES[rule as keyof typeof RULE_SEVERITIES], rule).toEqual(severities);
    for (const [rule, severities] of Object.entries(EXTENSION_RULES)) {
      expect(RULE_SEVERITIES[rule as keyof typeof RULE_SEVERITIES], rule).toEqual(severities);
      expect(severities).not.toContain('critical');
    }
    for (const r of RULE_REGISTRY) for (const s of r.severities) expect(SEVERITIES).toContain(s);
  });

  it('derives RULES: every name once, in name order, also at the old import path', () => {
    const names = RULE_REGISTRY.map((r) => r.name);
    expect(RULES).toEqual([...names].sort());
    expect(new Set(RULES).size).toBe(RULES.length);
    expect(RULES_AT_OLD_PATH).toBe(RULES);
  });
});
