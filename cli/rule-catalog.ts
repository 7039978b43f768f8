import { basename, resolve } from 'node:path';
import { builtinRulesDir, readRuleFolder } from '../adapters/fs/rule-files.js';
import { loadRuleSet, type RuleSet } from '../detectors/engine/rule-set.js';
import { PREDICATES } from '../detectors/rules/predicates/index.js';

/** The built-in rules plus any `--rules` folders (later folders override lists and macros). */
export function loadCatalog(extraDirs: readonly string[] = []): RuleSet {
  const files = [
    ...readRuleFolder(builtinRulesDir(), 'trailhound'),
    ...extraDirs.flatMap((dir) => readRuleFolder(dir, `custom:${basename(resolve(dir))}`)),
  ];
  return loadRuleSet(files, PREDICATES);
}
