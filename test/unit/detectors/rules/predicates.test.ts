import { describe, expect, it } from 'vitest';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { normalizeGcpAudit } from '../../../../detectors/normalizers/gcp-audit.js';
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

  it('gcsObjectCopiedToOtherProject ignores the own project, trusted_accounts and gcp_trusted_copy_destinations', () => {
    const copyTo = (destination: string) =>
      normalizeGcpAudit({
        insertId: 'c1',
        logName: 'projects/acme-prod-123/logs/cloudaudit.googleapis.com%2Fdata_access',
        protoPayload: {
          status: {},
          authenticationInfo: { principalEmail: 'alice@example.com' },
          serviceName: 'storage.googleapis.com',
          methodName: 'storage.objects.rewrite',
          resourceName: 'projects/_/buckets/acme-data/objects/a.csv',
          metadata: { destination },
        },
        resource: { type: 'gcs_bucket', labels: { project_id: 'acme-prod-123', bucket_name: 'acme-data' } },
        timestamp: '2026-03-07T10:00:00Z',
      });
    const predicate = PREDICATES.gcsObjectCopiedToOtherProject!;
    const outside = copyTo('projects/acme-dr-9/buckets/dr/objects/a.csv');
    expect(predicate(outside, {})).toBe(true);
    expect(predicate(outside, { gcp_trusted_copy_destinations: ['acme-dr-9'] })).toBe(false);
    expect(predicate(outside, { trusted_accounts: ['acme-dr-9'] })).toBe(false);
    expect(predicate(copyTo('projects/acme-prod-123/buckets/b2/objects/a.csv'), {})).toBe(false);
    expect(predicate(copyTo('projects/_/buckets/b2/objects/a.csv'), {})).toBe(false);
    expect(predicate(copyTo('gs://b2/a.csv'), {})).toBe(false);
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
