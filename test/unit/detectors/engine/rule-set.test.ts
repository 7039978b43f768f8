import { describe, expect, it } from 'vitest';
import { matchingRules } from '../../../../detectors/engine/detect.js';
import { RuleLoadError } from '../../../../detectors/engine/errors.js';
import { loadRuleSet } from '../../../../detectors/engine/rule-set.js';
import { runRuleTests } from '../../../../detectors/engine/rule-tests.js';
import { NORMALIZERS, normalizeCloudTrail } from '../../../../detectors/normalizers/index.js';
import { loadFixture } from '../../../helpers/fixtures.js';
import { ruleDocument, ruleSetOf } from '../../../helpers/rules.js';

const listBuckets = normalizeCloudTrail(loadFixture('cloudtrail/identities/iam-user.json'));

describe('loadRuleSet', () => {
  it('names the file and the field of an invalid rule', () => {
    expect(() => ruleSetOf([ruleDocument({ severity: 'urgent' })])).toThrow(/rules\/rule-0\.yml: severity/);
    expect(() =>
      ruleSetOf([ruleDocument({ attack: [{ tactic: 'X', technique_id: 'T1', technique_name: 'x' }] })]),
    ).toThrow(RuleLoadError);
  });

  it('requires a positive and a negative case', () => {
    const onlyPositive = ruleDocument();
    onlyPositive.tests = [(onlyPositive.tests as unknown[])[0], (onlyPositive.tests as unknown[])[0]];
    expect(() => ruleSetOf([onlyPositive])).toThrow(/needs a negative test case/);
  });

  it('refuses duplicate ids and invalid YAML', () => {
    expect(() => ruleSetOf([ruleDocument(), ruleDocument()])).toThrow(
      /duplicate rule id test\.example\.rule/,
    );
    expect(() => loadRuleSet([{ path: 'bad.yml', text: 'id: [unclosed', origin: 'test' }])).toThrow(
      /bad\.yml: invalid YAML/,
    );
  });

  it('lets a later lists.yml override a list (the tuning hook)', () => {
    const doc = ruleDocument({ condition: { field: 'actor.user.name', in_list: 'admins' } });
    const files = [
      { path: 'builtin/lists.yml', text: 'lists:\n  admins: [root]\n', origin: 'trailhound' },
      { path: 'custom/lists.yml', text: 'lists:\n  admins: [alice]\n', origin: 'custom' },
      { path: 'builtin/rule.yml', text: JSON.stringify(doc), origin: 'trailhound' },
    ];
    const ruleSet = loadRuleSet(files);
    expect(matchingRules(ruleSet, listBuckets, () => {})).toHaveLength(1);
  });
});

describe('rule evaluation', () => {
  it('isolates a rule that throws: it is reported and the other rules still match', () => {
    const ruleSet = ruleSetOf(
      [ruleDocument({ id: 'test.example.throws', condition: { predicate: 'explodes' } }), ruleDocument()],
      {
        predicates: {
          explodes: () => {
            throw new Error('boom');
          },
        },
      },
    );
    const errors: string[] = [];
    const matched = matchingRules(ruleSet, listBuckets, (error) => errors.push(error.message));
    expect(matched.map((r) => r.id)).toEqual(['test.example.rule']);
    expect(errors).toEqual([`rule test.example.throws threw on event ${listBuckets.metadata.uid}: boom`]);
  });

  it('runs a rule only on the operations it is indexed by', () => {
    const ruleSet = ruleSetOf([ruleDocument()]);
    expect(ruleSet.candidates(listBuckets)).toHaveLength(1);
    const other = normalizeCloudTrail(
      loadFixture('cloudtrail/identities/iam-user.json', { eventName: 'GetObject' }),
    );
    expect(ruleSet.candidates(other)).toHaveLength(0);
  });
});

describe('runRuleTests', () => {
  it('fails a case whose verdict is wrong, and a positive case whose explanation has holes', async () => {
    const wrong = ruleDocument({ condition: { field: 'api.operation', equals: 'GetObject' } });
    const holes = ruleDocument({
      id: 'test.example.holes',
      explanation: 'bucket {raw.requestParameters.bucketName} listed',
    });
    const results = await runRuleTests(ruleSetOf([wrong, holes]), NORMALIZERS);
    expect(results.filter((r) => !r.passed).map((r) => `${r.ruleId}/${r.name}`)).toEqual([
      'test.example.rule/positive',
      'test.example.rule/negative',
      'test.example.holes/positive',
    ]);
    expect(results.find((r) => r.ruleId === 'test.example.holes' && !r.passed)?.problem).toMatch(
      /explanation has a field missing/,
    );
  });
});
