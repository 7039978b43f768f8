import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { MAX_RECEIVE_COUNT } from '../../cdk/constructs/ingest-queue.js';
import { ORG_ID, policyStatements, statementFor, synthesize, TRAIL_KEY_ARN } from './synth.js';

const { detectionTemplate: template } = synthesize();

/** The storage stack's key, as the detection stack reads it. */
const storageKeyArn = {
  'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/TrailhoundKeyArn/) }),
};
const partitionArn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`${ids.length} ${type} resources start with ${prefix}`);
  return ids[0] as string;
}

describe('IngestQueue', () => {
  it.each([
    ['CloudTrailS3IngestNotifications', 300],
    ['CloudTrailEventBridgeIngestEvents', 120],
  ])('%s: KMS, six consumer timeouts of visibility, dead-lettered after five receives', (prefix, timeout) => {
    const queue = logicalId(template, 'AWS::SQS::Queue', `${prefix}Queue`);
    const deadLetters = logicalId(template, 'AWS::SQS::Queue', `${prefix}DeadLetterQueue`);

    expect(template.toJSON().Resources[queue].Properties).toMatchObject({
      VisibilityTimeout: 6 * timeout,
      MessageRetentionPeriod: 14 * 24 * 3600,
      KmsMasterKeyId: storageKeyArn,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(MAX_RECEIVE_COUNT).toBe(5);
    expect(template.toJSON().Resources[deadLetters].Properties.KmsMasterKeyId).toEqual(storageKeyArn);
    for (const id of [queue, deadLetters])
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
  });
});

describe('CloudTrailS3Ingest', () => {
  const queue = logicalId(template, 'AWS::SQS::Queue', 'CloudTrailS3IngestNotificationsQueue');
  const statements = policyStatements(template, 'CloudTrailS3IngestHandlerRole');

  it('takes S3 notifications from exactly the configured buckets (and their owner when given)', () => {
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find(
      (p) => p.Properties.Queues[0].Ref === queue,
    );
    const allows = policy?.Properties.PolicyDocument.Statement.filter(
      (s: { Effect: string }) => s.Effect === 'Allow',
    );

    expect(allows).toEqual([
      expect.objectContaining({
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: {
          ArnEquals: { 'aws:SourceArn': partitionArn(':s3:::org-trail-logs') },
          StringEquals: { 'aws:SourceAccount': '444455556666' },
        },
      }),
      expect.objectContaining({
        Principal: { Service: 's3.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': partitionArn(':s3:::local-trail') } },
      }),
    ]);
  });

  it('consumes batches of 10 within 10 s, reporting failed items', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('runs on one vCPU for up to 5 minutes', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('CloudTrail log files'),
      MemorySize: 1769,
      Timeout: 300,
    });
  });

  it('reads only under the configured prefixes, and decrypts with the trail key given', () => {
    expect(statementFor(statements, 's3:GetObject')).toMatchObject({
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: [
        partitionArn(':s3:::local-trail/*'),
        partitionArn(`:s3:::org-trail-logs/AWSLogs/${ORG_ID}/*`),
      ],
    });
    expect(statements.filter((s) => s.Resource === TRAIL_KEY_ARN)).toEqual([
      expect.objectContaining({ Action: 'kms:Decrypt' }),
    ]);
  });

  it('uses the idempotency table and writes only under quarantine/', () => {
    expect(statementFor(statements, 'dynamodb:DeleteItem').Resource).toEqual({
      'Fn::GetStackOutput': expect.objectContaining({
        OutputName: expect.stringMatching(/IdempotencyTableArn/),
      }),
    });
    expect(statementFor(statements, 's3:PutObject')).toMatchObject({
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::trailhound-quarantine-111122223333-eu-west-1/quarantine/*',
    });
  });

  it('is left out when no trail bucket is configured', () => {
    const bare = synthesize({}).detectionTemplate;

    expect(
      Object.keys(bare.findResources('AWS::SQS::Queue')).some((id) => id.startsWith('CloudTrailS3')),
    ).toBe(false);
    expect(bare.findOutputs('CloudTrailS3QueueArn')).toEqual({});
  });
});

describe('CloudTrailEventBridgeIngest', () => {
  const queue = logicalId(template, 'AWS::SQS::Queue', 'CloudTrailEventBridgeIngestEventsQueue');
  const deadLetters = logicalId(
    template,
    'AWS::SQS::Queue',
    'CloudTrailEventBridgeIngestEventsDeadLetterQueue',
  );
  const bus = logicalId(template, 'AWS::Events::EventBus', 'CloudTrailEventBridgeIngestIngestBus');
  const pattern = { 'detail-type': ['AWS API Call via CloudTrail', 'AWS Console Sign In via CloudTrail'] };
  const target = {
    Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
    DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetters, 'Arn'] } },
  };

  it('queues the CloudTrail events of the default bus, failed deliveries to the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: pattern,
      Targets: [Match.objectLike(target)],
    });
  });

  it('opens a central ingest bus to the accounts of the organization, with the same rule', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'trailhound-cloudtrail-ingest' });
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      EventBusName: { Ref: bus },
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [bus, 'Arn'] },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG_ID } },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: bus },
      EventPattern: pattern,
      Targets: [Match.objectLike(target)],
    });
  });

  it('consumes batches of 100 within 2 s, reporting failed items', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('reads no trail bucket and has no idempotency table', () => {
    const statements = policyStatements(template, 'CloudTrailEventBridgeIngestHandlerRole');

    expect(statements.some((s) => JSON.stringify(s).includes('s3:GetObject'))).toBe(false);
    expect(statements.some((s) => JSON.stringify(s).includes('IdempotencyTable'))).toBe(false);
  });

  it('has no ingest bus without an organization', () => {
    const bare = synthesize({}).detectionTemplate;

    bare.resourceCountIs('AWS::Events::EventBus', 1);
    bare.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });
});
