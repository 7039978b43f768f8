/**
 * GCP Cloud Audit Logs pushed by Pub/Sub (a log sink into a topic, a push
 * subscription with authentication to this function's URL).
 *
 * Per request (a Lambda function URL event, payload version 2.0):
 * 1. The bearer token is verified (`adapters/gcp/push-auth.ts`) before the
 *    body is looked at: signed by Google, for our audience, by the one
 *    service account allowed to push, within its lifetime. A refusal answers
 *    401 (no usable token) or 403 (a valid token of another account) with a
 *    bare JSON error; why is logged, not told. Google's keys unavailable is
 *    our problem: 503, and Pub/Sub retries.
 * 2. The push envelope is decoded (base64 `message.data` → LogEntry). A body
 *    that is not one is quarantined and answered 204 (see below).
 * 3. The entry goes through the pipeline as one batch; 204 once its profiles
 *    are written and its findings published, so Pub/Sub acknowledges it.
 *    Any failure there answers 500: Pub/Sub redelivers (at least once, with
 *    backoff), and the redelivery is the same batch, which the profile store
 *    merges only once (batch ledger).
 */
import type { APIGatewayProxyStructuredResultV2, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { PushAuthError, PushEnvelopeError } from '../adapters/gcp/errors.js';
import { decodePushEnvelope, verifyPushAuthorization } from '../adapters/gcp/push-auth.js';
import { awsClients, outsideServices } from './commons/clients.js';
import { readGcpPushEnv } from './commons/env.js';
import { withStandardMiddleware } from './commons/middleware.js';
import {
  detectionRuntimeFor,
  LambdaPipeline,
  LogQuarantine,
  useSourceDimension,
} from './commons/pipeline.js';
import { logger, MetricUnit, metrics } from './commons/powertools.js';

const env = readGcpPushEnv();
const outside = outsideServices();
useSourceDimension('gcp-push');
const runtime = await detectionRuntimeFor(env, awsClients());

/** A function URL answer (payload 2.0, structured form). */
export type PushResponse = APIGatewayProxyStructuredResultV2;

/** Where the quarantine and the logs say a pushed message came from. */
const PUSH_INPUT = 'pubsub-push';

function answer(statusCode: number, error?: string, headers: Record<string, string> = {}): PushResponse {
  if (error === undefined) return { statusCode, headers };
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error }),
  };
}

function header(event: LambdaFunctionURLEvent, name: string): string | undefined {
  // Function URLs lower-case header names; be safe with any other front.
  for (const [key, value] of Object.entries(event.headers ?? {}))
    if (key.toLowerCase() === name) return value;
  return undefined;
}

/** 401: no token we can use. 403: a good token, of someone not allowed. 503: we could not check. */
function refusalStatus(error: PushAuthError): number {
  switch (error.reason) {
    case 'certs-unavailable':
      return 503;
    case 'wrong-email':
    case 'unverified-email':
      return 403;
    default:
      return 401;
  }
}

async function pushHandler(event: LambdaFunctionURLEvent, _context: Context): Promise<PushResponse> {
  const http = event.requestContext.http;
  try {
    await verifyPushAuthorization(header(event, 'authorization'), {
      audience: env.pushAudience,
      serviceAccountEmail: env.pushServiceAccountEmail,
      ...(outside.gcpPushKeys !== undefined ? { keys: outside.gcpPushKeys } : {}),
    });
  } catch (error) {
    if (!(error instanceof PushAuthError)) throw error;
    const status = refusalStatus(error);
    // The reason and the library's first words go to our log (never the token); the caller learns nothing.
    logger.warn('push refused', {
      reason: error.reason,
      detail: error.message,
      status,
      sourceIp: http.sourceIp,
      userAgent: http.userAgent,
    });
    metrics.addMetric(status === 503 ? 'PushUnverifiable' : 'PushRefused', MetricUnit.Count, 1);
    if (status === 503) return answer(503, 'unavailable');
    return status === 403
      ? answer(403, 'forbidden')
      : answer(401, 'unauthorized', { 'www-authenticate': 'Bearer' });
  }
  if (http.method !== 'POST') return answer(405, 'method not allowed', { allow: 'POST' });

  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  let pushed: ReturnType<typeof decodePushEnvelope>;
  try {
    pushed = decodePushEnvelope(body);
  } catch (error) {
    if (!(error instanceof PushEnvelopeError)) throw error;
    // Pub/Sub redelivers anything not acknowledged until the message expires (7 days by default):
    // a body that cannot be decoded now never will be, so a retry would only burn invocations
    // and hide it. It is kept in the quarantine log line instead, and acknowledged with 204.
    new LogQuarantine().record({
      reason: `push-${error.reason}`,
      input: PUSH_INPUT,
      message: error.message,
      content: body,
    });
    metrics.addMetric('PushQuarantined', MetricUnit.Count, 1);
    metrics.addMetric('Quarantined', MetricUnit.Count, 1);
    return answer(204);
  }

  logger.appendKeys({ pubsubMessageId: pushed.messageId });
  const run = new LambdaPipeline(runtime);
  try {
    await run.deliver([pushed.entry], `${PUSH_INPUT}/${pushed.subscription ?? '?'}/${pushed.messageId}`);
  } catch (error) {
    // Ours, not the sender's: 500 makes Pub/Sub redeliver, and the redelivery is merged once.
    logger.error('push processing failed; Pub/Sub will redeliver', error as Error);
    metrics.addMetric('PushFailed', MetricUnit.Count, 1);
    run.finish();
    return answer(500, 'internal');
  }
  const summary = run.finish();
  logger.info('push processed', { subscription: pushed.subscription, ...summary });
  metrics.addMetric('PushAccepted', MetricUnit.Count, 1);
  // A malformed entry inside a good envelope was quarantined by the pipeline; acknowledged all the same.
  return answer(204);
}

export const handler = withStandardMiddleware(pushHandler);
