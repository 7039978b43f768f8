/**
 * Incidents: the unit people are alerted on. Findings of one actor (or, for
 * runtime findings, of one resource) that arrive within a sliding window of
 * each other form one incident with a stable key. Severity only rises: it is
 * the highest finding's, raised one step more when the incident spans several
 * ATT&CK tactics (a reconnaissance finding followed by a persistence finding
 * by the same actor is one story told in stages, and worse than either).
 *
 * Everything here is pure: {@link foldFinding} takes an incident (or none) and
 * a finding and returns the next incident and what changed, so replays are
 * idempotent by construction (a finding already folded at the same count
 * changes nothing) and the stores outside `detectors/` only persist.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AttackRef, type Finding, SEVERITY_ORDER, Severity } from '../schema/finding.js';

export const TIMELINE_LIMIT = 50;
export const RESOURCE_LIMIT = 32;

export const IncidentState = z
  .enum(['open', 'acknowledged', 'resolved'])
  .describe('Where the response stands: open until someone acknowledges, resolved when done or quiet.');
export type IncidentState = z.infer<typeof IncidentState>;

/** One finding on an incident's timeline. */
export const TimelineEntry = z.object({
  finding_uid: z.string(),
  rule_uid: z.string(),
  rule_name: z.string(),
  severity: Severity,
  risk_score: z.number(),
  first_seen: z.number(),
  last_seen: z.number(),
  count: z.number().int(),
  tactics: z.array(z.string()),
  explanation: z.string(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** Why a notification is sent. */
export const IncidentChange = z
  .enum(['opened', 'escalated', 'updated', 'acknowledged', 'resolved', 'reopened', 'recorded'])
  .describe(
    'What the last change was: `recorded` is stored but sent nowhere (more of a finding on an incident already resolved).',
  );
export type IncidentChange = z.infer<typeof IncidentChange>;

/** What the findings of an incident have in common. */
export const IncidentGroup = z.object({
  kind: z.enum(['actor', 'resource']).describe('Grouped by who acted, or (runtime) by what was acted in.'),
  value: z.string().describe('The principal, or the resource id.'),
  provider: z.string(),
  account: z.string(),
});
export type IncidentGroup = z.infer<typeof IncidentGroup>;

export const Incident = z.object({
  key: z.string().describe('Stable id: the group and the time its first finding was seen.'),
  group: IncidentGroup,
  title: z.string(),
  state: IncidentState,
  severity: Severity,
  risk_score: z.number(),
  opened_at: z.number().describe('Event time of the first finding, epoch ms.'),
  last_finding_at: z.number().describe('Event time of the newest finding, epoch ms.'),
  updated_at: z.number().describe('Processing time of the last change, epoch ms.'),
  revision: z.number().int().describe('Bumped on every change; destinations order updates by it.'),
  last_change: IncidentChange,
  tactics: z.array(z.string()),
  attack: z
    .array(AttackRef)
    .default([])
    .describe('Every ATT&CK technique of its findings, first seen first.'),
  rules: z.array(z.string()),
  tags: z.array(z.string()).default([]).describe('Rule tags of its findings (`baseline`…).'),
  resources: z
    .array(z.object({ uid: z.string().optional(), name: z.string().optional(), type: z.string().optional() }))
    .default([])
    .describe(`Resources of its findings, de-duplicated; the newest ${RESOURCE_LIMIT} kept.`),
  timeline: z.array(TimelineEntry).describe(`The findings, oldest first; the newest ${50} kept.`),
  findings_total: z
    .number()
    .int()
    .describe('Findings ever folded in, including those cut from the timeline.'),
  state_changed_by: z.string().optional(),
  /** What each destination needs to update its own copy: a Slack thread ts, for one. */
  refs: z.record(z.string(), z.string()),
});
export type Incident = z.infer<typeof Incident>;

export interface IncidentUpdate {
  readonly incident: Incident;
  readonly change: IncidentChange;
  /** The finding that caused the change; absent for state changes. */
  readonly finding?: Finding;
}

export interface GroupingOptions {
  /** A finding joins the group's incident when it comes within this long of the incident's newest finding. */
  readonly windowMs: number;
}

export const DEFAULT_GROUPING: GroupingOptions = { windowMs: 24 * 60 * 60 * 1000 };

/** Runtime findings (a function's process, file and network activity) group by the resource they happened in. */
const RUNTIME_RULE_PREFIX = /^(aws\.)?runtime\./;

/** The group a finding belongs to. */
export function groupOf(finding: Finding): IncidentGroup {
  const base = { provider: finding.cloud.provider, account: finding.cloud.account };
  const resource = finding.resources.find((r) => r.uid !== undefined)?.uid;
  if (RUNTIME_RULE_PREFIX.test(finding.rule.uid) && resource !== undefined)
    return { kind: 'resource', value: resource, ...base };
  return { kind: 'actor', value: finding.actor.principal, ...base };
}

/** A group as one string: the partition the incident store keeps a group's incidents under. */
export function groupId(group: IncidentGroup): string {
  return `${group.provider}|${group.account}|${group.kind}|${group.value}`;
}

export function incidentKey(group: IncidentGroup, openedAt: number): string {
  const digest = createHash('sha256')
    .update(`${groupId(group)}|${openedAt}`)
    .digest('base64url');
  return `inc-${digest.slice(0, 22)}`;
}

/** Whether `finding` belongs to `incident` rather than to a new one. */
export function joins(incident: Incident, finding: Finding, options: GroupingOptions): boolean {
  // A resolved incident is closed to new findings (a later one opens a new incident); a
  // finding it already holds still lands on it, so replays stay no-ops.
  if (incident.timeline.some((e) => e.finding_uid === finding.finding_uid)) return true;
  if (incident.state === 'resolved') return false;
  return finding.first_seen <= incident.last_finding_at + options.windowMs;
}

const SEVERITIES = Object.keys(SEVERITY_ORDER) as Severity[];

function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_ORDER[a] >= SEVERITY_ORDER[b] ? a : b;
}

/**
 * The incident's severity: its worst finding, one step higher when two or
 * more tactics are involved and one more at four (a kill chain in progress),
 * never above critical, never below what it was.
 */
export function incidentSeverity(timeline: readonly TimelineEntry[], tactics: readonly string[]): Severity {
  const worst = timeline.reduce<Severity>((s, e) => maxSeverity(s, e.severity), 'info');
  if (worst === 'info') return worst;
  const steps = (tactics.length >= 2 ? 1 : 0) + (tactics.length >= 4 ? 1 : 0);
  return SEVERITIES[Math.min(SEVERITY_ORDER[worst] + steps, SEVERITY_ORDER.critical)] ?? 'critical';
}

function mergeAttack(known: readonly AttackRef[], more: readonly AttackRef[]): AttackRef[] {
  const out = [...known];
  for (const ref of more)
    if (!out.some((a) => a.technique_id === ref.technique_id && a.tactic === ref.tactic))
      out.push({ ...ref });
  return out;
}

function mergeResources(known: Incident['resources'], more: Finding['resources']): Incident['resources'] {
  const id = (r: Incident['resources'][number]) => r.uid ?? r.name ?? '';
  const out = [...known];
  for (const resource of more)
    if (id(resource) !== '' && !out.some((r) => id(r) === id(resource))) out.push({ ...resource });
  return out.slice(-RESOURCE_LIMIT);
}

function entryOf(finding: Finding): TimelineEntry {
  return {
    finding_uid: finding.finding_uid,
    rule_uid: finding.rule.uid,
    rule_name: finding.rule.name,
    severity: finding.severity,
    risk_score: finding.risk_score,
    first_seen: finding.first_seen,
    last_seen: finding.last_seen,
    count: finding.count,
    tactics: [...new Set(finding.attack.map((a) => a.tactic))],
    explanation: finding.explanation,
  };
}

function titleOf(group: IncidentGroup, timeline: readonly TimelineEntry[]): string {
  const first = timeline[0]?.rule_name ?? 'activity';
  const others = new Set(timeline.map((e) => e.rule_uid)).size - 1;
  const who = group.value.split('/').pop() ?? group.value;
  return `${first}${others > 0 ? ` (+${others} more rules)` : ''} — ${who}`;
}

export interface FoldResult {
  readonly incident: Incident;
  /** Undefined when the finding was already folded as it is (a replay): nothing to store, nothing to send. */
  readonly change: IncidentChange | undefined;
}

/**
 * Folds one finding into the group's current incident, or opens a new one
 * when there is none or the finding does not {@link joins join} it. A finding
 * already on the timeline with the same count is a replay and changes nothing.
 */
export function foldFinding(
  current: Incident | undefined,
  finding: Finding,
  now: number,
  options: GroupingOptions = DEFAULT_GROUPING,
): FoldResult {
  const entry = entryOf(finding);
  if (current === undefined || !joins(current, finding, options)) {
    const group = groupOf(finding);
    const tactics = [...entry.tactics].sort();
    const timeline = [entry];
    return {
      change: 'opened',
      incident: {
        key: incidentKey(group, finding.first_seen),
        group,
        title: titleOf(group, timeline),
        state: 'open',
        severity: incidentSeverity(timeline, tactics),
        risk_score: finding.risk_score,
        opened_at: finding.first_seen,
        last_finding_at: finding.last_seen,
        updated_at: now,
        revision: 1,
        last_change: 'opened',
        tactics,
        attack: mergeAttack([], finding.attack),
        rules: [finding.rule.uid],
        tags: [...new Set(finding.rule.tags ?? [])],
        resources: mergeResources([], finding.resources),
        timeline,
        findings_total: 1,
        refs: {},
      },
    };
  }
  const known = current.timeline.find((e) => e.finding_uid === finding.finding_uid);
  if (known !== undefined && known.count >= finding.count && known.last_seen >= finding.last_seen)
    return { incident: current, change: undefined };
  // More events of a finding the responder already closed: kept on the record, nobody re-paged.
  const quiet = current.state === 'resolved';
  const timeline = known
    ? current.timeline.map((e) => (e.finding_uid === finding.finding_uid ? entry : e))
    : [...current.timeline, entry].slice(-TIMELINE_LIMIT);
  const tactics = [...new Set([...current.tactics, ...entry.tactics])].sort();
  const severity = maxSeverity(current.severity, incidentSeverity(timeline, tactics));
  const escalated = SEVERITY_ORDER[severity] > SEVERITY_ORDER[current.severity];
  const change: IncidentChange = quiet ? 'recorded' : escalated ? 'escalated' : 'updated';
  const incident: Incident = {
    ...current,
    last_change: change,
    title: titleOf(current.group, timeline),
    severity,
    risk_score: Math.max(current.risk_score, finding.risk_score),
    last_finding_at: Math.max(current.last_finding_at, finding.last_seen),
    updated_at: now,
    revision: current.revision + 1,
    tactics,
    attack: mergeAttack(current.attack, finding.attack),
    rules: [...new Set([...current.rules, finding.rule.uid])],
    tags: [...new Set([...current.tags, ...(finding.rule.tags ?? [])])],
    resources: mergeResources(current.resources, finding.resources),
    timeline,
    findings_total: current.findings_total + (known ? 0 : 1),
  };
  return { incident, change };
}

/** A state change made by a person (acknowledge, resolve) or by quiet (auto-resolve). */
export function changeState(
  incident: Incident,
  state: IncidentState,
  by: string,
  now: number,
): IncidentUpdate | undefined {
  if (incident.state === state) return undefined;
  const change: IncidentChange = state === 'open' ? 'reopened' : state;
  return {
    change,
    incident: {
      ...incident,
      state,
      last_change: change,
      state_changed_by: by,
      updated_at: now,
      revision: incident.revision + 1,
    },
  };
}
