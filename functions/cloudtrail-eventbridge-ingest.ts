/**
 * The near-real-time path: CloudTrail management events as EventBridge
 * delivers them ("AWS API Call via CloudTrail", "AWS Console Sign In via
 * CloudTrail"), in this account's default bus or forwarded from member
 * accounts to the central ingest bus, then queued in SQS (one event per
 * message) and taken here in batches of up to 100.
 *
 * The whole SQS batch is **one** delivery to the pipeline, so it costs one
 * seen-event check, one profile read and write per principal, and one
 * findings publish, instead of one of each per message:
 * 1. Each message body is parsed as an EventBridge event and unpacked to its
 *    CloudTrail record. A body that is not one is quarantined
 *    (`problems/eventbridge/<batch>.ndjson`) and acknowledged.
 * 2. Events the S3 path already evaluated are dropped (seen-event ledger); the
 *    rest are scored, matched, their findings published to the bus, and then
 *    remembered, so the S3 file that brings them again minutes later does not
 *    score them twice.
 * 3. If any of that fails (DynamoDB, the bus), the invocation fails and SQS
 *    delivers every message of the batch again (none is reported alone in
 *    `batchItemFailures`: they were scored together). Per-message idempotency
 *    records would cost two writes per event; the replay is instead made
 *    harmless by the ledger (events already scored are dropped), the profile
 *    store's batch ledger (a batch merged once) and stable finding ids.
 *
 * The function reports `EventLag`, the time from the newest event's time to
 * its processing, which is what the bus adds to CloudTrail's own delay.
 */
import { createHash } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createCloudTrailIngestRuntime, deliverOnce } from './commons/cloudtrail-ingest.js';
import { readCloudTrailEventBridgeIngestEnv } from './commons/env.js';
import { withStandardMiddleware } from './commons/middleware.js';
import { logger, MetricUnit, metrics } from './commons/powertools.js';

const env = readCloudTrailEventBridgeIngestEnv();
const ingest = await createCloudTrailIngestRuntime(env, 'cloudtrail-eventbridge');
const { quarantine } = ingest;

/** A name for the batch that depends only on its messages, so a redelivery overwrites its own quarantine entry. */
function batchName(event: SQSEvent): string {
  const hash = createHash('sha256');
  for (const record of event.Records) hash.update(record.messageId).update('\u0000');
  return hash.digest('hex').slice(0, 20);
}

async function ingestHandler(event: SQSEvent, _context: Context): Promise<SQSBatchResponse> {
  const input = `eventbridge/${batchName(event)}`;
  const bodies: Record<string, unknown>[] = [];
  for (const record of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch (error) {
      quarantine.record({
        reason: 'malformed-json',
        input,
        message: `message ${record.messageId} is not JSON: ${(error as Error).message}`,
        content: record.body,
      });
      metrics.addMetric('Quarantined', MetricUnit.Count, 1);
      continue;
    }
    // A JSON value that is not an event is the pipeline's to refuse (and quarantine) with its reason.
    bodies.push(typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { body });
  }
  const summary = await deliverOnce(ingest, bodies, input);
  metrics.addMetric('Messages', MetricUnit.Count, event.Records.length);
  logger.info('batch processed', { messages: event.Records.length, ...summary });
  // All or nothing: a failure above throws, and SQS delivers the whole batch again.
  return { batchItemFailures: [] };
}

export const handler = withStandardMiddleware(ingestHandler);
