/**
 * Alerting's scheduled chores as Lambda runs them: the exported handler (the
 * whole middy stack) on an EventBridge Scheduler input, re-driving the
 * dead-letter queue (a local SQS server, through the real SDK client),
 * resolving quiet incidents and reporting expired suppressions. The dead
 * letter is made the way production makes it: the real dispatcher, while
 * PagerDuty is down.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sentRevisionRef } from '../../../detectors/alerting/alerter.js';
import type { Finding } from '../../../detectors/schema/finding.js';
import type { HousekeepingReport } from '../../../functions/alert-housekeeping.js';
import { ACCOUNT, makeAlertFinding, user } from '../../helpers/alert-findings.js';
import {
  type AlertingWorld,
  alertFunctionSetup,
  alertingDir,
  alertingYaml,
  findingEvent,
  findingsBatch,
  startAlertingWorld,
  suppressionsYaml,
} from '../../helpers/alerting-world.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import { lambdaContext, loadFunction, schedulerEvent } from '../../helpers/lambda.js';

type DispatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type HousekeepingHandler = (event: unknown, context: Context) => Promise<HousekeepingReport>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const EXPIRED = 'legacy-scanner-discovery';

let world: AlertingWorld;
let config: { dir: string; remove: () => void };
let dispatch: DispatchHandler;
let housekeeping: HousekeepingHandler;
let output: CapturedOutput;

beforeAll(async () => {
  output = captureOutput();
  world = await startAlertingWorld();
  config = alertingDir({
    // Quiet for an hour is quiet enough to resolve.
    alerting: alertingYaml({ resolveAfter: '1h' }),
    suppressions: suppressionsYaml(EXPIRED, `arn:aws:iam::${ACCOUNT}:role/legacy-scanner`, '2020-01-31'),
  });
  const setup = alertFunctionSetup(world, config.dir);
  dispatch = await loadFunction<DispatchHandler>('alert-dispatch', setup);
  housekeeping = await loadFunction<HousekeepingHandler>('alert-housekeeping', setup);
});

afterAll(async () => {
  output.restore();
  config?.remove();
  await world?.close();
});

beforeEach(() => output.clear());

const context = () => lambdaContext({ functionName: 'trailhound-alert-housekeeping' });

/** Two hours ago: quiet. */
const takeover: Finding = makeAlertFinding({
  first_seen: Date.now() - 2 * HOUR,
  actor: { principal: user('mallory') },
  rule: { uid: 'aws.persistence.login-profile-created', name: 'Console password for another user' },
  severity: 'high',
  risk_score: 75,
  attack: [{ tactic: 'Persistence', technique_id: 'T1098', technique_name: 'Account Manipulation' }],
});
/** Minutes ago: still active. */
const enumeration: Finding = makeAlertFinding({
  first_seen: Date.now() - 5 * MINUTE,
  actor: { principal: user('bob') },
  severity: 'medium',
});

describe('alert-housekeeping', () => {
  it('re-drives the dead letters, resolves quiet incidents and reports expired suppressions', async () => {
    // Prepare: the dispatcher delivers while PagerDuty answers 503 to every attempt; the page is dead-lettered.
    world.pagerDuty.failNext(6, 503, '0');
    await dispatch(
      findingsBatch([findingEvent(takeover), findingEvent(enumeration)]),
      lambdaContext({ functionName: 'trailhound-alert-dispatch' }),
    );
    world.pagerDuty.clearFailures();
    expect(world.queue.messages).toHaveLength(1);
    expect(world.pagerDuty.alerts).toHaveLength(0);
    const incidents = await world.store.listUnresolved();
    const quiet = incidents.find((i) => i.group.value === user('mallory'));
    const active = incidents.find((i) => i.group.value === user('bob'));
    expect(quiet).toBeDefined();
    expect(active).toBeDefined();
    output.clear();

    // Act
    const report = await housekeeping(schedulerEvent('trailhound-alert-housekeeping'), context());

    // Assess: the page went out (then resolved with its quiet incident), the queue is empty.
    expect(report).toEqual({
      redriven: 1,
      stillUndelivered: 0,
      resolved: 1,
      expiredSuppressions: [EXPIRED],
    });
    expect(world.queue.messages).toHaveLength(0);
    const alert = world.pagerDuty.alert(quiet?.key as string);
    expect(alert?.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
    expect(alert?.state).toBe('resolved');
    expect((await world.store.get(quiet?.key as string))?.refs[sentRevisionRef('pagerduty')]).toBe('2');

    expect(await world.store.get(quiet?.key as string)).toMatchObject({
      state: 'resolved',
      state_changed_by: 'trailhound (quiet)',
    });
    expect(await world.store.get(active?.key as string)).toMatchObject({ state: 'open' });
    expect(world.securityHub.get(quiet?.key as string)?.RecordState).toBe('ARCHIVED');
    expect(world.securityHub.get(active?.key as string)?.RecordState).toBe('ACTIVE');
    // The quiet incident's Slack thread is told it is over; the active one hears nothing.
    const parentOf = (value: string) =>
      world.slack.messages.find(
        (m) => m.thread_ts === undefined && m.text.includes(value.split('/').pop() ?? ''),
      );
    const quietParent = parentOf(user('mallory'));
    expect(quietParent).toBeDefined();
    expect(world.slack.replies(quietParent?.ts as string)).toHaveLength(1);
    expect(world.slack.replies(parentOf(user('bob'))?.ts as string)).toHaveLength(0);

    expect(output.logs('alerting housekeeping done')[0]).toMatchObject({ redriven: 1, resolved: 1 });
    expect(
      output.logs('suppressions past their expiry no longer apply; renew or remove them')[0],
    ).toMatchObject({ expiredSuppressions: [EXPIRED] });
    expect(output.metric('DeadLettersRedriven')).toBe(1);
    expect(output.metric('DeadLettersRemaining')).toBe(0);
    expect(output.metric('ExpiredSuppressions')).toBe(1);
  });

  it('has nothing left to do on its next run', async () => {
    const pages = world.pagerDuty.requests.length;
    const report = await housekeeping(schedulerEvent('trailhound-alert-housekeeping'), context());

    expect(report).toEqual({ redriven: 0, stillUndelivered: 0, resolved: 0, expiredSuppressions: [EXPIRED] });
    expect(world.pagerDuty.requests).toHaveLength(pages);
  });

  it('leaves a letter it cannot deliver in the queue and says so', async () => {
    // A letter for a destination this deployment no longer has.
    await world.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: world.queueUrl,
        MessageBody: JSON.stringify({
          version: 1,
          destination: 'opsgenie',
          reason: 'HTTP 503',
          dead_lettered_at: Date.now(),
          update: {
            change: 'opened',
            incident: {
              key: 'inc-retired-destination',
              revision: 1,
              group: { kind: 'actor', value: user('bob'), provider: 'AWS', account: ACCOUNT },
              state: 'open',
              severity: 'high',
              timeline: [],
            },
          },
        }),
      }),
    );

    const report = await housekeeping(schedulerEvent('trailhound-alert-housekeeping'), context());

    expect(report).toMatchObject({ redriven: 0, stillUndelivered: 1 });
    expect(world.queue.messages).toHaveLength(1);
    expect(output.metric('DeadLettersRemaining')).toBe(1);
  });
});
