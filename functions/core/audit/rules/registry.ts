/**
 * The registry of audit rules: the one list of the rules of SPEC §4, in SPEC §4's order, then the
 * extensions beyond SPEC §4 (quota_forecast, quota_threshold: see quota-forecast.ts). Their names
 * (RULES, Rule) and severities are derived from it; nothing else lists the rules.
 *
 * Adding a rule: one module in this folder (an AuditRule, see ../types.ts), one line below, and its
 * tests (test/unit/audit/rules/).
 */
import { compareStrings } from '../../support.ts';
import type { AuditRule, Severity } from '../types.ts';
import { outsideTerm } from './outside-term.ts';
import { prohibitedRecipient } from './prohibited-recipient.ts';
import { quotaExceeded } from './quota-exceeded.ts';
import { quotaForecast, quotaThreshold } from './quota-forecast.ts';
import { unauthorizedEndpoint } from './unauthorized-endpoint.ts';
import { undeclaredUseCase } from './undeclared-use-case.ts';
import { unknownApp } from './unknown-app.ts';
import { unpaidUsage } from './unpaid-usage.ts';

/** Every rule: those of SPEC §4's table in its order, then the extensions. */
export const RULE_REGISTRY = [
  quotaExceeded,
  unpaidUsage,
  prohibitedRecipient,
  undeclaredUseCase,
  unauthorizedEndpoint,
  outsideTerm,
  unknownApp,
  // Extensions beyond SPEC §4 (test/unit/audit/registry.test.ts lists them).
  quotaForecast,
  quotaThreshold,
] as const satisfies readonly AuditRule[];

export type Rule = (typeof RULE_REGISTRY)[number]['name'];

/** The rule names in name order (report.json's summary.by_rule, the CLI's --rule choices). */
export const RULES: readonly Rule[] = RULE_REGISTRY.map((r) => r.name).sort(compareStrings);

/** The severities each rule's findings can have. */
export const RULE_SEVERITIES: Readonly<Record<Rule, readonly Severity[]>> = Object.fromEntries(
  RULE_REGISTRY.map((r): [Rule, readonly Severity[]] => [r.name, r.severities]),
) as Record<Rule, readonly Severity[]>;
