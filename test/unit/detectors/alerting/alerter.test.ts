/**
 * The alerter's own logic (suppression, incidents, routing, rate limits,
 * isolation of destinations, at-least-once delivery) on the real DynamoDB
 * incident store (dynalite in this process). The destinations here are
 * recording implementations of the port, so each test can make one fail on
 * purpose; the real Slack, PagerDuty and Security Hub senders are tested
 * against local servers of their APIs elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../../../adapters/dynamodb/incident-store.js';
import { type LocalDynamo, startLocalDynalite } from '../../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../../adapters/dynamodb/profile-store.js';
import { Alerter, handledRevisionRef } from '../../../../detectors/alerting/alerter.js';
import { parseAlertingConfig } from '../../../../detectors/alerting/config.js';
import {
  type DeadLetter,
  deadLetterOf,
  emptyRedriveSummary,
} from '../../../../detectors/alerting/dead-letter.js';
import type { IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import type {
  AlertDestination,
  DeadLetterSink,
  DeliveryResult,
  DestinationKind,
} from '../../../../detectors/alerting/ports.js';
import { HOUR, makeFinding, T0 } from '../../../helpers/findings.js';

class RecordingDestination implements AlertDestination {
  readonly received: IncidentUpdate[] = [];
  down = false;
  constructor(
    readonly name: string,
    readonly kind: DestinationKind = 'slack',
  ) {}
  async deliver(updates: readonly IncidentUpdate[]): Promise<DeliveryResult> {
    if (this.down)
      return {
        delivered: [],
        failed: updates.map((u) => ({
          key: u.incident.key,
          revision: u.incident.revision,
          error: 'HTTP 503',
          retryable: true,
        })),
      };
    this.received.push(...updates);
    return {
      delivered: updates.map((u) => ({
        key: u.incident.key,
        revision: u.incident.revision,
        refs: { [`${this.name}.thread`]: `thread-of-${u.incident.key}` },
      })),
      failed: [],
    };
  }
}

class CollectedDeadLetters implements DeadLetterSink {
  readonly letters: Array<{ destination: string; keys: string[]; reason: string }> = [];
  readonly kept: DeadLetter[] = [];
  async put(destination: string, updates: readonly IncidentUpdate[], reason: string): Promise<void> {
    this.letters.push({ destination, keys: updates.map((u) => u.incident.key), reason });
    for (const update of updates) this.kept.push(deadLetterOf(destination, update, reason, 0));
  }
}

const CONFIG = `
destinations:
  - { name: chat, kind: slack, secret: s }
  - { name: pager, kind: pagerduty, secret: p }
routes:
  - { destination: chat, min_severity: low, rate_limit: { max: 2, per: 1h } }
  - { destination: pager, min_severity: high }
`;
const SUPPRESSIONS = `
suppressions:
  - id: scanner
    match: { actor: 'arn:aws:iam::111122223333:role/scanner' }
    owner: secops@example.com
    reason: The vulnerability scanner enumerates everything hourly.
    expires: 2026-03-31
`;

let dynamo: LocalDynamo;
let table = 0;

beforeAll(async () => {
  dynamo = await startLocalDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

async function world(now = T0 + HOUR) {
  table += 1;
  const tableName = `alerts-${table}`;
  await createProfileTable(dynamo.client, tableName);
  const store = new DynamoIncidentStore({ client: dynamo.client, tableName });
  const chat = new RecordingDestination('chat');
  const pager = new RecordingDestination('pager', 'pagerduty');
  const deadLetters = new CollectedDeadLetters();
  const config = parseAlertingConfig({ text: CONFIG, source: 'a' }, { text: SUPPRESSIONS, source: 's' });
  const clock = { now };
  const alerter = new Alerter({
    store,
    rateLimiter: store,
    destinations: [chat, pager],
    deadLetters,
    routes: config.routes,
    suppressions: config.suppressions,
    clock: () => clock.now,
  });
  return { store, chat, pager, deadLetters, alerter, clock };
}

const recon = makeFinding({ severity: 'medium', tactic: 'Discovery' });
const persistence = makeFinding({
  finding_uid: 'f-persist',
  rule: { uid: 'aws.persistence.login-profile-created', name: 'Console password for another user' },
  severity: 'medium',
  tactic: 'Persistence',
  first_seen: T0 + 10 * 60_000,
});

describe('Alerter', () => {
  it('turns one actor’s findings into one incident that escalates, and pages only once it is high', async () => {
    const { alerter, chat, pager, store } = await world();
    const first = await alerter.handle([recon]);
    expect(first).toMatchObject({ incidentsOpened: 1, destinations: { chat: { delivered: 1 } } });
    expect(pager.received).toHaveLength(0);

    const second = await alerter.handle([persistence]);
    expect(second.incidentsUpdated).toBe(1);
    expect(chat.received.map((u) => u.change)).toEqual(['opened', 'escalated']);
    expect(pager.received.map((u) => [u.change, u.incident.severity])).toEqual([['escalated', 'high']]);
    const key = chat.received[0]?.incident.key as string;
    expect(chat.received[1]?.incident.key).toBe(key);
    // The second update carries the thread reference the first delivery returned.
    expect(chat.received[1]?.incident.refs['chat.thread']).toBe(`thread-of-${key}`);
    const stored = await store.get(key);
    expect(stored).toMatchObject({ revision: 2, severity: 'high', state: 'open' });
    expect(stored?.refs[handledRevisionRef('pager')]).toBe('2');
  });

  it('does nothing on a replayed batch: no incident change, no notification', async () => {
    const { alerter, chat, pager } = await world();
    await alerter.handle([recon, persistence]);
    const sent = chat.received.length + pager.received.length;
    const replay = await alerter.handle([recon, persistence]);
    expect(replay).toMatchObject({ unchanged: 2, incidentsOpened: 0, incidentsUpdated: 0 });
    expect(chat.received.length + pager.received.length).toBe(sent);
  });

  it('keeps going when one destination is down: the other receives, the failed update is dead-lettered once', async () => {
    const { alerter, chat, pager, deadLetters } = await world();
    pager.down = true;
    const summary = await alerter.handle([{ ...recon, severity: 'high' }]);
    expect(summary.destinations).toMatchObject({ chat: { delivered: 1 }, pager: { failed: 1 } });
    expect(chat.received).toHaveLength(1);
    expect(deadLetters.letters).toEqual([
      { destination: 'pager', keys: [chat.received[0]?.incident.key], reason: 'HTTP 503' },
    ]);
    // Replaying the batch does not dead-letter it again: the letter is the way back.
    await alerter.handle([{ ...recon, severity: 'high' }]);
    expect(deadLetters.letters).toHaveLength(1);
  });

  it('re-sends an update a destination never handled when the batch is replayed (the run died before sending)', async () => {
    const { alerter, chat, store, clock } = await world();
    await alerter.handle([recon]);
    const incident = await store.latest('AWS|111122223333|actor|arn:aws:iam::111122223333:user/mallory');
    // Simulate a crash after the store write of revision 2 and before any delivery.
    const grown = { ...recon, count: 5, last_seen: T0 + 60_000 };
    const { foldFinding } = await import('../../../../detectors/alerting/incident.js');
    const next = foldFinding(incident, grown, clock.now);
    expect(await store.put(next.incident, 1)).toBe(true);
    await alerter.handle([grown]);
    expect(chat.received.map((u) => [u.change, u.incident.revision])).toEqual([
      ['opened', 1],
      ['updated', 2],
    ]);
  });

  it('stores and counts suppressed findings instead of alerting, and alerts again once the suppression expired', async () => {
    const { alerter, chat, store, clock } = await world(Date.parse('2026-03-10T00:00:00Z'));
    const scanner = makeFinding({
      actor: { principal: 'arn:aws:iam::111122223333:role/scanner', type: 'AssumedRole' },
    });
    const summary = await alerter.handle([scanner]);
    expect(summary).toMatchObject({ suppressed: 1, bySuppression: { scanner: 1 }, incidentsOpened: 0 });
    expect(chat.received).toHaveLength(0);
    expect((await store.suppressedBy('scanner')).map((f) => f.finding_uid)).toEqual([scanner.finding_uid]);

    clock.now = Date.parse('2026-04-01T00:00:00Z');
    const after = await alerter.handle([{ ...scanner, finding_uid: 'f-later' }]);
    expect(after).toMatchObject({ suppressed: 0, incidentsOpened: 1, expiredSuppressions: ['scanner'] });
    expect(chat.received).toHaveLength(1);
  });

  it('rate-limits a noisy rule per destination, counting what it held back', async () => {
    const { alerter, chat } = await world();
    const noisy = [1, 2, 3, 4].map((i) =>
      makeFinding({
        finding_uid: `f-noisy-${i}`,
        severity: 'low',
        actor: { principal: `arn:aws:iam::111122223333:user/dev${i}`, type: 'IAMUser' },
      }),
    );
    const summary = await alerter.handle(noisy);
    expect(summary.incidentsOpened).toBe(4);
    expect(summary.destinations.chat).toEqual({ delivered: 2, failed: 0, rateLimited: 2 });
    expect(chat.received).toHaveLength(2);
  });

  it('tells destinations that saw the incident when it is acknowledged and resolved, and resolves quiet ones', async () => {
    const { alerter, chat, pager, clock } = await world();
    await alerter.handle([{ ...recon, severity: 'high' }]);
    const key = chat.received[0]?.incident.key as string;
    await alerter.setState(key, 'acknowledged', 'alice@example.com');
    expect(pager.received.map((u) => u.change)).toEqual(['opened', 'acknowledged']);
    clock.now += 4 * 24 * HOUR;
    const quiet = await alerter.resolveQuiet(3 * 24 * HOUR);
    expect(quiet.incidentsUpdated).toBe(1);
    expect(pager.received.map((u) => u.change)).toEqual(['opened', 'acknowledged', 'resolved']);
    expect(pager.received.at(-1)?.incident.state_changed_by).toBe('trailhound (quiet)');
    // A low incident that never reached the pager does not send it a resolve.
    await alerter.handle([
      makeFinding({ finding_uid: 'f-low', severity: 'low', actor: { principal: 'bob', type: 'IAMUser' } }),
    ]);
    clock.now += 4 * 24 * HOUR;
    await alerter.resolveQuiet(3 * 24 * HOUR);
    expect(pager.received.filter((u) => u.change === 'resolved')).toHaveLength(1);
  });

  it('re-drives a letter as the incident is now: an `opened` page of an incident resolved meanwhile closes it', async () => {
    const { alerter, pager, deadLetters } = await world();
    pager.down = true;
    await alerter.handle([{ ...recon, severity: 'high' }]);
    const key = deadLetters.kept[0]?.update.incident.key as string;
    await alerter.setState(key, 'resolved', 'alice@example.com');
    expect(deadLetters.kept.map((l) => l.update.change)).toEqual(['opened', 'resolved']);
    pager.down = false;
    const destinations = new Map([[pager.name, pager as AlertDestination]]);
    // The letters come back one at a time, oldest first (as a queue may hand them).
    const first = await alerter.redeliver(
      [deadLetters.kept[0] as DeadLetter],
      destinations,
      emptyRedriveSummary(),
    );
    expect(first.map((o) => o.status)).toEqual(['delivered']);
    expect(pager.received.map((u) => [u.change, u.incident.state])).toEqual([['resolved', 'resolved']]);
    // The `resolved` letter is now superseded: dropped without sending anything again.
    const second = await alerter.redeliver(
      [deadLetters.kept[1] as DeadLetter],
      destinations,
      emptyRedriveSummary(),
    );
    expect(second.map((o) => o.status)).toEqual(['delivered']);
    expect(pager.received).toHaveLength(1);
  });
});
