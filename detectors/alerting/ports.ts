/**
 * What alerting needs from the world, declared here and implemented outside
 * `detectors/`: DynamoDB for incidents and rate limits (dynalite locally),
 * Slack, PagerDuty, Security Hub and EventBridge senders, an SQS dead-letter
 * queue (a file locally). The Lambda functions and `trailhound scan --notify`
 * use the same implementations.
 */
import type { Finding } from '../schema/finding.js';
import type { Incident, IncidentUpdate } from './incident.js';

/** The kinds of destination an {@link AlertDestination} can be. */
export type DestinationKind = 'slack' | 'pagerduty' | 'securityhub' | 'eventbridge';

/** One update that reached the destination. */
export interface DeliveredUpdate {
  readonly key: string;
  readonly revision: number;
  /**
   * What the destination wants kept on the incident for its next update of the
   * same incident (a Slack thread's `ts`, for one), merged into `incident.refs`
   * under keys the destination chooses (prefix them with its name).
   */
  readonly refs?: Readonly<Record<string, string>>;
}

/** One update that did not, after the sender's own retries. */
export interface FailedUpdate {
  readonly key: string;
  readonly revision: number;
  /** A short reason, never a secret or a URL with a token in it. */
  readonly error: string;
  /** False when sending it again cannot help (the destination refused its content). */
  readonly retryable: boolean;
}

export interface DeliveryResult {
  readonly delivered: readonly DeliveredUpdate[];
  readonly failed: readonly FailedUpdate[];
}

/**
 * A place people are alerted in. `deliver` takes the updates routed to it in
 * one go (Security Hub imports them in batches), retries passing failures
 * itself (429 with `Retry-After`, 5xx, throttling, with jittered backoff) and
 * reports per update what was and was not delivered. It throws only for a
 * fault of its own configuration; an unreachable destination is a failed
 * result, so one outage never stops the others.
 */
export interface AlertDestination {
  /** The destination's name in the routing configuration (`slack-soc`, `pagerduty`...). */
  readonly name: string;
  readonly kind: DestinationKind;
  deliver(updates: readonly IncidentUpdate[]): Promise<DeliveryResult>;
}

/** Incidents, kept so that findings of the same actor join one incident across runs and invocations. */
export interface IncidentStore {
  /** The newest incident of a group (see `groupId`), if any. */
  latest(groupId: string): Promise<Incident | undefined>;
  get(key: string): Promise<Incident | undefined>;
  /**
   * Writes `incident` if the stored one is at `expectedRevision` (0: none yet).
   * Returns false on a conflict (another writer moved it on), so the caller
   * reads again and refolds.
   */
  put(incident: Incident, expectedRevision: number): Promise<boolean>;
  /** Merges destination references into the stored incident, leaving its revision as it is. */
  addRefs(incident: Incident, refs: Readonly<Record<string, string>>): Promise<void>;
  /** Incidents not yet resolved, for auto-resolution and listings. */
  listUnresolved(): Promise<Incident[]>;
  /** Keeps a suppressed finding (suppressed findings are counted and stored, never dropped). Idempotent. */
  recordSuppressed(finding: Finding, suppressionId: string, now: number): Promise<void>;
}

/**
 * Counts notifications per bucket and fixed window, so one noisy rule cannot
 * flood a channel. `take` is atomic across concurrent callers.
 */
export interface RateLimiter {
  /** True, and counts one, while the bucket has had fewer than `limit` in the window holding `now`. */
  take(bucket: string, limit: number, windowMs: number, now: number): Promise<boolean>;
}

/** Where updates go that a destination could not take, to be re-driven later. */
export interface DeadLetterSink {
  put(destination: string, updates: readonly IncidentUpdate[], reason: string): Promise<void>;
}
