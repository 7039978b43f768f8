/**
 * `trailhound baseline seed`: warms the behavioural profiles from history, so
 * a new install knows each principal's habits on day one instead of spending
 * its first weeks "still learning".
 *
 * - `seed <paths...> --state DIR`: log files, read as `scan` reads them;
 * - `seed --lookup-events --region R --days N --state DIR`: the last N days of
 *   management events of one account and region from CloudTrail's
 *   LookupEvents API (no trail needed), read an hour at a time, oldest first.
 *
 * Both run the one `DetectionPipeline` with the baseline stage on and no rules
 * (learning only, no findings), into the same profiles `scan --baselines
 * --state DIR` uses, with the same network lookup. Batches are the same
 * whatever run makes them (one per file; one per clock hour of LookupEvents),
 * so seeding twice, or scanning files that were seeded, learns nothing twice.
 */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import {
  createCloudTrailClient,
  LOOKUP_EVENTS_RETENTION_DAYS,
  LookupEventsError,
  type LookupProgress,
  lookupEventWindows,
} from '../../adapters/cloudtrail/lookup-events.js';
import { FileQuarantine } from '../../adapters/fs/file-quarantine.js';
import { readInputs } from '../../adapters/fs/input-files.js';
import {
  loadBaselineNetworkLookup,
  loadNetworkDatabase,
  type NetworkLoadStats,
} from '../../adapters/ip-location/load.js';
import { Baseliner } from '../../detectors/baselines/baseliner.js';
import type { NetworkLookup } from '../../detectors/baselines/features.js';
import type { ProfileStore } from '../../detectors/baselines/store.js';
import { loadRuleSet } from '../../detectors/engine/rule-set.js';
import { DetectionPipeline } from '../../detectors/pipeline/pipeline.js';
import { bump } from '../../detectors/pipeline/stats.js';
import { InputProblemError } from '../../detectors/readers/errors.js';
import { UsageError } from '../errors.js';
import { parseTimeBound } from '../time.js';
import { openLocalBaselines } from './baseline.js';

export interface SeedOptions {
  state: string;
  lookupEvents?: boolean;
  region?: string;
  days: number;
  endpoint?: string;
  rate: number;
  since?: string;
  until?: string;
  batchSize?: number;
  quiet?: boolean;
}

/** An open profile store and how to close it. */
export interface OpenedProfiles {
  readonly store: ProfileStore;
  /** Where the profiles are, for the summary. */
  readonly location: string;
  close(): Promise<void>;
}

/** What the command needs from outside; tests and other hosts pass their own. */
export interface SeedDependencies {
  /** Opens the profiles of `--state DIR` (default: local dynalite in `DIR/profiles`). */
  readonly openProfiles?: (stateDir: string) => Promise<OpenedProfiles>;
  /** The baselines' network lookup (default: the installed ASN/country data, then the documentation ranges). */
  readonly networkLookup?: () => Promise<{ lookup: NetworkLookup; stats?: NetworkLoadStats }>;
  readonly now?: () => number;
  /** Where progress and the summary go (default: stderr). */
  readonly write?: (text: string) => void;
  /** Whether to draw a progress line (default: stderr is a terminal). */
  readonly progress?: boolean;
}

const HOUR_MS = 3_600_000;
/** LookupEvents: events per batch at most (an hour of a busy account can hold more). */
const LOOKUP_BATCH_SIZE = 5_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Adds `seed` to `trailhound baseline`. Takes the `baseline` command itself
 * (as `registerBaselineCommands`' `extend` hook passes it) or the program (the
 * `baseline` command is then found, or made).
 */
export function registerBaselineSeedCommand(program: Command, dependencies: SeedDependencies = {}): Command {
  const baseline =
    program.name() === 'baseline'
      ? program
      : (program.commands.find((c) => c.name() === 'baseline') ?? program.command('baseline'));
  return baseline
    .command('seed')
    .description(
      'Learn profiles from history (rules off, no findings): log files, or the last days of CloudTrail LookupEvents',
    )
    .argument('[paths...]', 'files or folders of audit logs, read as `scan` reads them')
    .requiredOption(
      '--state <dir>',
      'the state folder `scan --baselines --state DIR` uses (profiles in DIR/profiles)',
    )
    .option(
      '--lookup-events',
      'read CloudTrail LookupEvents (management events of one account and region) instead of files',
    )
    .option(
      '--region <region>',
      'with --lookup-events: the region to read (global services log in us-east-1)',
    )
    .option(
      '--days <n>',
      `with --lookup-events: days back from the last whole hour, 1 … ${LOOKUP_EVENTS_RETENTION_DAYS}`,
      (value) => wholeNumber(value, '--days', 1, LOOKUP_EVENTS_RETENTION_DAYS),
      7,
    )
    .option(
      '--endpoint <url>',
      'with --lookup-events: another CloudTrail endpoint (a local server, a VPC endpoint)',
    )
    .addOption(
      new Option(
        '--rate <n>',
        'with --lookup-events: requests per second at most (the API allows 2 per account and region)',
      )
        .argParser((value) => positiveNumber(value, '--rate'))
        .default(2),
    )
    .option(
      '--since <time>',
      'with files: only events at or after TIME (ISO 8601, or a duration back like 30d)',
    )
    .option('--until <time>', 'with files: only events before TIME')
    .option(
      '--batch-size <n>',
      'files: events per profile batch at least (as scan; default 1000); LookupEvents: at most (default 5000; each hour also ends one)',
      (value) => wholeNumber(value, '--batch-size', 1, 1_000_000),
    )
    .option('--quiet', 'no progress and no summary on stderr')
    .action(async (paths: string[], options: SeedOptions) => {
      process.exitCode = await runBaselineSeed(paths, options, dependencies);
    });
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0))
    throw new UsageError(`${flag} must be a positive number, got "${value}"`);
  return n;
}

/** The whole command; returns the exit code (0 done, 2 an input that could not be read or LookupEvents failed). */
export async function runBaselineSeed(
  paths: readonly string[],
  options: SeedOptions,
  dependencies: SeedDependencies = {},
): Promise<number> {
  const now = (dependencies.now ?? Date.now)();
  const fromApi = options.lookupEvents === true;
  if (fromApi && paths.length > 0) throw new UsageError('give either files or --lookup-events, not both');
  if (!fromApi && paths.length === 0)
    throw new UsageError('nothing to seed from: give files or folders, or --lookup-events --region R');
  if (fromApi && options.region === undefined) throw new UsageError('--lookup-events needs --region');
  if (fromApi && (options.since !== undefined || options.until !== undefined))
    throw new UsageError('--since and --until are for files; with --lookup-events use --days');
  if (!fromApi && (options.region !== undefined || options.endpoint !== undefined))
    throw new UsageError('--region and --endpoint go with --lookup-events');
  const since = options.since !== undefined ? parseTimeBound(options.since, now, '--since') : undefined;
  const until = options.until !== undefined ? parseTimeBound(options.until, now, '--until') : undefined;
  if (since !== undefined && until !== undefined && since >= until)
    throw new UsageError('--since must be before --until');

  const write = dependencies.write ?? ((text: string) => process.stderr.write(text));
  const showProgress = !options.quiet && (dependencies.progress ?? process.stderr.isTTY === true);
  const network = await (dependencies.networkLookup ?? defaultNetworkLookup)();
  const profiles = await (dependencies.openProfiles ?? openLocalBaselines)(options.state);
  try {
    const baseliner = new Baseliner({ store: profiles.store, lookup: network.lookup });
    const quarantine = new FileQuarantine(join(options.state, 'quarantine'));
    const pipeline = new DetectionPipeline({
      // Rules off: learning only.
      ruleSet: loadRuleSet([]),
      baselines: baseliner,
      // Files are batched as `scan` batches them (content-defined, across files), so a scan of files
      // that were seeded forms the same batches and learns nothing twice. LookupEvents is cut by the
      // hour below, so a second seed of the same days forms the same batches.
      batching: fromApi ? 'per-input' : 'content-defined',
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      quarantine,
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
    });
    const source = fromApi
      ? await seedFromLookupEvents(pipeline, quarantine, options, now, write, showProgress)
      : await seedFromFiles(pipeline, paths, write, showProgress);
    const stats = pipeline.finish();
    if (!options.quiet) {
      const seconds = Math.max((stats.finishedAt ?? Date.now()) - stats.startedAt, 1) / 1000;
      const problems = Object.entries(stats.skipped)
        .filter(([reason]) => reason !== 'outside-time-range')
        .reduce((sum, [, count]) => sum + count, 0);
      const b = baseliner.stats;
      const outside = stats.skipped['outside-time-range'] ?? 0;
      const evaluated = stats.normalized - outside;
      const learned = b.learning + b.scored;
      const lines = [
        `seeded      ${n(evaluated)} events ${source.description}`,
        `read        ${n(stats.recordsRead)} records, ${n(problems)} unusable${quarantine.count > 0 ? ` (${quarantine.count} in ${quarantine.file})` : ''}, ${n(outside)} outside the time range, in ${seconds.toFixed(1)} s`,
        `profiles    ${n(learned)} events learned (${n(evaluated - learned)} calls AWS services make on their own have no profile) in ${n(b.batches)} batches; ${n(b.profileReads)} profile reads, ${n(b.profileWrites)} writes, ${n(b.replayedDeltas)} replayed (learned before)`,
        `kept in     ${profiles.location}`,
      ];
      if (network.stats !== undefined) {
        const t = network.stats;
        lines.push(
          `networks    ${n(t.steps.asn)} AS and ${n(t.steps.country)} country ranges (${(t.tableBytes / 2 ** 20).toFixed(1)} MiB) loaded in ${n(t.loadMs)} ms`,
        );
      }
      if (source.interrupted)
        lines.push('interrupted what was read before the interruption is learned; seed again to go on');
      write(`${lines.join('\n')}\n`);
    }
    return source.unreadable > 0 ? 2 : 0;
  } finally {
    await profiles.close();
  }
}

async function defaultNetworkLookup(): Promise<{ lookup: NetworkLookup; stats: NetworkLoadStats }> {
  const lookup = await loadBaselineNetworkLookup();
  return { lookup, stats: (await loadNetworkDatabase()).stats };
}

interface SeedSource {
  readonly description: string;
  readonly unreadable: number;
  readonly interrupted: boolean;
}

async function seedFromFiles(
  pipeline: DetectionPipeline,
  paths: readonly string[],
  write: (text: string) => void,
  showProgress: boolean,
): Promise<SeedSource> {
  let unreadable = 0;
  let files = 0;
  const progress = showProgress
    ? ticker(() => `seeding: ${n(files)} files, ${n(pipeline.stats.normalized)} events`, write)
    : undefined;
  try {
    for await (const input of readInputs(paths, (error) => {
      unreadable += 1;
      write(`trailhound: ${error.message}\n`);
    })) {
      files += 1;
      await pipeline.ingest(input.path, input.bytes);
    }
    await pipeline.flush();
  } finally {
    progress?.stop();
  }
  return { description: `from ${n(pipeline.stats.inputs)} files`, unreadable, interrupted: false };
}

async function seedFromLookupEvents(
  pipeline: DetectionPipeline,
  quarantine: FileQuarantine,
  options: SeedOptions,
  now: number,
  write: (text: string) => void,
  showProgress: boolean,
): Promise<SeedSource> {
  const region = options.region as string;
  // Whole clock hours, the current one left out (LookupEvents lags by minutes): the same
  // hour always gives the same batch, so a second seed learns nothing twice.
  const lastHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const startTime = new Date(lastHour - options.days * DAY_MS);
  const endTime = new Date(lastHour - 1000);
  const client = createCloudTrailClient({
    region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  });
  const name = `lookup-events/${region}`;
  const abort = new AbortController();
  const onInterrupt = () => {
    write('\ntrailhound: stopping; what was read so far is kept\n');
    abort.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onInterrupt);
  let last: LookupProgress | undefined;
  const progress = showProgress
    ? ticker(
        () =>
          last === undefined
            ? 'seeding: asking LookupEvents…'
            : `seeding: hour ${n(last.windowsDone)}/${n(last.windows)} (${last.windowStart.toISOString().slice(0, 13)}h), ${n(last.events)} events, ${n(last.requests)} requests`,
        write,
      )
    : undefined;
  let line = 0;
  let interrupted = false;
  let failed = false;
  try {
    for await (const window of lookupEventWindows({
      client,
      startTime,
      endTime,
      minRequestIntervalMs: 1000 / options.rate,
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
      },
    })) {
      let pending = 0;
      for (const item of window.items) {
        line += 1;
        if (item.kind === 'record') {
          pipeline.processRecord('aws.cloudtrail', item.record, name, line);
          if (++pending >= (options.batchSize ?? LOOKUP_BATCH_SIZE)) {
            await pipeline.flush();
            pending = 0;
          }
        } else {
          bump(pipeline.stats.skipped, item.reason);
          await quarantine.put(new InputProblemError(item.reason, name, line, item.message, item.text));
        }
      }
      // Each hour ends a batch: what is learned survives an interruption, and batches repeat exactly.
      await pipeline.flush();
      await pipeline.flushQuarantine();
    }
  } catch (error) {
    if (abort.signal.aborted) interrupted = true;
    else if (error instanceof LookupEventsError) {
      // Keep what was learned, say why it stopped, exit 2.
      failed = true;
      write(`trailhound: ${error.message}\n`);
    } else throw error;
    await pipeline.flush();
  } finally {
    process.off('SIGINT', onInterrupt);
    progress?.stop();
    client.destroy();
  }
  const requests =
    last === undefined
      ? ''
      : `, ${n(last.requests)} requests, ${n(last.sdkRetries)} retried by the SDK, ${n(last.throttleRetries)} throttle waits`;
  return {
    description: `from LookupEvents in ${region}, ${startTime.toISOString()} … ${endTime.toISOString()}: ${n(last?.windowsDone ?? 0)} hours${requests}`,
    unreadable: failed ? 1 : 0,
    interrupted,
  };
}

function ticker(render: () => string, write: (text: string) => void): { stop(): void } {
  const timer = setInterval(() => write(`\r\u001b[2K${render()}`), 250);
  return {
    stop() {
      clearInterval(timer);
      write('\r\u001b[2K');
    },
  };
}

const n = (value: number) => value.toLocaleString('en-US');
