import type { NormalizedEvent } from '../schema/event.js';
import { RuleEvaluationError } from './errors.js';
import type { CompiledRule, RuleSet } from './rule-set.js';

/**
 * Runs the candidate rules on one event. A rule that throws is reported to
 * `onRuleError` and skipped; the other rules still run.
 */
export function matchingRules(
  ruleSet: RuleSet,
  event: NormalizedEvent,
  onRuleError: (error: RuleEvaluationError) => void,
): CompiledRule[] {
  const matched: CompiledRule[] = [];
  for (const rule of ruleSet.candidates(event)) {
    try {
      if (rule.matches(event)) matched.push(rule);
    } catch (cause) {
      onRuleError(new RuleEvaluationError(rule.id, event.metadata.uid, { cause }));
    }
  }
  return matched;
}
