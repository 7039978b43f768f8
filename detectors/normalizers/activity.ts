import type { ActivityId } from '../schema/index.js';

/**
 * Verb prefixes that tell the OCSF activity of an API operation. Cloud APIs
 * name operations verb-first (AWS `CreateUser`, GCP `SetIamPolicy`), so the
 * first word is a good, cheap classifier; the source's own read-only flag wins
 * where it has one.
 */
const PREFIX_ACTIVITY: ReadonlyArray<readonly [string, ActivityId]> = [
  ['Get', 2],
  ['List', 2],
  ['Describe', 2],
  ['Head', 2],
  ['Lookup', 2],
  ['Search', 2],
  ['Select', 2],
  ['Scan', 2],
  ['Query', 2],
  ['BatchGet', 2],
  ['Check', 2],
  ['Decrypt', 2],
  ['Create', 1],
  ['Run', 1],
  ['Add', 1],
  ['Attach', 1],
  ['Register', 1],
  ['Import', 1],
  ['Upload', 1],
  ['Copy', 1],
  ['Allocate', 1],
  ['Associate', 1],
  ['Issue', 1],
  ['Generate', 1],
  ['Delete', 4],
  ['Remove', 4],
  ['Detach', 4],
  ['Terminate', 4],
  ['Deregister', 4],
  ['Disassociate', 4],
  ['Revoke', 4],
  ['Purge', 4],
  ['Release', 4],
  ['Update', 3],
  ['Modify', 3],
  ['Put', 3],
  ['Set', 3],
  ['Enable', 3],
  ['Disable', 3],
  ['Stop', 3],
  ['Start', 3],
  ['Change', 3],
  ['Reset', 3],
  ['Replace', 3],
  ['Restore', 3],
  ['Tag', 3],
  ['Untag', 3],
];

export function activityFromOperation(operation: string, readOnly: boolean | undefined): ActivityId {
  if (readOnly === true) return 2;
  for (const [prefix, activity] of PREFIX_ACTIVITY) {
    if (operation.startsWith(prefix)) {
      // `Delete` must not match `Deleted…`-style nouns, but operations are verb-first so a prefix is enough.
      return activity;
    }
  }
  return 99;
}

export const ACTIVITY_NAMES: Record<ActivityId, string> = {
  0: 'Unknown',
  1: 'Create',
  2: 'Read',
  3: 'Update',
  4: 'Delete',
  99: 'Other',
};
