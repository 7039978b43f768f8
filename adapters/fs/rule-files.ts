import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuleSourceFile } from '../../detectors/engine/rule-set.js';

/** The package root: the nearest folder above this module holding trailhound's package.json. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'trailhound') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the trailhound package above ${from}`);
    dir = parent;
  }
}

export const builtinRulesDir = (): string => join(packageRoot(), 'detectors', 'rules');

/** Every `.yml` / `.yaml` file below `dir`, sorted, as rule source files. */
export function readRuleFolder(dir: string, origin: string): RuleSourceFile[] {
  const root = resolve(dir);
  const files: RuleSourceFile[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) {
        files.push({ path: relative(process.cwd(), path) || path, text: readFileSync(path, 'utf8'), origin });
      }
    }
  };
  walk(root);
  return files;
}
