/**
 * A dead letter: one incident update a destination could not take, kept to
 * be re-driven later (`trailhound notify redrive`, the operator Lambda). The
 * SQS queue and the CLI's NDJSON folder both store exactly this record, one
 * per update, and both redrive through {@link redeliver}: group the letters
 * by destination, deliver each group once, and say per letter whether it can
 * be dropped (delivered) or must stay (failed, unknown destination, unreadable).
 *
 * Re-delivering an old revision is safe: destinations order updates by
 * revision (Security Hub ignores a finding older than the one it holds).
 *
 * Pure: no SDK import, no environment.
 */
import { z } from 'zod';
import { Finding } from '../schema/finding.js';
import { Incident, IncidentChange, type IncidentUpdate } from './incident.js';
import type { AlertDestination, DeliveredUpdate, FailedUpdate } from './ports.js';

export const DEAD_LETTER_VERSION = 1;

/**
 * What a letter must have to be re-driven. Deliberately looser than the
 * Incident schema: a letter written before an upgrade that added an incident
 * field must still be readable after it.
 */
const DeadLetterShape = z.object({
  version: z.literal(DEAD_LETTER_VERSION),
  destination: z.string().min(1),
  reason: z.string(),
  dead_lettered_at: z.number(),
  update: z.object({
    incident: Incident.pick({
      key: true,
      revision: true,
      group: true,
      state: true,
      severity: true,
      timeline: true,
    }),
    change: IncidentChange,
    finding: Finding.pick({ finding_uid: true, rule: true }).optional(),
  }),
});

export interface DeadLetter {
  readonly version: typeof DEAD_LETTER_VERSION;
  /** The destination's name in the routing configuration. */
  readonly destination: string;
  /** Why it could not be delivered (never a secret). */
  readonly reason: string;
  /** When it was dead-lettered, epoch ms. */
  readonly dead_lettered_at: number;
  readonly update: IncidentUpdate;
}

export function deadLetterOf(
  destination: string,
  update: IncidentUpdate,
  reason: string,
  now: number,
): DeadLetter {
  return { version: DEAD_LETTER_VERSION, destination, reason, dead_lettered_at: now, update };
}

/**
 * The dead letter in `text`, or undefined when it is not one. The record is
 * validated, but returned as written, so fields a newer Trailhound added are
 * not stripped on the way back to the destination.
 */
export function parseDeadLetter(text: string): DeadLetter | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return DeadLetterShape.safeParse(value).success ? (value as DeadLetter) : undefined;
}

export type RedeliveryOutcome =
  | { readonly status: 'delivered'; readonly delivered: DeliveredUpdate }
  | { readonly status: 'failed'; readonly failed: FailedUpdate }
  | { readonly status: 'unknown-destination' };

export interface RedriveSummary {
  /** Letters read. */
  received: number;
  /** Delivered, and removed. */
  delivered: number;
  /** Not delivered again, left in place. */
  failed: number;
  /** Naming a destination not configured, left in place. */
  unknownDestination: number;
  /** Not a dead letter at all, left in place. */
  unreadable: number;
  /**
   * What each destination delivered, with the refs it wants kept on the
   * incident (the caller merges them into the incident store, as the alerter does).
   */
  readonly deliveredUpdates: { readonly destination: string; readonly update: DeliveredUpdate }[];
  readonly failures: { readonly destination: string; readonly failure: FailedUpdate }[];
}

export function emptyRedriveSummary(): RedriveSummary {
  return {
    received: 0,
    delivered: 0,
    failed: 0,
    unknownDestination: 0,
    unreadable: 0,
    deliveredUpdates: [],
    failures: [],
  };
}

/** How a redrive delivers letters again: {@link redeliver}, or the alerter's, which brings each up to date first. */
export type Redeliverer = (
  letters: readonly DeadLetter[],
  destinations: ReadonlyMap<string, AlertDestination>,
  summary: RedriveSummary,
) => Promise<RedeliveryOutcome[]>;

/**
 * Delivers each letter again to its destination (one `deliver` per
 * destination) and returns one outcome per letter, in order. A destination
 * that throws fails its letters; it never stops the others.
 */
export async function redeliver(
  letters: readonly DeadLetter[],
  destinations: ReadonlyMap<string, AlertDestination>,
  summary: RedriveSummary = emptyRedriveSummary(),
): Promise<RedeliveryOutcome[]> {
  const outcomes: RedeliveryOutcome[] = letters.map(() => ({ status: 'unknown-destination' }));
  const byDestination = new Map<string, number[]>();
  letters.forEach((letter, index) => {
    if (!destinations.has(letter.destination)) return;
    const indexes = byDestination.get(letter.destination) ?? [];
    indexes.push(index);
    byDestination.set(letter.destination, indexes);
  });
  for (const [name, indexes] of byDestination) {
    const destination = destinations.get(name) as AlertDestination;
    const updates = indexes.map((i) => (letters[i] as DeadLetter).update);
    let delivered: readonly DeliveredUpdate[] = [];
    let failed: readonly FailedUpdate[] = [];
    try {
      ({ delivered, failed } = await destination.deliver(updates));
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'delivery failed';
      failed = updates.map((u) => ({
        key: u.incident.key,
        revision: u.incident.revision,
        error: reason,
        retryable: true,
      }));
    }
    for (const index of indexes) {
      const { key, revision } = (letters[index] as DeadLetter).update.incident;
      const ok = delivered.find((d) => d.key === key && d.revision === revision);
      const ko = failed.find((f) => f.key === key && f.revision === revision);
      outcomes[index] =
        ok !== undefined && ko === undefined
          ? { status: 'delivered', delivered: ok }
          : {
              status: 'failed',
              failed: ko ?? { key, revision, error: 'no result from the destination', retryable: true },
            };
    }
  }
  outcomes.forEach((outcome, index) => {
    summary.received += 1;
    const destination = (letters[index] as DeadLetter).destination;
    if (outcome.status === 'delivered') {
      summary.delivered += 1;
      summary.deliveredUpdates.push({ destination, update: outcome.delivered });
    } else if (outcome.status === 'failed') {
      summary.failed += 1;
      summary.failures.push({ destination, failure: outcome.failed });
    } else summary.unknownDestination += 1;
  });
  return outcomes;
}
