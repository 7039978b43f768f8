/**
 * The one detection pipeline every host runs: read → normalize → detect →
 * dedup. `trailhound scan` and the Lambda handlers differ only in the inputs
 * they feed and the ports they pass in.
 */
import { createHash } from 'node:crypto';
import type { Baseliner } from '../baselines/baseliner.js';
import { type AggregatorState, FindingAggregator } from '../engine/aggregator.js';
import { evaluateEvent } from '../engine/detect.js';
import type { RuleEvaluationError } from '../engine/errors.js';
import type { RuleSet } from '../engine/rule-set.js';
import {
  NORMALIZERS,
  NormalizationError,
  type NormalizeContext,
  type Normalizer,
} from '../normalizers/index.js';
import {
  type ByteSource,
  DEFAULT_DECODE_OPTIONS,
  type DecodeOptions,
  decodeInput,
} from '../readers/decode.js';
import { InputProblemError } from '../readers/errors.js';
import { skipReasonForPath } from '../readers/paths.js';
import type { LogSource, NormalizedEvent } from '../schema/event.js';
import type { Finding } from '../schema/finding.js';
import type { Clock, QuarantineSink, SeenEventLedger } from './ports.js';
import { bump, emptyStats, type ScanStats } from './stats.js';

export interface PipelineOptions {
  readonly ruleSet: RuleSet;
  /** Behavioural baselines: score every event against its principal's profile, then learn it. */
  readonly baselines?: Baseliner;
  /**
   * How events are grouped into batches, the unit of profile reads, writes and
   * idempotency. `per-input` (default): each input is one batch (split every
   * `batchSize` events), which suits hosts whose inputs are redelivered whole
   * (an S3 object, a queue message). `content-defined`: batches span inputs and
   * end where an event's id hashes to a boundary (after at least `batchSize`
   * events), so a re-scan of the same files forms the same batches and changes
   * nothing, and a file added among them disturbs only the batch it lands in
   * (whose other events are then learned twice); the host calls {@link flush}
   * at the end.
   */
  readonly batching?: 'per-input' | 'content-defined';
  /** `per-input`: events per batch at most. `content-defined`: events per batch at least. */
  readonly batchSize?: number;
  readonly clock?: Clock;
  readonly quarantine?: QuarantineSink;
  /**
   * Events another delivery path already evaluated are dropped before scoring
   * (counted as `seen-on-another-path`). The host calls {@link DetectionPipeline.rememberEvaluated}
   * once the findings are delivered.
   */
  readonly seenEvents?: SeenEventLedger;
  /** Only events with `since <= time < until` (epoch ms) are evaluated. */
  readonly since?: number;
  readonly until?: number;
  readonly decode?: DecodeOptions;
  readonly normalizers?: Partial<Record<LogSource, Normalizer>>;
  /** Told about every rule that throws; the pipeline also counts them in `stats.ruleErrors`. */
  readonly onRuleError?: (error: RuleEvaluationError) => void;
  /** Told about every event that was evaluated (after normalization and the time filter). */
  readonly onEvent?: (event: NormalizedEvent) => void;
}

/** One event in this many ends a content-defined batch (once the batch is big enough). */
const BOUNDARY_MODULUS = 512;
/** A content-defined batch is cut here whatever the hashes say, to bound memory. */
const MAX_CONTENT_DEFINED_BATCH = 50_000;

/** 32-bit FNV-1a: a cheap, stable hash of an event id for batch boundaries. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class DetectionPipeline {
  readonly stats: ScanStats;
  private readonly aggregator: FindingAggregator;
  private readonly clock: Clock;
  private readonly normalizers: Partial<Record<LogSource, Normalizer>>;
  private readonly reportRuleError: (error: RuleEvaluationError) => void;
  /** Quarantine writes started on the synchronous hot path, awaited at the end of each input. */
  private pendingQuarantine: Promise<void>[] = [];
  private readonly countedFindings = new Set<string>();
  /** Normalized events waiting for the baseline stage and the rules. */
  private batch: NormalizedEvent[] = [];
  private readonly batchSize: number;
  /** Set when the batch reached a content-defined boundary; acted on at the end of the current line. */
  private boundaryReached = false;
  /** Events scored since the last {@link rememberEvaluated}, for the seen-event ledger. */
  private evaluatedSinceRemember: NormalizedEvent[] = [];

  constructor(private readonly options: PipelineOptions) {
    this.clock = options.clock ?? Date.now;
    this.stats = emptyStats(this.clock());
    this.aggregator = new FindingAggregator(this.clock);
    this.normalizers = options.normalizers ?? NORMALIZERS;
    this.batchSize = options.batchSize ?? (options.batching === 'content-defined' ? 1_000 : 5_000);
    this.reportRuleError = (error) => {
      bump(this.stats.ruleErrors, error.ruleId);
      options.onRuleError?.(error);
    };
  }

  /**
   * Reads one input (file, object body…) to the end. Bad content is counted and quarantined, never thrown.
   * `context.receivedAt` is when the input arrived (an S3 object's time, a message's publish time); it
   * dates only records without a time of their own, and defaults to the clock at the start of the input.
   */
  async ingest(name: string, bytes: ByteSource, context: NormalizeContext = {}): Promise<void> {
    const skip = skipReasonForPath(name);
    if (skip !== undefined) {
      bump(this.stats.inputsSkipped, skip);
      return;
    }
    this.stats.inputs += 1;
    const received: NormalizeContext = { receivedAt: context.receivedAt ?? this.clock() };
    const counted = this.countBytes(bytes);
    for await (const batch of decodeInput(name, counted, this.options.decode ?? DEFAULT_DECODE_OPTIONS)) {
      for (const item of batch) {
        if (item.kind === 'record') this.processRecord(item.source, item.record, name, item.line, received);
        else this.reject(item.error);
      }
      if (this.options.batching === 'content-defined') {
        if (this.boundaryReached || this.batch.length >= MAX_CONTENT_DEFINED_BATCH) await this.flush();
      } else if (this.batch.length >= this.batchSize) await this.flush();
    }
    if (this.options.batching !== 'content-defined') await this.flush();
    await this.flushQuarantine();
  }

  /**
   * Runs the waiting events through the baseline stage (when on) and the rules.
   * The batch id is derived from the events' ids, so a replayed batch has the
   * same id and the profile store merges it only once.
   */
  async flush(): Promise<void> {
    let events = this.batch;
    if (events.length === 0) return;
    this.batch = [];
    this.boundaryReached = false;
    const ledger = this.options.seenEvents;
    if (ledger !== undefined) {
      const fresh = await ledger.unseen(events);
      if (fresh.length < events.length)
        bump(this.stats.skipped, 'seen-on-another-path', events.length - fresh.length);
      events = fresh;
      for (const event of events) this.evaluatedSinceRemember.push(event);
      if (events.length === 0) return;
    }
    if (this.options.baselines !== undefined) {
      const hash = createHash('sha256');
      for (const event of events) hash.update(event.metadata.uid).update('\u0000');
      await this.options.baselines.process(hash.digest('hex').slice(0, 32), events);
    }
    for (const event of events) this.evaluate(event);
  }

  /**
   * Tells the seen-event ledger about every event scored since the last call.
   * Call it after the findings of those events are delivered: if delivery
   * fails, the retry must see the events as new.
   */
  async rememberEvaluated(): Promise<void> {
    const events = this.evaluatedSinceRemember;
    if (this.options.seenEvents === undefined || events.length === 0) return;
    this.evaluatedSinceRemember = [];
    await this.options.seenEvents.remember(events);
  }

  /** Waits for quarantine writes; a failed write fails the input, since its content would be lost. */
  async flushQuarantine(): Promise<void> {
    const pending = this.pendingQuarantine;
    this.pendingQuarantine = [];
    await Promise.all(pending);
  }

  private countBytes(bytes: ByteSource): ByteSource {
    if (Array.isArray(bytes)) {
      for (const chunk of bytes as Uint8Array[]) this.stats.bytes += chunk.byteLength;
      return bytes;
    }
    const stats = this.stats;
    return (async function* () {
      for await (const chunk of bytes) {
        stats.bytes += chunk.byteLength;
        yield chunk;
      }
    })();
  }

  /**
   * Normalizes one raw record and queues it for the next {@link flush}. Synchronous: this is the hot path.
   * A record without a time of its own is dated by `context.receivedAt`, else by the clock now.
   */
  processRecord(
    source: LogSource,
    record: Record<string, unknown>,
    file: string,
    line: number,
    context?: NormalizeContext,
  ): void {
    this.stats.recordsRead += 1;
    const normalize = this.normalizers[source];
    let event: NormalizedEvent;
    try {
      if (normalize === undefined)
        throw new NormalizationError(`no normalizer for ${source}`, 'no-normalizer');
      event = normalize(record, context ?? { receivedAt: this.clock() });
    } catch (error) {
      const reason = error instanceof NormalizationError ? error.message : String(error);
      this.reject(
        new InputProblemError(
          'not-normalizable',
          file,
          line,
          reason,
          JSON.stringify(record).slice(0, 1 << 20),
          {
            cause: error,
          },
        ),
      );
      return;
    }
    this.stats.normalized += 1;
    const { since, until } = this.options;
    if ((since !== undefined && event.time < since) || (until !== undefined && event.time >= until)) {
      bump(this.stats.skipped, 'outside-time-range');
      return;
    }
    this.batch.push(event);
    if (
      this.options.batching === 'content-defined' &&
      this.batch.length >= this.batchSize &&
      fnv1a(event.metadata.uid) % BOUNDARY_MODULUS === 0
    ) {
      this.boundaryReached = true;
    }
  }

  /** Runs the rules on one event that has been through the baseline stage. */
  private evaluate(event: NormalizedEvent): void {
    this.options.onEvent?.(event);
    evaluateEvent(this.options.ruleSet.candidates(event), event, this.aggregator, this.reportRuleError);
  }

  private reject(problem: InputProblemError): void {
    bump(this.stats.skipped, problem.reason);
    if (this.options.quarantine !== undefined)
      this.pendingQuarantine.push(this.options.quarantine.put(problem));
  }

  /** Findings created or updated since the last call. Counts them in the stats. */
  takeFindings(): Finding[] {
    const findings = this.aggregator.takeChanged();
    for (const finding of findings) {
      if (this.countedFindings.has(finding.finding_uid)) continue;
      this.countedFindings.add(finding.finding_uid);
      this.stats.findingsBySeverity[finding.severity] += 1;
    }
    return findings;
  }

  finish(): ScanStats {
    this.stats.finishedAt = this.clock();
    return this.stats;
  }

  snapshotState(): AggregatorState {
    return this.aggregator.snapshot();
  }

  restoreState(state: AggregatorState): void {
    this.aggregator.restore(state);
  }
}
