import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_EVENTS = 200_000;
export const CORPUS_DIR = join('bench', '.data', `org-trail-${BENCH_EVENTS / 1000}k`);

/** Generates the benchmark corpus once (an organization-trail folder of .json.gz files) and lists its files. */
export function benchCorpus(): string[] {
  if (!existsSync(CORPUS_DIR)) {
    console.log(`generating ${BENCH_EVENTS} events into ${CORPUS_DIR} …`);
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/generate-samples.ts',
        '--out',
        CORPUS_DIR,
        '--events',
        String(BENCH_EVENTS),
        '--seed',
        '7',
        '--days',
        '14',
      ],
      { stdio: 'inherit' },
    );
  }
  return listFiles(CORPUS_DIR);
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}
