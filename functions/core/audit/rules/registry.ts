/**
 * The registry of audit rules: the one list of the rules of SPEC §4, in SPEC §4's order. Their
 * names (RULES, Rule) and severities are derived from it; nothing else lists the rules.
 *
 * Adding a rule: one module in this folder (an AuditRule, see ../types.ts), one line below, and its
 * tests (test/unit/audit/rules/).
 */
import { compareStrings } from '../../support.ts';
import type { AuditRule, Severity } from '../types.ts';
import { outsideTerm } from './outside-term.ts';
import { prohibitedRecipient } from './prohibited-recipient.ts';
import { quotaExceeded } from './quota-exceeded.ts';
import { unauthorizedEndpoint } from './unauthorized-endpoint.ts';
import { undeclaredUseCase } from './undeclared-use-case.ts';
import { unknownApp } from './unknown-app.ts';
import { unpaidUsage } from './unpaid-usage.ts';

/** Every rule, in the order of SPEC §4's table. */
export const RULE_REGISTRY = [
  quotaExceeded,
  unpaidUsage,
  prohibitedRecipient,
  undeclaredUseCase,
  unauthorizedEndpoint,
  outsideTerm,
  unknownApp,
] as const satisfies readonly AuditRule[];

export type Rule = (typeof RULE_REGISTRY)[number]['name'];

/** The rule names in name order (report.json's summary.by_rule, the CLI's --rule choices). */
export const RULES: readonly Rule[] = RULE_REGISTRY.map((r) => r.name).sort(compareStrings);

/** The severities each rule's findings can have. */
export const RULE_SEVERITIES: Readonly<Record<Rule, readonly Severity[]>> = Object.fromEntries(
  RULE_REGISTRY.map((r): [Rule, readonly Severity[]] => [r.name, r.severities]),
) as Record<Rule, readonly Severity[]>;
