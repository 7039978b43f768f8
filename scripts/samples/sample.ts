/**
 * The whole sample: benign traffic with the attack stories injected, ready
 * for `writeOrgTrail`.
 *
 * @example
 * const sample = buildSample({ seed: 20260302, start: new Date('2026-03-02'), days: 3 });
 * writeOrgTrail('samples/cloudtrail', sample.records, { seed: 20260302 });
 */
import { type AttackOptions, type InjectedAttack, injectAttacks } from './attacks.js';
import { byEventTime, type CloudTrailRecord } from './record.js';
import { simulateTraffic, type TrafficOptions, trimToTarget, validateTrafficOptions } from './traffic.js';

export interface Sample {
  /** Every record, sorted by `eventTime`. */
  readonly records: CloudTrailRecord[];
  readonly attacks: readonly InjectedAttack[];
  /** How many of `records` are benign traffic. */
  readonly trafficCount: number;
}

/**
 * Benign traffic plus attacks; with `targetEvents`, exactly that many records
 * in total (the traffic is trimmed, the attacks never are).
 */
export function buildSample(options: TrafficOptions): Sample {
  validateTrafficOptions(options);
  const attackOptions: AttackOptions = { seed: options.seed, start: options.start, days: options.days };
  // A story's length does not depend on the traffic, so a dry run tells how many records the attacks take.
  const attackCount = injectAttacks([], attackOptions).records.length;
  const trafficTarget =
    options.targetEvents === undefined ? undefined : Math.max(1, options.targetEvents - attackCount);
  let allowance = 0;
  for (;;) {
    const wanted = trafficTarget === undefined ? undefined : trafficTarget + allowance;
    const simulation = simulateTraffic({ ...options, targetEvents: wanted });
    const injection = injectAttacks(simulation.records, attackOptions);
    const survivors = simulation.records.filter((record) => !injection.supersedes(record));
    // Records the attacks supersede can leave the traffic short of its target: ask for that many more.
    const shortfall = trafficTarget === undefined ? 0 : trafficTarget - survivors.length;
    if (shortfall > 0 && allowance === 0) {
      allowance = shortfall;
      continue;
    }
    const traffic =
      trafficTarget === undefined
        ? survivors
        : trimToTarget(survivors, simulation.isExpendable, trafficTarget);
    return {
      records: [...traffic, ...injection.records].sort(byEventTime),
      attacks: injection.attacks,
      trafficCount: traffic.length,
    };
  }
}
