import { describe, expect, it } from 'vitest';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { NormalizationError } from '../../../../detectors/normalizers/errors.js';
import { normalizeGcpAudit } from '../../../../detectors/normalizers/gcp-audit.js';
import { canonicalLogEntry } from '../../../../detectors/normalizers/gcp-log-entry.js';
import { parseTimestamp } from '../../../../detectors/normalizers/time.js';
import { ApiActivity } from '../../../../detectors/schema/api-activity.js';

/** A Cloud Audit Logs entry as Cloud Logging writes it (LogEntry + AuditLog). */
const entry = (): Record<string, unknown> => ({
  insertId: 'x1y2z3',
  logName: 'projects/acme-prod-123/logs/cloudaudit.googleapis.com%2Factivity',
  protoPayload: {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    status: {},
    authenticationInfo: { principalEmail: 'alice@example.com' },
    requestMetadata: {
      callerIp: '203.0.113.24',
      requestAttributes: { time: '2026-03-04T16:20:00.080Z' },
    },
    serviceName: 'compute.googleapis.com',
    methodName: 'v1.compute.firewalls.delete',
    resourceName: 'projects/acme-prod-123/global/firewalls/deny-all-egress',
  },
  resource: { type: 'gce_firewall_rule', labels: { project_id: 'acme-prod-123' } },
  timestamp: '2026-03-04T16:20:00.088Z',
  receiveTimestamp: '2026-03-04T16:20:01.500Z',
});

const payloadOf = (record: Record<string, unknown>) => record.protoPayload as Record<string, unknown>;

describe('normalizeGcpAudit: time', () => {
  it('uses the entry timestamp and marks nothing', () => {
    const event = normalizeGcpAudit(entry());
    expect(event.time).toBe(Date.parse('2026-03-04T16:20:00.088Z'));
    expect(event.metadata.original_time).toBe('2026-03-04T16:20:00.088Z');
    expect(event.metadata.time_source).toBeUndefined();
  });

  it('falls back to the request time, then the receive time, and says so', () => {
    const noTimestamp = entry();
    delete noTimestamp.timestamp;
    expect(normalizeGcpAudit(noTimestamp)).toMatchObject({
      time: Date.parse('2026-03-04T16:20:00.080Z'),
      metadata: { time_source: 'request', original_time: '2026-03-04T16:20:00.080Z' },
    });
    delete (payloadOf(noTimestamp).requestMetadata as Record<string, unknown>).requestAttributes;
    expect(normalizeGcpAudit(noTimestamp)).toMatchObject({
      time: Date.parse('2026-03-04T16:20:01.500Z'),
      metadata: { time_source: 'received' },
    });
  });

  it('dates an entry with no time at all by the host receive time, marked ingested, with a stable id', () => {
    const bare = entry();
    for (const key of ['timestamp', 'receiveTimestamp', 'insertId']) delete bare[key];
    delete (payloadOf(bare).requestMetadata as Record<string, unknown>).requestAttributes;
    const receivedAt = Date.parse('2026-03-05T00:00:00Z');
    const event = normalizeGcpAudit(bare, { receivedAt });
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event.time).toBe(receivedAt);
    expect(event.metadata).toMatchObject({ time_source: 'ingested', original_time: '' });
    expect(event.metadata.uid).toMatch(/^compute\.googleapis\.com:v1\.compute\.firewalls\.delete:sha256:/);
    expect(normalizeGcpAudit(structuredClone(bare), { receivedAt: receivedAt + 1 }).metadata.uid).toBe(
      event.metadata.uid,
    );
  });

  it('refuses an entry with no time when the host gives none, and a time that is not one', () => {
    const bare = entry();
    for (const key of ['timestamp', 'receiveTimestamp']) delete bare[key];
    delete (payloadOf(bare).requestMetadata as Record<string, unknown>).requestAttributes;
    expect(() => normalizeGcpAudit(bare)).toThrow(expect.objectContaining({ reason: 'no-time' }));
    expect(() => normalizeGcpAudit({ ...entry(), timestamp: '...' })).toThrow(
      expect.objectContaining({ reason: 'bad-time' }),
    );
  });

  it('reads zone-less export timestamps as UTC', () => {
    expect(parseTimestamp('2024-02-02 09:44:26.029835000')).toBe(Date.parse('2024-02-02T09:44:26.029Z'));
    expect(parseTimestamp('2023-03-28 18:37:06.079 UTC')).toBe(Date.parse('2023-03-28T18:37:06.079Z'));
    expect(parseTimestamp('2024-02-02T11:44:26+02:00')).toBe(Date.parse('2024-02-02T09:44:26Z'));
    expect(Number.isNaN(parseTimestamp('yesterday'))).toBe(true);
  });
});

describe('normalizeGcpAudit: export shapes and partial entries', () => {
  it('reads lower-cased top-level keys and keeps the rules` raw.protoPayload path', () => {
    const lower: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(entry())) lower[key.toLowerCase()] = value;
    const event = normalizeGcpAudit(lower);
    expect(event).toMatchObject({
      time: Date.parse('2026-03-04T16:20:00.088Z'),
      api: { operation: 'v1.compute.firewalls.delete' },
      cloud: { account: 'acme-prod-123' },
      metadata: { uid: 'x1y2z3', log_name: 'activity' },
    });
    expect(event.metadata.time_source).toBeUndefined();
    expect(event.raw.protoPayload).toBe(lower.protopayload);
  });

  it('reads the BigQuery export column protopayload_auditlog and snake_case keys', () => {
    const { protoPayload, insertId, receiveTimestamp, ...rest } = entry();
    const event = normalizeGcpAudit({
      ...rest,
      protopayload_auditlog: protoPayload,
      insert_id: insertId,
      receive_timestamp: receiveTimestamp,
    });
    expect(event.metadata.uid).toBe('x1y2z3');
    expect(event.api.service).toBe('compute.googleapis.com');
  });

  it('keeps a canonical key when a renamed copy is also present', () => {
    const canonical = canonicalLogEntry({ insertId: 'a', insertid: 'b', logname: 'l' });
    expect(canonical).toEqual({ insertId: 'a', insertid: 'b', logName: 'l' });
  });

  it('reads callerIP as well as callerIp', () => {
    const upper = entry();
    payloadOf(upper).requestMetadata = { callerIP: '198.51.100.9' };
    expect(normalizeGcpAudit(upper).src_endpoint).toEqual({ ip: '198.51.100.9', is_internal: false });
  });

  it('reads an entry without resource, insertId or serviceName', () => {
    const partial = entry();
    delete partial.resource;
    delete partial.insertId;
    delete payloadOf(partial).serviceName;
    payloadOf(partial).methodName = 'SetIamPolicy';
    payloadOf(partial).authorizationInfo = [
      {
        permission: 'resourcemanager.organizations.setIamPolicy',
        resourceAttributes: { service: 'cloudresourcemanager.googleapis.com' },
      },
    ];
    const event = normalizeGcpAudit(partial);
    expect(event.api.service).toBe('cloudresourcemanager.googleapis.com');
    expect(event.cloud.account).toBe('acme-prod-123');
    expect(event.metadata.uid).toBe(
      'cloudresourcemanager.googleapis.com:SetIamPolicy:2026-03-04T16:20:00.088Z',
    );
    delete payloadOf(partial).authorizationInfo;
    expect(normalizeGcpAudit(partial).api.service).toBe('unknown');
  });

  it('still refuses what is not an audit log: no protoPayload, no methodName', () => {
    expect(() => normalizeGcpAudit({ methodName: 'v1.compute.firewalls.list' })).toThrow(NormalizationError);
    const noMethod = entry();
    delete payloadOf(noMethod).methodName;
    expect(() => normalizeGcpAudit(noMethod, { receivedAt: 0 })).toThrow(
      expect.objectContaining({ reason: 'not-gcp-audit' }),
    );
  });
});

describe('normalizeGcpAudit: a caller named only by authenticationInfo.authoritySelector', () => {
  const withAuth = (authenticationInfo: Record<string, unknown>): Record<string, unknown> => {
    const record = entry();
    payloadOf(record).authenticationInfo = authenticationInfo;
    return record;
  };

  it('takes a Kubernetes user or an e-mail as the actor when no principal is named', () => {
    const anonymous = normalizeGcpAudit(withAuth({ authoritySelector: 'system:anonymous' }));
    expect(anonymous.actor.user).toEqual({
      uid: 'system:anonymous',
      name: 'system:anonymous',
      type: 'Unknown',
    });
    expect(ApiActivity.safeParse(anonymous).success).toBe(true);
    const person = normalizeGcpAudit(withAuth({ authoritySelector: 'bob@example.com' }));
    expect(person.actor.user).toEqual({ uid: 'bob@example.com', name: 'bob@example.com', type: 'User' });
  });

  it('never overrides a named principal, a service-account key or a delegation chain', () => {
    const named = normalizeGcpAudit(
      withAuth({ principalEmail: 'alice@example.com', authoritySelector: 'system:anonymous' }),
    );
    expect(named.actor.user.uid).toBe('alice@example.com');
    const keyed = normalizeGcpAudit(
      withAuth({
        serviceAccountKeyName:
          '//iam.googleapis.com/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/k1',
        authoritySelector: 'system:anonymous',
      }),
    );
    expect(keyed.actor.user.uid).toBeUndefined();
    const delegated = normalizeGcpAudit(
      withAuth({
        serviceAccountDelegationInfo: [{ firstPartyPrincipal: { principalEmail: 'carol@example.com' } }],
        authoritySelector: 'system:anonymous',
      }),
    );
    expect(delegated.actor.user.uid).toBeUndefined();
  });

  it('leaves a selector that names a resource, not a principal, out of the actor', () => {
    const event = normalizeGcpAudit(withAuth({ authoritySelector: 'organizations/123456789012' }));
    expect(event.actor.user).toEqual({ type: 'Unknown' });
  });
});

describe('normalizeCloudTrail: a record without eventTime', () => {
  const record = {
    eventVersion: '1.09',
    eventID: 'e1',
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBuckets',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' },
    recipientAccountId: '111122223333',
  };

  it('is dated by the host receive time and marked ingested', () => {
    const event = normalizeCloudTrail({ ...record }, { receivedAt: 1_000 });
    expect(event).toMatchObject({
      time: 1_000,
      metadata: { uid: 'e1', time_source: 'ingested', original_time: '' },
    });
  });

  it('is refused when the host gives no receive time', () => {
    expect(() => normalizeCloudTrail({ ...record })).toThrow(expect.objectContaining({ reason: 'no-time' }));
  });
});
