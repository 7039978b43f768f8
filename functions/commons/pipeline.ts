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
 * - **Findings** go to a `FindingSink`: for now {@link LogFindingSink}, one
 *   structured log line per finding plus metrics. The EventBridge findings bus
 *   replaces it with the AWS deployment issue.
 * - **Quarantine**: {@link LogQuarantine} logs what could not be used, with
 *   its reason and (capped) content, and counts it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoProfileStore } from '../../adapters/dynamodb/profile-store.js';
import { builtinRulesDir, readRuleFolder } from '../../adapters/fs/rule-files.js';
import { loadBaselineNetworkLookup } from '../../adapters/ip-location/load.js';
import { Baseliner } from '../../detectors/baselines/baseliner.js';
import type { NetworkLookup } from '../../detectors/baselines/features.js';
import { loadRuleSet, type RuleSet } from '../../detectors/engine/rule-set.js';
import { DetectionPipeline } from '../../detectors/pipeline/pipeline.js';
import type { FindingSink, QuarantineSink } from '../../detectors/pipeline/ports.js';
import { bump } from '../../detectors/pipeline/stats.js';
import { InputProblemError } from '../../detectors/readers/errors.js';
import { unpackDocument } from '../../detectors/readers/unpack.js';
import { PREDICATES } from '../../detectors/rules/predicates/index.js';
import type { Finding, Severity } from '../../detectors/schema/finding.js';
import { ConfigurationError, IngestError } from './errors.js';
import { logger, MetricUnit, metrics } from './powertools.js';

/** Events per batch at most: a delivery larger than this is cut into several batches. */
export const LAMBDA_BATCH_SIZE = 5_000;
/** Content kept in a quarantine log line; the rest is counted, not logged. */
const QUARANTINE_CONTENT_CHARS = 8 * 1024;

export interface DetectionRuntime {
  readonly ruleSet: RuleSet;
  readonly profiles: DynamoProfileStore;
  readonly lookup: NetworkLookup;
}

export interface DetectionRuntimeOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** The rule folder; undefined: the source tree's `detectors/rules`. */
  readonly rulesDir: string | undefined;
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
  const lookup = await loadBaselineNetworkLookup();
  const profiles = new DynamoProfileStore({ client: options.dynamodb, tableName: options.tableName });
  logger.info('detection runtime ready', { rules: ruleSet.rules.length, rulesDir: dir });
  return { ruleSet, profiles, lookup };
}

/** Findings as structured log lines, counted in metrics. */
export class LogFindingSink implements FindingSink {
  published = 0;

  async publish(findings: readonly Finding[]): Promise<void> {
    if (findings.length === 0) return;
    const bySeverity = new Map<Severity, number>();
    for (const finding of findings) {
      logger.info('finding', { finding });
      bySeverity.set(finding.severity, (bySeverity.get(finding.severity) ?? 0) + 1);
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
 * its text), counted by `Quarantined`. Kept in the function's log group, from
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
    metrics.addMetric('Quarantined', MetricUnit.Count, 1);
  }
}

export interface LambdaRunSummary {
  readonly records: number;
  readonly events: number;
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
export class LambdaPipeline {
  readonly pipeline: DetectionPipeline;
  readonly baseliner: Baseliner;
  readonly quarantine: LogQuarantine;
  readonly findings: FindingSink & { published: number };

  constructor(
    runtime: DetectionRuntime,
    sinks: { findings?: LogFindingSink; quarantine?: LogQuarantine } = {},
  ) {
    this.baseliner = new Baseliner({ store: runtime.profiles, lookup: runtime.lookup });
    this.quarantine = sinks.quarantine ?? new LogQuarantine();
    this.findings = sinks.findings ?? new LogFindingSink();
    this.pipeline = new DetectionPipeline({
      ruleSet: runtime.ruleSet,
      baselines: this.baseliner,
      batching: 'per-input',
      batchSize: LAMBDA_BATCH_SIZE,
      quarantine: this.quarantine,
      onRuleError: (error) => logger.error('rule failed', error),
    });
  }

  /**
   * Records already parsed (a pushed LogEntry, a pulled page): each is
   * recognized by its shape (the same `unpackDocument` the file readers use)
   * and normalized, without going back to bytes. Throws {@link IngestError}
   * when the delivery must be made again (the profile store failed).
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
      await this.pipeline.flush();
      await this.pipeline.flushQuarantine();
      await this.findings.publish(this.pipeline.takeFindings());
    } catch (error) {
      throw new IngestError(input, { cause: error });
    }
  }

  /** Counts of the invocation, also added to its metrics. */
  finish(): LambdaRunSummary {
    const stats = this.pipeline.finish();
    const b = this.baseliner.stats;
    const summary: LambdaRunSummary = {
      records: stats.recordsRead,
      events: stats.normalized,
      quarantined: this.quarantine.count,
      findings: this.findings.published,
      batches: b.batches,
      profileWrites: b.profileWrites,
      replayedDeltas: b.replayedDeltas,
      ruleErrors: Object.values(stats.ruleErrors).reduce((sum, n) => sum + n, 0),
    };
    metrics.addMetric('EventsEvaluated', MetricUnit.Count, summary.events);
    metrics.addMetric('ProfileWrites', MetricUnit.Count, summary.profileWrites);
    if (summary.replayedDeltas > 0)
      metrics.addMetric('ReplayedDeltas', MetricUnit.Count, summary.replayedDeltas);
    if (summary.ruleErrors > 0) metrics.addMetric('RuleErrors', MetricUnit.Count, summary.ruleErrors);
    return summary;
  }
}
