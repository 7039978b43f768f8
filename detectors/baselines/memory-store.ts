import { emptyProfile, mergeDelta, type Profile, type ProfileDelta, type ProfilePolicy } from './profile.js';
import type { ApplyResult, ProfileStore } from './store.js';

/**
 * Profiles in process memory: the reference semantics of {@link ProfileStore},
 * used by rule cases (their `history`) and unit tests. Production and the CLI
 * keep profiles in DynamoDB.
 */
export class MemoryProfileStore implements ProfileStore {
  private readonly profiles = new Map<string, Profile>();

  constructor(private readonly policy?: ProfilePolicy) {}

  async load(subjects: readonly string[]): Promise<Map<string, Profile>> {
    const found = new Map<string, Profile>();
    for (const subject of subjects) {
      const profile = this.profiles.get(subject);
      if (profile !== undefined) found.set(subject, profile);
    }
    return found;
  }

  async apply(batchId: string, deltas: readonly ProfileDelta[]): Promise<ApplyResult> {
    let written = 0;
    let replayed = 0;
    for (const delta of deltas) {
      const merged = mergeDelta(
        this.profiles.get(delta.subject) ?? emptyProfile(delta.subject),
        delta,
        batchId,
        this.policy,
      );
      if (merged === undefined) replayed += 1;
      else {
        this.profiles.set(delta.subject, merged);
        written += 1;
      }
    }
    return { written, replayed };
  }
}
