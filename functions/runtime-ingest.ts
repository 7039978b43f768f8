/**
 * The deployed path of the Lambda runtime collector's records
 * (`detectors/schema/runtime-record.ts`): what the extension of
 * `lambda-layer/` ships from inside customers' functions, in one of two ways,
 * both taken by this one function:
 *
 * - **CloudWatch Logs subscription** (the default shipping: one JSON line per
 *   record on the collected function's stdout, so in its log group). A
 *   subscription filter `{ $.trailhound_runtime = 1 }` on that log group invokes
 *   this function asynchronously with `{"awslogs": {"data": "<base64 gzip>"}}`.
 *   The decoded payload is handed to the pipeline as it is: the reader
 *   (`detectors/readers/unpack.ts`) takes the runtime records out of its
 *   `logEvents`, passes over the function's own log lines, and finds nothing in
 *   a `CONTROL_MESSAGE`.
 * - **SQS** (`TRAILHOUND_SQS_URL` set on the collected function): one record
 *   per message body (`SqsSink` of `lambda-layer/src/shipper.ts`), taken here in
 *   batches. A body may also be a subscription event (or Lambda's on-failure
 *   record of one), which is how a failed asynchronous invocation comes back
 *   when its dead-letter queue is redriven to the work queue.
 *
 * One invocation is **one** delivery to the pipeline (as the EventBridge
 * ingest does): one seen-event check, one profile read and write per
 * function, one findings publish.
 *
 * - Input that cannot be read (not base64, not gzip, not JSON, not a
 *   subscription payload, a message that is not JSON) is quarantined in S3
 *   (`problems/runtime/<logs|sqs>/<name>.ndjson`, the name a hash of the input,
 *   so a redelivery overwrites its own entry) and acknowledged: it will never
 *   read better, and a retry would only hide it.
 * - Any other failure (DynamoDB, the bus) fails the invocation: SQS delivers
 *   the whole batch again, and Lambda retries an asynchronous invocation (then
 *   sends it to the dead-letter queue). A replay adds nothing: events already
 *   scored are dropped by the seen-event ledger, the profile store merges a
 *   batch once, and finding ids are stable. The ledger also keeps a record that
 *   came both ways (SQS, and stdout when SQS refused it) from being scored twice.
 *
 * Metrics are under `source: lambda-runtime`: `EventsIn`, `EventLag`,
 * `Quarantined`, `DuplicatesSkipped`…, plus `Messages` (SQS) or `LogEvents`
 * (subscription).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { InputProblemReason } from '../detectors/readers/errors.js';
import { createCloudTrailIngestRuntime, deliverOnce } from './commons/cloudtrail-ingest.js';
import { readRuntimeIngestEnv } from './commons/env.js';
import { IngestError } from './commons/errors.js';
import { withStandardMiddleware } from './commons/middleware.js';
import type { LambdaRunSummary } from './commons/pipeline.js';
import { logger, MetricUnit, metrics } from './commons/powertools.js';

const env = readRuntimeIngestEnv();
const ingest = await createCloudTrailIngestRuntime(env, 'lambda-runtime');
const { quarantine } = ingest;

/** A decompressed subscription payload larger than this is refused (CloudWatch Logs sends about 1 MB at most). */
const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export type RuntimeIngestEvent = CloudWatchLogsEvent | SQSEvent;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

type Decoded =
  | { readonly ok: true; readonly payload: Json; readonly logEvents: number }
  | { readonly ok: false; readonly reason: InputProblemReason; readonly message: string };

const refused = (reason: InputProblemReason, message: string): Decoded => ({ ok: false, reason, message });

/** A subscription's `awslogs.data`: base64 of a gzip stream of one JSON payload. */
function decodeSubscription(data: string): Decoded {
  const text = data.replace(/\s+/g, '');
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text))
    return refused('unknown-format', 'awslogs.data is not base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b)
    return refused('unknown-format', 'awslogs.data is not gzip data');
  let json: string;
  try {
    json = gunzipSync(bytes, { maxOutputLength: MAX_PAYLOAD_BYTES }).toString('utf8');
  } catch (error) {
    return error instanceof RangeError
      ? refused('oversized-record', `awslogs.data inflates past ${MAX_PAYLOAD_BYTES} bytes`)
      : refused('truncated-file', `awslogs.data is not a whole gzip stream: ${(error as Error).message}`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch (error) {
    return refused('malformed-json', `the subscription payload is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(payload) || typeof payload.messageType !== 'string' || !Array.isArray(payload.logEvents))
    return refused(
      'invalid-structure',
      'not a CloudWatch Logs subscription payload (messageType, logEvents)',
    );
  return { ok: true, payload, logEvents: payload.logEvents.length };
}

/** The `awslogs.data` of a subscription event, or of Lambda's on-failure record of one (a redriven dead letter). */
function subscriptionData(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const envelope = isObject(value.requestPayload) ? value.requestPayload : value;
  const awslogs = envelope.awslogs;
  return isObject(awslogs) && typeof awslogs.data === 'string' ? awslogs.data : undefined;
}

const hashOf = (parts: readonly string[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex').slice(0, 20);
};

/** Runs one delivery; its quarantine entry is written only when the delivery succeeded. */
function deliver(bodies: readonly Json[], input: string): Promise<LambdaRunSummary> {
  return deliverOnce(ingest, bodies, input);
}

function quarantined(input: string, reason: InputProblemReason, message: string, content: string): void {
  quarantine.record({ reason, input, message, content });
  metrics.addMetric('Quarantined', MetricUnit.Count, 1);
}

async function fromSubscription(event: CloudWatchLogsEvent): Promise<LambdaRunSummary> {
  const data = event.awslogs.data;
  const input = `runtime/logs/${hashOf([data])}`;
  const decoded = decodeSubscription(data);
  if (!decoded.ok) quarantined(input, decoded.reason, decoded.message, data);
  const summary = await deliver(decoded.ok ? [decoded.payload] : [], input);
  const logEvents = decoded.ok ? decoded.logEvents : 0;
  metrics.addMetric('LogEvents', MetricUnit.Count, logEvents);
  logger.info('subscription processed', {
    ...(decoded.ok
      ? { logGroup: decoded.payload.logGroup, messageType: decoded.payload.messageType }
      : { quarantined: decoded.reason }),
    logEvents,
    ...summary,
  });
  return summary;
}

async function fromQueue(event: SQSEvent): Promise<SQSBatchResponse> {
  const input = `runtime/sqs/${hashOf(event.Records.map((r) => r.messageId))}`;
  const bodies: Json[] = [];
  for (const record of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch (error) {
      quarantined(
        input,
        'malformed-json',
        `message ${record.messageId} is not JSON: ${(error as Error).message}`,
        record.body,
      );
      continue;
    }
    const data = subscriptionData(body);
    if (data === undefined) {
      // A JSON value that is not a runtime record is the pipeline's to refuse (and quarantine) with its reason.
      bodies.push(isObject(body) ? body : { body });
      continue;
    }
    const decoded = decodeSubscription(data);
    if (decoded.ok) bodies.push(decoded.payload);
    else quarantined(input, decoded.reason, `message ${record.messageId}: ${decoded.message}`, record.body);
  }
  const summary = await deliver(bodies, input);
  metrics.addMetric('Messages', MetricUnit.Count, event.Records.length);
  logger.info('batch processed', { messages: event.Records.length, ...summary });
  // All or nothing: a failure above throws, and SQS delivers the whole batch again.
  return { batchItemFailures: [] };
}

const isSubscriptionEvent = (event: unknown): event is CloudWatchLogsEvent =>
  isObject(event) && isObject(event.awslogs) && typeof event.awslogs.data === 'string';

async function ingestHandler(
  event: RuntimeIngestEvent,
  _context: Context,
): Promise<SQSBatchResponse | LambdaRunSummary> {
  if (isSubscriptionEvent(event)) return fromSubscription(event);
  if (isObject(event) && Array.isArray((event as SQSEvent).Records)) return fromQueue(event as SQSEvent);
  // Only a wrong trigger sends anything else: fail loudly (the errors alarm) rather than drop it.
  throw new IngestError('runtime/unknown-event', {
    cause: new Error('neither a CloudWatch Logs subscription event ({awslogs: {data}}) nor an SQS batch'),
  });
}

export const handler = withStandardMiddleware(ingestHandler);
