/**
 * Generates the CloudTrail sample (`npm run samples`) or a larger corpus.
 *
 *   tsx scripts/generate-samples.ts                       # samples/cloudtrail, 3 days, ~4,600 events
 *   tsx scripts/generate-samples.ts --out bench/.data/cloudtrail --events 200000
 *   tsx scripts/generate-samples.ts --format jsonl --out bench/.data
 *
 * Same options, same bytes. Beside the output folder it writes
 * `<out>.manifest.json`: the options, counts, and each attack story's event ids.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DECOYS } from './samples/activities/decoys.js';
import { BEHAVIOURS } from './samples/behaviours.js';
import { writeJsonLines, writeOrgTrail } from './samples/org-trail-writer.js';
import { buildSample } from './samples/sample.js';

const USAGE = `Usage: tsx scripts/generate-samples.ts [options]
  --out DIR        output folder (default samples/cloudtrail)
  --events N       exact number of records (default: the natural volume, ~1,500 a day)
  --seed S         integer seed (default 20260302)
  --days D         days of activity (default 3)
  --start DATE     first day, YYYY-MM-DD (default 2026-03-02, a Monday)
  --format F       org-trail (gzip'd S3 layout, default) or jsonl (one file, <out>/cloudtrail.jsonl)
  --interval M     minutes of events per log file (default 15; CloudTrail delivers about every 5,
                   but 15 keeps the committed sample near 1 MB instead of 1.6)
  --help`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text)) fail(`--${name} must be a whole number, got "${text}"`);
  return Number(text);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        out: { type: 'string', default: 'samples/cloudtrail' },
        events: { type: 'string' },
        seed: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string', default: '2026-03-02' },
        format: { type: 'string', default: 'org-trail' },
        interval: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
}

const values = parseOptions();

if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.format !== 'org-trail' && values.format !== 'jsonl') {
  fail(`--format must be org-trail or jsonl, got "${values.format}"`);
}
if (!/^\d{4}-\d{2}-\d{2}$/.test(values.start) || Number.isNaN(Date.parse(values.start))) {
  fail(`--start must be a date like 2026-03-02, got "${values.start}"`);
}

const seed = integer('seed', values.seed, 20260302) as number;
const days = integer('days', values.days, 3) as number;
const intervalMinutes = integer('interval', values.interval, 15) as number;
if (intervalMinutes < 1 || intervalMinutes > 60)
  fail(`--interval must be between 1 and 60 minutes, got ${intervalMinutes}`);
const targetEvents = integer('events', values.events);
const start = new Date(`${values.start}T00:00:00Z`);
const out = resolve(values.out);

const began = performance.now();
let sample: ReturnType<typeof buildSample>;
try {
  sample = buildSample({ seed, start, days, targetEvents });
} catch (error) {
  fail((error as Error).message);
}

let files = 1;
let bytes: number;
if (values.format === 'org-trail') {
  // Only the AWSLogs tree is ours to replace: file names are random, so stale files would linger.
  rmSync(join(out, 'AWSLogs'), { recursive: true, force: true });
  const written = writeOrgTrail(out, sample.records, { seed, intervalMinutes });
  files = written.length;
  bytes = written.reduce((sum, file) => sum + file.bytes, 0);
} else {
  const file = join(out, 'cloudtrail.jsonl');
  writeJsonLines(file, sample.records);
  bytes = statSync(file).size;
}

const manifest = {
  generator: 'scripts/generate-samples.ts',
  options: {
    seed,
    start: values.start,
    days,
    events: targetEvents ?? null,
    format: values.format,
    intervalMinutes,
  },
  counts: {
    records: sample.records.length,
    traffic: sample.trafficCount,
    attacks: sample.records.length - sample.trafficCount,
    files,
  },
  attacks: sample.attacks,
  decoys: DECOYS,
  behaviours: BEHAVIOURS,
};
writeFileSync(`${out}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);

const seconds = ((performance.now() - began) / 1000).toFixed(1);
process.stdout.write(
  `${sample.records.length} records (${sample.trafficCount} traffic, ${manifest.counts.attacks} attack) ` +
    `in ${files} file(s), ${(bytes / 1024 / 1024).toFixed(2)} MiB, ${values.out} [${seconds}s]\n`,
);
for (const attack of sample.attacks) {
  process.stdout.write(`  ${attack.id}: ${attack.eventIds.length} events, ${attack.start} – ${attack.end}\n`);
}
