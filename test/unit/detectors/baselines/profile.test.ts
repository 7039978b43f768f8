import { describe, expect, it } from 'vitest';
import { clientFamily, extractFeatures, hourOfWeek } from '../../../../detectors/baselines/features.js';
import { MemoryProfileStore } from '../../../../detectors/baselines/memory-store.js';
import {
  DeltaBuilder,
  emptyProfile,
  mergeDelta,
  volumeStdDev,
} from '../../../../detectors/baselines/profile.js';
import { documentationNetworkLookup } from '../../../../detectors/enrichment/documentation-networks.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const HOUR = 3_600_000;
const event = (overrides: Record<string, unknown> = {}) =>
  normalizeCloudTrail(loadFixture('cloudtrail/identities/iam-user.json', overrides));

describe('features', () => {
  it('names subjects: the principal, its long-term key, the account', () => {
    const features = extractFeatures(event(), documentationNetworkLookup);
    expect(features?.subjects).toEqual({
      principal: 'principal:arn:aws:iam::111122223333:user/alice',
      accessKey: 'key:AKIAEXAMPLE000000001',
      account: 'account:AWS:111122223333',
    });
    expect(features?.values).toMatchObject({
      operation: ['s3:ListBuckets'],
      network: ['AS64500'],
      country: ['US'],
      client: ['aws-cli'],
      region: ['us-east-1'],
    });
  });

  it('skips AWS acting on its own, and temporary keys have no profile', () => {
    expect(
      extractFeatures(normalizeCloudTrail(loadFixture('cloudtrail/identities/aws-service.json'))),
    ).toBeUndefined();
    const role = normalizeCloudTrail(loadFixture('cloudtrail/identities/assumed-role.json'));
    expect(extractFeatures(role)?.subjects.accessKey).toBeUndefined();
  });

  it.each([
    ['aws-cli/2.15.0 Python/3.11.6 Linux/6.1', 'aws-cli'],
    ['[S3Console/0.4, aws-internal/3]', 's3console'],
    ['Boto3/1.34.40 md/Botocore#1.34.40', 'boto3'],
    [
      'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0',
      'terraform',
    ],
    ['signin.amazonaws.com', 'aws-service'],
    ['Mozilla/5.0 (Macintosh)', 'console'],
    ['python-requests/2.31.0', 'python-requests'],
    [undefined, 'none'],
  ])('client family of %s is %s', (agent, family) => {
    expect(clientFamily(agent)).toBe(family);
  });

  it('counts hours of the week from Monday 00:00 UTC', () => {
    expect(hourOfWeek(Date.parse('2026-03-02T00:30:00Z'))).toBe(0); // a Monday
    expect(hourOfWeek(Date.parse('2026-03-08T23:59:00Z'))).toBe(167); // the Sunday after
  });
});

describe('profiles', () => {
  const delta = (times: number[], operation = 'ListBuckets') => {
    const builder = new DeltaBuilder();
    for (const time of times) {
      const e = event({ eventName: operation, eventTime: new Date(time).toISOString() });
      builder.add(extractFeatures(e, documentationNetworkLookup)!, e.time);
    }
    return builder.build().find((d) => d.subject.startsWith('principal:'))!;
  };
  const t0 = Date.parse('2026-03-02T10:00:00Z');

  it('merges a batch delta: counts, first and last seen, hours, volume', () => {
    const first = mergeDelta(emptyProfile('principal:x'), delta([t0, t0 + 60_000]), 'b1')!;
    const second = mergeDelta(first, delta([t0 + 2 * HOUR, t0 + 3 * HOUR], 'GetObject'), 'b2')!;
    expect(second).toMatchObject({
      events: 4,
      firstSeen: t0,
      lastSeen: t0 + 3 * HOUR,
      version: 2,
      batches: ['b1', 'b2'],
    });
    expect(second.values.operation?.['s3:ListBuckets']).toEqual({ c: 2, f: t0, l: t0 + 60_000 });
    expect(second.values.operation?.['s3:GetObject']?.c).toBe(2);
    expect(second.volume).toMatchObject({ n: 2, hour: t0 + 3 * HOUR, count: 1 });
    expect(second.volume.mean).toBe(1.5);
    expect(volumeStdDev(second.volume)).toBeCloseTo(Math.SQRT1_2);
    expect(first.events).toBe(2); // the input profile is not changed
  });

  it('merges a batch once: a replay returns nothing', () => {
    const once = mergeDelta(emptyProfile('principal:x'), delta([t0]), 'b1')!;
    expect(mergeDelta(once, delta([t0]), 'b1')).toBeUndefined();
  });

  it('forgets values unseen for longer than the policy and caps values per feature', () => {
    const policy = { forgetAfterMs: 30 * 24 * HOUR, maxValuesPerFeature: 2, rememberedBatches: 4 };
    let profile = mergeDelta(emptyProfile('principal:x'), delta([t0], 'ListBuckets'), 'b1', policy)!;
    profile = mergeDelta(profile, delta([t0 + 40 * 24 * HOUR], 'GetObject'), 'b2', policy)!;
    expect(Object.keys(profile.values.operation ?? {})).toEqual(['s3:GetObject']);
    profile = mergeDelta(profile, delta([t0 + 41 * 24 * HOUR], 'PutObject'), 'b3', policy)!;
    profile = mergeDelta(profile, delta([t0 + 42 * 24 * HOUR], 'DeleteObject'), 'b4', policy)!;
    expect(Object.keys(profile.values.operation ?? {}).sort()).toEqual(['s3:DeleteObject', 's3:PutObject']);
    profile = mergeDelta(profile, delta([t0 + 43 * 24 * HOUR]), 'b5', policy)!;
    expect(profile.batches).toEqual(['b2', 'b3', 'b4', 'b5']);
  });

  it('the memory store applies each subject once per batch', async () => {
    const store = new MemoryProfileStore();
    const builder = new DeltaBuilder();
    const e = event();
    builder.add(extractFeatures(e)!, e.time);
    expect(await store.apply('b1', builder.build())).toEqual({ written: 3, replayed: 0 });
    expect(await store.apply('b1', builder.build())).toEqual({ written: 0, replayed: 3 });
    const loaded = await store.load(['principal:arn:aws:iam::111122223333:user/alice', 'principal:unknown']);
    expect([...loaded.keys()]).toEqual(['principal:arn:aws:iam::111122223333:user/alice']);
    expect(loaded.get('principal:arn:aws:iam::111122223333:user/alice')?.events).toBe(1);
  });
});

describe('features: Lambda functions', () => {
  it('gives a function its own profile when the call comes from inside Lambda', () => {
    const inLambda = normalizeCloudTrail(
      loadFixture('cloudtrail/identities/assumed-role.json', {
        userAgent:
          'aws-sdk-js/3.540.0 ua/2.1 os/linux#5.10 lang/js md/nodejs#20.11.1 exec-env/AWS_Lambda_nodejs20.x',
      }),
    );
    expect(extractFeatures(inLambda)?.subjects.function).toBe('function:111122223333:deploy-42');
    expect(
      extractFeatures(normalizeCloudTrail(loadFixture('cloudtrail/identities/assumed-role.json')))?.subjects
        .function,
    ).toBeUndefined();
  });
});
