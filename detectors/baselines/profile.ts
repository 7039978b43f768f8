/**
 * A behavioural profile: what one subject (principal, access key, account) has
 * done, as counts per feature value with first and last sight, an
 * hour-of-week histogram, outcome counts and a rolling mean and variance of
 * its hourly volume. Plain JSON, so any store can keep it as it is.
 *
 * Profiles change only through {@link mergeDelta}: a batch's events are first
 * summed into a delta (one per subject), and the delta is merged once. That is
 * what keeps writes at one per subject per batch, and what makes a replayed
 * batch a no-op (its id is remembered in `batches`).
 */
import type { EventFeatures, FeatureName, SubjectKind } from './features.js';
import { FEATURES, subjectsOf } from './features.js';

export interface ValueStats {
  /** Times seen. */
  c: number;
  /** First and last seen, epoch ms. */
  f: number;
  l: number;
}

export interface VolumeStats {
  /** Start of the hour being counted (epoch ms) and its count so far. */
  hour: number;
  count: number;
  /** Welford's running mean and sum of squares over completed active hours. */
  n: number;
  mean: number;
  m2: number;
}

export interface Profile {
  subject: string;
  kind: SubjectKind;
  firstSeen: number;
  lastSeen: number;
  events: number;
  failures: number;
  denied: number;
  values: Partial<Record<FeatureName, Record<string, ValueStats>>>;
  /** Events per hour of the week (168 buckets). */
  hours: number[];
  volume: VolumeStats;
  /** Ids of the last batches merged, newest last: a batch already here is not merged again. */
  batches: string[];
  /** Incremented on every merge; stores use it for optimistic concurrency. */
  version: number;
}

/** How profiles age and how much they hold. */
export interface ProfilePolicy {
  /** A feature value unseen for this long is forgotten (so stale habits age out). */
  readonly forgetAfterMs: number;
  /** At most this many values per feature; the least recently seen go first. */
  readonly maxValuesPerFeature: number;
  /** How many batch ids to remember for idempotency. */
  readonly rememberedBatches: number;
}

export const DEFAULT_PROFILE_POLICY: ProfilePolicy = {
  forgetAfterMs: 90 * 24 * 3_600_000,
  maxValuesPerFeature: 300,
  rememberedBatches: 64,
};

const HOUR_MS = 3_600_000;

export function subjectKind(subject: string): SubjectKind {
  if (subject.startsWith('key:')) return 'access-key';
  if (subject.startsWith('account:')) return 'account';
  if (subject.startsWith('function:')) return 'function';
  return 'principal';
}

export function emptyProfile(subject: string): Profile {
  return {
    subject,
    kind: subjectKind(subject),
    firstSeen: Number.POSITIVE_INFINITY,
    lastSeen: 0,
    events: 0,
    failures: 0,
    denied: 0,
    values: {},
    hours: new Array<number>(168).fill(0),
    volume: { hour: 0, count: 0, n: 0, mean: 0, m2: 0 },
    batches: [],
    version: 0,
  };
}

/** The sum of one batch's events for one subject. Same shape as a profile, without history. */
export interface ProfileDelta {
  subject: string;
  firstSeen: number;
  lastSeen: number;
  events: number;
  failures: number;
  denied: number;
  values: Partial<Record<FeatureName, Record<string, ValueStats>>>;
  hours: Record<number, number>;
  /** Events per hour start (epoch ms) in this batch. */
  hourly: Record<number, number>;
}

/** Accumulates a batch's events into one delta per subject. */
export class DeltaBuilder {
  private readonly deltas = new Map<string, ProfileDelta>();

  add(features: EventFeatures, time: number): void {
    for (const subject of subjectsOf(features)) this.addTo(subject, features, time);
  }

  private addTo(subject: string, features: EventFeatures, time: number): void {
    let delta = this.deltas.get(subject);
    if (delta === undefined) {
      delta = {
        subject,
        firstSeen: time,
        lastSeen: time,
        events: 0,
        failures: 0,
        denied: 0,
        values: {},
        hours: {},
        hourly: {},
      };
      this.deltas.set(subject, delta);
    }
    delta.events += 1;
    if (features.failed) delta.failures += 1;
    if (features.denied) delta.denied += 1;
    if (time < delta.firstSeen) delta.firstSeen = time;
    if (time > delta.lastSeen) delta.lastSeen = time;
    delta.hours[features.hourOfWeek] = (delta.hours[features.hourOfWeek] ?? 0) + 1;
    const hour = Math.floor(time / HOUR_MS) * HOUR_MS;
    delta.hourly[hour] = (delta.hourly[hour] ?? 0) + 1;
    for (const feature of FEATURES) {
      const observed = features.values[feature];
      if (observed === undefined) continue;
      const table = tableOf(delta.values, feature);
      for (const value of observed) {
        const stats = table[value];
        if (stats === undefined) table[value] = { c: 1, f: time, l: time };
        else {
          stats.c += 1;
          if (time < stats.f) stats.f = time;
          if (time > stats.l) stats.l = time;
        }
      }
    }
  }

  subjects(): string[] {
    return [...this.deltas.keys()];
  }

  build(): ProfileDelta[] {
    return [...this.deltas.values()];
  }
}

/**
 * Merges a batch delta into a profile, returning a new profile (the input is
 * not changed). Returns `undefined` when the batch was merged before.
 */
export function mergeDelta(
  profile: Profile,
  delta: ProfileDelta,
  batchId: string,
  policy: ProfilePolicy = DEFAULT_PROFILE_POLICY,
): Profile | undefined {
  if (profile.batches.includes(batchId)) return undefined;
  const next: Profile = structuredClone(profile);
  next.firstSeen = Math.min(next.firstSeen, delta.firstSeen);
  next.lastSeen = Math.max(next.lastSeen, delta.lastSeen);
  next.events += delta.events;
  next.failures += delta.failures;
  next.denied += delta.denied;
  for (const [hour, count] of Object.entries(delta.hours))
    next.hours[Number(hour)] = (next.hours[Number(hour)] ?? 0) + count;
  for (const feature of FEATURES) {
    const incoming = delta.values[feature];
    if (incoming === undefined) continue;
    const table = tableOf(next.values, feature);
    for (const [value, stats] of Object.entries(incoming)) {
      const known = table[value];
      if (known === undefined) table[value] = { ...stats };
      else {
        known.c += stats.c;
        known.f = Math.min(known.f, stats.f);
        known.l = Math.max(known.l, stats.l);
      }
    }
    prune(table, next.lastSeen, policy);
  }
  mergeVolume(next.volume, delta.hourly);
  next.batches = [...next.batches, batchId].slice(-policy.rememberedBatches);
  next.version += 1;
  return next;
}

/** The value table of one feature, created empty the first time. */
function tableOf(
  values: Partial<Record<FeatureName, Record<string, ValueStats>>>,
  feature: FeatureName,
): Record<string, ValueStats> {
  let table = values[feature];
  if (table === undefined) {
    table = {};
    values[feature] = table;
  }
  return table;
}

function prune(table: Record<string, ValueStats>, now: number, policy: ProfilePolicy): void {
  for (const [value, stats] of Object.entries(table)) {
    if (stats.l < now - policy.forgetAfterMs) delete table[value];
  }
  const entries = Object.entries(table);
  if (entries.length <= policy.maxValuesPerFeature) return;
  entries.sort((a, b) => a[1].l - b[1].l);
  for (const [value] of entries.slice(0, entries.length - policy.maxValuesPerFeature)) delete table[value];
}

/**
 * Folds a batch's hourly counts into the rolling volume: when the counted hour
 * moves on, the finished hour's count enters the running mean and variance.
 */
function mergeVolume(volume: VolumeStats, hourly: Record<number, number>): void {
  const hours = Object.keys(hourly)
    .map(Number)
    .sort((a, b) => a - b);
  for (const hour of hours) {
    const count = hourly[hour] as number;
    if (hour === volume.hour) volume.count += count;
    else if (hour > volume.hour) {
      if (volume.count > 0) addSample(volume, volume.count);
      volume.hour = hour;
      volume.count = count;
    } else addSample(volume, count); // a late hour: count it as its own sample
  }
}

function addSample(volume: VolumeStats, sample: number): void {
  volume.n += 1;
  const delta = sample - volume.mean;
  volume.mean += delta / volume.n;
  volume.m2 += delta * (sample - volume.mean);
}

export function volumeStdDev(volume: VolumeStats): number {
  return volume.n > 1 ? Math.sqrt(volume.m2 / (volume.n - 1)) : 0;
}
