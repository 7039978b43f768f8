/**
 * The EventBridge incident destination against the local PutEvents server,
 * with the real SDK client: OCSF Detection Findings as events, one per
 * update, within PutEvents' limits, failed entries retried.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDestinations } from '../../../../adapters/alerting/destinations.js';
import {
  EventBridgeIncidentDestination,
  INCIDENT_DETAIL_TYPE,
  INCIDENT_EVENT_SOURCE,
} from '../../../../adapters/eventbridge/incident-bus.js';
import { parseAlertingConfig } from '../../../../detectors/alerting/config.js';
import { OcsfDetectionFinding } from '../../../../detectors/alerting/format/ocsf.js';
import { changeState, type IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import { TRAILHOUND_VERSION } from '../../../../detectors/version.js';
import {
  ACCOUNT,
  escalatingFindings,
  foldAll,
  makeAlertFinding,
  T0,
} from '../../../helpers/alert-findings.js';
import {
  type AcceptedEvent,
  entrySize,
  type FakeEventBridge,
  startFakeEventBridge,
} from '../../../helpers/fake-eventbridge-server.js';
import { fastRetryStrategy } from '../../../helpers/throttling-proxy.js';

const BUS = 'trailhound-incidents';
const MAX_REQUEST_BYTES = 256 * 1024;

let bus: FakeEventBridge;
let client: EventBridgeClient;
let waits: number[];

beforeAll(async () => {
  bus = await startFakeEventBridge();
  client = new EventBridgeClient({
    endpoint: bus.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    // Two attempts of a whole request: the SDK's share; entry retries are the destination's.
    retryStrategy: fastRetryStrategy(2),
  });
});
afterAll(async () => {
  client.destroy();
  await bus.close();
});
beforeEach(() => {
  bus.calls.length = 0;
  bus.events.length = 0;
  bus.failEntries(undefined);
  bus.failNextRequests(0, 500, 'InternalException');
});

function destination(
  overrides: Partial<ConstructorParameters<typeof EventBridgeIncidentDestination>[0]> = {},
) {
  waits = [];
  return new EventBridgeIncidentDestination({
    client,
    busName: BUS,
    name: 'incidents',
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...overrides,
  });
}

const detailOf = (event: AcceptedEvent) => OcsfDetectionFinding.parse(JSON.parse(event.Detail));

/** One incident per actor: `count` updates, each opening its own incident; `explanation` sets each one's size. */
function manyIncidents(count: number, explanation = 'alice listed every IAM user.'): IncidentUpdate[] {
  return foldAll(
    Array.from({ length: count }, (_, i) =>
      makeAlertFinding({ actor: { principal: `arn:aws:iam::${ACCOUNT}:user/user-${i}` }, explanation }),
    ),
  );
}

describe('EventBridgeIncidentDestination', () => {
  it('puts an escalating incident as one OCSF finding: created, updated, closed', async () => {
    // Prepare
    const sink = destination();
    const updates = foldAll(escalatingFindings());
    const last = updates[2]!.incident;
    const resolved = changeState(last, 'resolved', 'carol', last.updated_at + 60_000)!;
    // Act: each update delivered as the alerter would, one at a time.
    const results = [];
    for (const update of [...updates, resolved]) results.push(await sink.deliver([update]));
    // Assess
    expect(results.map((r) => r.failed)).toEqual([[], [], [], []]);
    expect(results.flatMap((r) => r.delivered)).toEqual(
      [1, 2, 3, 4].map((revision) => ({ key: last.key, revision })),
    );
    expect(bus.events).toHaveLength(4);
    for (const event of bus.events)
      expect(event).toMatchObject({
        EventBusName: BUS,
        Source: INCIDENT_EVENT_SOURCE,
        DetailType: INCIDENT_DETAIL_TYPE,
        Resources: [],
      });
    const details = bus.events.map(detailOf);
    expect(new Set(details.map((d) => d.finding_info.uid))).toEqual(new Set([last.key]));
    expect(details.map((d) => d.activity_name)).toEqual(['Create', 'Update', 'Update', 'Close']);
    expect(details.map((d) => d.severity)).toEqual(['Low', 'High', 'Critical', 'Critical']);
    expect(details.map((d) => d.status)).toEqual(['New', 'New', 'New', 'Resolved']);
    expect(details.map((d) => d.finding_info.related_events.length)).toEqual([1, 2, 3, 3]);
    expect(details[0]!.metadata.product).toEqual({
      name: 'Trailhound',
      vendor_name: 'Trailhound',
      version: TRAILHOUND_VERSION,
    });
    // The event's time is the update's.
    expect(bus.events.map((e) => e.Time.getTime())).toEqual(
      [...updates.map((u) => u.incident.updated_at), resolved.incident.updated_at].map(
        (ms) => Math.floor(ms / 1000) * 1000,
      ),
    );
  });

  it('sends every update of one delivery as its own event, one request, results in order', async () => {
    const sink = destination();
    const updates = foldAll(escalatingFindings());

    const result = await sink.deliver(updates);

    expect(result).toEqual({
      delivered: updates.map((u) => ({ key: u.incident.key, revision: u.incident.revision })),
      failed: [],
    });
    expect(bus.calls).toHaveLength(1);
    expect(bus.events.map((e) => detailOf(e).activity_name)).toEqual(['Create', 'Update', 'Update']);
  });

  it('sends again, with jittered backoff, only the entries that failed for a passing reason', async () => {
    // Prepare: the first update is throttled once, the second refused for good (folded later than in
    // the other tests, so the server sees entries it has not seen before).
    const sink = destination();
    const updates = foldAll(escalatingFindings(), T0 + 7_200_000);
    bus.failEntries((entry, attempt) => {
      const { revision } = (
        JSON.parse(entry.Detail ?? '{}') as { unmapped: { trailhound: { revision: number } } }
      ).unmapped.trailhound;
      if (revision === 1 && attempt === 0) return 'ThrottlingException';
      if (revision === 2) return 'AccessDeniedException';
      return undefined;
    });
    // Act
    const result = await sink.deliver(updates);
    // Assess
    const key = updates[0]!.incident.key;
    expect(result.delivered).toEqual([
      { key, revision: 1 },
      { key, revision: 3 },
    ]);
    expect(result.failed).toEqual([
      {
        key,
        revision: 2,
        error: expect.stringMatching(/^AccessDeniedException: /),
        retryable: false,
      },
    ]);
    // The first request had all three; the retry only the throttled one; the refused one never again.
    expect(bus.calls.map((c) => [c.entries.length, c.failedEntryCount])).toEqual([
      [3, 2],
      [1, 0],
    ]);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(sink.stats).toMatchObject({ requests: 2, published: 2, entryRetries: 1 });
  });

  it('reports an entry still failing after its retries as retryable, for the dead-letter queue', async () => {
    const sink = destination({ retry: { retries: 2 } });
    const [update] = manyIncidents(1);
    bus.failEntries(() => 'InternalFailure');

    const result = await sink.deliver([update!]);

    expect(result.delivered).toEqual([]);
    expect(result.failed).toEqual([
      expect.objectContaining({
        revision: 1,
        error: expect.stringMatching(/^InternalFailure/),
        retryable: true,
      }),
    ]);
    expect(bus.calls).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it('keeps each request within 10 entries and 256 KB, in order', async () => {
    // Prepare: 25 small incidents, then 9 of about 60 KB each (the explanation is in the event twice).
    const sink = destination();
    const small = manyIncidents(25);
    const large = manyIncidents(9, `${'alice did something long. '.repeat(1_150)}`);
    // Act
    const results = [await sink.deliver(small), await sink.deliver(large)];
    // Assess
    expect(results.map((r) => [r.delivered.length, r.failed.length])).toEqual([
      [25, 0],
      [9, 0],
    ]);
    const counts = bus.calls.map((c) => c.entries.length);
    expect(counts.slice(0, 3)).toEqual([10, 10, 5]);
    // About 60 KB each: four fit in a request, a fifth would not.
    expect(counts.slice(3)).toEqual([4, 4, 1]);
    for (const call of bus.calls) {
      expect(call.status).toBe(200);
      expect(call.entries.reduce((total, e) => total + entrySize(e), 0)).toBeLessThanOrEqual(
        MAX_REQUEST_BYTES,
      );
    }
    expect(bus.events.map((e) => detailOf(e).finding_info.uid)).toEqual(
      [...small, ...large].map((u) => u.incident.key),
    );
  });

  it('shrinks an incident too big for one event: its related findings kept, their sentences dropped', async () => {
    // Prepare: a timeline of 12 findings of 30 KB sentences each (about 720 KB of text in the event).
    const sink = destination();
    const findings = Array.from({ length: 12 }, (_, i) =>
      makeAlertFinding({
        first_seen: T0 + i * 60_000,
        rule: { uid: `aws.discovery.rule-${i}`, name: `Rule ${i}` },
        explanation: `step ${i}: ${'x'.repeat(30_000)}`,
      }),
    );
    const updates = foldAll(findings);
    const last = updates.at(-1)!;
    // Act
    const result = await sink.deliver([last]);
    // Assess
    expect(result.failed).toEqual([]);
    expect(sink.stats.shrunk).toBe(1);
    const detail = detailOf(bus.events[0]!);
    expect(detail.finding_info.related_events).toHaveLength(12);
    expect(detail.finding_info.related_events.every((e) => e.desc === undefined)).toBe(true);
    expect(entrySize(bus.calls[0]!.entries[0]!)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('fails the updates of a request the service refused, and still sends the other requests', async () => {
    // Prepare: the first request refused (403, not retried by the SDK), the next ones go through.
    const sink = destination();
    const updates = manyIncidents(12);
    bus.failNextRequests(1, 403, 'AccessDeniedException', 'not authorized to put events on this bus');
    // Act
    const result = await sink.deliver(updates);
    // Assess
    expect(result.failed).toHaveLength(10);
    expect(result.failed[0]).toEqual({
      key: updates[0]!.incident.key,
      revision: 1,
      error: expect.stringMatching(/^AccessDeniedException: HTTP 403: not authorized/),
      retryable: false,
    });
    expect(result.delivered.map((d) => d.key)).toEqual(updates.slice(10).map((u) => u.incident.key));
  });

  it('fails as retryable the updates of a request that kept failing with a 5xx', async () => {
    const sink = destination();
    const updates = manyIncidents(2);
    // The SDK client's two attempts both fail.
    bus.failNextRequests(2, 500, 'InternalException');

    const result = await sink.deliver(updates);

    expect(result.delivered).toEqual([]);
    expect(result.failed.map((f) => [f.revision, f.retryable])).toEqual([
      [1, true],
      [1, true],
    ]);
    expect(bus.events).toEqual([]);
  });
});

describe('an eventbridge destination in alerting.yml', () => {
  const parse = (destinations: string) =>
    parseAlertingConfig({ text: `destinations:\n${destinations}\n`, source: 'alerting.yml' });

  it('names its bus, in OCSF form by default, and is built with the host’s client', async () => {
    const config = parse(
      [
        '  - { name: incidents, kind: eventbridge, bus: trailhound-incidents }',
        '  - { name: lake, kind: eventbridge, bus: "arn:aws:events:eu-west-1:444455556666:event-bus/lake", format: ocsf }',
      ].join('\n'),
    );
    expect(config.destinations).toEqual([
      { name: 'incidents', kind: 'eventbridge', bus: 'trailhound-incidents', format: 'ocsf' },
      {
        name: 'lake',
        kind: 'eventbridge',
        bus: 'arn:aws:events:eu-west-1:444455556666:event-bus/lake',
        format: 'ocsf',
      },
    ]);
    const regions: (string | undefined)[] = [];
    const [incidents, lake] = buildDestinations(config.destinations, {
      secrets: { read: () => Promise.reject(new Error('no secret is read')) },
      eventBridge: (region) => {
        regions.push(region);
        return client;
      },
    });
    expect([incidents?.kind, lake?.name]).toEqual(['eventbridge', 'lake']);
    // A bus by ARN is called in its own region.
    expect(regions).toEqual([undefined, 'eu-west-1']);

    const result = await incidents!.deliver(foldAll(escalatingFindings()).slice(0, 1));
    expect(result.failed).toEqual([]);
    expect(bus.events[0]?.EventBusName).toBe('trailhound-incidents');
  });

  it('refuses a destination without a bus, with another format, or with a bus that is not one', () => {
    expect(() => parse('  - { name: a, kind: eventbridge }')).toThrow(/destinations\.0\.bus/);
    expect(() => parse('  - { name: a, kind: eventbridge, bus: b, format: asff }')).toThrow(
      /destinations\.0\.format/,
    );
    expect(() => parse('  - { name: a, kind: eventbridge, bus: "arn:aws:sns:eu-west-1:1:topic" }')).toThrow(
      /an event bus is a name/,
    );
    expect(() => parse('  - { name: a, kind: eventbridge, bus: b, secret: s }')).toThrow(/secret/);
  });

  it('cannot be built by a host without an EventBridge client', () => {
    const config = parse('  - { name: incidents, kind: eventbridge, bus: b }');
    expect(() =>
      buildDestinations(config.destinations, { secrets: { read: () => Promise.reject(new Error('no')) } }),
    ).toThrow(/destination incidents: EventBridge needs an AWS client/);
  });
});
