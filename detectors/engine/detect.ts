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
 *
 * Hot path: once per event. It allocates nothing for an event no rule fires
 * on, and builds the second pass's view only when a candidate needs it.
 */
export function evaluateEvent(
  rules: readonly CompiledRule[],
  event: NormalizedEvent,
  aggregator: FindingAggregator,
  onRuleError: (error: RuleEvaluationError) => void,
): readonly Finding[] {
  const state: EvaluationState = { touched: NOTHING_TOUCHED, fired: NOTHING_FIRED };
  let deferred = false;
  for (const rule of rules) {
    if (rule.afterOtherRules) deferred = true;
    else runRule(rule, event, event, aggregator, onRuleError, state);
  }
  if (!deferred) return state.touched;
  // Only the rules of the first pass: a correlation never feeds on another correlation.
  const view = { ...event, matched_rules: [...state.fired] } as unknown as NormalizedEvent;
  for (const rule of rules)
    if (rule.afterOtherRules) runRule(rule, view, event, aggregator, onRuleError, state);
  return state.touched;
}

/** What one event's evaluation has gathered so far; the shared empty arrays stand until something fires. */
interface EvaluationState {
  touched: Finding[];
  fired: string[];
}

const NOTHING_TOUCHED: Finding[] = [];
const NOTHING_FIRED: string[] = [];

function noteFired(state: EvaluationState, rule: CompiledRule, findings: readonly Finding[]): void {
  if (state.fired === NOTHING_FIRED) state.fired = [];
  state.fired.push(rule.id);
  if (state.touched === NOTHING_TOUCHED) state.touched = [];
  state.touched.push(...findings);
}

/** One rule on `view` (the event, or the second pass's view of it); errors name `event`. */
function runRule(
  rule: CompiledRule,
  view: NormalizedEvent,
  event: NormalizedEvent,
  aggregator: FindingAggregator,
  onRuleError: (error: RuleEvaluationError) => void,
  state: EvaluationState,
): void {
  try {
    const sequence = rule.sequence;
    if (sequence !== undefined) {
      const isFirst = sequence.after(view);
      const isThen = rule.matches(view);
      if (!isFirst && !isThen) return;
      const findings = aggregator.addSequenceStep(rule, view, isFirst, isThen);
      if (findings.length > 0) noteFired(state, rule, findings);
      return;
    }
    if (!rule.matches(view)) return;
    const finding = aggregator.add(rule, view);
    if (finding === undefined) return;
    noteFired(state, rule, [finding]);
  } catch (cause) {
    onRuleError(new RuleEvaluationError(rule.id, event.metadata.uid, { cause }));
  }
}
