import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE_SCHEMA } from '../../adapters/dynamodb/profile-store.js';
import { ACCOUNT, REGION, synthesize } from './synth.js';

const { storage, storageTemplate: template } = synthesize();
const keyArn = { 'Fn::GetAtt': ['TrailhoundKey', 'Arn'] };

/** The key policy statement with `sid`. */
function keyStatement(sid: string): Record<string, unknown> {
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  const statement = key?.Properties.KeyPolicy.Statement.find((s: { Sid?: string }) => s.Sid === sid);
  if (statement === undefined) throw new Error(`no key policy statement ${sid}`);
  return statement;
}

describe('StorageStack', () => {
  it('pins the logical id of every stateful resource and retains it', () => {
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; DeletionPolicy?: string }
    >;
    const stateful = Object.entries(resources)
      .filter(([, r]) => r.DeletionPolicy === 'Retain')
      .map(([id, r]) => [id, r.Type]);

    expect(Object.fromEntries(stateful)).toEqual({
      TrailhoundKey: 'AWS::KMS::Key',
      BaselinesTable: 'AWS::DynamoDB::Table',
      IdempotencyTable: 'AWS::DynamoDB::Table',
      QuarantineBucket: 'AWS::S3::Bucket',
      QuarantineAccessLogsBucket: 'AWS::S3::Bucket',
    });
    for (const id of ['TrailhoundKey', 'BaselinesTable', 'IdempotencyTable', 'QuarantineBucket'])
      expect(resources[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has termination protection', () => {
    expect(storage.terminationProtection).toBe(true);
  });
});

describe('TrailhoundKey', () => {
  it('rotates yearly and has an alias with the prefix', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, PendingWindowInDays: 30 });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/trailhound' });
  });

  it('lets CloudWatch Logs use it for this account and region only', () => {
    expect(keyStatement('CloudWatchLogsEncryptsThisAccountsLogGroups')).toMatchObject({
      Principal: { Service: `logs.${REGION}.amazonaws.com` },
      Condition: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:*` },
      },
    });
  });

  it('lets EventBridge and CloudWatch alarms encrypt deliveries of this account', () => {
    for (const sid of [
      'EventBridgeDeliversToEncryptedQueuesAndTopics',
      'CloudWatchAlarmsPublishToEncryptedTopics',
    ])
      expect(keyStatement(sid)).toMatchObject({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
      });
  });

  it('lets EventBridge archive only under the findings bus encryption context', () => {
    expect(keyStatement('EventBridgeArchivesFindings')).toMatchObject({
      Condition: {
        StringEquals: {
          'kms:EncryptionContext:aws:events:event-bus:arn': `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/trailhound-findings`,
        },
      },
    });
  });

  it('lets S3 encrypt notifications of the configured trail buckets only', () => {
    expect(keyStatement('TrailBucketNotificationsToEncryptedQueue')).toMatchObject({
      Principal: { Service: 's3.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Condition: {
        ArnEquals: {
          'aws:SourceArn': [
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::org-trail-logs']] },
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::local-trail']] },
          ],
        },
      },
    });
  });
});

describe('BaselinesTable', () => {
  it('is the table adapters/dynamodb documents: pk + sk strings, TTL on expiresAt, on demand', () => {
    expect(PROFILE_TABLE_SCHEMA).toEqual({ partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' });
    expect(template.toJSON().Resources.BaselinesTable.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('has point-in-time recovery, deletion protection and the customer managed key', () => {
    expect(template.toJSON().Resources.BaselinesTable.Properties).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
    });
  });
});

describe('IdempotencyTable', () => {
  it('has the layout of Powertools idempotency: partition key id, TTL on expiration', () => {
    expect(template.toJSON().Resources.IdempotencyTable.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
    });
  });
});

describe('QuarantineBucket', () => {
  const bucket = template.toJSON().Resources.QuarantineBucket.Properties;

  it('has a fixed name per account and region', () => {
    expect(bucket.BucketName).toBe(`trailhound-quarantine-${ACCOUNT}-${REGION}`);
  });

  it('is KMS-encrypted, versioned, private and access-logged', () => {
    expect(bucket).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: 'QuarantineAccessLogsBucket' } },
    });
  });

  it('expires quarantined objects and their old versions after the configured days', () => {
    expect(bucket.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({
        ExpirationInDays: 90,
        NoncurrentVersionExpiration: { NoncurrentDays: 90 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        Status: 'Enabled',
      }),
    ]);
  });

  it('refuses requests without TLS, on both buckets', () => {
    for (const bucketId of ['QuarantineBucket', 'QuarantineAccessLogsBucket'])
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
  });

  it('keeps access logs as long as the logs, in S3-managed encryption (all S3 log delivery accepts)', () => {
    expect(template.toJSON().Resources.QuarantineAccessLogsBucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 365 })] },
    });
  });
});
