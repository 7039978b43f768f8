import type { Profile, ProfileDelta } from './profile.js';

/**
 * Where profiles live. Implemented by the DynamoDB store (the real service in
 * AWS, dynalite locally) and by {@link MemoryProfileStore} for rule cases.
 */
export interface ProfileStore {
  /** Current profiles of these subjects; unknown subjects are absent from the map. */
  load(subjects: readonly string[]): Promise<Map<string, Profile>>;
  /**
   * Merges each delta into its subject's profile under `batchId`, at most once
   * per subject and batch however often it is called, and correctly when
   * several writers update one subject at the same time.
   */
  apply(batchId: string, deltas: readonly ProfileDelta[]): Promise<ApplyResult>;
}

export interface ApplyResult {
  /** Profiles written. */
  readonly written: number;
  /** Deltas not merged because their batch was merged before. */
  readonly replayed: number;
}
