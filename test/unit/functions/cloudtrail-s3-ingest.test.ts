/**
 * The S3 ingest function as Lambda runs it: the exported handler (the whole
 * middy stack) on SQS batches of S3 notifications of the sample organization
 * trail, with DynamoDB on dynalite (behind a proxy that throttles on demand),
 * and S3 and EventBridge through the real SDK clients and local servers.
 */
import { gzipSync } from 'node:zlib';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { s3Notification, sqsEvent, sqsRecord } from '../../helpers/aws-events.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import {
  FINDINGS_BUS,
  type IngestWorld,
  QUARANTINE_BUCKET,
  QUEUE_ARN,
  startIngestWorld,
  TRAIL_BUCKET,
  trailFileRecords,
} from '../../helpers/cloudtrail-ingest-harness.js';
import { lambdaContext } from '../../helpers/lambda.js';

type Handler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;
let handler: Handler;
let world: IngestWorld;
let output: CapturedOutput;

const ACCOUNT = 'account:AWS:111122223333';

beforeAll(async () => {
  output = captureOutput();
  world = await startIngestWorld();
  ({ handler } = (await import('../../../functions/cloudtrail-s3-ingest.js')) as unknown as {
    handler: Handler;
  });
});

afterAll(async () => {
  output.restore();
  await world.close();
});

beforeEach(() => output.clear());

/** Events of `keys` an account profile learns: all but those AWS services make on their own. */
const learnable = (keys: readonly string[]) =>
  keys
    .flatMap((key) => trailFileRecords(key))
    .filter((r) => (r.userIdentity as { type?: string } | undefined)?.type !== 'AWSService').length;

/** The sample trail's files whose names match `pattern`. */
const filesMatching = (pattern: RegExp) => world.trailKeys.filter((key) => pattern.test(key));

/** One SQS batch announcing `keys` of `bucket`, one S3 notification each. */
const batchOf = (keys: readonly string[], bucket = TRAIL_BUCKET) =>
  sqsEvent(keys.map((key) => sqsRecord(s3Notification(bucket, key), QUEUE_ARN)));

const invoke = (event: SQSEvent) => handler(event, lambdaContext({ functionName: 'trailhound-s3-ingest' }));

describe('cloudtrail-s3-ingest', () => {
  it('processes a multi-file org-trail batch: findings to the bus, profiles learned, metrics per source', async () => {
    const keys = filesMatching(/20260303T02/);
    expect(keys).toHaveLength(10);
    const response = await invoke(batchOf(keys));
    expect(response.batchItemFailures).toEqual([]);

    const rules = new Set(world.findings().map((f) => f.rule.uid));
    for (const rule of [
      'aws.discovery.iam-authorization-details-dump',
      'aws.persistence.iam-user-created',
      'aws.persistence.access-key-created-for-another-user',
      'aws.privilege-escalation.admin-policy-attached',
      'aws.defense-evasion.cloudtrail-logging-stopped',
    ])
      expect(rules).toContain(rule);
    for (const event of world.eventBridge.events) {
      expect(event.EventBusName).toBe(FINDINGS_BUS);
      expect(event.Source).toBe('trailhound');
      expect(event.DetailType).toBe('Trailhound Finding');
    }

    const evaluated = output.metric('EventsIn');
    expect(evaluated).toBe(keys.flatMap((key) => trailFileRecords(key)).length);
    expect((await world.profile(ACCOUNT))?.events).toBe(learnable(keys));
    const emf = output.records.find((r) => r._aws !== undefined && 'EventsIn' in r);
    expect(emf).toMatchObject({ service: 'trailhound', source: 'cloudtrail-s3' });
    expect(output.metric('FindingLag')).toBeGreaterThan(0);
  });

  it('acknowledges a replayed message without reading, scoring or publishing again', async () => {
    const keys = filesMatching(/20260303T02/);
    const before = world.eventBridge.events.length;
    const profileBefore = await world.profile(ACCOUNT);

    const response = await invoke(batchOf(keys));
    expect(response.batchItemFailures).toEqual([]);
    expect(world.eventBridge.events.length).toBe(before);
    expect(await world.profile(ACCOUNT)).toEqual(profileBefore);
    expect(output.metric('EventsIn')).toBe(0);
  });

  it('quarantines poison objects and messages with their reason, and still processes the rest', async () => {
    const [good] = filesMatching(/20260303T0316Z/);
    const whole = world.s3.getObject(TRAIL_BUCKET, good as string)?.body as Buffer;
    const truncatedKey =
      'AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/03/03/truncated.json.gz';
    const notJsonKey = 'AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/03/03/not-json.json.gz';
    const badLineKey = 'AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/03/03/bad-line.json.gz';
    world.s3.putObject(TRAIL_BUCKET, truncatedKey, whole.subarray(0, Math.floor(whole.length / 2)));
    world.s3.putObject(TRAIL_BUCKET, notJsonKey, gzipSync('<html>503 Service Unavailable</html>'));
    world.s3.putObject(
      TRAIL_BUCKET,
      badLineKey,
      gzipSync(`${JSON.stringify({ Records: [{ eventVersion: '1.08', eventName: 'NoTimeNoSource' }] })}\n`),
    );
    const notANotification = sqsRecord(JSON.stringify({ hello: 'not a notification' }), QUEUE_ARN);

    const event = batchOf([truncatedKey, notJsonKey, badLineKey, good as string]);
    event.Records.push(notANotification);
    const response = await invoke(event);
    expect(response.batchItemFailures).toEqual([]);

    const quarantined = world.s3.listKeys(QUARANTINE_BUCKET, 'quarantine/');
    expect(quarantined).toEqual(
      expect.arrayContaining([
        `quarantine/problems/${TRAIL_BUCKET}/${truncatedKey}.ndjson`,
        `quarantine/objects/${TRAIL_BUCKET}/${truncatedKey}`,
        `quarantine/problems/${TRAIL_BUCKET}/${notJsonKey}.ndjson`,
        `quarantine/objects/${TRAIL_BUCKET}/${notJsonKey}`,
        `quarantine/problems/${TRAIL_BUCKET}/${badLineKey}.ndjson`,
        `quarantine/problems/messages/${notANotification.messageId}.ndjson`,
      ]),
    );
    const copy = world.s3.getObject(QUARANTINE_BUCKET, `quarantine/objects/${TRAIL_BUCKET}/${truncatedKey}`);
    expect(copy?.metadata['trailhound-reason']).toBe('truncated-file');
    expect(copy?.body.equals(whole.subarray(0, Math.floor(whole.length / 2)))).toBe(true);
    const badLine = world.s3.getObject(
      QUARANTINE_BUCKET,
      `quarantine/problems/${TRAIL_BUCKET}/${badLineKey}.ndjson`,
    );
    const problem = JSON.parse(badLine?.body.toString('utf8').trim() ?? '{}') as Record<string, unknown>;
    expect(problem).toMatchObject({ reason: 'unrecognized-record', line: 1 });
    expect(String(problem.content)).toContain('NoTimeNoSource');
    // The truncated file's records before the cut, and the good file, were evaluated.
    expect(output.metric('EventsIn')).toBeGreaterThan(0);
    expect(output.metric('Quarantined')).toBeGreaterThanOrEqual(4);
  });

  it('returns only the failed message when one object cannot be read', async () => {
    const [good] = filesMatching(/20260303T0401Z/);
    const event = batchOf([good as string]);
    const missingBucket = batchOf(['AWSLogs/elsewhere.json.gz'], 'bucket-we-cannot-read').Records[0];
    if (missingBucket === undefined) throw new Error('no record');
    event.Records.push(missingBucket);
    const response = await invoke(event);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: missingBucket.messageId }]);
    expect(output.logs('message failed; SQS will deliver it again')).toHaveLength(1);
  });

  it('rides out DynamoDB throttling with retries, and a throttled-out message counts once when redelivered', async () => {
    const [first, second] = filesMatching(/20260303T0(303|347)Z/);
    world.proxy.throttleNext(2, 'PutItem');
    expect((await invoke(batchOf([first as string]))).batchItemFailures).toEqual([]);

    const before = (await world.profile(ACCOUNT))?.events ?? 0;
    world.proxy.throttleAll(true);
    await expect(invoke(batchOf([second as string]))).rejects.toThrow(/All records failed/);
    world.proxy.throttleAll(false);
    output.clear();
    expect((await invoke(batchOf([second as string]))).batchItemFailures).toEqual([]);
    expect(output.metric('EventsIn')).toBeGreaterThan(0);
    expect((await world.profile(ACCOUNT))?.events).toBe(before + learnable([second as string]));
  });

  it('retries entries EventBridge failed, and fails the message when the bus keeps refusing', async () => {
    // Files with findings: a world-open security group and a mining launch; then root activity.
    const [first, second] = filesMatching(/ap-southeast-1_20260303T0346Z|20260304T0549Z/);
    let refusals = 0;
    world.eventBridge.failEntries((_entry, attempt) => {
      if (attempt > 0) return undefined;
      refusals += 1;
      return 'ThrottlingException';
    });
    const publishedBefore = world.eventBridge.events.length;
    expect((await invoke(batchOf([first as string]))).batchItemFailures).toEqual([]);
    const firstFindings = world.eventBridge.events.length - publishedBefore;
    expect(refusals).toBeGreaterThan(0);
    expect(firstFindings).toBeGreaterThan(0);
    const uids = world.findings().map((f) => f.finding_uid);
    expect(new Set(uids).size).toBe(uids.length);

    // Refused after the profiles were written: the redelivery publishes, and learns nothing twice.
    const before = (await world.profile(ACCOUNT))?.events ?? 0;
    world.eventBridge.failEntries(() => 'InternalFailure');
    const message = batchOf([second as string]);
    await expect(invoke(message)).rejects.toThrow(/All records failed/);
    expect((await world.profile(ACCOUNT))?.events).toBe(before + learnable([second as string]));
    world.eventBridge.failEntries(undefined);
    const published = world.eventBridge.events.length;
    expect((await invoke(message)).batchItemFailures).toEqual([]);
    expect(world.eventBridge.events.length).toBeGreaterThan(published);
    expect((await world.profile(ACCOUNT))?.events).toBe(before + learnable([second as string]));
  });
});
