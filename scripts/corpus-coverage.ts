/**
 * Prints which positive CloudTrail cases of ../shared/corpora/panther raise at
 * least one finding. A development aid; the vitest test of the same name is the gate.
 * Usage: tsx scripts/corpus-coverage.ts [AWS.CloudTrail|GCP.AuditLog|Azure.MonitorActivity|Azure.Audit] [--misses]
 */
import { type CorpusLogType, corpusCoverage } from '../test/helpers/corpus.js';

const logType = (process.argv.find((a) => /^(AWS|GCP|Azure)\./.test(a)) ?? 'AWS.CloudTrail') as CorpusLogType;
const report = corpusCoverage(logType);
if (report === undefined) {
  console.error('../shared/corpora/panther not found');
  process.exit(1);
}
console.log(
  `${logType}: positive cases ${report.positives} (${report.readable} readable), detected ${report.detected} (${(report.ratio * 100).toFixed(1)}%)`,
);
if (process.argv.includes('--misses')) for (const miss of report.misses) console.log(`  miss: ${miss}`);
