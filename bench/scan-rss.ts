/**
 * Child process of the benchmark: runs the scan pipeline over the first N files
 * of the corpus and prints its peak RSS, so memory is measured per run and not
 * polluted by the parent's own allocations.
 */
import { readInputs } from '../adapters/fs/input-files.js';
import { loadCatalog } from '../cli/rule-catalog.js';
import { DetectionPipeline } from '../detectors/pipeline/pipeline.js';
import { benchCorpus } from './corpus.js';

const count = Number(process.argv[2]);
const files = benchCorpus().slice(0, count);
const pipeline = new DetectionPipeline({ ruleSet: loadCatalog() });
for await (const input of readInputs(files, (error) => {
  throw error;
})) {
  await pipeline.ingest(input.path, input.bytes);
}
pipeline.takeFindings();
console.log(
  JSON.stringify({
    files: files.length,
    events: pipeline.stats.normalized,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
