/**
 * Azure Monitor resource logs routed through diagnostic settings (Key Vault
 * AuditEvent, Storage StorageRead / StorageWrite / StorageDelete) and the
 * Activity Log's non-administrative categories: the reader recognizes them and
 * the Activity normalizer reads their status, caller and uid.
 */
import { describe, expect, it } from 'vitest';
import { normalizeAzureActivity } from '../../../../detectors/normalizers/azure-activity.js';
import { unpackDocument } from '../../../../detectors/readers/unpack.js';
import { ApiActivity } from '../../../../detectors/schema/api-activity.js';
import { loadFixture } from '../../../helpers/fixtures.js';

type Json = Record<string, unknown>;

function records(document: unknown): Json[] {
  return unpackDocument(document).map((item) => {
    expect(item).toMatchObject({ kind: 'record', source: 'azure.activity' });
    return (item as { record: Json }).record;
  });
}

describe('normalizeAzureActivity: Key Vault AuditEvent', () => {
  it('reads a diagnostic export of AuditEvent records: operation, claim, vault, status', () => {
    const [recover] = records(loadFixture('azure/keyvault-auditevent.secret-recover.json'));
    const event = normalizeAzureActivity(recover as Json);
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      status: 'Success',
      cloud: { provider: 'Azure', account: '5c1f0b2e-8d3a-4e6f-9a7b-2c4d6e8f0a1b', region: 'westeurope' },
      actor: {
        user: {
          type: 'User',
          uid: 'eve.martin@contoso.onmicrosoft.com',
          principal_id: '3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c',
        },
      },
      api: { service: 'microsoft.keyvault', operation: 'secretrecover' },
      src_endpoint: { ip: '203.0.113.45' },
      metadata: { log_name: 'AuditEvent' },
    });
    expect(event.resources[0]).toMatchObject({ name: 'PROD-KV', type: 'MICROSOFT.KEYVAULT/VAULTS' });
  });

  it('treats an HTTP 4xx as a failure even though resultType says Success', () => {
    const [, denied] = records(loadFixture('azure/keyvault-auditevent.secret-recover.json'));
    const event = normalizeAzureActivity(denied as Json);
    expect(event.status).toBe('Failure');
    expect(event.api.response.error).toBe('Forbidden');
  });

  it('gives records without correlationId distinct, stable uids from their content', () => {
    const [first, second] = records(loadFixture('azure/keyvault-auditevent.secret-recover.json'));
    const a = normalizeAzureActivity(first as Json).metadata.uid;
    const again = normalizeAzureActivity(structuredClone(first) as Json).metadata.uid;
    const b = normalizeAzureActivity(second as Json).metadata.uid;
    expect(a).toMatch(/^SecretRecover:Success:sha256:[0-9a-f]{32}$/);
    expect(again).toBe(a);
    expect(b).not.toBe(a);
  });
});

describe('normalizeAzureActivity: Storage resource logs', () => {
  it('reads status from statusCode, the caller without its port and a shared-key credential', () => {
    const [record] = records(loadFixture('azure/storage-write.set-container-acl.json'));
    const event = normalizeAzureActivity(record as Json);
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      status: 'Success',
      api: { service: 'microsoft.storage', operation: 'setcontaineracl' },
      src_endpoint: { ip: '198.51.100.88' },
      actor: { user: { type: 'Unknown', name: 'AccountKey' } },
      metadata: {
        uid: '8b1c0c01-e01e-0062-4f2a-6e0c3c000c01:SetContainerACL:Success',
        log_name: 'StorageWrite',
      },
    });
    expect(event.actor.user.credential_uid).toMatch(/^key1\(/);
  });

  it('reads an Entra ID caller from identity.requester and a 403 as a failure', () => {
    const record = loadFixture('azure/storage-write.set-container-acl.json', {
      statusCode: 403,
      statusText: 'AuthorizationPermissionMismatch',
      identity: {
        type: 'OAuth',
        tokenHash: undefined,
        requester: {
          appId: '2d4f6a8c-1b3d-4e5f-9a7b-8c9d0e1f2a3b',
          objectId: 'a9b8c7d6-e5f4-4321-8765-4a3b2c1d0e9f',
          upn: 'dana.ops@contoso.onmicrosoft.com',
        },
      },
    });
    const event = normalizeAzureActivity(record);
    expect(event).toMatchObject({
      status: 'Failure',
      api: { response: { error: 'AuthorizationPermissionMismatch' } },
      actor: {
        user: {
          type: 'User',
          uid: 'dana.ops@contoso.onmicrosoft.com',
          principal_id: 'a9b8c7d6-e5f4-4321-8765-4a3b2c1d0e9f',
        },
      },
    });
  });

  it('classifies verb-first data-plane operations (GetBlob reads, DeleteBlob deletes)', () => {
    const base = loadFixture('azure/storage-write.set-container-acl.json');
    expect(normalizeAzureActivity({ ...base, operationName: 'GetBlob' }).activity_id).toBe(2);
    expect(normalizeAzureActivity({ ...base, operationName: 'DeleteBlob' }).activity_id).toBe(4);
  });
});

describe('normalizeAzureActivity: Activity Log categories beyond Administrative', () => {
  it('reads a Policy-category deployIfNotExists record', () => {
    const [record] = records(loadFixture('azure/activity-policy.deploy-if-not-exists.json'));
    const event = normalizeAzureActivity(record as Json);
    expect(event).toMatchObject({
      status: 'Success',
      api: { operation: 'microsoft.authorization/policies/deployifnotexists/action' },
      metadata: { log_name: 'Policy' },
    });
  });

  it('reads a Recommendation-category record written by Advisor', () => {
    const [record] = records({
      records: [
        {
          time: '2026-03-05T08:00:00.0000000Z',
          resourceId:
            '/SUBSCRIPTIONS/5C1F0B2E-8D3A-4E6F-9A7B-2C4D6E8F0A1B/RESOURCEGROUPS/DATA-RG/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/CONTOSOFINANCE',
          operationName: 'Microsoft.Advisor/recommendations/available/action',
          category: 'Recommendation',
          resultType: 'Active',
          resultSignature: 'Succeeded',
          correlationId: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
          level: 'Informational',
          properties: { recommendationCategory: 'Security', recommendationImpact: 'Medium' },
        },
      ],
    });
    const event = normalizeAzureActivity(record as Json);
    expect(event).toMatchObject({
      status: 'Unknown',
      api: { service: 'microsoft.storage', operation: 'microsoft.advisor/recommendations/available/action' },
      metadata: { log_name: 'Recommendation' },
    });
  });
});
