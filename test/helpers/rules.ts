import { stringify } from 'yaml';
import type { RulePredicate } from '../../detectors/engine/condition.js';
import { loadRuleSet, type RuleSet } from '../../detectors/engine/rule-set.js';
import { loadFixture } from './fixtures.js';

type Json = Record<string, unknown>;

/** A valid rule document with every required field; tests override what they exercise. */
export function ruleDocument(overrides: Json = {}): Json {
  return {
    id: 'test.example.rule',
    title: 'Example rule for tests',
    description: 'A rule built by the tests to exercise the engine.',
    log_source: 'aws.cloudtrail',
    severity: 'medium',
    maturity: 'test',
    attack: [
      { tactic: 'Discovery', technique_id: 'T1580', technique_name: 'Cloud Infrastructure Discovery' },
    ],
    false_positives: ['none, it is a test'],
    runbook: 'Nothing to do: this rule exists only in tests.',
    condition: { field: 'api.operation', equals: 'ListBuckets' },
    explanation: '{actor.user.name} called {api.operation}',
    tests: [
      { name: 'positive', expect: true, event: loadFixture('cloudtrail/identities/iam-user.json') },
      {
        name: 'negative',
        expect: false,
        event: loadFixture('cloudtrail/identities/iam-user.json', { eventName: 'GetObject' }),
      },
    ],
    ...overrides,
  };
}

/** Builds a rule set from rule documents (and an optional vocabulary) as if read from files. */
export function ruleSetOf(
  documents: Json[],
  options: { vocabulary?: Json; predicates?: Record<string, RulePredicate> } = {},
): RuleSet {
  const files = documents.map((doc, i) => ({
    path: `rules/rule-${i}.yml`,
    text: stringify(doc),
    origin: 'test',
  }));
  if (options.vocabulary)
    files.unshift({ path: 'rules/lists.yml', text: stringify(options.vocabulary), origin: 'test' });
  return loadRuleSet(files, options.predicates ?? {});
}
