/**
 * The local EventBridge server driven by the real EventBridge client: batches
 * accepted with event ids, validated as the service validates them, partial
 * failures reported per entry in order, and request failures the SDK retries.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  entrySize,
  type FakeEventBridge,
  startFakeEventBridge,
} from '../../helpers/fake-eventbridge-server.js';
import { fastRetryStrategy } from '../../helpers/throttling-proxy.js';

let events: FakeEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  events = await startFakeEventBridge();
  client = new EventBridgeClient({
    endpoint: events.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    retryStrategy: fastRetryStrategy(3),
  });
});
afterAll(async () => {
  client.destroy();
  await events.close();
});
beforeEach(() => {
  events.calls.length = 0;
  events.events.length = 0;
  events.failEntries(undefined);
});

const finding = (n: number): PutEventsRequestEntry => ({
  Source: 'trailhound',
  DetailType: 'Finding',
  Detail: JSON.stringify({ rule: 'console-login-without-mfa', n }),
  EventBusName: 'security',
  Resources: [`arn:aws:iam::111122223333:user/user-${n}`],
});

describe('fake EventBridge server', () => {
  it('accepts a batch of 10 entries with an event id each, on their bus', async () => {
    const entries = Array.from({ length: 10 }, (_, n) => finding(n));
    const result = await client.send(new PutEventsCommand({ Entries: entries }));
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries).toHaveLength(10);
    expect(events.events.map((e) => e.EventId)).toEqual(result.Entries!.map((e) => e.EventId));
    expect(events.events[3]).toMatchObject({
      EventBusName: 'security',
      Source: 'trailhound',
      DetailType: 'Finding',
      Detail: entries[3]!.Detail,
      Resources: entries[3]!.Resources,
    });
    expect(events.calls).toEqual([
      expect.objectContaining({ target: 'AWSEvents.PutEvents', accessKeyId: 'AKIDTEST', status: 200 }),
    ]);
  });

  it('keeps the entry time, else the time it arrived, and the default bus', async () => {
    const time = new Date('2026-03-02T10:00:00Z');
    const before = Date.now();
    await client.send(
      new PutEventsCommand({
        Entries: [
          { ...finding(1), EventBusName: undefined, Time: time },
          { ...finding(2), EventBusName: 'arn:aws:events:us-east-1:111122223333:event-bus/security' },
        ],
      }),
    );
    expect(events.events[0]).toMatchObject({ EventBusName: 'default', Time: time });
    expect(events.events[1]!.EventBusName).toBe('arn:aws:events:us-east-1:111122223333:event-bus/security');
    expect(events.events[1]!.Time.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('refuses 11 entries, and a batch over 256 KB, as a ValidationException', async () => {
    const eleven = client.send(
      new PutEventsCommand({ Entries: Array.from({ length: 11 }, (_, n) => finding(n)) }),
    );
    await expect(eleven).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have length less than or equal to 10'),
      $metadata: { httpStatusCode: 400 },
    });

    const big = (detailBytes: number): PutEventsRequestEntry => ({
      Source: 's',
      DetailType: 'd',
      Time: new Date(),
      Detail: JSON.stringify({ x: 'x'.repeat(detailBytes - 8) }),
    });
    expect(
      entrySize({ Source: 's', DetailType: 'd', Time: 0, Detail: 'é'.repeat(500), Resources: ['r'] }),
    ).toBe(14 + 1 + 1 + 1000 + 1);
    // Two entries of 128 KB each: 256 KB in all is accepted, a byte more is not.
    const atLimit = 128 * 1024 - 16;
    await client.send(new PutEventsCommand({ Entries: [big(atLimit), big(atLimit)] }));
    await expect(
      client.send(new PutEventsCommand({ Entries: [big(atLimit), big(atLimit + 1)] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });
    expect(events.events).toHaveLength(2);
  });

  it('answers invalid entries per entry, in order', async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          finding(1),
          { ...finding(2), Source: undefined },
          { ...finding(3), Detail: '[1, 2]' },
          { ...finding(4), Detail: '{not json' },
          finding(5),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(3);
    expect(result.Entries).toEqual([
      { EventId: expect.any(String) },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { EventId: expect.any(String) },
    ]);
    expect(events.events.map((e) => JSON.parse(e.Detail).n)).toEqual([1, 5]);
  });

  it('fails chosen entries with retryable codes, and accepts them when sent again', async () => {
    events.failEntries((entry, attempt) =>
      attempt === 0 && entry.Detail?.includes('"n":102') ? 'ThrottlingException' : undefined,
    );
    // Entries not sent before in this file: `attempt` counts identical entries over the server's life.
    const entries = [finding(101), finding(102), finding(103)];
    const first = await client.send(new PutEventsCommand({ Entries: entries }));
    expect(first.FailedEntryCount).toBe(1);
    expect(first.Entries?.map((e) => e.ErrorCode)).toEqual([undefined, 'ThrottlingException', undefined]);
    expect(events.calls[0]!.failedEntryCount).toBe(1);

    const again = await client.send(new PutEventsCommand({ Entries: [entries[1]!] }));
    expect(again.FailedEntryCount).toBe(0);
    expect(events.events.map((e) => JSON.parse(e.Detail).n)).toEqual([101, 103, 102]);
  });

  it('fails whole requests, which the SDK retries', async () => {
    events.failNextRequests(2, 500, 'InternalException', 'Internal service error.');
    const result = await client.send(new PutEventsCommand({ Entries: [finding(1)] }));
    expect(result.FailedEntryCount).toBe(0);
    expect(result.$metadata.attempts).toBe(3);
    expect(events.calls.map((c) => [c.status, c.errorType])).toEqual([
      [500, 'InternalException'],
      [500, 'InternalException'],
      [200, undefined],
    ]);

    events.failNextRequests(3, 400, 'ThrottlingException', 'Rate exceeded');
    await expect(client.send(new PutEventsCommand({ Entries: [finding(2)] }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { attempts: 3 },
    });
    expect(events.events).toHaveLength(1);
  });

  it('requires a SigV4 Authorization header', async () => {
    const response = await fetch(events.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Entries: [finding(1)] }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { __type: string }).__type).toBe(
      'MissingAuthenticationTokenException',
    );
    expect(events.calls).toHaveLength(0);
  });
});
