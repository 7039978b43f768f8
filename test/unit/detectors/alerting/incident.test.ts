import { describe, expect, it } from 'vitest';
import {
  changeState,
  foldFinding,
  groupOf,
  Incident,
  incidentSeverity,
  TIMELINE_LIMIT,
} from '../../../../detectors/alerting/incident.js';
import { HOUR, makeFinding, T0 } from '../../../helpers/findings.js';

const NOW = T0 + 5 * HOUR;

describe('foldFinding', () => {
  it('opens an incident with a stable key for the first finding of an actor', () => {
    const finding = makeFinding();
    const a = foldFinding(undefined, finding, NOW);
    const b = foldFinding(undefined, finding, NOW + 1000);
    expect(a.change).toBe('opened');
    expect(a.incident.key).toBe(b.incident.key);
    expect(a.incident.key).toMatch(/^inc-[A-Za-z0-9_-]{22}$/);
    expect(Incident.parse(a.incident)).toEqual(a.incident);
    expect(a.incident).toMatchObject({ state: 'open', revision: 1, severity: 'medium', findings_total: 1 });
  });

  it('escalates when a finding of another tactic by the same actor joins: recon then persistence', () => {
    const recon = makeFinding({ severity: 'medium', tactic: 'Discovery' });
    const persistence = makeFinding({
      finding_uid: 'f-persist',
      rule: { uid: 'aws.persistence.access-key-created-for-other-user', name: 'Access key for another user' },
      severity: 'medium',
      tactic: 'Persistence',
      first_seen: T0 + HOUR,
    });
    const opened = foldFinding(undefined, recon, NOW).incident;
    const joined = foldFinding(opened, persistence, NOW + 1);
    expect(joined.change).toBe('escalated');
    expect(joined.incident.key).toBe(opened.key);
    expect(joined.incident.severity).toBe('high');
    expect(joined.incident.tactics).toEqual(['Discovery', 'Persistence']);
    expect(joined.incident.timeline.map((e) => e.finding_uid)).toEqual([recon.finding_uid, 'f-persist']);
    expect(joined.incident.revision).toBe(2);
  });

  it('is a no-op for a replayed finding, and an update when the finding grew', () => {
    const finding = makeFinding();
    const opened = foldFinding(undefined, finding, NOW).incident;
    expect(foldFinding(opened, finding, NOW + 1)).toEqual({ incident: opened, change: undefined });
    const grown = foldFinding(opened, { ...finding, count: 3, last_seen: T0 + 60_000 }, NOW + 2);
    expect(grown.change).toBe('updated');
    expect(grown.incident.timeline).toHaveLength(1);
    expect(grown.incident.timeline[0]?.count).toBe(3);
    expect(grown.incident.findings_total).toBe(1);
  });

  it('opens a new incident when the finding comes after the sliding window', () => {
    const opened = foldFinding(undefined, makeFinding(), NOW).incident;
    const late = makeFinding({ finding_uid: 'f-late', first_seen: T0 + 25 * HOUR });
    const next = foldFinding(opened, late, NOW, { windowMs: 24 * HOUR });
    expect(next.change).toBe('opened');
    expect(next.incident.key).not.toBe(opened.key);
    // Within the window of the newest finding (sliding), it joins.
    const chained = foldFinding(opened, { ...late, first_seen: T0 + 23 * HOUR }, NOW, {
      windowMs: 24 * HOUR,
    });
    expect(chained.incident.key).toBe(opened.key);
  });

  it('keeps a resolved incident closed: a new finding opens another, a known one is only recorded', () => {
    const finding = makeFinding();
    const opened = foldFinding(undefined, finding, NOW).incident;
    const resolved = changeState(opened, 'resolved', 'alice', NOW + 1)?.incident as Incident;
    const fresh = foldFinding(resolved, makeFinding({ finding_uid: 'f-new', first_seen: T0 + 1 }), NOW + 2);
    expect(fresh.change).toBe('opened');
    const more = foldFinding(resolved, { ...finding, count: 2, last_seen: T0 + 5 }, NOW + 3);
    expect(more.change).toBe('recorded');
    expect(more.incident.state).toBe('resolved');
  });

  it('keeps the newest findings when the timeline is full, and counts them all', () => {
    let incident = foldFinding(undefined, makeFinding({ finding_uid: 'f-0' }), NOW).incident;
    for (let i = 1; i <= TIMELINE_LIMIT + 5; i += 1)
      incident = foldFinding(
        incident,
        makeFinding({ finding_uid: `f-${i}`, first_seen: T0 + i }),
        NOW,
      ).incident;
    expect(incident.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(incident.timeline.at(-1)?.finding_uid).toBe(`f-${TIMELINE_LIMIT + 5}`);
    expect(incident.findings_total).toBe(TIMELINE_LIMIT + 6);
  });
});

describe('incidentSeverity', () => {
  const entry = (severity: 'low' | 'medium' | 'high' | 'critical') => ({
    finding_uid: severity,
    rule_uid: 'r',
    rule_name: 'r',
    severity,
    risk_score: 0,
    first_seen: 0,
    last_seen: 0,
    count: 1,
    tactics: [],
    explanation: '',
  });
  it('is the worst finding, raised a step for two tactics and another for four, capped at critical', () => {
    expect(incidentSeverity([entry('low')], ['Discovery'])).toBe('low');
    expect(incidentSeverity([entry('low')], ['Discovery', 'Persistence'])).toBe('medium');
    expect(incidentSeverity([entry('medium')], ['a', 'b', 'c', 'd'])).toBe('critical');
    expect(incidentSeverity([entry('critical')], ['a', 'b'])).toBe('critical');
  });
});

describe('groupOf', () => {
  it('groups audit findings by actor and runtime findings by the function they happened in', () => {
    expect(groupOf(makeFinding())).toMatchObject({
      kind: 'actor',
      value: 'arn:aws:iam::111122223333:user/mallory',
    });
    const runtime = makeFinding({
      rule: { uid: 'aws.runtime.shell-spawned' },
      resources: [{ uid: 'arn:aws:lambda:us-east-1:111122223333:function:billing' }],
    });
    expect(groupOf(runtime)).toMatchObject({
      kind: 'resource',
      value: 'arn:aws:lambda:us-east-1:111122223333:function:billing',
    });
  });
});

describe('changeState', () => {
  it('acknowledges and resolves with who did it, and does nothing when the state is already so', () => {
    const opened = foldFinding(undefined, makeFinding(), NOW).incident;
    const ack = changeState(opened, 'acknowledged', 'alice@example.com', NOW + 1);
    expect(ack?.change).toBe('acknowledged');
    expect(ack?.incident).toMatchObject({
      state: 'acknowledged',
      state_changed_by: 'alice@example.com',
      revision: 2,
    });
    expect(changeState(ack?.incident as Incident, 'acknowledged', 'bob', NOW + 2)).toBeUndefined();
  });
});
