/**
 * `npm run bench`: the pipeline's throughput as a ratio of the bare cost of
 * reading the same files (read + gunzip + JSON.parse), both measured in this
 * one run, alternating, best of three: machines here are noisy, ratios are not.
 * Then peak RSS of scans over a quarter, half and all of the files, each in its
 * own process, to show memory does not grow with the number of files.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { readInputs, type UnreadableInputError } from '../adapters/fs/input-files.js';
import { loadBaselineNetworkLookup } from '../adapters/ip-location/load.js';
import { openLocalBaselines } from '../cli/commands/baseline.js';
import { loadCatalog } from '../cli/rule-catalog.js';
import { Baseliner } from '../detectors/baselines/baseliner.js';
import { DetectionPipeline } from '../detectors/pipeline/pipeline.js';
import { benchCorpus } from './corpus.js';

const files = benchCorpus();
const rethrow = (error: UnreadableInputError) => {
  throw error;
};
const ruleSet = loadCatalog();

async function bare(): Promise<{ events: number; seconds: number }> {
  const start = performance.now();
  let events = 0;
  for (const file of files) {
    const document = JSON.parse(gunzipSync(await readFile(file)).toString('utf8')) as { Records: unknown[] };
    events += document.Records.length;
  }
  return { events, seconds: (performance.now() - start) / 1000 };
}

async function pipeline(): Promise<{ events: number; seconds: number; findings: number }> {
  const start = performance.now();
  const run = new DetectionPipeline({ ruleSet });
  for await (const input of readInputs(files, rethrow)) await run.ingest(input.path, input.bytes);
  const findings = run.takeFindings().length;
  return { events: run.stats.normalized, seconds: (performance.now() - start) / 1000, findings };
}

/**
 * The same scan with behavioural baselines on, as `trailhound scan` runs it:
 * profiles in DynamoDB (dynalite, in memory), the offline network lookup,
 * content-defined batches. A fresh store each time, so every run learns the
 * same history from nothing.
 */
async function withBaselines(lookup: Awaited<ReturnType<typeof loadBaselineNetworkLookup>>) {
  const local = await openLocalBaselines(undefined);
  try {
    const baselines = new Baseliner({ store: local.store, lookup });
    const start = performance.now();
    const run = new DetectionPipeline({ ruleSet, baselines, batching: 'content-defined' });
    for await (const input of readInputs(files, rethrow)) await run.ingest(input.path, input.bytes);
    await run.flush();
    const findings = run.takeFindings().length;
    return {
      events: run.stats.normalized,
      seconds: (performance.now() - start) / 1000,
      findings,
      writes: local.store.stats.writes,
      reads: local.store.stats.reads,
      scored: baselines.stats.scored,
    };
  } finally {
    await local.close();
  }
}

const bareRates: number[] = [];
const pipelineRates: number[] = [];
let findings = 0;
let events = 0;
for (let round = 0; round < 3; round++) {
  const b = await bare();
  const p = await pipeline();
  bareRates.push(b.events / b.seconds);
  pipelineRates.push(p.events / p.seconds);
  findings = p.findings;
  events = p.events;
}
const lookup = await loadBaselineNetworkLookup();
const baselineRuns = [];
for (let round = 0; round < 2; round++) {
  const b = await bare();
  bareRates.push(b.events / b.seconds);
  baselineRuns.push(await withBaselines(lookup));
}
const bestBaselines = baselineRuns.reduce((best, run) =>
  run.events / run.seconds > best.events / best.seconds ? run : best,
);
const bestBare = Math.max(...bareRates);
const bestPipeline = Math.max(...pipelineRates);

const rss = [0.25, 0.5, 1].map((share) => {
  const count = Math.max(1, Math.round(files.length * share));
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/scan-rss.ts', String(count)], {
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').pop() as string) as {
    files: number;
    events: number;
    maxRssMiB: number;
  };
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `corpus            ${files.length} files, ${fmt(events)} events, ${ruleSet.rules.length} rules loaded, ${findings} findings`,
);
console.log(
  `bare read+gunzip+JSON.parse   ${fmt(bestBare)} events/s   (rounds: ${bareRates.map(fmt).join(', ')})`,
);
console.log(
  `pipeline (normalize+rules)    ${fmt(bestPipeline)} events/s   (rounds: ${pipelineRates.map(fmt).join(', ')})`,
);
console.log(`ratio pipeline/bare           ${(bestPipeline / bestBare).toFixed(2)}   (aim: >= 0.70)`);
const baselineRate = bestBaselines.events / bestBaselines.seconds;
console.log(
  `with baselines (DynamoDB)     ${fmt(baselineRate)} events/s   ratio to bare ${(baselineRate / bestBare).toFixed(2)}; ${fmt(bestBaselines.scored)} events scored, ${bestBaselines.findings} findings`,
);
console.log(
  `DynamoDB writes               ${bestBaselines.writes} for ${fmt(bestBaselines.events)} events = ${((1000 * bestBaselines.writes) / bestBaselines.events).toFixed(1)} per 1,000 events (aim: <= 100); ${bestBaselines.reads} read requests`,
);
for (const r of rss)
  console.log(
    `peak RSS ${String(r.files).padStart(5)} files ${fmt(r.events).padStart(9)} events   ${r.maxRssMiB.toFixed(0)} MiB   (aim: < 300 MiB, flat)`,
  );
