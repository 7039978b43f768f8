/**
 * What the pipeline needs from the world, declared here and implemented
 * outside `detectors/` (files and dynalite for the CLI, DynamoDB, S3 and
 * EventBridge for the Lambda functions). Keeping them small keeps hosts thin.
 */
import type { AggregatorState } from '../engine/aggregator.js';
import type { InputProblemError } from '../readers/errors.js';
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

export type Clock = () => number;
