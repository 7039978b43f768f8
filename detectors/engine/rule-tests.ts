/**
 * Runs every rule's own test cases: each case's raw event(s) go through the
 * rule's normalizer, the baseline stage when the case sketches profiles, the
 * operation index, the condition, and a fresh aggregator (so thresholds are
 * exercised too), exactly as in a scan.
 */
import { Baseliner } from '../baselines/baseliner.js';
import { MemoryProfileStore } from '../baselines/memory-store.js';
import type { ProfileDelta } from '../baselines/profile.js';
import { documentationNetworkLookup } from '../enrichment/documentation-networks.js';
import type { Normalizer } from '../normalizers/index.js';
import { unpackDocument } from '../readers/unpack.js';
import type { LogSource } from '../schema/event.js';
import { FindingAggregator } from './aggregator.js';
import { evaluateEvent } from './detect.js';
import { type BaselineSketch, logSources, type RuleTestCase } from './rule.js';
import { type CompiledRule, indexAdmits, type RuleSet } from './rule-set.js';

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

export async function runRuleTests(
  ruleSet: RuleSet,
  normalizers: Partial<Record<LogSource, Normalizer>>,
): Promise<RuleTestResult[]> {
  const results: RuleTestResult[] = [];
  for (const rule of ruleSet.rules) {
    for (const test of rule.tests) {
      const base = { ruleId: rule.id, file: rule.file, name: test.name, expect: test.expect };
      try {
        const { fired, explanation } = await runCase(rule, test, normalizers, ruleSet);
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

async function runCase(
  rule: CompiledRule,
  test: RuleTestCase,
  normalizers: Partial<Record<LogSource, Normalizer>>,
  ruleSet: RuleSet,
): Promise<{ fired: boolean; explanation?: string }> {
  const records = test.events ?? [test.event ?? {}];
  const events = records.map((record) => {
    const source = caseSource(rule, record);
    const normalize = normalizers[source];
    if (normalize === undefined) throw new Error(`no normalizer for log source ${source}`);
    // Cases carry their records' own times; the receive time only dates one that has none.
    return normalize(structuredClone(record), { receivedAt: CASE_RECEIVED_AT });
  });
  if (test.baselines !== undefined) {
    const store = new MemoryProfileStore();
    await store.apply('baseline-sketch', test.baselines.map(sketchToDelta));
    await new Baseliner({ store, lookup: documentationNetworkLookup }).process('rule-case', events);
  }
  const aggregator = new FindingAggregator(() => 0);
  const fail = (error: Error): never => {
    throw error;
  };
  for (const event of events) {
    const indexed = logSources(rule.doc).includes(event.source) && indexAdmits(rule, event);
    // A rule that reads `matched_rules` needs the others to have run on the event first.
    const others = rule.afterOtherRules
      ? ruleSet.candidates(event).filter((r) => !r.afterOtherRules && r.id !== rule.id)
      : [];
    evaluateEvent(indexed ? [...others, rule] : others, event, aggregator, fail);
  }
  const findings = aggregator.takeChanged().filter((finding) => finding.rule.uid === rule.id);
  const explanation = findings[0]?.explanation;
  return { fired: findings.length > 0, ...(explanation !== undefined ? { explanation } : {}) };
}

/** When a case record without a time of its own arrived (fixed, so cases are repeatable). */
const CASE_RECEIVED_AT = Date.parse('2026-01-01T00:00:00Z');

/**
 * The source a case record is read as: the rule's own when it names one; for a
 * rule over several sources, the one the readers recognize in the record (the
 * same recognition as a scan), which must be one the rule names.
 */
function caseSource(rule: CompiledRule, record: Record<string, unknown>): LogSource {
  const sources = logSources(rule.doc);
  if (sources.length === 1) return sources[0] as LogSource;
  const [item] = unpackDocument(record);
  if (item?.kind !== 'record')
    throw new Error(`case record is not a record of a known format: ${item?.message}`);
  if (!sources.includes(item.source))
    throw new Error(`case record reads as ${item.source}, not one of ${sources.join(', ')}`);
  return item.source;
}

/** Turns a sketch into the delta of one batch that made the profile; activity is spread over the week. */
export function sketchToDelta(sketch: BaselineSketch): ProfileDelta {
  const first = Date.parse(sketch.first_seen);
  const last = Date.parse(sketch.last_seen);
  if (Number.isNaN(first) || Number.isNaN(last))
    throw new Error(`baseline ${sketch.subject}: first_seen/last_seen are not times`);
  const hours: Record<number, number> = {};
  for (let h = 0; h < 168; h++)
    hours[h] = Math.floor(sketch.events / 168) + (h < sketch.events % 168 ? 1 : 0);
  const values: ProfileDelta['values'] = {};
  for (const [feature, counts] of Object.entries(sketch.values)) {
    values[feature as keyof ProfileDelta['values']] = Object.fromEntries(
      Object.entries(counts).map(([value, c]) => [value, { c, f: first, l: last }]),
    );
  }
  return {
    subject: sketch.subject,
    firstSeen: first,
    lastSeen: last,
    events: sketch.events,
    failures: sketch.failures ?? 0,
    denied: sketch.denied ?? 0,
    values,
    hours,
    hourly: {},
  };
}
