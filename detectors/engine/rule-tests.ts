/**
 * Runs every rule's own test cases: each case's raw event(s) go through the
 * rule's normalizer, the operation index, the condition, and a fresh
 * aggregator (so thresholds are exercised too), exactly as in a scan.
 */
import type { Normalizer } from '../normalizers/index.js';
import type { AuditSource } from '../schema/api-activity.js';
import { FindingAggregator } from './aggregator.js';
import type { CompiledRule, RuleSet } from './rule-set.js';

export interface RuleTestResult {
  readonly ruleId: string;
  readonly file: string;
  readonly name: string;
  readonly expect: boolean;
  readonly fired: boolean;
  readonly passed: boolean;
  /** Why it failed beyond a wrong verdict: a normalizer or rule error, an explanation with holes. */
  readonly problem?: string;
}

export function runRuleTests(
  ruleSet: RuleSet,
  normalizers: Partial<Record<AuditSource, Normalizer>>,
): RuleTestResult[] {
  const results: RuleTestResult[] = [];
  for (const rule of ruleSet.rules) {
    for (const test of rule.tests) {
      const base = { ruleId: rule.id, file: rule.file, name: test.name, expect: test.expect };
      try {
        const { fired, explanation } = runCase(rule, test.events ?? [test.event ?? {}], normalizers);
        let problem: string | undefined;
        if (fired && explanation?.includes('(unknown)')) {
          problem = `explanation has a field missing from this event: "${explanation}"`;
        }
        results.push({
          ...base,
          fired,
          passed: fired === test.expect && problem === undefined,
          ...(problem ? { problem } : {}),
        });
      } catch (error) {
        results.push({ ...base, fired: false, passed: false, problem: (error as Error).message });
      }
    }
  }
  return results;
}

function runCase(
  rule: CompiledRule,
  records: ReadonlyArray<Record<string, unknown>>,
  normalizers: Partial<Record<AuditSource, Normalizer>>,
): { fired: boolean; explanation?: string } {
  const normalize = normalizers[rule.doc.log_source];
  if (normalize === undefined) throw new Error(`no normalizer for log source ${rule.doc.log_source}`);
  const aggregator = new FindingAggregator(() => 0);
  let explanation: string | undefined;
  for (const record of records) {
    const event = normalize(structuredClone(record));
    const indexed = rule.operations === undefined || rule.operations.has(event.api.operation);
    if (indexed && rule.matches(event)) aggregator.add(rule, event);
  }
  const findings = aggregator.takeChanged();
  if (findings.length > 0) explanation = findings[0]?.explanation;
  return { fired: findings.length > 0, ...(explanation !== undefined ? { explanation } : {}) };
}
