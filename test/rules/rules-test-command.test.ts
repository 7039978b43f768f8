import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { ruleDocument } from '../helpers/rules.js';

describe('trailhound rules test', () => {
  it('passes on the built-in library and prints the plain closing line', () => {
    const result = runCli(['rules', 'test']);
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it('fails the run when a rule case is broken, naming the rule, case and file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailhound-broken-rule-'));
    // The positive case calls ListBuckets but the condition wants GetObject: the case must fail.
    writeFileSync(
      join(dir, 'broken.yml'),
      stringify(
        ruleDocument({
          id: 'custom.broken.rule',
          condition: { field: 'api.operation', equals: 'GetObject' },
        }),
      ),
    );
    const result = runCli(['rules', 'test', '--rules', dir]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/FAIL custom\.broken\.rule — positive \(should fire\) did not fire/);
    expect(result.stdout).toMatch(/broken\.yml/);
    expect(result.stdout).toMatch(/^\d+ passed, 2 failed$/m);
  });

  it('refuses to load a rule file that does not validate, with exit 2 and the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailhound-invalid-rule-'));
    writeFileSync(
      join(dir, 'invalid.yml'),
      stringify(ruleDocument({ id: 'custom.invalid.rule', severity: 'urgent' })),
    );
    const result = runCli(['rules', 'test', '--rules', dir]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/invalid\.yml: severity/);
  });
});
