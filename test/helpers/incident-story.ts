/** Incident updates for destination tests, made the way the alerting core makes them (`foldFinding`, `changeState`). */
import {
  changeState,
  foldFinding,
  type Incident,
  type IncidentState,
  type IncidentUpdate,
} from '../../detectors/alerting/incident.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { MINUTE, T0 } from './findings.js';

/** Folds the findings in order into one incident; one update per change (replays give none). */
export function foldAll(findings: readonly Finding[], start?: Incident): IncidentUpdate[] {
  const updates: IncidentUpdate[] = [];
  let current = start;
  findings.forEach((finding, index) => {
    const { incident, change } = foldFinding(current, finding, T0 + (index + 1) * MINUTE);
    current = incident;
    if (change !== undefined) updates.push({ incident, change, finding });
  });
  return updates;
}

/** The update of a person (or quiet) changing the incident's state. */
export function stateUpdate(
  incident: Incident,
  state: IncidentState,
  by = 'alice@example.com',
): IncidentUpdate {
  const update = changeState(incident, state, by, incident.updated_at + MINUTE);
  if (update === undefined) throw new Error(`incident is already ${state}`);
  return update;
}

/** The incident with destination refs merged, as the incident store keeps them after a delivery. */
export function withRefs(
  update: IncidentUpdate,
  refs: Readonly<Record<string, string>> | undefined,
): IncidentUpdate {
  return { ...update, incident: { ...update.incident, refs: { ...update.incident.refs, ...refs } } };
}
