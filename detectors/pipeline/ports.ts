/**
 * What the pipeline needs from the world, declared here and implemented
 * outside `detectors/` (files and dynalite for the CLI, DynamoDB, S3 and
 * EventBridge for the Lambda functions). Keeping them small keeps hosts thin.
 */
import type { AggregatorState } from '../engine/aggregator.js';
import type { InputProblemError } from '../readers/errors.js';
import type { NormalizedEvent } from '../schema/event.js';
import type { Finding } from '../schema/finding.js';

/** Where inputs that could not be used are kept, with their reason, so nothing is lost. */
export interface QuarantineSink {
  put(problem: InputProblemError): Promise<void>;
}

/** Persists dedup and threshold state between runs or invocations. */
export interface FindingStateStore {
  load(): Promise<AggregatorState | undefined>;
  save(state: AggregatorState): Promise<void>;
}

/** Receives findings created or updated by a run. */
export interface FindingSink {
  publish(findings: readonly Finding[]): Promise<void>;
}

/**
 * Which events were already evaluated by another delivery path. CloudTrail
 * delivers the same management event twice, within seconds on EventBridge and
 * minutes later in an S3 log file; each must be scored and matched once.
 *
 * The pipeline asks {@link unseen} before a batch is scored, and the host calls
 * {@link remember} with what was scored only once the batch's findings are out,
 * so a delivery that fails half-way is evaluated again in full when retried.
 */
export interface SeenEventLedger {
  /** The events of `events` no delivery path has remembered, in their order. */
  unseen(events: readonly NormalizedEvent[]): Promise<NormalizedEvent[]>;
  /** Records `events` as evaluated. Idempotent. */
  remember(events: readonly NormalizedEvent[]): Promise<void>;
}

export type Clock = () => number;
