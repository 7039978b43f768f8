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
import { type FieldGetter, firstString } from './field-path.js';
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

/**
 * One side of a sequence waiting for its partner: an earlier event (only its
 * id, time and operation are needed) or a later one that arrived first (kept
 * whole, since the finding is built from it).
 */
export interface SequenceEntry extends WindowEntry {
  /** Who acted in the earlier event, for the later event's explanation (`sequence.actor`). */
  actor?: string;
  event?: NormalizedEvent;
}

/** Serializable state between runs. */
export interface AggregatorState {
  version: 1;
  open: Array<{ key: string; finding: Finding; seen: string[] }>;
  windows: Array<{ key: string; windowMs: number; entries: WindowEntry[] }>;
  /** Sequence sides waiting for their partner (absent in state written before sequences existed). */
  sequences?: Array<{ key: string; entries: SequenceEntry[] }>;
}

/** Entries kept per sequence key and side, newest kept: bounds memory under a flood of one event. */
const SEQUENCE_ENTRIES_PER_KEY = 32;
/** Sequence keys held at most; the oldest go first. */
const SEQUENCE_KEYS = 50_000;

function keyOf(rule: CompiledRule, getters: CompiledRule['dedupKey'], event: NormalizedEvent): string {
  let key = rule.id;
  for (const get of getters) key += `\u0000${firstString(get, event) ?? ''}`;
  return key;
}

function findingUid(key: string, firstEventUid: string): string {
  return createHash('sha256').update(key).update('\u0000').update(firstEventUid).digest('hex').slice(0, 32);
}

const shortServiceNames = new Map<string, string>();

/**
 * `iam.amazonaws.com` + `CreateUser` → `iam:CreateUser`, the form responders know from IAM policies;
 * a runtime event's record kind as `runtime:process.exec`.
 */
function operationOf(event: NormalizedEvent): string {
  if (event.source === 'aws.lambda.runtime') return `runtime:${event.runtime.kind}`;
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
  private readonly sequences = new Map<string, SequenceEntry[]>();
  /** Findings created or changed since the last {@link takeChanged}. */
  private readonly changed = new Map<string, Finding>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Feeds one event to a sequence rule: `isFirst` when it matched the rule's
   * `sequence.after`, `isThen` when it matched its condition. A later event
   * whose earlier partner is known becomes a finding citing both; either side
   * without its partner waits for it, for the sequence's window. Returns the
   * findings created or updated.
   */
  addSequenceStep(rule: CompiledRule, event: NormalizedEvent, isFirst: boolean, isThen: boolean): Finding[] {
    const sequence = rule.sequence;
    if (sequence === undefined) return [];
    const out: Finding[] = [];
    const uid = event.metadata.uid;
    sequence.join.forEach((pair, i) => {
      if (isFirst) {
        const key = sequenceKey(rule, 'first', i, pair.earlier, event);
        if (key !== undefined) {
          const entry: SequenceEntry = { time: event.time, uid, operation: operationOf(event) };
          const actor = event.actor.user.name ?? event.actor.user.uid;
          if (actor !== undefined) entry.actor = actor;
          this.remember(key, entry, sequence.withinMs);
          // Later events that arrived before this one.
          const waiting = this.sequences.get(sequenceKey(rule, 'then', i, pair.earlier, event) ?? '') ?? [];
          for (const later of waiting) {
            if (
              later.event === undefined ||
              later.time < event.time ||
              later.time - event.time > sequence.withinMs
            )
              continue;
            const finding = this.fold(rule, withSequence(later.event, entry), [entry]);
            if (finding !== undefined) out.push(finding);
          }
        }
      }
      if (isThen) {
        const key = sequenceKey(rule, 'then', i, pair.later, event);
        if (key === undefined) return;
        const earlier = (this.sequences.get(sequenceKey(rule, 'first', i, pair.later, event) ?? '') ?? [])
          .filter((e) => e.time <= event.time && event.time - e.time <= sequence.withinMs)
          .at(-1);
        if (earlier === undefined) {
          this.remember(
            key,
            { time: event.time, uid, operation: operationOf(event), event },
            sequence.withinMs,
          );
          return;
        }
        const finding = this.fold(rule, withSequence(event, earlier), [earlier]);
        if (finding !== undefined) out.push(finding);
      }
    });
    return out;
  }

  private remember(key: string, entry: SequenceEntry, withinMs: number): void {
    let entries = this.sequences.get(key);
    if (entries === undefined) {
      if (this.sequences.size >= SEQUENCE_KEYS) {
        const oldest = this.sequences.keys().next().value;
        if (oldest !== undefined) this.sequences.delete(oldest);
      }
      entries = [];
      this.sequences.set(key, entries);
    }
    if (entries.some((e) => e.uid === entry.uid)) return;
    entries.push(entry);
    entries.sort((a, b) => a.time - b.time);
    const newest = (entries.at(-1) as SequenceEntry).time;
    const kept = entries.filter((e) => e.time >= newest - withinMs).slice(-SEQUENCE_ENTRIES_PER_KEY);
    this.sequences.set(key, kept);
  }

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
    } else if (current.seen.has(event.metadata.uid)) {
      return undefined;
    }
    for (const entry of backlog) this.absorb(current, entry);
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
    const audit = event.source === 'aws.lambda.runtime' ? undefined : event;
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
    if (audit?.src_endpoint.ip !== undefined) finding.actor.ip = audit.src_endpoint.ip;
    else if (audit?.src_endpoint.domain !== undefined) finding.actor.ip = audit.src_endpoint.domain;
    if (audit?.user_agent !== undefined) finding.actor.user_agent = audit.user_agent;
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
      sequences: [...this.sequences].map(([key, entries]) => ({ key, entries })),
    };
  }

  restore(state: AggregatorState): void {
    for (const { key, finding, seen } of state.open) this.open.set(key, { finding, seen: new Set(seen) });
    for (const { key, windowMs, entries } of state.windows)
      this.windows.set(key, SlidingWindow.from(windowMs, entries));
    for (const { key, entries } of state.sequences ?? []) this.sequences.set(key, entries);
  }

  /**
   * Forgets findings and windows whose newest event is older than `before`
   * (event time), so long-running state stays bounded.
   */
  expire(before: number): void {
    for (const [key, open] of this.open) if (open.finding.last_seen < before) this.open.delete(key);
    for (const [key, window] of this.windows) if (window.isOlderThan(before)) this.windows.delete(key);
    for (const [key, entries] of this.sequences)
      if ((entries.at(-1)?.time ?? 0) < before) this.sequences.delete(key);
  }
}

/** The key one side of a sequence is kept under, or `undefined` when a join field is missing. */
function sequenceKey(
  rule: CompiledRule,
  side: 'first' | 'then',
  pair: number,
  getters: readonly FieldGetter[],
  event: NormalizedEvent,
): string | undefined {
  let key = `${rule.id}\u0000${side}\u0000${pair}`;
  for (const get of getters) {
    const value = firstString(get, event);
    if (value === undefined || value === '') return undefined;
    key += `\u0000${value}`;
  }
  return key;
}

/**
 * The later event as the finding's template sees it: its own fields, plus
 * `sequence.*` about the earlier one (operation, actor, time, uid).
 */
function withSequence(event: NormalizedEvent, earlier: SequenceEntry): NormalizedEvent {
  return {
    ...event,
    sequence: {
      operation: earlier.operation,
      uid: earlier.uid,
      time: new Date(earlier.time).toISOString(),
      ...(earlier.actor !== undefined ? { actor: earlier.actor } : {}),
    },
  } as unknown as NormalizedEvent;
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
