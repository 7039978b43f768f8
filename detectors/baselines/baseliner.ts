/**
 * The baseline stage of the pipeline, run per batch: extract features, load
 * the profiles the batch touches (one read per subject per batch), score every
 * event against the profiles as they were before the batch, attach the
 * assessment to the event (`event.anomaly`) for rules to match on, then learn
 * the batch: one merged write per subject.
 */
import type { NormalizedEvent } from '../schema/event.js';
import { type EventFeatures, extractFeatures, type NetworkLookup, subjectsOf } from './features.js';
import { DeltaBuilder } from './profile.js';
import { DEFAULT_SCORING_POLICY, type ScoringPolicy, scoreEvent } from './scorer.js';
import type { ProfileStore } from './store.js';

export interface BaselineOptions {
  readonly store: ProfileStore;
  readonly lookup?: NetworkLookup;
  readonly scoring?: ScoringPolicy;
}

export interface BaselineStats {
  batches: number;
  scored: number;
  learning: number;
  profileReads: number;
  profileWrites: number;
  replayedDeltas: number;
}

const HOUR_MS = 3_600_000;

export class Baseliner {
  readonly stats: BaselineStats = {
    batches: 0,
    scored: 0,
    learning: 0,
    profileReads: 0,
    profileWrites: 0,
    replayedDeltas: 0,
  };

  constructor(private readonly options: BaselineOptions) {}

  async process(batchId: string, events: readonly NormalizedEvent[]): Promise<void> {
    const features: Array<EventFeatures | undefined> = events.map((e) =>
      extractFeatures(e, this.options.lookup),
    );
    const subjects = new Set<string>();
    for (const f of features) if (f !== undefined) for (const subject of subjectsOf(f)) subjects.add(subject);
    if (subjects.size === 0) return;
    this.stats.batches += 1;
    const profiles = await this.options.store.load([...subjects]);
    this.stats.profileReads += subjects.size;
    const builder = new DeltaBuilder();
    // Events of each principal per hour in this batch, for volume spikes.
    const hourly = new Map<string, number>();
    events.forEach((event, i) => {
      const f = features[i];
      if (f === undefined) return;
      // A runtime event has no principal subject: it is scored against its function version's profile.
      const scored = f.subjects.principal ?? f.subjects.function;
      const principal = scored ? profiles.get(scored) : undefined;
      const hour = Math.floor(event.time / HOUR_MS) * HOUR_MS;
      const hourKey = `${scored}\u0000${hour}`;
      const inBatch = (hourly.get(hourKey) ?? 0) + 1;
      hourly.set(hourKey, inBatch);
      const fromProfile =
        principal !== undefined && principal.volume.hour === hour ? principal.volume.count : 0;
      const assessment = scoreEvent(
        f,
        event.time,
        {
          ...(principal ? { principal } : {}),
          ...(f.subjects.account !== undefined && profiles.has(f.subjects.account)
            ? { account: profiles.get(f.subjects.account) }
            : {}),
          hourCount: fromProfile + inBatch,
          name:
            event.source === 'aws.lambda.runtime'
              ? `function ${event.runtime.function.name} (version ${event.runtime.function.version})`
              : (event.actor.user.name ?? event.actor.user.uid ?? 'the principal'),
        },
        this.options.scoring ?? DEFAULT_SCORING_POLICY,
      );
      if (assessment.learning) this.stats.learning += 1;
      else this.stats.scored += 1;
      event.anomaly = {
        score: assessment.score,
        learning: assessment.learning,
        workload: assessment.workload,
        sensitive: assessment.sensitive,
        unseen: assessment.unseen,
        explanation: assessment.explanation,
        observations: assessment.observations.map((o) => ({ ...o })),
      };
      builder.add(f, event.time);
    });
    const result = await this.options.store.apply(batchId, builder.build());
    this.stats.profileWrites += result.written;
    this.stats.replayedDeltas += result.replayed;
  }
}
