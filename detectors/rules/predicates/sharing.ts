import type { Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, isOwnOrTrustedAccount } from './json.js';

/** Principals a snapshot / image attribute change adds, from EC2's and RDS's request shapes. */
function addedPrincipals(event: ApiActivity): string[] {
  const params = asObject(event.raw.requestParameters);
  if (params === undefined) return [];
  const added: string[] = [];
  // EC2: createVolumePermission / launchPermission → { add: { items: [{ userId } | { group }] } }
  for (const attribute of [params.createVolumePermission, params.launchPermission]) {
    const items = asObject(asObject(attribute)?.add)?.items;
    for (const item of asList(items)) {
      const entry = asObject(item);
      if (typeof entry?.group === 'string') added.push(entry.group);
      if (typeof entry?.userId === 'string') added.push(entry.userId);
      if (typeof entry?.organizationArn === 'string') added.push(entry.organizationArn);
    }
  }
  // RDS: { attributeName: 'restore', valuesToAdd: ['all' | accountId] }
  if (params.attributeName === 'restore') {
    for (const value of asList(params.valuesToAdd)) if (typeof value === 'string') added.push(value);
  }
  return added;
}

/** A snapshot, AMI or DB snapshot made restorable or launchable by everyone. */
export function sharedWithPublic(event: ApiActivity): boolean {
  return addedPrincipals(event).some((p) => p === 'all');
}

/** A snapshot, AMI or DB snapshot shared with an account other than its own and not in `trusted_accounts`. */
export function sharedWithOtherAccount(event: ApiActivity, lists: Lists): boolean {
  return addedPrincipals(event).some(
    (p) => /^\d{12}$/.test(p) && !isOwnOrTrustedAccount(p, event.cloud.account, lists),
  );
}
