/**
 * Benign CloudTrail traffic of the sample organization: people, CI, AWS
 * services, workloads, and the decoys that resemble attacks.
 *
 * @example
 * const records = generateTraffic({ seed: 7, start: new Date('2026-03-02'), days: 3 });
 * const corpus = generateTraffic({ seed: 7, start: new Date('2026-03-02'), days: 3, targetEvents: 200_000 });
 */

import { simulateAwsServices } from './activities/aws-services.js';
import { simulateDeployments } from './activities/ci-deploy.js';
import type { ActivityContext } from './activities/context.js';
import { simulateDecoys } from './activities/decoys.js';
import { simulatePeople } from './activities/people.js';
import { simulateWorkloads } from './activities/workloads.js';
import { Random } from './random.js';
import { byEventTime, type CloudTrailRecord } from './record.js';
import { EventLog } from './scene.js';

export interface TrafficOptions {
  readonly seed: number;
  /** The window starts at this date's midnight UTC. */
  readonly start: Date;
  readonly days: number;
  /**
   * Exact number of records wanted. Workload volume is scaled to reach it and
   * the surplus is trimmed from self-contained records (heartbeats, data
   * events), never from a sequence. Without it, the natural volume of the
   * small sample (about 1,500 records a day).
   */
  readonly targetEvents?: number;
}

type Activity = (context: ActivityContext) => void;

/** Activities whose volume does not change with scale, and the workloads, whose volume does. */
const FIXED_ACTIVITIES: ReadonlyArray<readonly [string, Activity]> = [
  ['people', simulatePeople],
  ['ci', simulateDeployments],
  ['aws-services', simulateAwsServices],
  ['decoys', simulateDecoys],
];
const SCALED_ACTIVITIES: ReadonlyArray<readonly [string, Activity]> = [['workloads', simulateWorkloads]];

export interface TrafficSimulation {
  /** Sorted by `eventTime`. */
  readonly records: CloudTrailRecord[];
  /** Whether a record may be dropped to meet a target without breaking a story. */
  readonly isExpendable: (record: CloudTrailRecord) => boolean;
}

/** Throws a RangeError naming the first option that cannot work. */
export function validateTrafficOptions(options: TrafficOptions): void {
  if (!Number.isInteger(options.days) || options.days < 1)
    throw new RangeError(`days must be a whole number ≥ 1, got ${options.days}`);
  if (Number.isNaN(options.start.getTime())) throw new RangeError('start is not a valid date');
  if (!Number.isSafeInteger(options.seed))
    throw new RangeError(`seed must be an integer, got ${options.seed}`);
  const target = options.targetEvents;
  if (target !== undefined && (!Number.isInteger(target) || target < 1)) {
    throw new RangeError(`targetEvents must be a whole number ≥ 1, got ${target}`);
  }
}

/** Runs every activity at `scale`; returns the log and how many records the scaled ones wrote. */
function run(options: TrafficOptions, scale: number): { log: EventLog; scaled: number } {
  const log = new EventLog();
  const root = Random.from(options.seed).fork('traffic');
  const play = ([name, activity]: readonly [string, Activity]) =>
    activity({ rng: root.fork(name), log, start: options.start, days: options.days, scale });
  FIXED_ACTIVITIES.forEach(play);
  const before = log.records.length;
  SCALED_ACTIVITIES.forEach(play);
  return { log, scaled: log.records.length - before };
}

/**
 * A run with at least `target` records. A pilot at scale 1 measures the fixed
 * and the scaled volume; the margin lets trimming, not a shortfall, settle the
 * exact count. Workloads come in whole instances and sandboxes, so a run can
 * still fall short: then scale up by the shortfall and run again.
 */
function runToTarget(options: TrafficOptions, target: number): EventLog {
  const pilot = run(options, 1);
  const fixed = pilot.log.records.length - pilot.scaled;
  const margin = 1.03;
  let scale = Math.max(0.05, ((target - fixed) / Math.max(1, pilot.scaled)) * margin);
  for (let attempt = 1; ; attempt++) {
    const { log, scaled } = run(options, scale);
    if (log.records.length >= target || attempt === 4) return log;
    scale *= Math.max(1.05, ((target - fixed) / Math.max(1, scaled)) * margin);
  }
}

/** All traffic, untrimmed, sorted by time (a stable sort keeps each story's order within a second). */
export function simulateTraffic(options: TrafficOptions): TrafficSimulation {
  validateTrafficOptions(options);
  const log =
    options.targetEvents === undefined ? run(options, 1).log : runToTarget(options, options.targetEvents);
  return { records: log.records.sort(byEventTime), isExpendable: (record) => log.isExpendable(record) };
}

/**
 * Drops expendable records, spread evenly over the window, until `target`
 * remain (or no expendable record is left).
 */
export function trimToTarget(
  records: readonly CloudTrailRecord[],
  isExpendable: (record: CloudTrailRecord) => boolean,
  target: number,
): CloudTrailRecord[] {
  const surplus = records.length - target;
  if (surplus <= 0) return [...records];
  const expendable = records.filter(isExpendable);
  const dropped = new Set<CloudTrailRecord>();
  const step = expendable.length / Math.min(surplus, expendable.length);
  for (let i = 0; dropped.size < Math.min(surplus, expendable.length); i++) {
    dropped.add(expendable[Math.floor(i * step)] as CloudTrailRecord);
  }
  return records.filter((record) => !dropped.has(record));
}

/** Benign traffic for the window, sorted by `eventTime`; exactly `targetEvents` records when given. */
export function generateTraffic(options: TrafficOptions): CloudTrailRecord[] {
  const simulation = simulateTraffic(options);
  return options.targetEvents === undefined
    ? simulation.records
    : trimToTarget(simulation.records, simulation.isExpendable, options.targetEvents);
}
