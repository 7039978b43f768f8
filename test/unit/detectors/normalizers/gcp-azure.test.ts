import { describe, expect, it } from 'vitest';
import { normalizeAzureActivity } from '../../../../detectors/normalizers/azure-activity.js';
import { normalizeAzureEntra } from '../../../../detectors/normalizers/azure-entra.js';
import { normalizeGcpAudit } from '../../../../detectors/normalizers/gcp-audit.js';
import { unpackDocument } from '../../../../detectors/readers/unpack.js';
import { ApiActivity } from '../../../../detectors/schema/api-activity.js';
import { loadFixture } from '../../../helpers/fixtures.js';

describe('normalizeGcpAudit', () => {
  it('reads principal, impersonation chain, key, method, project and caller', () => {
    const event = normalizeGcpAudit(loadFixture('gcp/create-service-account-key.impersonated.json'));
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      source: 'gcp.audit',
      status: 'Success',
      activity_id: 1,
      cloud: { provider: 'GCP', account: 'acme-prod-123' },
      api: { service: 'iam.googleapis.com', operation: 'google.iam.admin.v1.CreateServiceAccountKey' },
      src_endpoint: { ip: '203.0.113.15', is_internal: false },
      metadata: { uid: '1x9k2fe2abc', log_name: 'activity', product: 'GCP Cloud Audit Logs' },
      user_agent: 'google-cloud-sdk gcloud/468.0.0 command/gcloud.iam.service-accounts.keys.create',
    });
    expect(event.actor.user).toEqual({
      type: 'ServiceAccount',
      uid: 'deployer@acme-prod-123.iam.gserviceaccount.com',
      name: 'deployer@acme-prod-123.iam.gserviceaccount.com',
      credential_uid: '0123456789abcdef',
    });
    expect(event.actor.session).toEqual({
      mfa: false,
      issuer: 'mallory@example.com',
      role_chain: ['mallory@example.com', 'deployer@acme-prod-123.iam.gserviceaccount.com'],
    });
    expect(event.resources[0]).toMatchObject({
      uid: 'projects/-/serviceAccounts/112233445566778899',
      type: 'service_account',
    });
  });

  it('maps a status code to a failure and Google-internal callers to internal', () => {
    const event = normalizeGcpAudit(loadFixture('gcp/create-service-account-key.denied-internal.json'));
    expect(event.status).toBe('Failure');
    expect(event.api.response).toMatchObject({ error: 'PERMISSION_DENIED' });
    expect(event.src_endpoint).toEqual({ domain: 'gce-internal-ip', is_internal: true });
  });
});

describe('normalizeAzureActivity', () => {
  it('reads the diagnostic-export shape: claims, subscription, provider, uid from the correlation', () => {
    const [item] = unpackDocument(loadFixture('azure/activity-export.role-assignment.json'));
    expect(item).toMatchObject({ kind: 'record', source: 'azure.activity' });
    const event = normalizeAzureActivity((item as { record: Record<string, unknown> }).record);
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      status: 'Success',
      activity_id: 3,
      cloud: { provider: 'Azure', account: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' },
      actor: { user: { type: 'User', uid: 'eve@contoso.onmicrosoft.com', name: 'Eve Admin' } },
      api: { service: 'microsoft.authorization', operation: 'microsoft.authorization/roleassignments/write' },
      src_endpoint: { ip: '203.0.113.40' },
      metadata: {
        uid: '5d2c1e4f-0000-4000-8000-00000000c0de:MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE:Success',
        log_name: 'Administrative',
      },
    });
    expect(event.cloud.region).toBeUndefined();
  });

  it('reads the REST shape: eventDataId as uid, service principal caller, failure code from statusMessage', () => {
    const event = normalizeAzureActivity(loadFixture('azure/activity-rest.nsg-rule-denied.json'));
    expect(event).toMatchObject({
      status: 'Failure',
      actor: {
        user: {
          type: 'Application',
          uid: 'ops-automation-app',
          credential_uid: '2b5e7f0a-1111-4222-8333-944455556666',
        },
      },
      api: { service: 'microsoft.network', response: { error: 'AuthorizationFailed' } },
      src_endpoint: { ip: '198.51.100.77' },
      metadata: { uid: 'e7e7e7e7-0000-4000-8000-0000000000e7' },
    });
    expect(event.resources[0]).toMatchObject({
      name: 'allow-rdp',
      type: 'Microsoft.Network/networkSecurityGroups/securityRules',
    });
  });

  it('reads the Log Analytics row shape with a managed identity in Claims_d', () => {
    const [item] = unpackDocument(loadFixture('azure/azureactivity-row.keyvault-delete.json'));
    const event = normalizeAzureActivity((item as { record: Record<string, unknown> }).record);
    expect(event).toMatchObject({
      status: 'Success',
      activity_id: 4,
      actor: { user: { type: 'ManagedIdentity' } },
      metadata: { uid: '88888888-0000-4000-8000-000000000088' },
    });
  });
});

describe('normalizeAzureEntra', () => {
  it('reads an audit record: initiator, targets, tenant', () => {
    const [item] = unpackDocument(loadFixture('azure/entra-audit.add-member-to-role.json'));
    expect(item).toMatchObject({ kind: 'record', source: 'azure.entra' });
    const event = normalizeAzureEntra((item as { record: Record<string, unknown> }).record);
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      status: 'Success',
      activity_id: 3,
      cloud: { provider: 'Azure', account: '7a7a7a7a-0000-4000-8000-00000000abcd' },
      actor: { user: { type: 'User', uid: 'eve@contoso.onmicrosoft.com' } },
      api: { service: 'Core Directory', operation: 'Add member to role' },
      src_endpoint: { ip: '203.0.113.61' },
      metadata: { uid: 'Directory_7QJ1F_36284910', log_name: 'AuditLogs' },
    });
    expect(event.resources).toEqual([
      { uid: 'u-0002', name: 'svc-backdoor@contoso.onmicrosoft.com', type: 'User' },
    ]);
  });

  it('reads a Graph sign-in: failure code, country, MFA, user agent', () => {
    const [item] = unpackDocument(loadFixture('azure/graph-signin.failed-risky.json'));
    const event = normalizeAzureEntra((item as { record: Record<string, unknown> }).record);
    expect(event).toMatchObject({
      status: 'Failure',
      api: { operation: 'Sign-in activity', response: { error: '50126' } },
      actor: { user: { uid: 'dana@contoso.onmicrosoft.com' }, session: { mfa: false } },
      src_endpoint: { ip: '203.0.113.99', country: 'NL' },
      user_agent: 'python-requests/2.31.0',
      metadata: { uid: '66ea0000-aaaa-4bbb-8ccc-000000000066' },
    });
  });
});

describe('readers: GCP and Azure containers', () => {
  it('recognizes a gcloud logging read array and a Pub/Sub push body', () => {
    const entry = loadFixture('gcp/create-service-account-key.impersonated.json');
    expect(unpackDocument([entry, entry]).map((i) => i.kind === 'record' && i.source)).toEqual([
      'gcp.audit',
      'gcp.audit',
    ]);
    const push = {
      message: {
        data: Buffer.from(JSON.stringify(entry)).toString('base64'),
        messageId: '1',
        publishTime: '2026-03-03T02:10:02Z',
      },
      subscription: 'projects/acme-prod-123/subscriptions/trailhound-push',
    };
    expect(unpackDocument(push)).toMatchObject([
      { kind: 'record', source: 'gcp.audit', record: { insertId: '1x9k2fe2abc' } },
    ]);
  });
});
