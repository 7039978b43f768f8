import { describe, expect, it } from 'vitest';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { PREDICATES } from '../../../../detectors/rules/predicates/index.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const shareSnapshot = (userId: string) =>
  normalizeCloudTrail(
    loadFixture('cloudtrail/identities/iam-user.json', {
      eventSource: 'ec2.amazonaws.com',
      eventName: 'ModifySnapshotAttribute',
      requestParameters: {
        snapshotId: 'snap-0123456789abcdef0',
        attributeType: 'CREATE_VOLUME_PERMISSION',
        createVolumePermission: { add: { items: [{ userId }] } },
      },
    }),
  );

describe('predicates honour the tuning lists', () => {
  it('sharedWithOtherAccount ignores the own account and trusted_accounts', () => {
    const predicate = PREDICATES.sharedWithOtherAccount!;
    expect(predicate(shareSnapshot('444455556666'), {})).toBe(true);
    expect(predicate(shareSnapshot('111122223333'), {})).toBe(false);
    expect(predicate(shareSnapshot('444455556666'), { trusted_accounts: ['444455556666'] })).toBe(false);
  });

  it('every predicate is total: odd input gives false, never an exception', () => {
    const odd = normalizeCloudTrail(
      loadFixture('cloudtrail/identities/iam-user.json', {
        requestParameters: {
          policy: '{not json',
          policyDocument: 42,
          createVolumePermission: 'x',
          Statement: null,
        },
        responseElements: [1, 2],
      }),
    );
    for (const [name, predicate] of Object.entries(PREDICATES)) {
      expect(() => predicate(odd, {}), name).not.toThrow();
    }
  });
});
