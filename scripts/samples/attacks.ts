/**
 * Attack stories injected into the benign timeline. `ATTACKS` describes
 * them (behaviours, MITRE techniques) for tests and documentation;
 * `injectAttacks` plays them and reports the event ids each produced.
 *
 * @example
 * const traffic = generateTraffic({ seed: 7, start, days: 3 });
 * const { records, attacks } = injectAttacks(traffic, { seed: 7, start, days: 3 });
 */
import { dayAt } from './activities/context.js';
import { cryptoMining } from './attacks/crypto-mining.js';
import { lambdaCredentials } from './attacks/lambda-credentials.js';
import { leakedAccessKey } from './attacks/leaked-access-key.js';
import { publicSnapshotAndBucket } from './attacks/public-snapshot-and-bucket.js';
import { rootTakeover } from './attacks/root-takeover.js';
import { type AttackDescription, type AttackStory, campaignFrom, Timeline } from './attacks/story.js';
import { HOUR, SECOND } from './clock.js';
import { Random } from './random.js';
import { byEventTime, type CloudTrailRecord } from './record.js';
import { EventLog, Scene } from './scene.js';

export type { AttackDescription } from './attacks/story.js';

const STORIES: readonly AttackStory[] = [
  leakedAccessKey,
  cryptoMining,
  publicSnapshotAndBucket,
  lambdaCredentials,
  rootTakeover,
];

const describe = ({
  id,
  title,
  summary,
  account,
  sourceIp,
  behaviours,
  mitre,
}: AttackStory): AttackDescription => ({
  id,
  title,
  summary,
  account,
  sourceIp,
  behaviours,
  mitre,
});

/** Every attack story in the sample, described. */
export const ATTACKS: readonly AttackDescription[] = STORIES.map(describe);

export interface InjectedAttack extends AttackDescription {
  /** First and last `eventTime` of the story. */
  readonly start: string;
  readonly end: string;
  /** The `eventID`s of the story's records, in time order. */
  readonly eventIds: readonly string[];
}

export interface AttackInjection {
  /** The stories' records, sorted by `eventTime`. */
  readonly records: CloudTrailRecord[];
  readonly attacks: readonly InjectedAttack[];
  /** True for a benign record that cannot exist once the attacks happened (deliveries of a stopped trail). */
  readonly supersedes: (record: CloudTrailRecord) => boolean;
}

export interface AttackOptions {
  readonly seed: number;
  readonly start: Date;
  readonly days: number;
}

/**
 * Plays every story against `traffic` (read only: stories may hijack a
 * session found there). The number of records each story writes does not
 * depend on the traffic.
 */
export function injectAttacks(traffic: readonly CloudTrailRecord[], options: AttackOptions): AttackInjection {
  const root = Random.from(options.seed).fork('attacks');
  const world = { timeline: new Timeline(traffic), campaign: campaignFrom(root) };
  const records: CloudTrailRecord[] = [];
  const attacks: InjectedAttack[] = [];
  const superseding: Array<(record: CloudTrailRecord) => boolean> = [];
  for (const story of STORIES) {
    const rng = root.fork(story.id);
    const log = new EventLog();
    const day = dayAt(options, story.dayFraction);
    story.play(
      new Scene(rng, log, undefined, day.midnight + story.hour * HOUR + rng.int(0, 240) * SECOND),
      world,
    );
    const own = log.records.sort(byEventTime);
    attacks.push({
      ...describe(story),
      start: own[0]?.eventTime ?? '',
      end: own.at(-1)?.eventTime ?? '',
      eventIds: own.map((record) => record.eventID),
    });
    records.push(...own);
    const { supersedes } = story;
    if (supersedes !== undefined) superseding.push((record) => supersedes(record, own));
  }
  return {
    records: records.sort(byEventTime),
    attacks,
    supersedes: (record) => superseding.some((test) => test(record)),
  };
}
