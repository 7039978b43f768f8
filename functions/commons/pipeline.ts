/**
 * The shared `DetectionPipeline` (`detectors/pipeline/pipeline.ts`) as the
 * Lambda functions run it. What is costly is built once per execution
 * environment ({@link createDetectionRuntime}, at init): the rule set, the
 * network lookup, the DynamoDB profile store. What belongs to one invocation
 * is built per invocation ({@link LambdaPipeline}): the pipeline itself, its
 * counters and its dedup state.
 *
 * - **Rules** are read from YAML files with `readRuleFolder` (the same reader
 *   and predicates as `trailhound scan`). `loadCatalog` (cli/rule-catalog.ts)
 *   is not used: it finds the rules through the package root, which a bundle
 *   does not have. A bundled function sets `RULES_DIR` to the rule folder
 *   shipped beside its code; from the source tree the built-in folder is used.
 * - **Baselines**: `DynamoProfileStore` on the function's table (one
 *   conditional write per subject per batch, batch ledger on), scored with
 *   the same network lookup as the CLI (`@ip-location-db` data, then the
 *   documentation ranges), so profiles learned by any host score alike.
 * - **Batches** are `per-input`: one delivery (a pushed message, a pulled
 *   page) is one batch, whose id is a hash of its events' ids. Pub/Sub
 *   redelivers a message whole and a pull re-delivers an uncommitted page
 *   whole, so a redelivery is the same batch and the profile store merges it
 *   once.
 * - **Findings** go to the findings bus (`FINDINGS_BUS_NAME`, through
 *   `EventBridgeFindingSink`), each also as one structured log line; without a
 *   bus (a dry run of a function) only the log line is written. Either way
 *   {@link MeasuredFindingSink} counts them by severity and measures each
 *   finding's lag, from the event time of its newest event to its delivery.
 * - **Quarantine**: whatever sink the host gives (the S3 quarantine for the
 *   CloudTrail and runtime paths, {@link LogQuarantine} for pushes and pulls), counted.
 * - **Source metrics**: each function sets its `source` as a default metric
 *   dimension ({@link useSourceDimension}); every run adds `EventsIn`,
 *   `EventLag`, `Dropped`, `Quarantined` and `DuplicatesSkipped` under it, which
 *   the deployment's dead-man and health alarms watch.
 */
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoProfileStore } from '../../adapters/dynamodb/profile-store.js';
import { EventBridgeFindingSink } from '../../adapters/eventbridge/finding-bus.js';
import { builtinRulesDir, readRuleFolder } from '../../adapters/fs/rule-files.js';
import { loadBaselineNetworkLookup, type NetworkDataFiles } from '../../adapters/ip-location/load.js';
import { Baseliner } from '../../detectors/baselines/baseliner.js';
import type { NetworkLookup } from '../../detectors/baselines/features.js';
import { loadRuleSet, type RuleSet } from '../../detectors/engine/rule-set.js';
import { DetectionPipeline } from '../../detectors/pipeline/pipeline.js';
import type { FindingSink, QuarantineSink, SeenEventLedger } from '../../detectors/pipeline/ports.js';
import { bump } from '../../detectors/pipeline/stats.js';
import type { ByteSource } from '../../detectors/readers/decode.js';
import { InputProblemError } from '../../detectors/readers/errors.js';
import { unpackDocument } from '../../detectors/readers/unpack.js';
import { PREDICATES } from '../../detectors/rules/predicates/index.js';
import type { Finding, Severity } from '../../detectors/schema/finding.js';
import type { AwsClients } from './clients.js';
import type { CommonEnv } from './env.js';
import { ConfigurationError, IngestError } from './errors.js';
import { logger, MetricUnit, metrics } from './powertools.js';

/** Events per batch at most: a delivery larger than this is cut into several batches. */
export const LAMBDA_BATCH_SIZE = 5_000;
/** Content kept in a quarantine log line; the rest is counted, not logged. */
const QUARANTINE_CONTENT_CHARS = 8 * 1024;

/** The `source` dimension of a function's metrics: which delivery path it serves. */
export type SourceName =
  | 'cloudtrail-s3'
  | 'cloudtrail-eventbridge'
  | 'gcp-push'
  | 'gcp-pull'
  | 'azure-pull'
  | 'lambda-runtime';

/** Puts every metric of this function under `source` (with the service), as the alarms expect. */
export function useSourceDimension(source: SourceName): void {
  metrics.setDefaultDimensions({ source });
}

export interface DetectionRuntime {
  readonly ruleSet: RuleSet;
  readonly profiles: DynamoProfileStore;
  readonly lookup: NetworkLookup;
  /** Where findings are delivered (the bus, or nowhere but the log line). */
  readonly findingsTarget: FindingSink | undefined;
}

export interface DetectionRuntimeOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** The rule folder; undefined: the source tree's `detectors/rules`. */
  readonly rulesDir: string | undefined;
  /** The folder of the four `@ip-location-db` CSVs; undefined: the installed packages. */
  readonly networkDataDir?: string | undefined;
  /** The findings bus; undefined: findings are only logged. */
  readonly findingsBus?: { readonly client: EventBridgeClient; readonly busName: string } | undefined;
}

/** {@link createDetectionRuntime} as every handler calls it: from its environment and the shared clients. */
export function detectionRuntimeFor(env: CommonEnv, clients: AwsClients): Promise<DetectionRuntime> {
  return createDetectionRuntime({
    dynamodb: clients.dynamodb,
    tableName: env.tableName,
    rulesDir: env.rulesDir,
    networkDataDir: env.networkDataDir,
    findingsBus:
      env.findingsBusName !== undefined
        ? { client: clients.eventBridge, busName: env.findingsBusName }
        : undefined,
  });
}

/** The four network data files as the deployment ships them, in one folder. */
function networkDataFiles(dir: string): NetworkDataFiles {
  return {
    asnV4: join(dir, 'asn-ipv4-num.csv'),
    asnV6: join(dir, 'asn-ipv6-num.csv'),
    countryV4: join(dir, 'asn-country-ipv4-num.csv'),
    countryV6: join(dir, 'asn-country-ipv6-num.csv'),
  };
}

/** What every invocation of an execution environment shares; call once, at init. */
export async function createDetectionRuntime(options: DetectionRuntimeOptions): Promise<DetectionRuntime> {
  let dir = options.rulesDir;
  if (dir === undefined) {
    try {
      dir = builtinRulesDir();
    } catch (error) {
      throw new ConfigurationError([
        {
          variable: 'RULES_DIR',
          problem: `is not set, and there is no source tree to take the rules from (${(error as Error).message})`,
        },
      ]);
    }
  }
  const ruleSet = loadRuleSet(readRuleFolder(dir, 'trailhound'), PREDICATES);
  const lookup = await loadBaselineNetworkLookup(
    options.networkDataDir !== undefined ? networkDataFiles(options.networkDataDir) : undefined,
  );
  const profiles = new DynamoProfileStore({ client: options.dynamodb, tableName: options.tableName });
  const findingsTarget =
    options.findingsBus !== undefined
      ? new EventBridgeFindingSink({
          client: options.findingsBus.client,
          busName: options.findingsBus.busName,
        })
      : undefined;
  logger.info('detection runtime ready', {
    rules: ruleSet.rules.length,
    rulesDir: dir,
    findingsBus: options.findingsBus?.busName ?? 'none (findings are logged only)',
  });
  return { ruleSet, profiles, lookup, findingsTarget };
}

/**
 * Logs each finding, delivers them to the target (when there is one), then
 * counts them by severity and records each one's lag (`FindingLag`: delivery
 * time less the event time of its newest event). A failed delivery throws, and
 * nothing is counted.
 */
export class MeasuredFindingSink implements FindingSink {
  published = 0;

  constructor(
    private readonly target: FindingSink | undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  async publish(findings: readonly Finding[]): Promise<void> {
    if (findings.length === 0) return;
    for (const finding of findings) logger.info('finding', { finding });
    await this.target?.publish(findings);
    const deliveredAt = this.clock();
    const bySeverity = new Map<Severity, number>();
    for (const finding of findings) {
      bySeverity.set(finding.severity, (bySeverity.get(finding.severity) ?? 0) + 1);
      metrics.addMetric('FindingLag', MetricUnit.Milliseconds, Math.max(0, deliveredAt - finding.last_seen));
    }
    this.published += findings.length;
    metrics.addMetric('Findings', MetricUnit.Count, findings.length);
    for (const [severity, count] of bySeverity) {
      const single = metrics.singleMetric();
      single.addDimension('severity', severity);
      single.addMetric('FindingsBySeverity', MetricUnit.Count, count);
    }
  }
}

/** Counts what a quarantine sink receives, for the run's `Quarantined` metric. */
class CountingQuarantine implements QuarantineSink {
  count = 0;

  constructor(private readonly inner: QuarantineSink) {}

  async put(problem: InputProblemError): Promise<void> {
    this.count += 1;
    await this.inner.put(problem);
  }
}

/** Something that could not be used, as a quarantine log line sees it. */
export interface QuarantinedItem {
  readonly reason: string;
  /** Where it came from: a push message, a pulled page. */
  readonly input: string;
  readonly line?: number | undefined;
  readonly message: string;
  readonly content?: string | undefined;
}

/**
 * Unusable input as a warning log line (reason, where, why, the first 8 KB of
 * its text). Kept in the function's log group, from
 * where it can be found by reason and replayed.
 */
export class LogQuarantine implements QuarantineSink {
  count = 0;

  async put(problem: InputProblemError): Promise<void> {
    this.record({
      reason: problem.reason,
      input: problem.file,
      line: problem.line,
      message: problem.message,
      content: problem.content,
    });
  }

  record(item: QuarantinedItem): void {
    this.count += 1;
    const content = item.content ?? '';
    logger.warn('quarantined', {
      quarantine: {
        reason: item.reason,
        input: item.input,
        ...(item.line !== undefined ? { line: item.line } : {}),
        detail: item.message,
        content: content.slice(0, QUARANTINE_CONTENT_CHARS),
        contentChars: content.length,
      },
    });
  }
}

export interface LambdaRunSummary {
  readonly records: number;
  readonly events: number;
  /** Events dropped because another delivery path had evaluated them. */
  readonly duplicates: number;
  /** Records not evaluated for any other reason (each of them quarantined). */
  readonly dropped: number;
  readonly quarantined: number;
  readonly findings: number;
  readonly batches: number;
  readonly profileWrites: number;
  readonly replayedDeltas: number;
  readonly ruleErrors: number;
}

/**
 * One invocation's pipeline: takes deliveries of parsed records, runs them
 * through baselines and rules as one batch each, and publishes the findings
 * of each delivery before it returns (so a delivery that resolved is fully
 * handled, and a checkpoint or an acknowledgement may follow).
 */
export interface LambdaPipelineOptions {
  /** Default: {@link LogQuarantine}. */
  readonly quarantine?: QuarantineSink;
  /** Drops events another delivery path already evaluated (the CloudTrail paths). */
  readonly seenEvents?: SeenEventLedger;
  readonly clock?: () => number;
}

/**
 * One run's pipeline (an invocation, or one object of it): takes deliveries,
 * of parsed records or of bytes, runs each through baselines and rules, and
 * completes each before it returns: findings delivered, then the events
 * remembered as evaluated. So a delivery that resolved is fully handled, and a
 * checkpoint or an acknowledgement may follow; one that threw may be retried
 * whole.
 */
export class LambdaPipeline {
  readonly pipeline: DetectionPipeline;
  readonly baseliner: Baseliner;
  readonly findings: MeasuredFindingSink;
  private readonly quarantine: CountingQuarantine;
  private readonly clock: () => number;
  private newestEventTime = Number.NEGATIVE_INFINITY;

  constructor(runtime: DetectionRuntime, options: LambdaPipelineOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.baseliner = new Baseliner({ store: runtime.profiles, lookup: runtime.lookup });
    this.quarantine = new CountingQuarantine(options.quarantine ?? new LogQuarantine());
    this.findings = new MeasuredFindingSink(runtime.findingsTarget, this.clock);
    this.pipeline = new DetectionPipeline({
      ruleSet: runtime.ruleSet,
      baselines: this.baseliner,
      batching: 'per-input',
      batchSize: LAMBDA_BATCH_SIZE,
      quarantine: this.quarantine,
      clock: this.clock,
      ...(options.seenEvents !== undefined ? { seenEvents: options.seenEvents } : {}),
      onRuleError: (error) => logger.error('rule failed', error),
      onEvent: (event) => {
        if (event.time > this.newestEventTime) this.newestEventTime = event.time;
      },
    });
  }

  /**
   * Records already parsed (a pushed LogEntry, a pulled page, EventBridge
   * events): each is recognized by its shape (the same `unpackDocument` the
   * file readers use) and normalized, without going back to bytes. Throws
   * {@link IngestError} when the delivery must be made again.
   */
  async deliver(records: readonly Record<string, unknown>[], input: string): Promise<void> {
    try {
      let pending = 0;
      for (const [index, value] of records.entries()) {
        for (const item of unpackDocument(value)) {
          if (item.kind === 'record') {
            this.pipeline.processRecord(item.source, item.record, input, index + 1);
            pending += 1;
          } else {
            bump(this.pipeline.stats.skipped, item.reason);
            await this.quarantine.put(
              new InputProblemError(
                item.reason,
                input,
                index + 1,
                item.message,
                JSON.stringify(item.value ?? value),
              ),
            );
          }
        }
        if (pending >= LAMBDA_BATCH_SIZE) {
          await this.pipeline.flush();
          pending = 0;
        }
      }
      await this.complete();
    } catch (error) {
      throw new IngestError(input, { cause: error });
    }
  }

  /**
   * One input as bytes (a trail log object: gzip or not, any format the file
   * readers know). Bad content is quarantined, not thrown; throws
   * {@link IngestError} when the delivery must be made again.
   */
  async deliverBytes(input: string, bytes: ByteSource): Promise<void> {
    try {
      await this.pipeline.ingest(input, bytes);
      await this.complete();
    } catch (error) {
      throw new IngestError(input, { cause: error });
    }
  }

  /** Ends a delivery: the last batch scored, quarantine written, findings out, events remembered. */
  private async complete(): Promise<void> {
    await this.pipeline.flush();
    await this.pipeline.flushQuarantine();
    await this.findings.publish(this.pipeline.takeFindings());
    await this.pipeline.rememberEvaluated();
  }

  /** Counts of the run, also added to its metrics. */
  finish(): LambdaRunSummary {
    const stats = this.pipeline.finish();
    const b = this.baseliner.stats;
    const duplicates = stats.skipped['seen-on-another-path'] ?? 0;
    const skipped = Object.values(stats.skipped).reduce((sum, n) => sum + n, 0);
    const summary: LambdaRunSummary = {
      records: stats.recordsRead,
      events: stats.normalized,
      duplicates,
      dropped: skipped - duplicates,
      quarantined: this.quarantine.count,
      findings: this.findings.published,
      batches: b.batches,
      profileWrites: b.profileWrites,
      replayedDeltas: b.replayedDeltas,
      ruleErrors: Object.values(stats.ruleErrors).reduce((sum, n) => sum + n, 0),
    };
    metrics.addMetric('EventsIn', MetricUnit.Count, summary.events);
    metrics.addMetric('Dropped', MetricUnit.Count, summary.dropped);
    metrics.addMetric('Quarantined', MetricUnit.Count, summary.quarantined);
    if (duplicates > 0) metrics.addMetric('DuplicatesSkipped', MetricUnit.Count, duplicates);
    if (Number.isFinite(this.newestEventTime))
      metrics.addMetric(
        'EventLag',
        MetricUnit.Milliseconds,
        Math.max(0, this.clock() - this.newestEventTime),
      );
    metrics.addMetric('ProfileWrites', MetricUnit.Count, summary.profileWrites);
    if (summary.replayedDeltas > 0)
      metrics.addMetric('ReplayedDeltas', MetricUnit.Count, summary.replayedDeltas);
    if (summary.ruleErrors > 0) metrics.addMetric('RuleErrors', MetricUnit.Count, summary.ruleErrors);
    return summary;
  }
}
