/**
 * Prints which positive CloudTrail cases of ../shared/corpora/panther raise at
 * least one finding. A development aid; the vitest test of the same name is the gate.
 * Usage: tsx scripts/corpus-coverage.ts [--misses]
 */
import { corpusCoverage } from '../test/helpers/corpus.js';

const report = corpusCoverage('AWS.CloudTrail');
if (report === undefined) {
  console.error('../shared/corpora/panther not found');
  process.exit(1);
}
console.log(
  `positive cases: ${report.positives}, detected: ${report.detected} (${(report.ratio * 100).toFixed(1)}%)`,
);
if (process.argv.includes('--misses')) for (const miss of report.misses) console.log(`  miss: ${miss}`);
