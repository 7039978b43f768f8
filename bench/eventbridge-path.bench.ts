/**
 * `npm run bench`, part two: the near-real-time path's own share of the delay
 * from a CloudTrail event to its finding on the bus. The real handler of
 * `functions/cloudtrail-eventbridge-ingest.ts` (whole middy stack) runs on
 * SQS batches of 100 EventBridge events (the event source's batch size), with
 * DynamoDB on dynalite, the findings bus and the quarantine on local protocol
 * servers, over the bundled sample organization trail (4,572 events, five
 * attack stories).
 *
 * Each batch's events are stamped with the time the batch is handed over, so
 * "lag" here is only what Trailhound adds: parse, dedup ledger, profile reads
 * and writes, rules, PutEvents. CloudTrail's own delay to EventBridge (typically
 * seconds to minutes) and SQS's batching window come on top, in AWS.
 */
import './quiet-powertools.js';
import { performance } from 'node:perf_hooks';
import type { SQSEvent } from 'aws-lambda';
import { cloudTrailEventBridgeEvent, sqsEvent, sqsRecord } from '../test/helpers/aws-events.js';
import { startIngestWorld, trailFileRecords } from '../test/helpers/cloudtrail-ingest-harness.js';
import { lambdaContext } from '../test/helpers/lambda.js';

const BATCH = 100;
const QUEUE = 'arn:aws:sqs:us-east-1:999988887777:trailhound-cloudtrail-events';

const world = await startIngestWorld();
try {
  const { handler } = (await import('../functions/cloudtrail-eventbridge-ingest.js')) as unknown as {
    handler: (event: SQSEvent, context: unknown) => Promise<unknown>;
  };
  const records = world.trailKeys.flatMap((key) => trailFileRecords(key));
  const callsBefore = world.proxy.calls.length;
  const batchMs: number[] = [];
  const findingLagMs: number[] = [];
  const started = performance.now();
  for (let start = 0; start < records.length; start += BATCH) {
    const handedOver = Date.now();
    // Millisecond event times: the lag measured is ours, not CloudTrail's one-second rounding.
    const stamped = new Date(handedOver).toISOString();
    const batch = sqsEvent(
      records
        .slice(start, start + BATCH)
        .map((r) =>
          sqsRecord(JSON.stringify(cloudTrailEventBridgeEvent({ ...r, eventTime: stamped })), QUEUE),
        ),
    );
    const before = world.eventBridge.events.length;
    const t0 = performance.now();
    await handler(batch, lambdaContext({ functionName: 'trailhound-eventbridge-ingest' }));
    batchMs.push(performance.now() - t0);
    const published = world.eventBridge.events.length - before;
    for (let i = 0; i < published; i++) findingLagMs.push(Date.now() - handedOver);
  }
  const seconds = (performance.now() - started) / 1000;
  const dynamoCalls = world.proxy.calls.slice(callsBefore);
  const perThousand = (ops: readonly string[]) =>
    ((1000 * dynamoCalls.filter((c) => ops.includes(c.operation)).length) / records.length).toFixed(1);
  const percentile = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  };
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  console.log(
    `eventbridge path  ${records.length} events in ${batchMs.length} batches of ${BATCH}: ${Math.round(records.length / seconds).toLocaleString('en-US')} events/s`,
  );
  console.log(
    `  batch processing        p50 ${ms(percentile(batchMs, 50))}   p99 ${ms(percentile(batchMs, 99))}   max ${ms(Math.max(...batchMs))}`,
  );
  console.log(
    `  event → finding on bus  p50 ${ms(percentile(findingLagMs, 50))}   p99 ${ms(percentile(findingLagMs, 99))}   (${findingLagMs.length} findings; processing only)`,
  );
  console.log(
    `  DynamoDB per 1,000 events: ${perThousand(['PutItem', 'UpdateItem'])} write requests, ${perThousand(['GetItem', 'BatchGetItem'])} read requests (profiles, batch ledger, seen-event ledger)`,
  );
} finally {
  await world.close();
}
