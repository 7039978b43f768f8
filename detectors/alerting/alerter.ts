/**
 * Findings in, notifications out: the one alerting path that the Lambda
 * dispatcher and `trailhound scan --notify` both run.
 *
 * For each finding, in event-time order: a suppression that applies keeps it
 * as suppressed (stored, counted, sent nowhere); otherwise it is folded into
 * its group's incident (optimistic write, refolded on conflict). Then each
 * changed incident is routed, rate-limited and delivered, every destination
 * on its own, so one outage never holds back the others; what a destination
 * cannot take goes to the dead-letter sink, to be re-driven.
 *
 * Delivery is at least once. Each destination's last handled revision is kept
 * on the incident (`refs["<destination>:rev"]`), written only after it was
 * delivered, limited or dead-lettered; a replayed batch folds to no change,
 * but an incident whose revision some destination has not handled yet (the
 * run before died between store and send) is sent again. Replays therefore
 * neither double-count nor lose alerts.
 */
import type { Clock } from '../pipeline/ports.js';
import type { Finding } from '../schema/finding.js';
import { type DeadLetter, type Redeliverer, type RedeliveryOutcome, redeliver } from './dead-letter.js';
import {
  changeState,
  DEFAULT_GROUPING,
  foldFinding,
  type GroupingOptions,
  groupId,
  groupOf,
  type Incident,
  type IncidentChange,
  type IncidentState,
  type IncidentUpdate,
} from './incident.js';
import type { AlertDestination, DeadLetterSink, IncidentStore, RateLimiter } from './ports.js';
import type { Route } from './routing.js';
import { expiredSuppressions, type Suppression, suppressionFor } from './suppressions.js';

/** How many times a conflicting incident write is refolded before the run gives up (and is retried whole). */
const MAX_FOLD_ATTEMPTS = 8;

export class IncidentConflictError extends Error {
  constructor(readonly groupId: string) {
    super(
      `incident of ${groupId} kept changing under this writer; giving up after ${MAX_FOLD_ATTEMPTS} attempts`,
    );
    this.name = 'IncidentConflictError';
  }
}

export class UnknownIncidentError extends Error {
  constructor(readonly key: string) {
    super(`no incident ${key}`);
    this.name = 'UnknownIncidentError';
  }
}

export interface AlerterOptions {
  readonly store: IncidentStore;
  readonly rateLimiter: RateLimiter;
  readonly destinations: readonly AlertDestination[];
  readonly deadLetters: DeadLetterSink;
  readonly routes: readonly Route[];
  readonly suppressions?: readonly Suppression[];
  readonly grouping?: GroupingOptions;
  readonly clock?: Clock;
}

export interface DestinationTally {
  delivered: number;
  failed: number;
  rateLimited: number;
}

export interface AlertSummary {
  findings: number;
  suppressed: number;
  /** Suppressed findings by suppression id. */
  bySuppression: Record<string, number>;
  /** Replayed findings that changed nothing. */
  unchanged: number;
  incidentsOpened: number;
  incidentsUpdated: number;
  /** Suppressions past their expiry: no longer applied, to be renewed or removed by their owners. */
  expiredSuppressions: string[];
  destinations: Record<string, DestinationTally>;
}

/** The key under which an incident remembers the last revision a destination handled (sent, limited or dead-lettered). */
export function handledRevisionRef(destination: string): string {
  return `${destination}:rev`;
}

/** The key under which an incident remembers the last revision that actually reached a destination. */
export function sentRevisionRef(destination: string): string {
  return `${destination}:sent`;
}

/** State changes go only where the incident was already announced. */
const FOLLOW_UPS = new Set(['acknowledged', 'resolved', 'reopened']);

export class Alerter {
  private readonly clock: Clock;
  private readonly grouping: GroupingOptions;
  private readonly byName: Map<string, AlertDestination>;

  constructor(private readonly options: AlerterOptions) {
    this.clock = options.clock ?? Date.now;
    this.grouping = options.grouping ?? DEFAULT_GROUPING;
    this.byName = new Map(options.destinations.map((d) => [d.name, d]));
    for (const route of options.routes)
      if (!this.byName.has(route.destination))
        throw new Error(`route names destination "${route.destination}", which is not configured`);
  }

  /** Folds findings into incidents and notifies; resolves when every update is delivered or dead-lettered. */
  async handle(findings: readonly Finding[]): Promise<AlertSummary> {
    const now = this.clock();
    const summary = this.emptySummary(now);
    const touched = new Map<string, IncidentUpdate>();
    const ordered = [...findings].sort((a, b) => a.first_seen - b.first_seen);
    for (const finding of ordered) {
      summary.findings += 1;
      const suppression = suppressionFor(this.options.suppressions ?? [], finding, now);
      if (suppression !== undefined) {
        await this.options.store.recordSuppressed(finding, suppression.id, now);
        summary.suppressed += 1;
        summary.bySuppression[suppression.id] = (summary.bySuppression[suppression.id] ?? 0) + 1;
        continue;
      }
      const update = await this.fold(finding, now);
      if (update.change === undefined) summary.unchanged += 1;
      else if (update.change === 'opened') summary.incidentsOpened += 1;
      else summary.incidentsUpdated += 1;
      const previous = touched.get(update.incident.key);
      // Keep the newest state of each incident, and the most telling change of the run.
      touched.set(update.incident.key, {
        incident: update.incident,
        change: strongest(previous?.change, update.change ?? update.incident.last_change),
        finding,
      });
    }
    await this.notify([...touched.values()], now, summary);
    return summary;
  }

  /** Acknowledges, resolves or reopens an incident by hand (CLI, a chat action) and tells its destinations. */
  async setState(key: string, state: IncidentState, by: string): Promise<AlertSummary> {
    const now = this.clock();
    const summary = this.emptySummary(now);
    for (let attempt = 0; attempt < MAX_FOLD_ATTEMPTS; attempt += 1) {
      const incident = await this.options.store.get(key);
      if (incident === undefined) throw new UnknownIncidentError(key);
      const update = changeState(incident, state, by, now);
      if (update === undefined) return summary;
      if (await this.options.store.put(update.incident, incident.revision)) {
        summary.incidentsUpdated += 1;
        await this.notify([update], now, summary);
        return summary;
      }
    }
    throw new IncidentConflictError(key);
  }

  /** Resolves unresolved incidents whose newest finding is older than `quietMs` before `now`. */
  async resolveQuiet(quietMs: number, by = 'trailhound (quiet)'): Promise<AlertSummary> {
    const now = this.clock();
    const summary = this.emptySummary(now);
    for (const incident of await this.options.store.listUnresolved()) {
      if (incident.last_finding_at + quietMs > now) continue;
      const partial = await this.setState(incident.key, 'resolved', by);
      summary.incidentsUpdated += partial.incidentsUpdated;
      mergeTallies(summary.destinations, partial.destinations);
    }
    return summary;
  }

  /**
   * Delivers dead letters again, each brought up to date first: the
   * destination gets the incident as it is now (not the revision that failed,
   * which may since have been acknowledged or resolved), and a letter whose
   * incident already reached the destination in a later revision is dropped
   * without sending. Delivered refs are kept on the incident, as in a run.
   * Pass it as the `redeliver` of the SQS or file redrive.
   */
  readonly redeliver: Redeliverer = async (letters, destinations, summary) => {
    const outcomes: RedeliveryOutcome[] = new Array(letters.length);
    const toSend: DeadLetter[] = [];
    const sentIndex: number[] = [];
    const current = new Map<string, Incident>();
    for (const [index, letter] of letters.entries()) {
      const stored = await this.options.store.get(letter.update.incident.key);
      const sent = Number(stored?.refs[sentRevisionRef(letter.destination)] ?? 0);
      if (stored !== undefined && sent >= letter.update.incident.revision) {
        outcomes[index] = {
          status: 'delivered',
          delivered: { key: stored.key, revision: letter.update.incident.revision },
        };
        summary.received += 1;
        summary.delivered += 1;
        continue;
      }
      if (stored !== undefined) current.set(stored.key, stored);
      const incident = stored ?? letter.update.incident;
      const change = freshChange(letter.update.change, letter.update.incident.revision, incident, sent);
      toSend.push({ ...letter, update: { ...letter.update, incident, change } });
      sentIndex.push(index);
    }
    const results = await redeliver(toSend, destinations, summary);
    for (const [i, outcome] of results.entries()) {
      const index = sentIndex[i] as number;
      outcomes[index] = outcome;
      const letter = toSend[i] as DeadLetter;
      const incident = current.get(letter.update.incident.key);
      if (outcome.status === 'delivered' && incident !== undefined)
        await this.options.store.addRefs(incident, {
          ...(outcome.delivered.refs ?? {}),
          [sentRevisionRef(letter.destination)]: String(outcome.delivered.revision),
        });
    }
    return outcomes;
  };

  private emptySummary(now: number): AlertSummary {
    return {
      findings: 0,
      suppressed: 0,
      bySuppression: {},
      unchanged: 0,
      incidentsOpened: 0,
      incidentsUpdated: 0,
      expiredSuppressions: expiredSuppressions(this.options.suppressions ?? [], now).map((s) => s.id),
      destinations: {},
    };
  }

  private async fold(
    finding: Finding,
    now: number,
  ): Promise<{ incident: Incident; change: IncidentUpdate['change'] | undefined }> {
    const group = groupId(groupOf(finding));
    for (let attempt = 0; attempt < MAX_FOLD_ATTEMPTS; attempt += 1) {
      const current = await this.options.store.latest(group);
      const result = foldFinding(current, finding, now, this.grouping);
      if (result.change === undefined) return result;
      const expected = result.incident.key === current?.key ? current.revision : 0;
      if (await this.options.store.put(result.incident, expected)) return result;
    }
    throw new IncidentConflictError(group);
  }

  private async notify(
    updates: readonly IncidentUpdate[],
    now: number,
    summary: AlertSummary,
  ): Promise<void> {
    const perDestination = new Map<string, IncidentUpdate[]>();
    // Updates a destination is done with without a delivery (limited, dead-lettered): marked handled after.
    const handled = new Map<string, Incident[]>();
    for (const update of updates) {
      if (update.change === 'recorded') continue;
      for (const route of this.options.routes) {
        const done = Number(update.incident.refs[handledRevisionRef(route.destination)] ?? 0);
        if (done >= update.incident.revision) continue;
        if (FOLLOW_UPS.has(update.change) && done === 0) continue;
        if (!route.wants(update)) continue;
        const queued = perDestination.get(route.destination) ?? [];
        if (queued.some((u) => u.incident.key === update.incident.key)) continue;
        const tally = tallyOf(summary, route.destination);
        const bucket = route.bucketOf(update);
        if (
          bucket !== undefined &&
          route.rateLimit !== undefined &&
          !(await this.options.rateLimiter.take(bucket, route.rateLimit.max, route.rateLimit.perMs, now))
        ) {
          tally.rateLimited += 1;
          push(handled, route.destination, update.incident);
          continue;
        }
        queued.push(update);
        perDestination.set(route.destination, queued);
      }
    }
    // Every destination at once, each isolated: a failure of one is its own.
    await Promise.all(
      [...perDestination].map(async ([name, queued]) => {
        const destination = this.byName.get(name) as AlertDestination;
        const tally = tallyOf(summary, name);
        let result: Awaited<ReturnType<AlertDestination['deliver']>>;
        try {
          result = await destination.deliver(queued);
        } catch (error) {
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'delivery failed';
          result = {
            delivered: [],
            failed: queued.map((u) => ({
              key: u.incident.key,
              revision: u.incident.revision,
              error: reason,
              retryable: true,
            })),
          };
        }
        for (const ok of result.delivered) {
          tally.delivered += 1;
          const incident = queued.find((u) => u.incident.key === ok.key)?.incident;
          if (incident === undefined) continue;
          await this.options.store.addRefs(incident, {
            ...(ok.refs ?? {}),
            [handledRevisionRef(name)]: String(ok.revision),
            [sentRevisionRef(name)]: String(ok.revision),
          });
        }
        if (result.failed.length > 0) {
          const failedKeys = new Set(result.failed.map((f) => f.key));
          const reasons = [...new Set(result.failed.map((f) => f.error))].join('; ');
          await this.options.deadLetters.put(
            name,
            queued.filter((u) => failedKeys.has(u.incident.key)),
            reasons,
          );
          tally.failed += result.failed.length;
          for (const failed of result.failed) {
            const incident = queued.find((u) => u.incident.key === failed.key)?.incident;
            if (incident !== undefined) push(handled, name, incident);
          }
        }
      }),
    );
    for (const [name, incidents] of handled)
      for (const incident of incidents)
        await this.options.store.addRefs(incident, { [handledRevisionRef(name)]: String(incident.revision) });
  }
}

/** Of two changes within one run, the one a responder most needs to hear about. */
const CHANGE_WEIGHT: Record<IncidentUpdate['change'], number> = {
  recorded: 0,
  updated: 1,
  acknowledged: 2,
  reopened: 3,
  resolved: 3,
  opened: 4,
  escalated: 5,
};

function strongest(
  a: IncidentUpdate['change'] | undefined,
  b: IncidentUpdate['change'],
): IncidentUpdate['change'] {
  if (a === undefined) return b;
  // An incident opened and escalated in the same run is announced as opened, at its current severity.
  if (a === 'opened' || b === 'opened') return 'opened';
  return CHANGE_WEIGHT[a] >= CHANGE_WEIGHT[b] ? a : b;
}

/**
 * What a re-driven letter announces: its own change when the incident is still
 * at that revision; otherwise what the incident has become since (a letter
 * `opened` of an incident resolved meanwhile must close the page, not open
 * it), except that a destination that never heard of a still-open incident
 * is told it opened.
 */
export function freshChange(
  letterChange: IncidentChange,
  letterRevision: number,
  incident: Incident,
  sentRevision: number,
): IncidentChange {
  if (incident.revision === letterRevision) return letterChange;
  if (incident.last_change === 'recorded') return 'resolved';
  if (sentRevision === 0 && incident.state === 'open') return 'opened';
  return incident.last_change;
}

function tallyOf(summary: AlertSummary, name: string): DestinationTally {
  summary.destinations[name] ??= { delivered: 0, failed: 0, rateLimited: 0 };
  return summary.destinations[name];
}

function mergeTallies(into: Record<string, DestinationTally>, from: Record<string, DestinationTally>): void {
  for (const [name, t] of Object.entries(from)) {
    into[name] ??= { delivered: 0, failed: 0, rateLimited: 0 };
    const target = into[name];
    target.delivered += t.delivered;
    target.failed += t.failed;
    target.rateLimited += t.rateLimited;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}
