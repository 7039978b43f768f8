import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { DynamoIncidentStore } from '../../adapters/dynamodb/incident-store.js';
import { FileFindingStateStore } from '../../adapters/fs/file-finding-state.js';
import { FileQuarantine } from '../../adapters/fs/file-quarantine.js';
import { readInputs } from '../../adapters/fs/input-files.js';
import { loadBaselineNetworkLookup } from '../../adapters/ip-location/load.js';
import { Baseliner } from '../../detectors/baselines/baseliner.js';
import { DEFAULT_SCORING_POLICY } from '../../detectors/baselines/scorer.js';
import type { RuleSet } from '../../detectors/engine/rule-set.js';
import { DetectionPipeline } from '../../detectors/pipeline/pipeline.js';
import { type Finding, SEVERITY_ORDER, Severity } from '../../detectors/schema/finding.js';
import { openLocalAlerting } from '../alerting.js';
import { UsageError } from '../errors.js';
import { OUTPUT_FORMATS, type OutputFormat, renderFindings } from '../output/findings.js';
import { type BaselineSummary, renderSummary } from '../output/summary.js';
import { loadCatalog } from '../rule-catalog.js';
import { parseTimeBound } from '../time.js';
import { type LocalBaselines, openLocalBaselines } from './baseline.js';
import { deliveryText } from './notify.js';
import { collect } from './rules.js';

interface ScanOptions {
  format: OutputFormat;
  out?: string;
  state?: string;
  quarantine?: string;
  rules: string[];
  since?: string;
  until?: string;
  minSeverity: Severity;
  failOn?: Severity;
  quiet?: boolean;
  baselines?: boolean;
  learningDays: number;
  learningEvents: number;
  notify?: string;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new UsageError(`expected a number of 0 or more, got "${text}"`);
  return value;
}

const severityChoices = Severity.options;

export function registerScanCommand(program: Command): void {
  program
    .command('scan')
    .description(
      'Scan audit-log files and folders (AWS CloudTrail, GCP Cloud Audit Logs, Azure Activity and Entra logs; gzip or not, JSON or JSON Lines) and print findings',
    )
    .argument('<paths...>', 'files or folders (an organization trail folder is walked recursively)')
    .addOption(new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option('--out <file>', 'write findings to FILE instead of stdout')
    .option('--state <dir>', 'keep dedup state between runs in DIR (a re-scan does not repeat findings)')
    .option(
      '--quarantine <dir>',
      'where unusable input is kept (default: <state>/quarantine or a temporary folder)',
    )
    .option(
      '--rules <dir>',
      'extra rule folder; its lists.yml / macros.yml override the built-ins (repeatable)',
      collect,
      [],
    )
    .option('--since <time>', 'only events at or after TIME (ISO 8601, or a duration back from now like 24h)')
    .option('--until <time>', 'only events before TIME')
    .addOption(
      new Option('--min-severity <severity>', 'only print findings at or above')
        .choices(severityChoices)
        .default('info'),
    )
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding at or above SEVERITY exists').choices(
        severityChoices,
      ),
    )
    .option('--quiet', 'no progress and no summary on stderr')
    .option(
      '--baselines',
      'score events against behavioural profiles and learn them (the default; local DynamoDB on dynalite: kept in <state>/profiles with --state, else in memory)',
    )
    .option('--no-baselines', 'rules only: no profiles, no network lookup (fastest)')
    .option(
      '--learning-days <days>',
      'a subject only learns (is not scored) for its first DAYS days',
      positiveNumber,
      7,
    )
    .option('--learning-events <count>', '…and until it has COUNT events', positiveNumber, 20)
    .option(
      '--notify <dir>',
      'route the findings through the alerting configuration in DIR (alerting.yml, suppressions.yml): incidents, suppressions, Slack, PagerDuty, Security Hub',
    )
    .action(async (paths: string[], options: ScanOptions) => {
      process.exitCode = await scan(paths, options);
    });
}

async function scan(paths: string[], options: ScanOptions): Promise<number> {
  const now = Date.now();
  const since = options.since !== undefined ? parseTimeBound(options.since, now, '--since') : undefined;
  const until = options.until !== undefined ? parseTimeBound(options.until, now, '--until') : undefined;
  if (since !== undefined && until !== undefined && since >= until)
    throw new UsageError('--since must be before --until');

  const ruleSet = loadCatalog(options.rules);
  const quarantineDir =
    options.quarantine ??
    (options.state !== undefined
      ? join(options.state, 'quarantine')
      : await mkdtemp(join(tmpdir(), 'trailhound-quarantine-')));
  const quarantine = new FileQuarantine(quarantineDir);
  const stateStore = options.state !== undefined ? new FileFindingStateStore(options.state) : undefined;

  const local = options.baselines !== false ? await openLocalBaselines(options.state) : undefined;
  try {
    return await scanWith(paths, options, { ruleSet, quarantine, stateStore, since, until, local });
  } finally {
    await local?.close();
  }
}

async function scanWith(
  paths: string[],
  options: ScanOptions,
  context: {
    ruleSet: RuleSet;
    quarantine: FileQuarantine;
    stateStore: FileFindingStateStore | undefined;
    since: number | undefined;
    until: number | undefined;
    local: LocalBaselines | undefined;
  },
): Promise<number> {
  const { ruleSet, quarantine, stateStore, since, until, local } = context;
  // The same network lookup as `baseline seed`, so networks learned there match those scored here.
  const baseliner =
    local !== undefined
      ? new Baseliner({
          store: local.store,
          lookup: await loadBaselineNetworkLookup(),
          scoring: {
            ...DEFAULT_SCORING_POLICY,
            learningMs: options.learningDays * 86_400_000,
            learningEvents: options.learningEvents,
          },
        })
      : undefined;
  const pipeline = new DetectionPipeline({
    ruleSet,
    quarantine,
    // Batches span files and end at content-defined boundaries: few profile writes, and a re-scan
    // of the same files forms the same batches, so it changes nothing.
    batching: 'content-defined',
    ...(baseliner !== undefined ? { baselines: baseliner } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  });
  const previous = await stateStore?.load();
  if (previous !== undefined) pipeline.restoreState(previous);

  const progress = !options.quiet && process.stderr.isTTY ? startProgress(pipeline) : undefined;
  let unreadable = 0;
  try {
    for await (const input of readInputs(paths, (error) => {
      unreadable += 1;
      process.stderr.write(`trailhound: ${error.message}\n`);
    })) {
      await pipeline.ingest(input.path, input.bytes);
    }
    await pipeline.flush();
  } finally {
    progress?.stop();
  }
  const findings = pipeline.takeFindings();
  const stats = pipeline.finish();
  if (stateStore !== undefined) await stateStore.save(pipeline.snapshotState());

  const shown = findings
    .filter((f) => SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[options.minSeverity])
    .sort(bySeverityThenTime);
  await writeOutput(
    renderFindings(shown, options.format, options.out === undefined && process.stdout.isTTY),
    options.out,
  );
  if (!options.quiet) {
    process.stderr.write(
      renderSummary(stats, {
        unreadable,
        ...(quarantine.count > 0 ? { quarantine: `${quarantine.count} item(s) in ${quarantine.file}` } : {}),
        ...(baseliner !== undefined && local !== undefined
          ? { baselines: baselineSummary(baseliner, local) }
          : {}),
      }),
    );
  }
  if (options.notify !== undefined) await notifyFindings(findings, options, local);
  if (unreadable > 0) return 2;
  const failOn = options.failOn;
  if (failOn !== undefined && findings.some((f) => SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[failOn]))
    return 1;
  return 0;
}

/** Runs the scan's findings through the alerting path, sharing the scan's dynalite when it has one. */
async function notifyFindings(
  findings: readonly Finding[],
  options: ScanOptions,
  local: LocalBaselines | undefined,
): Promise<void> {
  const alerting = await openLocalAlerting({
    alertingDir: options.notify as string,
    stateDir: options.state,
    ...(local !== undefined
      ? { store: new DynamoIncidentStore({ client: local.client, tableName: local.tableName }) }
      : {}),
  });
  try {
    const summary = await alerting.alerter.handle(findings);
    if (!options.quiet)
      process.stderr.write(
        `alerting: ${summary.findings} findings, ${summary.suppressed} suppressed, ${summary.incidentsOpened} incidents opened, ${summary.incidentsUpdated} updated${deliveryText(summary)}\n`,
      );
    for (const id of summary.expiredSuppressions)
      process.stderr.write(
        `trailhound: suppression ${id} has expired and no longer applies; renew or remove it\n`,
      );
    if (Object.values(summary.destinations).some((t) => t.failed > 0))
      process.stderr.write(
        `trailhound: some notifications were not delivered; they are kept in ${alerting.deadLetterDir} (trailhound notify redrive)\n`,
      );
  } finally {
    await alerting.close();
  }
}

function baselineSummary(baseliner: Baseliner, local: LocalBaselines): BaselineSummary {
  const store = local.store.stats;
  return {
    scored: baseliner.stats.scored,
    learning: baseliner.stats.learning,
    batches: baseliner.stats.batches,
    profilesRead: baseliner.stats.profileReads,
    profilesFound: store.itemsRead,
    profilesWritten: baseliner.stats.profileWrites,
    replayed: baseliner.stats.replayedDeltas,
    dynamoReads: store.reads,
    dynamoWrites: store.writes,
    conditionalRetries: store.conditionalRetries,
    throttleRetries: store.throttleRetries,
    location: local.location,
  };
}

function bySeverityThenTime(a: Finding, b: Finding): number {
  return SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] || a.first_seen - b.first_seen;
}

async function writeOutput(text: string, file: string | undefined): Promise<void> {
  const stream = file === undefined ? process.stdout : createWriteStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
  if (file !== undefined)
    await new Promise<void>((resolve) => (stream as ReturnType<typeof createWriteStream>).end(resolve));
}

function startProgress(pipeline: DetectionPipeline): { stop(): void } {
  const timer = setInterval(() => {
    const { inputs, normalized } = pipeline.stats;
    process.stderr.write(`\r\u001b[2Kscanning: ${inputs} files, ${normalized} events`);
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      process.stderr.write('\r\u001b[2K');
    },
  };
}
