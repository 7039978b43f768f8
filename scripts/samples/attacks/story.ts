/**
 * The shape of an attack story, and what stories may read from the benign
 * timeline they are injected into (a victim's live session, for instance).
 */
import type { Behaviour } from '../behaviours.js';
import type { AccountId } from '../estate.js';
import { longTermKeyId, type Role, type RoleSession } from '../identities.js';
import type { Random } from '../random.js';
import type { CloudTrailRecord } from '../record.js';
import type { Scene } from '../scene.js';

/** What tests and the README can say about a story without running it. */
export interface AttackDescription {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly account: AccountId;
  /** The attacker's address (the first one, when the story uses several). */
  readonly sourceIp: string;
  readonly behaviours: readonly Behaviour[];
  /** MITRE ATT&CK technique ids. */
  readonly mitre: readonly string[];
}

export interface AttackStory extends AttackDescription {
  /** When: this fraction of the way through the window, at this UTC hour. */
  readonly dayFraction: number;
  readonly hour: number;
  readonly play: (scene: Scene, world: AttackWorld) => void;
  /**
   * Benign records that cannot exist once the story happened (a stopped
   * trail delivers no more files), given the story's own records.
   */
  readonly supersedes?: (record: CloudTrailRecord, story: readonly CloudTrailRecord[]) => boolean;
}

/** What a story may know beyond itself. */
export interface AttackWorld {
  readonly timeline: Timeline;
  /** Facts shared between stories of one campaign, drawn from the attacks' own stream. */
  readonly campaign: Campaign;
}

/** The backdoor the leaked-key intruder creates and the miner later uses. */
export interface Campaign {
  readonly backdoorUserName: string;
  readonly backdoorKeyId: string;
}

export const campaignFrom = (rng: Random): Campaign => ({
  backdoorUserName: 'svc-backup-sync',
  backdoorKeyId: longTermKeyId(rng.fork('backdoor-key')),
});

/** Read access to the benign traffic, for stories that hijack a real session. */
export class Timeline {
  constructor(private readonly records: readonly CloudTrailRecord[]) {}

  /**
   * The latest session STS issued for `role` (and session name, if given)
   * before `before` and still valid then: its key id and start time, as
   * logged in the AssumeRole* response.
   */
  latestSession(role: Role, before: number, sessionName?: string): RoleSession | undefined {
    const cutoff = new Date(before).toISOString();
    for (let i = this.records.length - 1; i >= 0; i--) {
      const record = this.records[i] as CloudTrailRecord;
      if (record.eventTime >= cutoff || !record.eventName.startsWith('AssumeRole') || record.errorCode)
        continue;
      const request = record.requestParameters;
      if (request?.roleArn !== role.arn) continue;
      if (sessionName !== undefined && request.roleSessionName !== sessionName) continue;
      const credentials = record.responseElements?.credentials;
      if (credentials === null || typeof credentials !== 'object' || Array.isArray(credentials)) continue;
      const created = Date.parse(record.eventTime);
      if (before - created > 12 * 3600 * 1000) return undefined;
      return {
        role,
        name: String(request.roleSessionName),
        accessKeyId: String(credentials.accessKeyId),
        created,
        mfa: false,
      };
    }
    return undefined;
  }
}
