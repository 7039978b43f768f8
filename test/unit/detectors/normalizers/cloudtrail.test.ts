import { describe, expect, it } from 'vitest';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { NormalizationError } from '../../../../detectors/normalizers/errors.js';
import { ApiActivity } from '../../../../detectors/schema/api-activity.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const identity = (name: string) => normalizeCloudTrail(loadFixture(`cloudtrail/identities/${name}.json`));

describe('normalizeCloudTrail: every userIdentity type', () => {
  it.each([
    ['iam-user', 'IAMUser', 'arn:aws:iam::111122223333:user/alice', 'alice'],
    ['assumed-role', 'AssumedRole', 'arn:aws:iam::111122223333:role/ci/ci-deploy', 'ci-deploy'],
    ['root', 'Root', 'arn:aws:iam::111122223333:root', 'root'],
    ['federated-user', 'FederatedUser', 'arn:aws:sts::111122223333:federated-user/bob', 'bob'],
    ['aws-service', 'AWSService', 'cloudtrail.amazonaws.com', 'cloudtrail.amazonaws.com'],
    ['aws-account', 'AWSAccount', 'arn:aws:iam::444455556666:root', '444455556666'],
    [
      'identity-center-user',
      'IdentityCenterUser',
      'arn:aws:identitystore::111122223333:identitystore/d-0000000001/user/906744e8-0000-4000-8000-000000000001',
      '906744e8-0000-4000-8000-000000000001',
    ],
    ['saml-user', 'SAMLUser', 'arn:aws:iam::111122223333:saml-provider/corp-idp:carol', 'carol'],
    ['web-identity-user', 'WebIdentityUser', 'accounts.google.com:user-456', 'user-456'],
  ])('%s → type %s, uid %s', (fixture, type, uid, name) => {
    const event = identity(fixture);
    expect(event.actor.user).toMatchObject({ type, uid, name });
    // Every normalized event satisfies the published schema.
    expect(ApiActivity.safeParse(event).success).toBe(true);
  });

  it('resolves an assumed-role session to its role and keeps the session details', () => {
    const event = identity('assumed-role');
    expect(event.actor.session).toEqual({
      uid: 'arn:aws:sts::111122223333:assumed-role/ci-deploy/deploy-42',
      name: 'deploy-42',
      issuer: 'arn:aws:iam::111122223333:role/ci/ci-deploy',
      mfa: false,
      created_time: Date.parse('2026-03-02T09:58:00Z'),
      source_identity: 'alice',
      role_chain: ['arn:aws:iam::111122223333:role/ci/ci-deploy'],
    });
    expect(event.actor.user.credential_uid).toBe('ASIAEXAMPLE000000001');
  });

  it('extends the role chain when a role session assumes another role', () => {
    const event = normalizeCloudTrail(loadFixture('cloudtrail/assume-role.chained.json'));
    expect(event.actor.session?.role_chain).toEqual([
      'arn:aws:iam::111122223333:role/ci/ci-deploy',
      'arn:aws:iam::444455556666:role/cross-admin',
    ]);
    expect(event.resources).toContainEqual({
      uid: 'arn:aws:iam::444455556666:role/cross-admin',
      type: 'AWS::IAM::Role',
      account: '444455556666',
    });
  });

  it('marks AWS service calls as internal and keeps the service name as the source', () => {
    const event = identity('aws-service');
    expect(event.src_endpoint).toEqual({ domain: 'cloudtrail.amazonaws.com', is_internal: true });
    expect(event.metadata.log_name).toBe('AwsServiceEvent');
  });
});

describe('normalizeCloudTrail: outcome, activity and metadata', () => {
  it('maps errorCode to a failure with the error and message', () => {
    const event = normalizeCloudTrail(loadFixture('cloudtrail/create-user.access-denied.json'));
    expect(event.status).toBe('Failure');
    expect(event.api.response.error).toBe('AccessDenied');
    expect(event.api.response.message).toContain('not authorized');
    expect(event.activity_id).toBe(1);
    expect(event.resources).toContainEqual({
      name: 'mallory',
      type: 'AWS::IAM::User',
      account: '111122223333',
    });
  });

  it('reads console sign-in outcome and MFA from the response and additional data', () => {
    const ok = normalizeCloudTrail(loadFixture('cloudtrail/console-login.success-mfa.json'));
    expect(ok.status).toBe('Success');
    expect(ok.actor.session?.mfa).toBe(true);
    expect(ok.metadata.log_name).toBe('AwsConsoleSignIn');
    const failed = normalizeCloudTrail(loadFixture('cloudtrail/console-login.failure.json'));
    expect(failed.status).toBe('Failure');
    expect(failed.actor.session?.mfa).toBe(false);
    expect(failed.api.response.message).toBe('Failed authentication');
  });

  it('reads the outcome of any sign-in event from its own response field, and MFA in either case', () => {
    const checkMfa = normalizeCloudTrail(
      loadFixture('cloudtrail/console-login.failure.json', {
        eventName: 'CheckMfa',
        responseElements: { CheckMfa: 'Failure' },
      }),
    );
    expect(checkMfa.status).toBe('Failure');
    const root = normalizeCloudTrail(
      loadFixture('cloudtrail/console-login.success-mfa.json', { additionalEventData: { MFAUsed: 'YES' } }),
    );
    expect(root.actor.session?.mfa).toBe(true);
  });

  it('classifies read-only calls and data events', () => {
    const event = normalizeCloudTrail(loadFixture('cloudtrail/get-object.data-event.json'));
    expect(event.activity_id).toBe(2);
    expect(event.metadata).toMatchObject({
      log_name: 'Data',
      read_only: true,
      uid: '11111111-0000-4000-8000-000000000001',
    });
    expect(event.resources.map((r) => r.uid ?? r.name)).toEqual([
      'arn:aws:s3:::payroll-exports/2026/03/payroll.csv',
      'arn:aws:s3:::payroll-exports',
      'payroll-exports',
    ]);
  });

  it('keeps the raw record untouched beside the normalized fields', () => {
    const record = loadFixture('cloudtrail/identities/iam-user.json');
    const event = normalizeCloudTrail(record);
    expect(event.raw).toBe(record);
    expect(event.time).toBe(Date.parse('2026-03-02T10:05:00Z'));
    expect(event.metadata.original_time).toBe('2026-03-02T10:05:00Z');
    expect(event.cloud).toEqual({ provider: 'AWS', account: '111122223333', region: 'us-east-1' });
  });

  it('refuses a record that is not CloudTrail, with a typed error', () => {
    expect(() => normalizeCloudTrail({ hello: 'world' })).toThrow(NormalizationError);
    expect(() => normalizeCloudTrail({ eventName: 'X', eventSource: 'y', eventTime: 'yesterday' })).toThrow(
      /is not a time/,
    );
  });
});
