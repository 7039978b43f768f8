/**
 * Scores one event against its principal's profile and the account's (the peer
 * group): each feature value the principal has never or rarely shown adds
 * weight, sensitive operations weigh more, values routine in the account weigh
 * less. The score is 0–100; every point comes with a sentence that says why.
 */
import type { EventFeatures, FeatureName } from './features.js';
import { type Profile, type ValueStats, volumeStdDev } from './profile.js';

export type ObservedPattern = 'UNSEEN' | 'RARE' | 'INFREQUENT' | 'FREQUENT';

export interface AnomalyObservation {
  readonly feature: FeatureName | 'hour' | 'volume' | 'errors';
  readonly value: string;
  readonly pattern: ObservedPattern;
  /** The principal's usual values, for the explanation and the finding. */
  readonly baseline: string;
  readonly weight: number;
  readonly text: string;
}

export interface AnomalyAssessment {
  readonly subject: string;
  /** True while the subject is still learning: no score is given. */
  readonly learning: boolean;
  readonly score: number;
  readonly observations: readonly AnomalyObservation[];
  /**
   * Feature groups whose value this principal had never shown, plus
   * `account_operation` when the whole account (past its own learning) never
   * called the operation.
   */
  readonly unseen: Partial<Record<FeatureName | 'account_operation', boolean>>;
  /** A write to identity, keys, logging, secrets or sharing. */
  readonly sensitive: boolean;
  /** Whether the principal usually calls from inside AWS or private networks (a workload). */
  readonly workload: boolean;
  readonly explanation: string;
}

export interface ScoringPolicy {
  /** A subject learns until it has this many events… */
  readonly learningEvents: number;
  /** …and has been known this long. */
  readonly learningMs: number;
  /** An operation seen this many times in the account is routine there: unseen for one principal weighs less. */
  readonly routineInAccount: number;
}

export const DEFAULT_SCORING_POLICY: ScoringPolicy = {
  learningEvents: 20,
  learningMs: 7 * 24 * 3_600_000,
  routineInAccount: 20,
};

/** Weights (0–100) of each kind of departure; combined as independent evidence. */
const WEIGHT = {
  operation: 30,
  sensitiveOperation: 45,
  network: 30,
  countryNew: 25,
  region: 15,
  client: 15,
  hour: 10,
  resource: 10,
  volume: 20,
  executable: 40,
  destination: 30,
  path: 10,
  sensitivePath: 25,
  denied: 10,
} as const;

/**
 * The most frequent values of a feature, for sentences. Profiles do not change
 * within a batch, so each table's answer is computed once (tables are keyed by
 * identity and collected with their profile).
 */
const topCache = new WeakMap<Record<string, ValueStats>, Map<number, string>>();
const top = (table: Record<string, ValueStats> | undefined, n = 3): string => {
  if (table === undefined) return 'none';
  let cached = topCache.get(table);
  if (cached === undefined) {
    cached = new Map();
    topCache.set(table, cached);
  }
  let text = cached.get(n);
  if (text === undefined) {
    const values = Object.entries(table)
      .sort((a, b) => b[1].c - a[1].c)
      .slice(0, n)
      .map(([value]) => value);
    text = values.length === 0 ? 'none' : values.join(', ');
    cached.set(n, text);
  }
  return text;
};

function isLearning(profile: Profile | undefined, time: number, policy: ScoringPolicy): boolean {
  return (
    profile === undefined ||
    profile.events < policy.learningEvents ||
    time - profile.firstSeen < policy.learningMs
  );
}

const workloadCache = new WeakMap<Profile, number>();

/** Share of a principal's calls made from inside AWS or private networks (once per profile). */
function workloadShare(profile: Profile): number {
  const cached = workloadCache.get(profile);
  if (cached !== undefined) return cached;
  const networks = profile.values.network ?? {};
  let inside = 0;
  let total = 0;
  for (const [network, stats] of Object.entries(networks)) {
    total += stats.c;
    if (network === 'aws' || network === 'private') inside += stats.c;
  }
  const share = total === 0 ? 0 : inside / total;
  workloadCache.set(profile, share);
  return share;
}

export interface ScoringContext {
  readonly principal?: Profile;
  readonly account?: Profile;
  /** Events of the principal in the event's hour so far (profile and batch together). */
  readonly hourCount?: number;
  /** A name for the principal in sentences. */
  readonly name: string;
}

export function scoreEvent(
  features: EventFeatures,
  time: number,
  context: ScoringContext,
  policy: ScoringPolicy = DEFAULT_SCORING_POLICY,
): AnomalyAssessment {
  const subject =
    features.subjects.principal ?? features.subjects.function ?? features.subjects.account ?? 'unknown';
  const profile = context.principal;
  if (profile === undefined || isLearning(profile, time, policy)) {
    return {
      subject,
      learning: true,
      score: 0,
      observations: [],
      unseen: {},
      sensitive: features.sensitive,
      workload: false,
      explanation: `${context.name} is still being learned`,
    };
  }
  const observations: AnomalyObservation[] = [];
  const unseen: Partial<Record<FeatureName | 'account_operation', boolean>> = {};
  const account = context.account;
  const valuesOf = (feature: FeatureName) => features.values[feature] ?? [];
  const isNew = (feature: FeatureName, value: string) => profile.values[feature]?.[value] === undefined;

  for (const operation of valuesOf('operation')) {
    if (!isNew('operation', operation)) continue;
    unseen.operation = true;
    const inAccount = account?.values.operation?.[operation]?.c ?? 0;
    let weight: number = features.sensitive ? WEIGHT.sensitiveOperation : WEIGHT.operation;
    let peer = 'never seen in the account';
    if (inAccount === 0 && account !== undefined && !isLearning(account, time, policy))
      unseen.account_operation = true;
    if (inAccount >= policy.routineInAccount) {
      weight *= 0.4;
      peer = `routine in the account (${inAccount} calls)`;
    } else if (inAccount > 0) peer = `rare in the account (${inAccount} calls)`;
    observations.push({
      feature: 'operation',
      value: operation,
      pattern: 'UNSEEN',
      baseline: top(profile.values.operation, 5),
      weight,
      text: `first time ${context.name} called ${operation}${features.sensitive ? ' (sensitive)' : ''}, ${peer}`,
    });
  }
  // A runtime event (no principal, a function version) is judged on what the function runs and reaches.
  const runtime = features.subjects.principal === undefined && features.subjects.function !== undefined;
  if (runtime) observations.push(...runtimeObservations(features, profile, context.name, unseen));
  for (const network of runtime ? [] : valuesOf('network')) {
    if (!isNew('network', network)) continue;
    unseen.network = true;
    const outside = network !== 'aws' && network !== 'private' && network !== 'unknown';
    const country = valuesOf('country')[0];
    observations.push({
      feature: 'network',
      value: network,
      pattern: 'UNSEEN',
      baseline: top(profile.values.network),
      weight: outside ? WEIGHT.network : WEIGHT.network / 3,
      text: `first call from ${network === 'aws' ? 'inside AWS' : network}${country ? ` (country ${country})` : ''}, usually ${top(profile.values.network)}`,
    });
  }
  for (const country of valuesOf('country')) {
    if (!isNew('country', country) || profile.values.country === undefined) continue;
    unseen.country = true;
    observations.push({
      feature: 'country',
      value: country,
      pattern: 'UNSEEN',
      baseline: top(profile.values.country),
      weight: WEIGHT.countryNew,
      text: `first call from country ${country}, usually ${top(profile.values.country)}`,
    });
  }
  for (const region of valuesOf('region')) {
    if (!isNew('region', region)) continue;
    unseen.region = true;
    observations.push({
      feature: 'region',
      value: region,
      pattern: 'UNSEEN',
      baseline: top(profile.values.region),
      weight: WEIGHT.region,
      text: `first use of region ${region}, usually ${top(profile.values.region)}`,
    });
  }
  for (const client of valuesOf('client')) {
    if (!isNew('client', client)) continue;
    unseen.client = true;
    observations.push({
      feature: 'client',
      value: client,
      pattern: 'UNSEEN',
      baseline: top(profile.values.client),
      weight: WEIGHT.client,
      text: `new client ${client}, usually ${top(profile.values.client)}`,
    });
  }
  // Sensitive resources (secrets, keys, buckets) are only judged once the principal has a record of them.
  const knownResources = profile.values.resource;
  if (knownResources !== undefined && Object.keys(knownResources).length > 0) {
    const fresh = valuesOf('resource').filter((r) => knownResources[r] === undefined);
    if (fresh.length > 0) {
      unseen.resource = true;
      observations.push({
        feature: 'resource',
        value: fresh.join(', '),
        pattern: 'UNSEEN',
        baseline: top(knownResources),
        weight: WEIGHT.resource,
        text: `first access to ${fresh.join(', ')}, usually ${top(knownResources)}`,
      });
    }
  }
  if (profile.events >= 200 && (profile.hours[features.hourOfWeek] ?? 0) === 0) {
    const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][Math.floor(features.hourOfWeek / 24)];
    observations.push({
      feature: 'hour',
      value: `${day} ${features.hourOfWeek % 24}:00 UTC`,
      pattern: 'RARE',
      baseline: `${profile.events} events, none in this hour of the week`,
      weight: WEIGHT.hour,
      text: `active on ${day} at ${features.hourOfWeek % 24}:00 UTC, an hour of the week it has never been active in`,
    });
  }
  const { volume } = profile;
  const hourCount = context.hourCount ?? 0;
  const sigma = volumeStdDev(volume);
  if (
    volume.n >= 24 &&
    hourCount >= 20 &&
    hourCount > volume.mean + 4 * sigma &&
    hourCount > 3 * volume.mean
  ) {
    observations.push({
      feature: 'volume',
      value: String(hourCount),
      pattern: 'RARE',
      baseline: `${volume.mean.toFixed(1)} ± ${sigma.toFixed(1)} per active hour`,
      weight: WEIGHT.volume,
      text: `${hourCount} calls this hour against a usual ${volume.mean.toFixed(1)}`,
    });
  }
  if (features.denied && profile.denied / profile.events < 0.01) {
    observations.push({
      feature: 'errors',
      value: 'denied',
      pattern: 'RARE',
      baseline: `${((100 * profile.denied) / profile.events).toFixed(1)}% of calls denied`,
      weight: WEIGHT.denied,
      text: `a denied call, against a usual ${((100 * profile.denied) / profile.events).toFixed(1)}% denied`,
    });
  }
  const score = Math.round(100 * (1 - observations.reduce((rest, o) => rest * (1 - o.weight / 100), 1)));
  return {
    subject,
    learning: false,
    score,
    observations,
    unseen,
    sensitive: features.sensitive,
    workload: workloadShare(profile) >= 0.9,
    explanation:
      observations.length === 0
        ? `${context.name} behaved as usual`
        : observations.map((o) => o.text).join('; '),
  };
}

/**
 * Departures of a runtime event from its function version's profile: a program
 * it never ran, a name it never looked up, a connection to an address and a
 * network:port it never reached (a new address of a service it already talks
 * to on that port is rotation, not news), a file path it never touched.
 */
function runtimeObservations(
  features: EventFeatures,
  profile: Profile,
  name: string,
  unseen: Partial<Record<FeatureName | 'account_operation', boolean>>,
): AnomalyObservation[] {
  const out: AnomalyObservation[] = [];
  const known = (feature: FeatureName, value: string) => profile.values[feature]?.[value] !== undefined;
  for (const executable of features.values.executable ?? []) {
    if (known('executable', executable)) continue;
    unseen.executable = true;
    out.push({
      feature: 'executable',
      value: executable,
      pattern: 'UNSEEN',
      baseline: top(profile.values.executable, 5),
      weight: WEIGHT.executable,
      text: `first time ${name} ran ${executable}, usually ${top(profile.values.executable)}`,
    });
  }
  const network = features.values.network?.[0];
  for (const destination of features.values.destination ?? []) {
    if (known('destination', destination)) continue;
    // A connection: only news when the network and port are new too.
    if (network !== undefined && known('network', network)) continue;
    unseen.destination = true;
    const what =
      network === undefined ? `lookup of ${destination}` : `connection to ${destination} (${network})`;
    out.push({
      feature: 'destination',
      value: destination,
      pattern: 'UNSEEN',
      baseline: top(profile.values.destination, 5),
      weight: WEIGHT.destination,
      text: `first ${what} by ${name}, usually ${top(network === undefined ? profile.values.destination : profile.values.network)}`,
    });
  }
  for (const path of features.values.path ?? []) {
    if (known('path', path)) continue;
    unseen.path = true;
    out.push({
      feature: 'path',
      value: path,
      pattern: 'UNSEEN',
      baseline: top(profile.values.path, 5),
      weight: features.sensitive ? WEIGHT.sensitivePath : WEIGHT.path,
      text: `first time ${name} touched ${path}${features.sensitive ? ' (sensitive)' : ''}`,
    });
  }
  return out;
}
