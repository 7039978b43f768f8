/**
 * The PagerDuty destination with its real HTTP sender against a local server
 * speaking the Events API v2 and keeping alert state per dedup key.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PagerDutyConfigError,
  PagerDutyDestination,
} from '../../../../adapters/pagerduty/pagerduty-destination.js';
import type { DeliveryResult } from '../../../../detectors/alerting/ports.js';
import { type FakePagerDuty, startFakePagerDuty } from '../../../helpers/fake-pagerduty-server.js';
import { HOUR, makeFinding, T0, virtualTime } from '../../../helpers/findings.js';
import { foldAll, stateUpdate } from '../../../helpers/incident-story.js';

let pagerduty: FakePagerDuty;

beforeAll(async () => {
  pagerduty = await startFakePagerDuty();
});
afterAll(async () => {
  await pagerduty.close();
});
beforeEach(() => {
  pagerduty.requests.length = 0;
  pagerduty.alerts.length = 0;
  pagerduty.clearFailures();
});

function destination(
  time = virtualTime(),
  routingKey: () => Promise<string> = async () => pagerduty.routingKey,
  budgetMs = 60_000,
) {
  return new PagerDutyDestination({
    credentials: async () => ({ routingKey: await routingKey() }),
    baseUrl: pagerduty.endpoint,
    format: { runbookBaseUrl: 'https://runbooks.example.com/trailhound' },
    http: {
      sleep: time.sleep,
      clock: time.clock,
      budgetMs,
      retry: { retries: 30, baseMs: 500, maxMs: 4_000 },
    },
  });
}

function story(principal = 'arn:aws:iam::111122223333:user/mallory') {
  const actor = { principal, type: 'IAMUser' };
  const [opened, updated, escalated] = foldAll([
    makeFinding({ actor }),
    makeFinding({ actor, finding_uid: 'f-2', first_seen: T0 + HOUR, last_seen: T0 + HOUR }),
    makeFinding({
      actor,
      finding_uid: 'f-3',
      severity: 'high',
      tactic: 'Persistence',
      first_seen: T0 + 2 * HOUR,
    }),
  ]);
  const acknowledged = stateUpdate(escalated!.incident, 'acknowledged');
  const resolved = stateUpdate(acknowledged.incident, 'resolved');
  return { opened: opened!, updated: updated!, escalated: escalated!, acknowledged, resolved };
}

const exposed = (result: DeliveryResult | undefined, error?: unknown) =>
  JSON.stringify(result) + String(error) + String((error as Error | undefined)?.stack);

describe('PagerDutyDestination', () => {
  it('trigger, trigger again, acknowledge, resolve: one alert through its life', async () => {
    // Prepare
    const s = story();
    const sender = destination();

    // Act: across deliveries, as a host would send them.
    const first = await sender.deliver([s.opened, s.updated]);
    const second = await sender.deliver([s.escalated, s.acknowledged]);
    const third = await sender.deliver([s.resolved]);

    // Assess
    for (const result of [first, second, third]) expect(result.failed).toEqual([]);
    expect(pagerduty.alerts).toHaveLength(1);
    const alert = pagerduty.alert(s.opened.incident.key)!;
    expect(alert.state).toBe('resolved');
    expect(alert.events.map((e) => e.event_action)).toEqual([
      'trigger',
      'trigger',
      'trigger',
      'acknowledge',
      'resolve',
    ]);
    expect(pagerduty.requests.every((r) => r.status === 202)).toBe(true);
    expect(alert.severity).toBe('warning');
    expect((alert.events[2]?.payload as { severity: string } | undefined)?.severity).toBe('critical');
    expect(sender.stats).toEqual({ events: 5, triggers: 3, acknowledges: 1, resolves: 1 });
  });

  it('sends a batch in revision order, whatever order it came in', async () => {
    const s = story();

    await destination().deliver([s.resolved, s.opened, s.acknowledged]);

    expect(pagerduty.requests.map((r) => (r.body as { event_action: string }).event_action)).toEqual([
      'trigger',
      'acknowledge',
      'resolve',
    ]);
    expect(pagerduty.alert(s.opened.incident.key)?.state).toBe('resolved');
  });

  it('honours Retry-After on 429, measured through the injected sleep', async () => {
    const time = virtualTime();
    pagerduty.failNext(2, 429, '2');

    const result = await destination(time).deliver([story().opened]);

    expect(result.failed).toEqual([]);
    expect(time.sleeps).toEqual([2000, 2000]);
    expect(pagerduty.requests.map((r) => r.status)).toEqual([429, 429, 202]);
  });

  it('rides out a 5xx storm, then delivers', async () => {
    const time = virtualTime();
    pagerduty.failNext(5, 500);

    const result = await destination(time).deliver([story().opened]);

    expect(result.delivered).toHaveLength(1);
    expect(pagerduty.requests.map((r) => r.status)).toEqual([500, 500, 500, 500, 500, 202]);
    expect(time.sleeps).toHaveLength(5);
  });

  it('a 5xx storm beyond the budget: failed, retryable; the rest of the delivery not attempted (an outage)', async () => {
    const time = virtualTime();
    pagerduty.failNext(1000, 503);
    const s = story();
    const other = story('arn:aws:iam::111122223333:user/trent');

    const result = await destination(time, undefined, 15_000).deliver([
      s.opened,
      s.acknowledged,
      other.opened,
    ]);

    expect(result.delivered).toEqual([]);
    expect(result.failed.map((f) => [f.key === s.opened.incident.key, f.retryable])).toEqual([
      [true, true],
      [true, true],
      [false, true],
    ]);
    expect(result.failed[0]?.error).toMatch(/HTTP 503.*budget/);
    expect(result.failed[1]?.error).toContain('not attempted: the destination was failing');
    expect(result.failed[2]?.error).toContain('not attempted: the destination was failing');
    // Only the first trigger was tried (with its retries): the budget is spent once, not per update.
    const tried = new Set(
      pagerduty.requests.map((r) => JSON.stringify((r.body as { dedup_key: string }).dedup_key)),
    );
    expect(tried).toEqual(new Set([JSON.stringify(s.opened.incident.key)]));
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(15_000);
  });

  it('400 invalid event: not retried, not retryable', async () => {
    const time = virtualTime();
    pagerduty.failNext(1, 400);

    const result = await destination(time).deliver([story().opened]);

    expect(result.failed).toEqual([expect.objectContaining({ retryable: false })]);
    expect(result.failed[0]?.error).toContain('HTTP 400');
    expect(pagerduty.requests).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('the routing key appears in no result and no error (refused, out of budget, bad key, unreachable)', async () => {
    const key = pagerduty.routingKey;
    const results: DeliveryResult[] = [];
    pagerduty.failNext(1, 400);
    results.push(await destination().deliver([story().opened]));
    pagerduty.failNext(1000, 500);
    results.push(await destination(virtualTime(), undefined, 5_000).deliver([story().opened]));
    pagerduty.clearFailures();
    const badKey = 'short-but-SECRET-key';
    const thrown = await destination(virtualTime(), async () => badKey)
      .deliver([story().opened])
      .catch((e: unknown) => e);
    const unreachable = await new PagerDutyDestination({
      credentials: async () => ({ routingKey: key }),
      baseUrl: 'http://127.0.0.1:1',
      http: { ...virtualTime(), retry: { retries: 1 } },
    }).deliver([story().opened]);

    expect(thrown).toBeInstanceOf(PagerDutyConfigError);
    for (const text of [...results, unreachable].map((r) => exposed(r)).concat(exposed(undefined, thrown))) {
      expect(text).not.toContain(key);
      expect(text).not.toContain('SECRET');
    }
    expect(unreachable.failed[0]).toMatchObject({ retryable: true });
  });

  it('uses the routing key of each delivery (rotation)', async () => {
    const keys = ['A'.repeat(32), 'B'.repeat(32)];
    let index = 0;
    const sender = destination(virtualTime(), async () => keys[index]!);
    const s = story();

    await sender.deliver([s.opened]);
    index = 1;
    await sender.deliver([s.acknowledged]);

    expect(pagerduty.requests.map((r) => (r.body as { routing_key: string }).routing_key)).toEqual(keys);
  });

  it('credentials that cannot be fetched fail the batch as retryable', async () => {
    const sender = destination(virtualTime(), async () => {
      throw new Error('AccessDenied');
    });

    const result = await sender.deliver([story().opened]);

    expect(result.failed).toEqual([expect.objectContaining({ retryable: true })]);
    expect(pagerduty.requests).toHaveLength(0);
  });

  it('recorded updates are delivered without a request', async () => {
    const s = story();
    const [recorded] = foldAll(
      [makeFinding({ finding_uid: s.opened.finding!.finding_uid, count: 5, last_seen: T0 + 3 * HOUR })],
      s.resolved.incident,
    );

    const result = await destination().deliver([recorded!]);

    expect(recorded?.change).toBe('recorded');
    expect(result.delivered).toHaveLength(1);
    expect(pagerduty.requests).toHaveLength(0);
  });
});
