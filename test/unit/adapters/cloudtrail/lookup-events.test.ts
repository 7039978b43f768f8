import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCloudTrailClient,
  type LookupEventItem,
  LookupEventsError,
  type LookupEventsOptions,
  type LookupProgress,
  lookupEvents,
} from '../../../../adapters/cloudtrail/lookup-events.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { PRIMARY_REGION, PROD } from '../../../../scripts/samples/estate.js';
import { generateTraffic } from '../../../../scripts/samples/traffic.js';
import {
  type FakeCloudTrail,
  type LookupEvent,
  startFakeCloudTrail,
  toLookupEvent,
} from '../../../helpers/fake-cloudtrail-server.js';

const DAY = new Date('2026-03-02T00:00:00Z');
const at = (time: string): Date => new Date(`2026-03-02T${time}Z`);

// What LookupEvents holds for one account and region: its management events.
const records = generateTraffic({ seed: 20260302, start: DAY, days: 1 }).filter(
  (r) => r.recipientAccountId === PROD && r.awsRegion === PRIMARY_REGION && r.managementEvent !== false,
) as unknown as Array<Record<string, unknown>>;
const events: LookupEvent[] = records.map(toLookupEvent);
const idsBetween = (from: Date, to: Date): string[] =>
  events
    .filter((e) => e.EventTime * 1000 >= from.getTime() && e.EventTime * 1000 <= to.getTime())
    .sort((a, b) => a.EventTime - b.EventTime)
    .map((e) => e.EventId);

const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'test-secret' };

async function collect(
  options: LookupEventsOptions,
): Promise<{ items: LookupEventItem[]; progress?: LookupProgress }> {
  const items: LookupEventItem[] = [];
  let progress: LookupProgress | undefined;
  for await (const item of lookupEvents({ ...options, onProgress: (p) => (progress = p) })) items.push(item);
  return { items, ...(progress !== undefined ? { progress } : {}) };
}

const idOf = (item: LookupEventItem) => item.eventId;
const timeOf = (item: LookupEventItem) =>
  item.kind === 'record' ? Date.parse(String(item.record.eventTime)) : Number.NaN;

/** Exactly the events of [from, to], each once, oldest first (the order within one second is the service's). */
function expectRange(items: readonly LookupEventItem[], from: Date, to: Date): void {
  expect(items.map(idOf).sort()).toEqual(idsBetween(from, to).sort());
  const times = items.map(timeOf);
  expect(times.every((time, i) => i === 0 || time >= (times[i - 1] as number))).toBe(true);
}

describe('lookupEvents against a local CloudTrail endpoint', () => {
  let server: FakeCloudTrail;
  beforeAll(async () => {
    server = await startFakeCloudTrail(events);
  });
  afterAll(async () => {
    await server.close();
  });
  const client = () =>
    createCloudTrailClient({ region: PRIMARY_REGION, endpoint: server.endpoint, credentials });

  it('has enough sample events for several pages', () => {
    expect(idsBetween(at('06:00:00'), at('12:00:00')).length).toBeGreaterThan(100);
  });

  it('follows NextToken over several pages and yields every event once, oldest first', async () => {
    server.requests.length = 0;
    const from = at('06:00:00');
    const to = at('12:00:00');
    const { items, progress } = await collect({
      client: client(),
      startTime: from,
      endTime: to,
      windowMs: 24 * 3_600_000,
      minRequestIntervalMs: 0,
    });
    const expected = idsBetween(from, to);
    expectRange(items, from, to);
    const pages = Math.ceil(expected.length / 50);
    expect(server.requests).toHaveLength(pages);
    expect(server.requests[0]?.body.NextToken).toBeUndefined();
    expect(server.requests.slice(1).every((r) => typeof r.body.NextToken === 'string')).toBe(true);
    expect(server.requests.map((r) => r.returned)).toEqual([
      ...new Array<number>(pages - 1).fill(50),
      expected.length - 50 * (pages - 1),
    ]);
    expect(progress).toMatchObject({
      requests: pages,
      events: expected.length,
      sdkRetries: 0,
      windowsDone: 1,
    });
  });

  it('sends AWS JSON 1.1 with epoch-second times and a signature', async () => {
    server.requests.length = 0;
    await collect({
      client: client(),
      startTime: at('08:00:00'),
      endTime: at('08:30:00'),
      pageSize: 20,
      minRequestIntervalMs: 0,
    });
    const first = server.requests[0];
    expect(first?.target).toMatch(
      /^(com\.amazonaws\.cloudtrail\.v20131101\.)?CloudTrail_20131101\.LookupEvents$/,
    );
    expect(first?.contentType).toBe('application/x-amz-json-1.1');
    expect(first?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/cloudtrail\//,
    );
    expect(first?.body).toMatchObject({
      StartTime: at('08:00:00').getTime() / 1000,
      EndTime: at('08:30:00').getTime() / 1000,
      MaxResults: 20,
    });
  });

  it('reads only the time range asked for, window by window, without losing or repeating boundary events', async () => {
    server.requests.length = 0;
    const from = at('10:00:00');
    const to = at('13:59:59');
    const { items, progress } = await collect({
      client: client(),
      startTime: from,
      endTime: to,
      windowMs: 3_600_000,
      minRequestIntervalMs: 0,
    });
    expectRange(items, from, to);
    expect(items.length).toBeLessThan(events.length);
    expect(progress?.windowsDone).toBe(4);
    // Every request stayed inside the range, one window at a time.
    const starts = [...new Set(server.requests.map((r) => r.body.StartTime))];
    expect(starts).toEqual([10, 11, 12, 13].map((h) => at(`${h}:00:00`).getTime() / 1000));
    for (const request of server.requests) {
      expect((request.body.EndTime ?? 0) - (request.body.StartTime ?? 0)).toBe(3_599);
    }
  });

  it('reads an event on a window boundary once, and passes over an event served twice', async () => {
    const template = toLookupEvent(records[0] as Record<string, unknown>);
    const onBoundary = { ...template, EventId: 'boundary-event', EventTime: at('16:00:00').getTime() / 1000 };
    const twice = { ...template, EventId: 'twice-event', EventTime: at('16:10:00').getTime() / 1000 };
    server.setEvents([...events, onBoundary, twice, twice]);
    try {
      const { items, progress } = await collect({
        client: client(),
        startTime: at('15:30:00'),
        endTime: at('16:29:59'),
        windowMs: 30 * 60_000,
        minRequestIntervalMs: 0,
      });
      expect(items.filter((i) => i.eventId === 'boundary-event')).toHaveLength(1);
      expect(items.filter((i) => i.eventId === 'twice-event')).toHaveLength(1);
      expect(progress?.duplicates).toBe(1);
      expect(server.requests.at(-1)?.body).toMatchObject({
        StartTime: at('16:00:00').getTime() / 1000,
        EndTime: at('16:29:59').getTime() / 1000,
      });
    } finally {
      server.setEvents(events);
    }
  });

  it('yields records the CloudTrail normalizer reads, and names events whose record is unreadable', async () => {
    const broken = {
      ...toLookupEvent(records[1] as Record<string, unknown>),
      EventId: 'broken-event',
      CloudTrailEvent: '{"eventVersion": ',
    };
    server.setEvents([...events, broken]);
    try {
      const { items } = await collect({
        client: client(),
        startTime: at('00:00:00'),
        endTime: at('23:59:59'),
        windowMs: 24 * 3_600_000,
        minRequestIntervalMs: 0,
      });
      const problems = items.filter((i) => i.kind === 'problem');
      expect(problems).toEqual([
        expect.objectContaining({ kind: 'problem', reason: 'malformed-json', eventId: 'broken-event' }),
      ]);
      const good = items.filter((i) => i.kind === 'record');
      expect(good).toHaveLength(events.length);
      for (const item of good) {
        if (item.kind !== 'record') continue;
        const event = normalizeCloudTrail(item.record);
        expect(event.metadata.uid).toBe(item.eventId);
        expect(event.cloud.account).toBe(PROD);
      }
    } finally {
      server.setEvents(events);
    }
  });

  it('spaces requests by the pacing interval', async () => {
    server.requests.length = 0;
    await collect({
      client: client(),
      startTime: at('06:00:00'),
      endTime: at('09:00:00'),
      windowMs: 24 * 3_600_000,
      pageSize: 20,
      minRequestIntervalMs: 150,
    });
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    const gaps = server.requests.slice(1).map((r, i) => r.at - (server.requests[i] as { at: number }).at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(140);
  });
});

// The SDK's backoff and adaptive rate limiting really wait: seconds, not milliseconds.
describe('lookupEvents under throttling', { timeout: 60_000 }, () => {
  it('gets every event when the SDK retries throttled requests', async () => {
    // The first attempts of pages 1 and 2 are answered "Rate exceeded".
    const server = await startFakeCloudTrail(events, { throttle: (i) => i === 0 || i === 2 });
    try {
      const from = at('06:00:00');
      const to = at('10:00:00');
      const { items, progress } = await collect({
        client: createCloudTrailClient({ region: PRIMARY_REGION, endpoint: server.endpoint, credentials }),
        startTime: from,
        endTime: to,
        windowMs: 24 * 3_600_000,
        minRequestIntervalMs: 0,
      });
      expectRange(items, from, to);
      expect(server.requests.map((r) => r.throttled)).toEqual([true, false, true, false]);
      // Each retry asked for the same page again.
      expect(server.requests[1]?.body).toEqual(server.requests[0]?.body);
      expect(server.requests[3]?.body).toEqual(server.requests[2]?.body);
      expect(server.requests[2]?.body.NextToken).toEqual(expect.any(String));
      expect(progress?.sdkRetries).toBe(2);
      expect(progress?.throttleRetries).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('backs off and asks for the page again when the SDK gives up', async () => {
    const server = await startFakeCloudTrail(events, { throttle: (i) => i < 3 });
    const waits: number[] = [];
    try {
      const from = at('06:00:00');
      const to = at('07:00:00');
      const { items, progress } = await collect({
        client: createCloudTrailClient({
          region: PRIMARY_REGION,
          endpoint: server.endpoint,
          credentials,
          maxAttempts: 2,
        }),
        startTime: from,
        endTime: to,
        minRequestIntervalMs: 0,
        throttleBackoffMs: 40,
        sleep: async (ms) => {
          waits.push(ms);
          await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50)));
        },
      });
      expectRange(items, from, to);
      // Attempts 1-2 (SDK) fail, our retry's attempts 3 (throttled) and 4 (served).
      expect(server.requests.filter((r) => r.throttled)).toHaveLength(3);
      expect(progress?.throttleRetries).toBe(1);
      expect(waits).toContain(40);
    } finally {
      await server.close();
    }
  });

  it('fails with the throttling as cause once its own retries are spent', async () => {
    const server = await startFakeCloudTrail(events, { throttle: () => true });
    try {
      const run = collect({
        client: createCloudTrailClient({
          region: PRIMARY_REGION,
          endpoint: server.endpoint,
          credentials,
          maxAttempts: 1,
        }),
        startTime: at('06:00:00'),
        endTime: at('07:00:00'),
        minRequestIntervalMs: 0,
        throttleRetries: 1,
        sleep: async () => {},
      });
      await expect(run).rejects.toThrow(LookupEventsError);
      await expect(run).rejects.toMatchObject({ cause: { name: 'ThrottlingException' } });
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
