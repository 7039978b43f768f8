import type { Command } from 'commander';
import { runRuleTests } from '../../detectors/engine/rule-tests.js';
import { NORMALIZERS } from '../../detectors/normalizers/index.js';
import { loadCatalog } from '../rule-catalog.js';

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('List and test detection rules');

  rules
    .command('test')
    .description("Run every rule's own positive and negative test cases")
    .option('--rules <dir>', 'extra rule folder (repeatable)', collect, [])
    .option('--verbose', 'print every case, not only failures')
    .action(async (options: { rules: string[]; verbose?: boolean }) => {
      const ruleSet = loadCatalog(options.rules);
      const results = await runRuleTests(ruleSet, NORMALIZERS);
      const failed = results.filter((r) => !r.passed);
      for (const result of options.verbose ? results : failed) {
        const verdict = result.passed ? 'ok  ' : 'FAIL';
        const wanted = result.expect ? 'should fire' : 'should not fire';
        const detail = result.problem ?? (result.passed ? '' : result.fired ? 'fired' : 'did not fire');
        process.stdout.write(
          `${verdict} ${result.ruleId} — ${result.name} (${wanted}) ${detail}\n       ${result.file}\n`,
        );
      }
      process.stdout.write(`rules: ${ruleSet.rules.length}, cases: ${results.length}\n`);
      // The plain closing line CI reads.
      process.stdout.write(`${results.length - failed.length} passed, ${failed.length} failed\n`);
      if (failed.length > 0) process.exitCode = 1;
    });

  rules
    .command('list')
    .description('List the loaded rules')
    .option('--rules <dir>', 'extra rule folder (repeatable)', collect, [])
    .action((options: { rules: string[] }) => {
      for (const rule of loadCatalog(options.rules).rules) {
        const { severity, maturity, title, attack } = rule.doc;
        const techniques = attack.map((a) => a.technique_id).join(',');
        process.stdout.write(`${rule.id}\t${severity}\t${maturity}\t${techniques}\t${title}\n`);
      }
    });
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
