/**
 * CloudTrail log files of an organization trail, announced by their bucket to
 * an SQS queue (S3 event notifications, directly or through SNS; CloudTrail's
 * own SNS notifications; S3 events through EventBridge: `adapters/s3/notifications.ts`).
 *
 * Per SQS batch (Powertools batch processing, records in parallel):
 * 1. Each message is read for the objects it announces. A message that
 *    announces nothing we know is quarantined (`problems/messages/<id>.ndjson`)
 *    and acknowledged: a retry would not make it readable.
 * 2. Each object is processed **at most once to completion** (Powertools
 *    idempotency, keyed by bucket, key and version): S3 and SNS deliver at
 *    least once, and a duplicate notification of a multi-megabyte file would
 *    cost a second read and scoring. Processing an object: read it (whole, or
 *    streamed when large), normalize, drop the events the EventBridge path
 *    already evaluated (seen-event ledger), score them against their profiles,
 *    match the rules, publish the findings to the bus, remember the events,
 *    then write the object's quarantine entries (malformed lines; a copy of the
 *    object itself when it cannot be read as a whole).
 * 3. A message fails alone when any of its objects failed (DynamoDB or the bus
 *    unavailable past the SDK's retries, the object unreadable): only it is
 *    returned in `batchItemFailures`, SQS delivers it again, and after five
 *    receives it goes to the dead-letter queue. A retried object is the same
 *    batches again, which the profile store merges once, and its events that
 *    were already scored are dropped by the ledger.
 *
 * An object that no longer exists (deleted before we read it) is logged and
 * counted (`ObjectsGone`), not retried.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { NotificationFormatError, type ObjectRef, objectsInMessage } from '../adapters/s3/notifications.js';
import {
  objectInputName,
  openTrailObject,
  TrailObjectGoneError,
  TrailObjectReadError,
} from '../adapters/s3/trail-objects.js';
import { createCloudTrailIngestRuntime } from './commons/cloudtrail-ingest.js';
import { readCloudTrailS3IngestEnv } from './commons/env.js';
import { withStandardMiddleware } from './commons/middleware.js';
import { LambdaPipeline, type LambdaRunSummary } from './commons/pipeline.js';
import { logger, MetricUnit, metrics } from './commons/powertools.js';

/** How long a processed object is remembered by the idempotency table. */
const OBJECT_IDEMPOTENCY_SECONDS = 7 * 24 * 3600;

const env = readCloudTrailS3IngestEnv();
const {
  clients,
  detection: runtime,
  seenEvents,
  quarantine,
} = await createCloudTrailIngestRuntime(env, 'cloudtrail-s3');
// Keyed by bucket and key only: the same file announced by S3 and by CloudTrail's SNS topic (which
// gives no size or version) is one object. CloudTrail never rewrites a log file under its name.
const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: '[bucket, key]',
  expiresAfterSeconds: OBJECT_IDEMPOTENCY_SECONDS,
});
const processor = new BatchProcessor(EventType.SQS);

/** What one object's processing stored and returns (also to a duplicate notification). */
export type ObjectReport =
  | (LambdaRunSummary & { readonly status: 'processed' })
  | { readonly status: 'gone' };

async function processObject(ref: ObjectRef): Promise<ObjectReport> {
  const input = objectInputName(ref);
  let opened: Awaited<ReturnType<typeof openTrailObject>>;
  try {
    opened = await openTrailObject(clients.s3, ref);
  } catch (error) {
    if (!(error instanceof TrailObjectGoneError)) throw error;
    logger.warn('announced object no longer exists', { input, versionId: ref.versionId });
    metrics.addMetric('ObjectsGone', MetricUnit.Count, 1);
    return { status: 'gone' };
  }
  const run = new LambdaPipeline(runtime, { quarantine, seenEvents });
  try {
    await run.deliverBytes(input, opened.bytes);
    if (quarantine.reasonsOf(input).includes('read-error'))
      throw new TrailObjectReadError(ref, 'the object stream broke before its end');
    await quarantine.writeInput(input, `${ref.bucket}/${ref.key}`, ref);
  } catch (error) {
    // Everything collected for this object is collected again by the retry.
    quarantine.discard(input);
    throw error;
  }
  const summary = run.finish();
  logger.info('object processed', { input, bytes: opened.size, streamed: opened.streamed, ...summary });
  return { status: 'processed', ...summary };
}

const processObjectOnce = makeIdempotent(processObject, {
  persistenceStore: new DynamoDBPersistenceLayer({
    tableName: env.idempotencyTableName,
    awsSdkV3Client: clients.dynamodb,
  }),
  config: idempotency,
});

async function processMessage(record: SQSRecord): Promise<void> {
  let refs: ObjectRef[];
  try {
    refs = objectsInMessage(record.body);
  } catch (error) {
    if (!(error instanceof NotificationFormatError)) throw error;
    const input = `sqs://${record.eventSourceARN}/${record.messageId}`;
    quarantine.record({ reason: 'not-a-notification', input, message: error.message, content: record.body });
    await quarantine.writeInput(input, `messages/${record.messageId}`);
    logger.warn('message quarantined: not an object notification', { messageId: record.messageId });
    metrics.addMetric('Quarantined', MetricUnit.Count, 1);
    return;
  }
  // The objects of one message (CloudTrail's SNS notification may list several) in order:
  // the pipeline's time windows follow file order within an account and region.
  try {
    for (const ref of refs) await processObjectOnce(ref);
  } catch (error) {
    logger.error('message failed; SQS will deliver it again', { messageId: record.messageId, error });
    throw error;
  }
}

async function ingestHandler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  idempotency.registerLambdaContext(context);
  const response = await processPartialResponse(event, processMessage, processor, { context });
  metrics.addMetric('MessagesFailed', MetricUnit.Count, response.batchItemFailures.length);
  return response;
}

export const handler = withStandardMiddleware(ingestHandler);
