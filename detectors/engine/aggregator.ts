/**
 * Turns rule matches into findings: applies each rule's threshold (N matches
 * per key within T, optionally N distinct values), then folds matches that
 * share a dedup key within the dedup window into one finding.
 *
 * Idempotent by event id: a match for an event already folded into a finding
 * changes nothing, so a replayed batch or a re-scanned file never inflates a
 * count. State is plain data (see {@link AggregatorState}) so hosts can persist
 * it between runs.
 */
import { createHash } from 'node:crypto';
import type { NormalizedEvent } from '../schema/event.js';
import { FINDING_SCHEMA_VERSION, type Finding, type Severity } from '../schema/finding.js';
import { firstString } from './field-path.js';
import type { CompiledRule } from './rule-set.js';
import { SlidingWindow, type WindowEntry } from './sliding-window.js';

const EVIDENCE_LIMIT = 100;
const RESOURCE_LIMIT = 20;
/** Event ids remembered per finding for idempotency; past this, replays of old events may count again. */
const REMEMBERED_EVENTS = 10_000;

export const SEVERITY_RISK: Record<Severity, number> = {
  info: 10,
  low: 30,
  medium: 50,
  high: 75,
  critical: 95,
};

interface OpenFinding {
  finding: Finding;
  seen: Set<string>;
}

/** Serializable state between runs. */
export interface AggregatorState {
  version: 1;
  open: Array<{ key: string; finding: Finding; seen: string[] }>;
  windows: Array<{ key: string; windowMs: number; entries: WindowEntry[] }>;
}

function keyOf(rule: CompiledRule, getters: CompiledRule['dedupKey'], event: NormalizedEvent): string {
  let key = rule.id;
  for (const get of getters) key += `\u0000${firstString(get, event) ?? ''}`;
  return key;
}

function findingUid(key: string, firstEventUid: string): string {
  return createHash('sha256').update(key).update('\u0000').update(firstEventUid).digest('hex').slice(0, 32);
}

const shortServiceNames = new Map<string, string>();

/** `iam.amazonaws.com` + `CreateUser` → `iam:CreateUser`, the form responders know from IAM policies. */
function operationOf(event: NormalizedEvent): string {
  const service = event.api.service;
  let short = shortServiceNames.get(service);
  if (short === undefined) {
    short = service.replace(/\.amazonaws\.com$|\.googleapis\.com$/, '');
    if (shortServiceNames.size < 10_000) shortServiceNames.set(service, short);
  }
  return `${short}:${event.api.operation}`;
}

export class FindingAggregator {
  private readonly open = new Map<string, OpenFinding>();
  private readonly windows = new Map<string, SlidingWindow>();
  /** Findings created or changed since the last {@link takeChanged}. */
  private readonly changed = new Map<string, Finding>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records that `rule` matched `event`. Returns the finding it created or updated, if any. */
  add(rule: CompiledRule, event: NormalizedEvent): Finding | undefined {
    const threshold = rule.threshold;
    let backlog: WindowEntry[] | undefined;
    if (threshold !== undefined) {
      const windowKey = keyOf(rule, threshold.key, event);
      let window = this.windows.get(windowKey);
      if (window === undefined) {
        window = new SlidingWindow(threshold.windowMs);
        this.windows.set(windowKey, window);
      }
      if (window.has(event.metadata.uid)) return undefined;
      const entry: WindowEntry = { time: event.time, uid: event.metadata.uid, operation: operationOf(event) };
      if (threshold.distinct !== undefined) {
        const values = threshold.distinct(event).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
        if (values.length > 0) entry.distinct = values;
      }
      const dedupKey = keyOf(rule, rule.dedupKey, event);
      const alreadyOpen = this.isOpenFor(dedupKey, rule, event);
      window.add(entry);
      if (!alreadyOpen) {
        const reached =
          (threshold.distinct !== undefined ? window.distinctSize : window.size) >= threshold.count;
        if (!reached) return undefined;
        // The threshold was just reached: every match in the window is evidence.
        backlog = window.live().filter((e) => e.uid !== event.metadata.uid);
      }
    }
    return this.fold(rule, event, backlog ?? []);
  }

  private isOpenFor(key: string, rule: CompiledRule, event: NormalizedEvent): boolean {
    const current = this.open.get(key);
    return current !== undefined && this.inWindow(current.finding, rule, event.time);
  }

  private inWindow(finding: Finding, rule: CompiledRule, time: number): boolean {
    return time >= finding.last_seen - rule.dedupWindowMs && time <= finding.first_seen + rule.dedupWindowMs;
  }

  private fold(rule: CompiledRule, event: NormalizedEvent, backlog: WindowEntry[]): Finding | undefined {
    const key = keyOf(rule, rule.dedupKey, event);
    let current = this.open.get(key);
    if (current === undefined || !this.inWindow(current.finding, rule, event.time)) {
      const firstUid = backlog.length > 0 ? (backlog[0] as WindowEntry).uid : event.metadata.uid;
      current = { finding: this.newFinding(rule, event, key, firstUid), seen: new Set() };
      this.open.set(key, current);
      for (const entry of backlog) this.absorb(current, entry);
    } else if (current.seen.has(event.metadata.uid)) {
      return undefined;
    }
    this.absorb(current, { time: event.time, uid: event.metadata.uid, operation: operationOf(event) });
    mergeResources(current.finding, event);
    raiseRisk(current.finding, event);
    current.finding.time = this.now();
    this.changed.set(current.finding.finding_uid, current.finding);
    return current.finding;
  }

  private absorb(open: OpenFinding, entry: WindowEntry): void {
    if (open.seen.has(entry.uid)) return;
    if (open.seen.size < REMEMBERED_EVENTS) open.seen.add(entry.uid);
    const finding = open.finding;
    finding.count += 1;
    finding.first_seen = Math.min(finding.first_seen, entry.time);
    finding.last_seen = Math.max(finding.last_seen, entry.time);
    if (finding.evidence.event_uids.length < EVIDENCE_LIMIT) finding.evidence.event_uids.push(entry.uid);
    if (!finding.evidence.operations.includes(entry.operation))
      finding.evidence.operations.push(entry.operation);
  }

  private newFinding(rule: CompiledRule, event: NormalizedEvent, key: string, firstUid: string): Finding {
    const { doc } = rule;
    const user = event.actor.user;
    const finding: Finding = {
      schema_version: FINDING_SCHEMA_VERSION,
      class_uid: 2004,
      finding_uid: findingUid(key, firstUid),
      time: this.now(),
      first_seen: event.time,
      last_seen: event.time,
      count: 0,
      rule: {
        uid: rule.id,
        name: doc.title,
        source: rule.origin,
        maturity: doc.maturity,
        ...(doc.tags !== undefined && doc.tags.length > 0 ? { tags: [...doc.tags] } : {}),
      },
      severity: doc.severity,
      risk_score: SEVERITY_RISK[doc.severity],
      attack: doc.attack.map((a) => ({ ...a })),
      cloud: { provider: event.cloud.provider, account: event.cloud.account },
      actor: { principal: user.uid ?? user.name ?? 'unknown', type: user.type },
      resources: [],
      evidence: { event_uids: [], operations: [] },
      explanation: rule.explain(event),
      runbook: doc.runbook,
    };
    if (event.cloud.region !== undefined) finding.cloud.region = event.cloud.region;
    const session = event.actor.session?.name ?? event.actor.session?.uid;
    if (session !== undefined) finding.actor.session = session;
    if (event.src_endpoint.ip !== undefined) finding.actor.ip = event.src_endpoint.ip;
    else if (event.src_endpoint.domain !== undefined) finding.actor.ip = event.src_endpoint.domain;
    if (event.user_agent !== undefined) finding.actor.user_agent = event.user_agent;
    return finding;
  }

  /** Findings created or updated since the last call, in creation order. */
  takeChanged(): Finding[] {
    const out = [...this.changed.values()];
    this.changed.clear();
    return out;
  }

  snapshot(): AggregatorState {
    return {
      version: 1,
      open: [...this.open].map(([key, o]) => ({ key, finding: o.finding, seen: [...o.seen] })),
      windows: [...this.windows].map(([key, window]) => ({
        key,
        windowMs: window.windowMs,
        entries: window.live(),
      })),
    };
  }

  restore(state: AggregatorState): void {
    for (const { key, finding, seen } of state.open) this.open.set(key, { finding, seen: new Set(seen) });
    for (const { key, windowMs, entries } of state.windows)
      this.windows.set(key, SlidingWindow.from(windowMs, entries));
  }

  /**
   * Forgets findings and windows whose newest event is older than `before`
   * (event time), so long-running state stays bounded.
   */
  expire(before: number): void {
    for (const [key, open] of this.open) if (open.finding.last_seen < before) this.open.delete(key);
    for (const [key, window] of this.windows) if (window.isOlderThan(before)) this.windows.delete(key);
  }
}

/**
 * Baselines raise a finding's risk above its severity's when the events behind
 * it are rare for their principal, and the most unusual event's analysis is
 * carried as evidence.
 */
function raiseRisk(finding: Finding, event: NormalizedEvent): void {
  const anomaly = event.anomaly;
  if (anomaly === undefined || anomaly.learning || anomaly.observations.length === 0) return;
  const current = finding.anomaly_analyses?.[0]?.score ?? -1;
  if (anomaly.score <= current) return;
  finding.risk_score = Math.max(SEVERITY_RISK[finding.severity], anomaly.score);
  finding.anomaly_analyses = [
    {
      analysis_targets: [{ name: finding.actor.principal, type: 'principal' }],
      score: anomaly.score,
      anomalies: anomaly.observations.map((o) => ({
        observation_parameter: o.feature,
        observation_type: o.feature === 'volume' || o.feature === 'hour' ? 'Frequency' : 'Value',
        observed_pattern: o.pattern,
        observations: [{ parameter: o.feature, value: o.value }],
        text: o.text,
      })),
      baselines: anomaly.observations.map((o) => ({
        observation_parameter: o.feature,
        observations: [{ parameter: o.feature, value: o.baseline }],
      })),
    },
  ];
}

function mergeResources(finding: Finding, event: NormalizedEvent): void {
  for (const resource of event.resources) {
    if (finding.resources.length >= RESOURCE_LIMIT) return;
    const same = finding.resources.some(
      (r) =>
        (resource.uid !== undefined && r.uid === resource.uid) ||
        (resource.uid === undefined && r.name === resource.name && r.type === resource.type),
    );
    if (same) continue;
    const entry: Finding['resources'][number] = {};
    if (resource.uid !== undefined) entry.uid = resource.uid;
    if (resource.name !== undefined) entry.name = resource.name;
    if (resource.type !== undefined) entry.type = resource.type;
    finding.resources.push(entry);
  }
}
