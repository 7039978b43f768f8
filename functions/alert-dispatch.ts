/**
 * Findings to people: the findings bus delivers every finding (an EventBridge
 * event, detail-type `Trailhound Finding`) to an SQS queue, and this function
 * takes them in batches and runs them through the {@link Alerter}:
 * suppressions, incidents in the profile table, routing and rate limits, then
 * Slack, PagerDuty and Security Hub, each on its own.
 *
 * - A message that is not a finding event is logged as quarantined with its
 *   reason and acknowledged: sending it again would not make it one.
 * - A destination that is down does not fail the batch: its updates go to the
 *   dead-letter queue (re-driven by the housekeeping function) and the other
 *   destinations still receive theirs.
 * - Anything else (DynamoDB, the dead-letter queue itself) fails the whole
 *   batch and SQS delivers it again. The replay is harmless: findings already
 *   folded change no incident, and an update is sent again only to a
 *   destination that had not handled it (see `detectors/alerting/alerter.ts`).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { FINDING_DETAIL_TYPE } from '../adapters/eventbridge/finding-bus.js';
import { Finding } from '../detectors/schema/finding.js';
import { recordAlertSummary } from './commons/alert-metrics.js';
import { createAlertingRuntime } from './commons/alerting.js';
import { awsClients } from './commons/clients.js';
import { readAlertingEnv } from './commons/env.js';
import { withStandardMiddleware } from './commons/middleware.js';
import { LogQuarantine } from './commons/pipeline.js';
import { logger, MetricUnit, metrics } from './commons/powertools.js';

const env = readAlertingEnv();
const { alerter } = createAlertingRuntime(env, awsClients());
const quarantine = new LogQuarantine();

/** The finding of one queued EventBridge event, or the reason it is not one. */
export function findingOfMessage(body: string): Finding | string {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return 'the message is not JSON';
  }
  const envelope = event as { 'detail-type'?: unknown; detail?: unknown };
  if (envelope['detail-type'] !== FINDING_DETAIL_TYPE)
    return `detail-type is ${JSON.stringify(envelope['detail-type'])}, not "${FINDING_DETAIL_TYPE}"`;
  const parsed = Finding.safeParse(envelope.detail);
  if (!parsed.success)
    return `the detail is not a finding: ${parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ')}`;
  return parsed.data;
}

async function dispatchHandler(event: SQSEvent, _context: Context): Promise<SQSBatchResponse> {
  const findings: Finding[] = [];
  for (const record of event.Records) {
    const finding = findingOfMessage(record.body);
    if (typeof finding === 'string')
      quarantine.record({
        reason: 'not-a-finding',
        input: `sqs/${record.messageId}`,
        message: finding,
        content: record.body,
      });
    else findings.push(finding);
  }
  const summary = await alerter.handle(findings);
  recordAlertSummary(summary);
  if (quarantine.count > 0) metrics.addMetric('Quarantined', MetricUnit.Count, quarantine.count);
  quarantine.count = 0;
  logger.info('findings dispatched', { messages: event.Records.length, ...summary });
  return { batchItemFailures: [] };
}

export const handler = withStandardMiddleware(dispatchHandler);
