import type { NormalizedEvent } from '../schema/event.js';
import type { Finding } from '../schema/finding.js';
import type { FindingAggregator } from './aggregator.js';
import { RuleEvaluationError } from './errors.js';
import type { CompiledRule, RuleSet } from './rule-set.js';

/**
 * Runs the candidate rules on one event. A rule that throws is reported to
 * `onRuleError` and skipped; the other rules still run. Sequence rules and
 * rules that read `matched_rules` need the aggregator: see {@link evaluateEvent}.
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

/**
 * Runs `rules` (an event's candidates) on one event and folds what fired into
 * `aggregator`, in two passes: first every ordinary and sequence rule, then the
 * rules that read `matched_rules`, which see the ids of the rules that made or
 * updated a finding in the first pass (correlation rules: "after a change to
 * the function, any runtime rule fired"). Returns the findings touched.
 */
export function evaluateEvent(
  rules: readonly CompiledRule[],
  event: NormalizedEvent,
  aggregator: FindingAggregator,
  onRuleError: (error: RuleEvaluationError) => void,
): Finding[] {
  const touched: Finding[] = [];
  const fired: string[] = [];
  let deferred = false;
  const run = (rule: CompiledRule, view: NormalizedEvent): void => {
    try {
      const sequence = rule.sequence;
      if (sequence !== undefined) {
        const isFirst = sequence.after(view);
        const isThen = rule.matches(view);
        if (!isFirst && !isThen) return;
        const findings = aggregator.addSequenceStep(rule, view, isFirst, isThen);
        if (findings.length > 0) fired.push(rule.id);
        touched.push(...findings);
        return;
      }
      if (!rule.matches(view)) return;
      const finding = aggregator.add(rule, view);
      if (finding === undefined) return;
      fired.push(rule.id);
      touched.push(finding);
    } catch (cause) {
      onRuleError(new RuleEvaluationError(rule.id, event.metadata.uid, { cause }));
    }
  };
  for (const rule of rules) {
    if (rule.afterOtherRules) deferred = true;
    else run(rule, event);
  }
  if (!deferred) return touched;
  // Only the rules of the first pass: a correlation never feeds on another correlation.
  const view = { ...event, matched_rules: [...fired] } as unknown as NormalizedEvent;
  for (const rule of rules) if (rule.afterOtherRules) run(rule, view);
  return touched;
}
