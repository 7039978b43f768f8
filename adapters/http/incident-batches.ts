/**
 * The order alert senders deliver a batch in: updates of one incident
 * together, oldest revision first (a thread reply needs its parent, a
 * PagerDuty resolve its trigger), incidents in the order they first appear.
 */
import type { IncidentUpdate } from '../../detectors/alerting/incident.js';

export function byIncident(updates: readonly IncidentUpdate[]): IncidentUpdate[][] {
  const groups = new Map<string, IncidentUpdate[]>();
  for (const update of updates) {
    const group = groups.get(update.incident.key);
    if (group === undefined) groups.set(update.incident.key, [update]);
    else group.push(update);
  }
  return [...groups.values()].map((group) => group.sort((a, b) => a.incident.revision - b.incident.revision));
}

/** A failure reason for the updates left behind an earlier failed update of the same incident. */
export const BLOCKED_BY_EARLIER = 'an earlier update of this incident was not delivered';

/**
 * The failure reason for updates not attempted because the destination already
 * failed an update of this delivery past its retry budget: an outage, not one
 * bad message. Trying every remaining update would spend the whole budget
 * again on each and outlast the function; they go to the dead-letter queue
 * at once instead, to be re-driven when the destination is back.
 */
export function skippedDuringOutage(reason: string): string {
  return `not attempted: the destination was failing earlier in this delivery (${reason})`;
}
