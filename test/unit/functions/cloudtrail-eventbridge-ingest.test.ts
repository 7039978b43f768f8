/**
 * The near-real-time function as Lambda runs it, on SQS batches of CloudTrail
 * events as EventBridge delivers them, and together with the S3 function:
 * an event that came by EventBridge is not scored again when its log file
 * arrives.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cloudTrailEventBridgeEvent, s3Notification, sqsEvent, sqsRecord } from '../../helpers/aws-events.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import {
  type IngestWorld,
  QUARANTINE_BUCKET,
  QUEUE_ARN,
  startIngestWorld,
  TRAIL_BUCKET,
  trailFileRecords,
} from '../../helpers/cloudtrail-ingest-harness.js';
import { lambdaContext } from '../../helpers/lambda.js';

type Handler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;
let eventBridgeIngest: Handler;
let world: IngestWorld;
let output: CapturedOutput;

const EVENTS_QUEUE_ARN = 'arn:aws:sqs:us-east-1:999988887777:trailhound-cloudtrail-events';
const ACCOUNT = 'account:AWS:111122223333';

beforeAll(async () => {
  output = captureOutput();
  world = await startIngestWorld();
  ({ handler: eventBridgeIngest } = (await import(
    '../../../functions/cloudtrail-eventbridge-ingest.js'
  )) as unknown as { handler: Handler });
});

afterAll(async () => {
  output.restore();
  await world.close();
});

beforeEach(() => output.clear());

const fileKey = (pattern: RegExp) => {
  const key = world.trailKeys.find((k) => pattern.test(k));
  if (key === undefined) throw new Error(`no sample file matches ${pattern}`);
  return key;
};

/** The records of `key` as the SQS batch EventBridge → SQS would hand over, one event per message. */
const eventBatch = (records: readonly Record<string, unknown>[]) =>
  sqsEvent(records.map((r) => sqsRecord(JSON.stringify(cloudTrailEventBridgeEvent(r)), EVENTS_QUEUE_ARN)));

const context = () => lambdaContext({ functionName: 'trailhound-eventbridge-ingest' });

describe('cloudtrail-eventbridge-ingest', () => {
  // Root sign-in, root key creation and a KMS key scheduled for deletion, among routine calls.
  const rootFile = () => fileKey(/20260304T0549Z/);

  it('scores a batch of events as one delivery and publishes its findings with their lag', async () => {
    const records = trailFileRecords(rootFile());
    const batch = eventBatch(records);
    expect(batch.Records.length).toBeGreaterThan(10);
    expect(await eventBridgeIngest(batch, context())).toEqual({ batchItemFailures: [] });

    expect(world.findings().map((f) => f.rule.uid)).toEqual(
      expect.arrayContaining(['aws.initial-access.root-account-used']),
    );
    expect(output.metric('EventsIn')).toBe(records.length);
    expect(output.metric('EventLag')).toBeGreaterThan(0);
    expect(output.metric('FindingLag')).toBeGreaterThan(0);
    const emf = output.records.find((r) => r._aws !== undefined && 'EventsIn' in r);
    expect(emf).toMatchObject({ service: 'trailhound', source: 'cloudtrail-eventbridge' });
    // One profile write per subject for the whole batch, not one per message.
    expect(output.metric('ProfileWrites')).toBeLessThan(records.length / 2);
  });

  it('drops a redelivered batch: nothing scored or published twice', async () => {
    const published = world.eventBridge.events.length;
    const profile = await world.profile(ACCOUNT);
    const records = trailFileRecords(rootFile());
    expect(await eventBridgeIngest(eventBatch(records), context())).toEqual({ batchItemFailures: [] });
    expect(world.eventBridge.events.length).toBe(published);
    expect(await world.profile(ACCOUNT)).toEqual(profile);
    expect(output.metric('DuplicatesSkipped')).toBe(records.length);
  });

  it('does not score again the events of a log file that EventBridge delivered first', async () => {
    const published = world.eventBridge.events.length;
    const profile = await world.profile(ACCOUNT);
    // Imported here: both functions set the metrics' `source` dimension of this one process at import.
    const { handler: s3Ingest } = (await import('../../../functions/cloudtrail-s3-ingest.js')) as unknown as {
      handler: Handler;
    };
    const notification = sqsEvent([sqsRecord(s3Notification(TRAIL_BUCKET, rootFile()), QUEUE_ARN)]);
    expect(await s3Ingest(notification, context())).toEqual({ batchItemFailures: [] });
    expect(output.metric('DuplicatesSkipped')).toBe(trailFileRecords(rootFile()).length);
    expect(world.eventBridge.events.length).toBe(published);
    expect(await world.profile(ACCOUNT)).toEqual(profile);
  });

  it('quarantines messages that are not CloudTrail events and processes the others', async () => {
    const records = trailFileRecords(fileKey(/20260304T0602Z/));
    const batch = eventBatch(records);
    const stateChange = {
      version: '0',
      id: '7bf73129-1428-4cd3-a780-95db273d1602',
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      account: '111122223333',
      time: '2026-03-04T06:05:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abcd1234ef567890'],
      detail: { 'instance-id': 'i-0abcd1234ef567890', state: 'running' },
    };
    batch.Records.push(
      sqsRecord('{"truncated": ', EVENTS_QUEUE_ARN),
      sqsRecord(JSON.stringify(stateChange), EVENTS_QUEUE_ARN),
    );
    expect(await eventBridgeIngest(batch, context())).toEqual({ batchItemFailures: [] });
    expect(output.metric('EventsIn')).toBe(records.length);

    const [entry, ...others] = world.s3.listKeys(QUARANTINE_BUCKET, 'quarantine/problems/eventbridge/');
    expect(others).toEqual([]);
    const problems = (world.s3.getObject(QUARANTINE_BUCKET, entry as string)?.body.toString('utf8') ?? '')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; content: string });
    expect(problems.map((p) => p.reason).sort()).toEqual(['malformed-json', 'unrecognized-record']);
    expect(problems.find((p) => p.reason === 'unrecognized-record')?.content).toContain(
      'i-0abcd1234ef567890',
    );
  });

  it('fails the whole batch when the bus refuses its findings, and publishes them on redelivery', async () => {
    const records = trailFileRecords(fileKey(/ap-southeast-1_20260303T0346Z/));
    const batch = eventBatch(records);
    world.eventBridge.failEntries(() => 'InternalFailure');
    await expect(eventBridgeIngest(batch, context())).rejects.toThrow(/not delivered to event bus/);
    world.eventBridge.failEntries(undefined);
    const published = world.eventBridge.events.length;
    expect(await eventBridgeIngest(batch, context())).toEqual({ batchItemFailures: [] });
    const rules = world
      .findings()
      .slice(published)
      .map((f) => f.rule.uid);
    expect(rules).toEqual(
      expect.arrayContaining([
        'aws.lateral-movement.security-group-open-to-world',
        'aws.impact.ec2-mining-instance-launch',
      ]),
    );
  });
});
