import { describe, expect, it } from 'vitest';
import { extractFeatures } from '../../../../detectors/baselines/features.js';
import { emptyProfile, mergeDelta, type Profile } from '../../../../detectors/baselines/profile.js';
import { scoreEvent } from '../../../../detectors/baselines/scorer.js';
import { sketchToDelta } from '../../../../detectors/engine/rule-tests.js';
import { documentationNetworkLookup } from '../../../../detectors/enrichment/documentation-networks.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const subject = 'principal:arn:aws:iam::111122223333:user/alice';
const profileOf = (
  values: Record<string, Record<string, number>>,
  events = 400,
  firstSeen = '2026-02-01T00:00:00Z',
): Profile =>
  mergeDelta(
    emptyProfile(subject),
    sketchToDelta({ subject, events, first_seen: firstSeen, last_seen: '2026-03-01T00:00:00Z', values }),
    'sketch',
  )!;
const usual = {
  operation: { 's3:ListBuckets': 300 },
  network: { AS64500: 400 },
  country: { US: 400 },
  region: { 'us-east-1': 400 },
  client: { 'aws-cli': 400 },
};

const score = (overrides: Record<string, unknown>, profile: Profile, account?: Profile) => {
  const event = normalizeCloudTrail(
    loadFixture('cloudtrail/identities/iam-user.json', { eventTime: '2026-03-03T10:00:00Z', ...overrides }),
  );
  return scoreEvent(extractFeatures(event, documentationNetworkLookup)!, event.time, {
    principal: profile,
    ...(account ? { account } : {}),
    name: 'alice',
  });
};

describe('scoreEvent', () => {
  it('scores usual behaviour 0', () => {
    expect(score({}, profileOf(usual))).toMatchObject({
      score: 0,
      learning: false,
      explanation: 'alice behaved as usual',
    });
  });

  it('explains every departure and combines them', () => {
    const result = score(
      { sourceIPAddress: '203.0.113.9', userAgent: 'python-requests/2.31', awsRegion: 'ap-southeast-1' },
      profileOf(usual),
    );
    expect(result.unseen).toEqual({ network: true, country: true, region: true, client: true });
    expect(result.explanation).toBe(
      'first call from AS64501 (country NL), usually AS64500; first call from country NL, usually US; first use of region ap-southeast-1, usually us-east-1; new client python-requests, usually aws-cli',
    );
    // 1 - (0.7 × 0.75 × 0.85 × 0.85)
    expect(result.score).toBe(62);
  });

  it('weighs a new sensitive operation more, and less when routine in the account', () => {
    const createKey = { eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey' };
    const alone = score(createKey, profileOf(usual));
    expect(alone.score).toBe(45);
    expect(alone.explanation).toBe(
      'first time alice called iam:CreateAccessKey (sensitive), never seen in the account',
    );
    const account = profileOf({ operation: { 'iam:CreateAccessKey': 50 } }, 5000);
    expect(score(createKey, profileOf(usual), account).score).toBe(18);
  });

  it('gives no score while learning: too few events or too recent', () => {
    expect(score({ sourceIPAddress: '203.0.113.9' }, profileOf(usual, 10)).learning).toBe(true);
    expect(
      score({ sourceIPAddress: '203.0.113.9' }, profileOf(usual, 400, '2026-03-01T00:00:00Z')).learning,
    ).toBe(true);
  });
});

describe('scoreEvent: sensitive resources', () => {
  it('flags a secret the principal never read, once it has a record of secrets', () => {
    const read = (secretId: string) => ({
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'GetSecretValue',
      requestParameters: { secretId },
    });
    const withSecrets = profileOf({
      ...usual,
      operation: { 'secretsmanager:GetSecretValue': 100 },
      resource: { 'prod/orders/db': 100 },
    });
    expect(score(read('prod/orders/db'), withSecrets).score).toBe(0);
    const other = score(read('prod/payments/stripe'), withSecrets);
    expect(other.unseen.resource).toBe(true);
    expect(other.explanation).toBe('first access to prod/payments/stripe, usually prod/orders/db');
  });
});
