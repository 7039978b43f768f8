/**
 * The alert dispatcher as Lambda runs it: the exported handler (the whole
 * middy stack) on SQS batches of `Trailhound Finding` events as the findings
 * bus delivers them, its configuration read from an `ALERTING_DIR`, its
 * credentials from a local Secrets Manager, Slack, PagerDuty, Security Hub
 * and the dead-letter queue as local servers, incidents in dynalite.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDeadLetter } from '../../../detectors/alerting/dead-letter.js';
import type { Finding } from '../../../detectors/schema/finding.js';
import { makeAlertFinding, user } from '../../helpers/alert-findings.js';
import {
  type AlertingWorld,
  alertFunctionSetup,
  alertingDir,
  alertingYaml,
  findingEvent,
  findingsBatch,
  startAlertingWorld,
} from '../../helpers/alerting-world.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import { lambdaContext, loadFunction } from '../../helpers/lambda.js';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const MINUTE = 60_000;

let world: AlertingWorld;
let config: { dir: string; remove: () => void };
let dispatch: Handler;
let output: CapturedOutput;

beforeAll(async () => {
  output = captureOutput();
  world = await startAlertingWorld();
  config = alertingDir({ alerting: alertingYaml() });
  dispatch = await loadFunction<Handler>('alert-dispatch', alertFunctionSetup(world, config.dir));
});

afterAll(async () => {
  output.restore();
  config?.remove();
  await world?.close();
});

beforeEach(() => output.clear());

const context = () => lambdaContext({ functionName: 'trailhound-alert-dispatch' });

/** A finding of `name` a few minutes ago (the dispatcher runs on the real clock). */
function findingOf(name: string, overrides: Parameters<typeof makeAlertFinding>[0] = {}): Finding {
  return makeAlertFinding({
    first_seen: Date.now() - 10 * MINUTE,
    actor: { principal: user(name) },
    ...overrides,
  });
}

const stolenKeys = findingOf('alice', {
  rule: { uid: 'aws.credential-access.secrets-bulk-read', name: 'Secrets read in bulk' },
  severity: 'high',
  risk_score: 80,
  attack: [
    {
      tactic: 'Credential Access',
      technique_id: 'T1555.006',
      technique_name: 'Cloud Secrets Management Stores',
    },
  ],
});
const enumeration = findingOf('bob', { severity: 'medium' });
const lowNoise = findingOf('carol', { severity: 'low', risk_score: 20 });
const notJson = '{"detail-type": "Trailhound Finding", "detail": {';
const notAFinding = JSON.stringify({
  version: '0',
  id: 'evt-broken',
  'detail-type': 'Trailhound Finding',
  source: 'trailhound',
  detail: { finding_uid: 'half-a-finding' },
});

describe('alert-dispatch', () => {
  const firstBatch = findingsBatch([
    findingEvent(stolenKeys),
    notJson,
    findingEvent(enumeration),
    findingEvent(lowNoise),
    notAFinding,
  ]);

  it('turns a batch of finding events into incidents and notifications; malformed messages are quarantined, not failed', async () => {
    const result = await dispatch(firstBatch, context());

    expect(result).toEqual({ batchItemFailures: [] });
    const incidents = await world.store.listUnresolved();
    expect(incidents.map((i) => [i.group.value, i.severity]).sort()).toEqual([
      [user('alice'), 'high'],
      [user('bob'), 'medium'],
      [user('carol'), 'low'],
    ]);
    const alice = incidents.find((i) => i.group.value === user('alice'));
    // Slack from medium up, PagerDuty from high, Security Hub everything.
    expect(world.slack.messages.map((m) => m.thread_ts)).toEqual([undefined, undefined]);
    expect(world.pagerDuty.alerts).toMatchObject([
      { dedupKey: alice?.key, state: 'triggered', severity: 'error' },
    ]);
    expect(world.securityHub.findings.size).toBe(3);
    expect(world.queue.messages).toHaveLength(0);

    const quarantined = output.logs('quarantined').map((r) => r.quarantine as Record<string, unknown>);
    expect(quarantined).toHaveLength(2);
    expect(quarantined).toEqual([
      expect.objectContaining({
        reason: 'not-a-finding',
        input: `sqs/${firstBatch.Records[1]?.messageId}`,
        detail: 'the message is not JSON',
      }),
      expect.objectContaining({
        reason: 'not-a-finding',
        input: `sqs/${firstBatch.Records[4]?.messageId}`,
        detail: expect.stringMatching(/^the detail is not a finding/),
      }),
    ]);
    expect(output.logs('findings dispatched')[0]).toMatchObject({
      messages: 5,
      findings: 3,
      incidentsOpened: 3,
      destinations: {
        'slack-soc': { delivered: 2, failed: 0 },
        pagerduty: { delivered: 1, failed: 0 },
        securityhub: { delivered: 3, failed: 0 },
      },
    });
    expect(output.metric('Quarantined')).toBe(2);
    expect(output.metric('IncidentsOpened')).toBe(3);
  });

  it('sends nothing twice when SQS delivers the same batch again', async () => {
    const sent = {
      slack: world.slack.requests.length,
      pagerDuty: world.pagerDuty.requests.length,
      securityHub: world.securityHub.calls.length,
    };
    const result = await dispatch(findingsBatch(firstBatch.Records.map((r) => r.body)), context());

    expect(result).toEqual({ batchItemFailures: [] });
    expect(world.slack.requests).toHaveLength(sent.slack);
    expect(world.pagerDuty.requests).toHaveLength(sent.pagerDuty);
    expect(world.securityHub.calls).toHaveLength(sent.securityHub);
    expect(await world.store.listUnresolved()).toHaveLength(3);
    expect(output.logs('findings dispatched')[0]).toMatchObject({
      findings: 3,
      unchanged: 3,
      incidentsOpened: 0,
      incidentsUpdated: 0,
    });
    expect(output.logs('quarantined')).toHaveLength(2);
  });

  it('does not fail the batch when PagerDuty is down: the others receive, the page is dead-lettered', async () => {
    // PagerDuty answers 503 to every attempt the sender makes (Retry-After 0: no waiting).
    world.pagerDuty.failNext(6, 503, '0');
    const takeover = findingOf('mallory', {
      rule: { uid: 'aws.persistence.login-profile-created', name: 'Console password for another user' },
      severity: 'high',
      risk_score: 75,
      attack: [{ tactic: 'Persistence', technique_id: 'T1098', technique_name: 'Account Manipulation' }],
    });
    const slackMessages = world.slack.messages.length;

    const result = await dispatch(findingsBatch([findingEvent(takeover)]), context());
    world.pagerDuty.clearFailures();

    expect(result).toEqual({ batchItemFailures: [] });
    expect(world.slack.messages).toHaveLength(slackMessages + 1);
    expect(world.securityHub.findings.size).toBe(4);
    expect(world.queue.messages).toHaveLength(1);
    const letter = parseDeadLetter(world.queue.messages[0]?.Body ?? '');
    expect(letter).toMatchObject({ destination: 'pagerduty', update: { change: 'opened' } });
    expect(letter?.update.incident.group.value).toBe(user('mallory'));
    expect(output.logs('findings dispatched')[0]).toMatchObject({
      destinations: { pagerduty: { delivered: 0, failed: 1 }, 'slack-soc': { delivered: 1 } },
    });
    const everything = [
      ...output.records.map((r) => JSON.stringify(r)),
      ...world.queue.messages.map((m) => m.Body),
    ].join('\n');
    expect(everything).toContain('HTTP 503');
    for (const secret of world.secretValues) expect(everything).not.toContain(secret);
  });
});
