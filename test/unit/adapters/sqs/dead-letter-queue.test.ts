/**
 * The SQS dead-letter queue and its redrive, against a local SQS server
 * speaking AWS JSON 1.0, with the real SDK client.
 */
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecurityHubDestination } from '../../../../adapters/securityhub/securityhub-destination.js';
import {
  DeadLetterQueueError,
  MAX_REQUEST_BYTES,
  redriveDeadLetters,
  SqsDeadLetterQueue,
} from '../../../../adapters/sqs/dead-letter-queue.js';
import type { IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import type { AlertDestination, DeliveryResult } from '../../../../detectors/alerting/ports.js';
import {
  ACCOUNT,
  escalatingFindings,
  foldAll,
  makeAlertFinding,
  T0,
} from '../../../helpers/alert-findings.js';
import { type FakeSecurityHub, startFakeSecurityHub } from '../../../helpers/fake-securityhub-server.js';
import { type FakeSqs, startFakeSqs } from '../../../helpers/fake-sqs-server.js';
import { fastRetryStrategy } from '../../../helpers/throttling-proxy.js';

const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' };
let sqs: FakeSqs;
let client: SQSClient;
let queueNumber = 0;

beforeAll(async () => {
  sqs = await startFakeSqs();
  client = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    retryStrategy: fastRetryStrategy(1),
  });
});
afterAll(async () => {
  client.destroy();
  await sqs.close();
});
beforeEach(() => {
  sqs.failEntries(undefined);
  sqs.calls.length = 0;
});

const noSleep = async () => undefined;

function newQueue(fifo = false) {
  return sqs.createQueue(`alert-dlq-${++queueNumber}${fifo ? '.fifo' : ''}`, {
    visibilityTimeoutSeconds: 30,
  });
}

function incidents(count: number, explanation = 'alice listed every IAM user.'): IncidentUpdate[] {
  return foldAll(
    Array.from({ length: count }, (_, i) =>
      makeAlertFinding({ actor: { principal: `arn:aws:iam::${ACCOUNT}:user/u${i}` }, explanation }),
    ),
  );
}

/** A destination that fails the keys in `failing` and records what it was given. */
function stubDestination(name: string, failing: Set<string> = new Set()) {
  const seen: IncidentUpdate[][] = [];
  const destination: AlertDestination = {
    name,
    kind: 'slack',
    async deliver(updates): Promise<DeliveryResult> {
      seen.push([...updates]);
      return {
        delivered: updates
          .filter((u) => !failing.has(u.incident.key))
          .map((u) => ({
            key: u.incident.key,
            revision: u.incident.revision,
            refs: { [`${name}:ts`]: '1.0' },
          })),
        failed: updates
          .filter((u) => failing.has(u.incident.key))
          .map((u) => ({
            key: u.incident.key,
            revision: u.incident.revision,
            error: 'HTTP 503',
            retryable: true,
          })),
      };
    },
  };
  return { destination, seen };
}

describe('SqsDeadLetterQueue', () => {
  it('speaks AWS JSON 1.0 and sends one message per update, ten a request', async () => {
    // Prepare
    const queue = newQueue();
    const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep, now: () => T0 });
    const updates = incidents(23);
    // Act
    await dlq.put('slack-soc', updates, 'HTTP 503 from Slack');
    // Assess
    const sends = sqs.calls.filter((c) => c.action === 'SendMessageBatch');
    expect(sends.map((c) => (c.params.Entries as unknown[]).length)).toEqual([10, 10, 3]);
    expect(sends[0]).toMatchObject({ contentType: 'application/x-amz-json-1.0', queryMode: true });
    expect(queue.messages).toHaveLength(23);
    const first = queue.messages[0]!;
    expect(JSON.parse(first.Body)).toEqual({
      version: 1,
      destination: 'slack-soc',
      reason: 'HTTP 503 from Slack',
      dead_lettered_at: T0,
      update: JSON.parse(JSON.stringify(updates[0])),
    });
    expect(first.MessageAttributes).toEqual({
      destination: { DataType: 'String', StringValue: 'slack-soc' },
      incident_key: { DataType: 'String', StringValue: updates[0]!.incident.key },
      revision: { DataType: 'Number', StringValue: '1' },
    });
    expect(first.MessageGroupId).toBeUndefined();
  });

  it('keeps each request within 256 KB', async () => {
    const queue = newQueue();
    const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep });
    await dlq.put('securityhub', incidents(10, 'x'.repeat(60_000)), 'throttled');
    const sends = sqs.calls.filter((c) => c.action === 'SendMessageBatch');
    expect(sends.length).toBeGreaterThan(1);
    for (const call of sends) {
      expect(call.status).toBe(200);
      const entries = call.params.Entries as { MessageBody: string }[];
      expect(entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0)).toBeLessThanOrEqual(
        MAX_REQUEST_BYTES,
      );
    }
    expect(queue.messages).toHaveLength(10);
  });

  it('groups by incident and deduplicates on a FIFO queue', async () => {
    const queue = newQueue(true);
    const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep });
    const updates = foldAll(escalatingFindings());
    await dlq.put('pagerduty', updates, 'HTTP 500');
    await dlq.put('pagerduty', updates, 'HTTP 500'); // a replayed run
    expect(queue.messages).toHaveLength(3);
    expect(new Set(queue.messages.map((m) => m.MessageGroupId))).toEqual(new Set([updates[0]!.incident.key]));
    expect(new Set(queue.messages.map((m) => m.MessageDeduplicationId)).size).toBe(3);
  });

  it('sends again the entries that failed for a passing reason, and throws for the refused', async () => {
    const queue = newQueue();
    const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep });
    const updates = incidents(4);
    const refused = updates[3]!.incident.key;
    sqs.failEntries((entry, attempt) => {
      const body = String(entry.MessageBody);
      if (body.includes(refused)) return { code: 'InvalidParameterValue', senderFault: true };
      return attempt === 0 && body.includes(updates[0]!.incident.key)
        ? { code: 'InternalError', senderFault: false }
        : undefined;
    });
    const error = await dlq.put('slack-soc', updates, 'HTTP 503').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadLetterQueueError);
    expect((error as DeadLetterQueueError).undelivered).toEqual([
      { key: refused, revision: 1, error: 'InvalidParameterValue: InvalidParameterValue' },
    ]);
    expect(queue.messages).toHaveLength(3);
    expect(dlq.stats.entryRetries).toBe(1);
  });

  it('throws when the queue is out of reach', async () => {
    const dlq = new SqsDeadLetterQueue({
      client,
      queueUrl: `${sqs.endpoint}/000000000000/missing`,
      sleep: noSleep,
      retry: { retries: 1 },
    });
    await expect(dlq.put('slack-soc', incidents(1), 'HTTP 503')).rejects.toThrow(/QueueDoesNotExist/);
  });
});

describe('redriveDeadLetters', () => {
  it('re-delivers, deletes what was delivered and leaves the rest until it is visible again', async () => {
    // Prepare
    const queue = newQueue();
    const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep });
    const updates = incidents(12);
    const failing = new Set([updates[5]!.incident.key]);
    const slack = stubDestination('slack-soc', failing);
    await dlq.put('slack-soc', updates, 'HTTP 503');
    await dlq.put('retired-destination', incidents(1), 'HTTP 410');
    await client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'not a letter' }));
    const destinations = new Map([['slack-soc', slack.destination]]);
    // Act
    const first = await redriveDeadLetters({ client, queueUrl: queue.url, destinations, maxMessages: 50 });
    // Assess
    expect(first).toMatchObject({
      received: 14,
      delivered: 11,
      failed: 1,
      unknownDestination: 1,
      unreadable: 1,
    });
    expect(first.deliveredUpdates[0]).toEqual({
      destination: 'slack-soc',
      update: { key: updates[0]!.incident.key, revision: 1, refs: { 'slack-soc:ts': '1.0' } },
    });
    expect(queue.messages).toHaveLength(3);
    expect(
      sqs.calls
        .filter((c) => c.action === 'ReceiveMessage')
        .every((c) => c.params.MaxNumberOfMessages === 10),
    ).toBe(true);
    // Still invisible: nothing to redrive until the visibility timeout passes.
    expect(await redriveDeadLetters({ client, queueUrl: queue.url, destinations })).toMatchObject({
      received: 0,
    });
    sqs.advance(31_000);
    failing.clear();
    const second = await redriveDeadLetters({ client, queueUrl: queue.url, destinations });
    expect(second).toMatchObject({ received: 3, delivered: 1, unknownDestination: 1, unreadable: 1 });
    expect(queue.messages.map((m) => m.Body)).toContain('not a letter');
    expect(queue.messages).toHaveLength(2);
  });

  it('stops after maxMessages', async () => {
    const queue = newQueue();
    const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep });
    await dlq.put('slack-soc', incidents(15), 'HTTP 503');
    const slack = stubDestination('slack-soc');
    const summary = await redriveDeadLetters({
      client,
      queueUrl: queue.url,
      destinations: new Map([['slack-soc', slack.destination]]),
      maxMessages: 12,
    });
    expect(summary.delivered).toBe(12);
    expect(queue.messages).toHaveLength(3);
  });

  describe('into Security Hub', () => {
    let hub: FakeSecurityHub;
    let hubClient: SecurityHubClient;
    beforeAll(async () => {
      hub = await startFakeSecurityHub({ accountId: ACCOUNT });
      hubClient = new SecurityHubClient({
        endpoint: hub.endpoint,
        region: 'us-east-1',
        credentials: CREDENTIALS,
        retryStrategy: fastRetryStrategy(1),
      });
    });
    afterAll(async () => {
      hubClient.destroy();
      await hub.close();
    });

    it('round-trips an outage: dead-lettered while throttled, imported on redrive', async () => {
      const queue = newQueue(true);
      const dlq = new SqsDeadLetterQueue({ client, queueUrl: queue.url, sleep: noSleep });
      const securityhub = new SecurityHubDestination({
        client: hubClient,
        region: 'us-east-1',
        accountId: ACCOUNT,
        retry: { retries: 1 },
        sleep: noSleep,
      });
      const updates = foldAll(escalatingFindings());
      hub.failNextRequests(2, 429, 'ThrottlingException');
      const result = await securityhub.deliver([updates[2]!]);
      expect(result.failed).toHaveLength(1);
      await dlq.put(securityhub.name, [updates[2]!], result.failed[0]!.error);
      const summary = await redriveDeadLetters({
        client,
        queueUrl: queue.url,
        destinations: new Map([[securityhub.name, securityhub]]),
      });
      expect(summary).toMatchObject({ received: 1, delivered: 1 });
      expect(queue.messages).toHaveLength(0);
      expect(hub.get(updates[2]!.incident.key)).toMatchObject({ Severity: { Label: 'CRITICAL' } });
    });
  });
});
