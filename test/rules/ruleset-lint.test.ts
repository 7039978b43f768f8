/**
 * Meta-tests over the whole built-in rule library: the conventions of
 * detectors/rules/README.md, enforced rather than hoped for.
 */
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRulesDir } from '../../adapters/fs/rule-files.js';
import { loadCatalog } from '../../cli/rule-catalog.js';

const ruleSet = loadCatalog();
const rules = ruleSet.rules.map((rule) => ({ rule, path: relative(builtinRulesDir(), resolve(rule.file)) }));

describe('built-in rule library', () => {
  it('has an id equal to its path', () => {
    for (const { rule, path } of rules) {
      expect(
        `${path
          .replace(/\.ya?ml$/, '')
          .split('/')
          .join('.')}`,
        rule.file,
      ).toBe(rule.id);
    }
  });

  it('has unique titles', () => {
    const titles = rules.map(({ rule }) => rule.doc.title);
    expect(titles.filter((t, i) => titles.indexOf(t) !== i)).toEqual([]);
  });

  it('gives every rule references as URLs and an explanation that names fields', () => {
    for (const { rule } of rules) {
      for (const reference of rule.doc.references ?? []) expect(reference, rule.id).toMatch(/^https:\/\//);
      expect(rule.doc.explanation, rule.id).toMatch(/\{[a-z_.A-Z0-9]+\}/);
    }
  });

  it('indexes most rules by operation (or Kubernetes resource), so the engine runs few rules per event', () => {
    const unindexed = rules
      .filter(({ rule }) => rule.operations === undefined && rule.kubernetesResources === undefined)
      .map(({ rule }) => rule.id);
    expect(unindexed.length, `unindexed: ${unindexed.join(', ')}`).toBeLessThanOrEqual(
      Math.ceil(rules.length / 10),
    );
  });

  it('covers the ATT&CK tactics of the cloud matrix', () => {
    const tactics = new Set(rules.flatMap(({ rule }) => rule.doc.attack.map((a) => a.tactic)));
    for (const tactic of [
      'Initial Access',
      'Persistence',
      'Privilege Escalation',
      'Defense Evasion',
      'Credential Access',
      'Discovery',
      'Lateral Movement',
      'Collection',
      'Exfiltration',
      'Impact',
    ]) {
      expect([...tactics]).toContain(tactic);
    }
  });
});
