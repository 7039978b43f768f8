/**
 * One actor's attack told end to end through the real alerting path: the
 * configuration parsed as a deployment reads it, the real senders built by
 * `buildDestinations` (Slack in bot-token mode plus an incoming webhook,
 * PagerDuty Events v2, Security Hub through the real SDK client), their
 * credentials read by the real `SecretJsonReader` from a local Secrets
 * Manager, incidents in `DynamoIncidentStore` on dynalite, dead letters in
 * SQS through the real SDK client, and local servers speaking each API.
 *
 * The tests of this file run in order and share one world and one clock:
 * each step is a later moment of the same story (issue #7, "What it must show").
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildDestinations } from '../../adapters/alerting/destinations.js';
import { SecretJsonReader } from '../../adapters/secrets/secrets-manager.js';
import { redriveDeadLetters, SqsDeadLetterQueue } from '../../adapters/sqs/dead-letter-queue.js';
import { Alerter, handledRevisionRef, sentRevisionRef } from '../../detectors/alerting/alerter.js';
import { type AlertingConfig, parseAlertingConfig } from '../../detectors/alerting/config.js';
import { parseDeadLetter } from '../../detectors/alerting/dead-letter.js';
import type { AlertDestination } from '../../detectors/alerting/ports.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { ACCOUNT, ALICE, makeAlertFinding, T0, user } from '../helpers/alert-findings.js';
import {
  type AlertingWorld,
  alertingYaml,
  REGION,
  startAlertingWorld,
  suppressionsYaml,
} from '../helpers/alerting-world.js';
import { type CapturedOutput, captureOutput } from '../helpers/captured-output.js';
import type { SlackPosted } from '../helpers/fake-slack-server.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const SCANNER = `arn:aws:iam::${ACCOUNT}:role/inventory-scanner`;
const SUPPRESSION = 'inventory-scanner-discovery';

let world: AlertingWorld;
let config: AlertingConfig;
let destinations: AlertDestination[];
let alerter: Alerter;
let output: CapturedOutput;
const consoleLines: string[] = [];
/** Everything the run produced that a person or a log could read: summaries, errors, dead letters. */
const produced: string[] = [];
/** The alerter's clock. */
let now = T0;
/** Waits the HTTP senders asked for; each advances their clock instead of sleeping. */
const waits: number[] = [];
let httpElapsed = 0;

beforeAll(async () => {
  output = captureOutput();
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(
        args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' '),
      );
    });
  world = await startAlertingWorld();
  config = parseAlertingConfig(
    { text: alertingYaml({ webhook: true }), source: 'alerting.yml' },
    { text: suppressionsYaml(SUPPRESSION, SCANNER, '2025-03-06'), source: 'suppressions.yml' },
  );
  destinations = buildDestinations(config.destinations, {
    secrets: new SecretJsonReader(world.clients.secretsManager),
    securityHub: (region) => ({
      client: world.clients.securityHub,
      region: region ?? REGION,
      accountId: ACCOUNT,
    }),
    runbookBaseUrl: config.runbookBaseUrl,
    endpoints: { slackApi: world.slack.apiBaseUrl, pagerDuty: world.pagerDuty.endpoint },
    // A small budget: 5 s of (simulated) waiting per request, waits of at most 2 s.
    http: {
      timeoutMs: 5_000,
      budgetMs: 5_000,
      retry: { retries: 8, baseMs: 10, maxMs: 2_000 },
      clock: () => Date.now() + httpElapsed,
      sleep: async (ms) => {
        waits.push(ms);
        httpElapsed += ms;
      },
    },
  });
  alerter = new Alerter({
    store: world.store,
    rateLimiter: world.store,
    destinations,
    deadLetters: new SqsDeadLetterQueue({
      client: world.clients.sqs,
      queueUrl: world.queueUrl,
      now: () => now,
    }),
    routes: config.routes,
    suppressions: config.suppressions,
    grouping: config.grouping,
    clock: () => now,
  });
});

afterAll(async () => {
  output.restore();
  vi.restoreAllMocks();
  await world?.close();
});

/** Runs findings through the alerter at `at`, keeping what it reports. */
async function handle(at: number, findings: Finding[]) {
  now = at;
  const summary = await alerter.handle(findings);
  produced.push(JSON.stringify(summary));
  return summary;
}

const apiMessages = () => world.slack.messages.filter((m) => m.via === 'api');
const parents = () => apiMessages().filter((m) => m.thread_ts === undefined);
const header = (message: { blocks: unknown[] }) =>
  (message.blocks[0] as { text?: { text?: string } } | undefined)?.text?.text ?? '';
const fpfSeverity = (version: Record<string, unknown>) =>
  (version.FindingProviderFields as { Severity: { Label: string } }).Severity.Label;

// The story: alice enumerates IAM, then gives herself a second way in, then more rights.
const recon = makeAlertFinding({ severity: 'medium', risk_score: 50 });
const persistence = makeAlertFinding({
  first_seen: T0 + 10 * MINUTE,
  rule: {
    uid: 'aws.persistence.access-key-created-for-other-user',
    name: 'Access key created for another user',
  },
  severity: 'medium',
  risk_score: 60,
  attack: [
    {
      tactic: 'Persistence',
      technique_id: 'T1098.001',
      technique_name: 'Account Manipulation: Additional Cloud Credentials',
    },
  ],
  resources: [{ uid: user('bob'), type: 'AWS::IAM::User' }],
  evidence: { event_uids: ['e-10'], operations: ['iam:CreateAccessKey'] },
  explanation: 'alice created an access key for bob.',
});
const privilegeEscalation = makeAlertFinding({
  first_seen: T0 + 20 * MINUTE,
  rule: { uid: 'aws.privilege-escalation.admin-policy-attached', name: 'Administrator policy attached' },
  severity: 'high',
  risk_score: 85,
  attack: [
    {
      tactic: 'Privilege Escalation',
      technique_id: 'T1098.003',
      technique_name: 'Account Manipulation: Additional Cloud Roles',
    },
  ],
  resources: [{ uid: user('alice'), type: 'AWS::IAM::User' }],
  evidence: { event_uids: ['e-20'], operations: ['iam:AttachUserPolicy'] },
  explanation: 'alice attached AdministratorAccess to herself.',
});

let key: string;
let parent: SlackPosted;

describe('an incident story through the real senders', () => {
  it('opens one incident at medium: a Slack parent and a Security Hub finding, no page', async () => {
    const summary = await handle(T0 + 5 * MINUTE, [recon]);

    expect(summary).toMatchObject({
      incidentsOpened: 1,
      destinations: { 'slack-soc': { delivered: 1, failed: 0 }, securityhub: { delivered: 1, failed: 0 } },
    });
    expect(summary.destinations.pagerduty).toBeUndefined();
    const [incident] = await world.store.listUnresolved();
    key = incident?.key as string;
    expect(incident).toMatchObject({ severity: 'medium', revision: 1, group: { value: ALICE } });
    expect(parents()).toHaveLength(1);
    parent = parents()[0] as SlackPosted;
    expect(header(parent)).toContain('[MEDIUM]');
    // The thread's ts came back from Slack and is kept on the incident for the next update.
    expect(incident?.refs).toMatchObject({
      'slack-soc.ts': parent.ts,
      'slack-soc.channel': world.slack.channel,
    });
    expect(world.pagerDuty.requests).toHaveLength(0);
    expect(world.securityHub.stored(key)?.finding).toMatchObject({ Id: key, RecordState: 'ACTIVE' });
  });

  it('escalates to high on persistence: a thread reply, the parent edited, the page triggered; Slack’s 429 honoured', async () => {
    world.slack.failNext(1, { kind: 'http', status: 429, retryAfter: '1' }, '/api/chat.postMessage');
    const summary = await handle(T0 + 15 * MINUTE, [persistence]);

    expect(summary.destinations).toMatchObject({
      'slack-soc': { delivered: 1, failed: 0 },
      pagerduty: { delivered: 1, failed: 0 },
      securityhub: { delivered: 1, failed: 0 },
    });
    // Slack said "wait 1 s": the sender waited exactly that, then sent the same reply again.
    expect(waits).toContain(1_000);
    const throttled = world.slack.requests.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(1);
    const retried = world.slack.requests[world.slack.requests.indexOf(throttled[0] as never) + 1];
    expect(retried).toMatchObject({ path: '/api/chat.postMessage', status: 200 });
    expect(retried?.body).toEqual(throttled[0]?.body);

    const replies = world.slack.replies(parent.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.reply_broadcast).toBe(true);
    expect(header(parent)).toContain('[HIGH]');
    expect(parent.edits).toHaveLength(1);

    const alert = world.pagerDuty.alert(key);
    expect(world.pagerDuty.alerts).toHaveLength(1);
    expect(alert).toMatchObject({ dedupKey: key, state: 'triggered', severity: 'error' });
    expect(alert?.summary).toMatch(/^Escalated: \[HIGH\]/);
  });

  it('escalates to critical on privilege escalation: still one thread, one alert, one finding', async () => {
    const summary = await handle(T0 + 25 * MINUTE, [privilegeEscalation]);

    expect(summary.destinations).toMatchObject({
      'slack-soc': { delivered: 1 },
      'slack-audit': { delivered: 1 },
      pagerduty: { delivered: 1 },
      securityhub: { delivered: 1 },
    });
    expect(parents()).toHaveLength(1);
    expect(world.slack.replies(parent.ts)).toHaveLength(2);
    expect(header(parent)).toContain('[CRITICAL]');
    // The audit channel's incoming webhook got the escalation as a message of its own.
    const audit = world.slack.messages.filter((m) => m.via === 'webhook');
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]?.blocks)).toContain('CRITICAL');

    expect(world.pagerDuty.alerts).toHaveLength(1);
    const events = world.pagerDuty.alert(key)?.events ?? [];
    expect(events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', key],
      ['trigger', key],
    ]);
    expect(events[1]?.payload).toMatchObject({ severity: 'critical' });

    expect(world.securityHub.findings.size).toBe(1);
    expect(world.securityHub.stored(key)?.versions.map(fpfSeverity)).toEqual(['MEDIUM', 'HIGH', 'CRITICAL']);
  });

  it('is acknowledged by a responder: the page acknowledged, the thread told, the parent marked', async () => {
    now = T0 + 40 * MINUTE;
    const summary = await alerter.setState(key, 'acknowledged', 'carol@example.com');
    produced.push(JSON.stringify(summary));

    expect(summary.destinations).toMatchObject({
      'slack-soc': { delivered: 1 },
      pagerduty: { delivered: 1 },
      securityhub: { delivered: 1 },
    });
    expect(world.pagerDuty.alert(key)?.state).toBe('acknowledged');
    expect(world.slack.replies(parent.ts)).toHaveLength(3);
    expect(header(parent)).toMatch(/\[CRITICAL\].*\(acknowledged\)/);
    expect(world.securityHub.stored(key)?.versions).toHaveLength(4);
  });

  it('resolves once quiet: the page resolved, the Security Hub finding archived in place', async () => {
    now = privilegeEscalation.last_seen + config.resolveAfterMs - MINUTE;
    expect((await alerter.resolveQuiet(config.resolveAfterMs)).incidentsUpdated).toBe(0);

    now = privilegeEscalation.last_seen + config.resolveAfterMs + MINUTE;
    const summary = await alerter.resolveQuiet(config.resolveAfterMs);
    produced.push(JSON.stringify(summary));

    expect(summary.incidentsUpdated).toBe(1);
    expect(await world.store.get(key)).toMatchObject({ state: 'resolved', revision: 5 });
    expect(world.pagerDuty.alerts).toHaveLength(1);
    expect(world.pagerDuty.alert(key)?.state).toBe('resolved');
    expect(world.pagerDuty.alert(key)?.events.map((e) => e.event_action)).toEqual([
      'trigger',
      'trigger',
      'acknowledge',
      'resolve',
    ]);
    // One thread: the parent and one reply per later update, the parent showing where it ended.
    expect(parents()).toHaveLength(1);
    expect(world.slack.replies(parent.ts)).toHaveLength(4);
    expect(apiMessages()).toHaveLength(5);
    expect(header(parent)).toMatch(/\[CRITICAL\].*\(resolved\)/);
    // One Security Hub finding, updated in place, severity rising, archived at the end.
    expect(world.securityHub.findings.size).toBe(1);
    const stored = world.securityHub.stored(key);
    expect(stored?.versions.map(fpfSeverity)).toEqual(['MEDIUM', 'HIGH', 'CRITICAL', 'CRITICAL', 'CRITICAL']);
    expect(stored?.versions.map((v) => v.Id)).toEqual(Array(5).fill(key));
    expect(stored?.finding.RecordState).toBe('ARCHIVED');
    expect(stored?.ignored).toBe(0);
    expect(world.queue.messages).toHaveLength(0);
  });

  const scannerFinding = makeAlertFinding({
    first_seen: Date.parse('2025-03-05T08:55:00Z'),
    actor: { principal: SCANNER, type: 'AssumedRole' },
    explanation: 'the inventory scanner listed every IAM user and role.',
  });

  it('keeps a finding a valid suppression matches: stored, counted, sent nowhere', async () => {
    const messages = world.slack.messages.length;
    const hubCalls = world.securityHub.calls.length;
    const summary = await handle(Date.parse('2025-03-05T09:00:00Z'), [scannerFinding]);

    expect(summary).toMatchObject({
      suppressed: 1,
      bySuppression: { [SUPPRESSION]: 1 },
      incidentsOpened: 0,
      expiredSuppressions: [],
      destinations: {},
    });
    expect((await world.store.suppressedBy(SUPPRESSION)).map((f) => f.finding_uid)).toEqual([
      scannerFinding.finding_uid,
    ]);
    expect(world.slack.messages).toHaveLength(messages);
    expect(world.securityHub.calls).toHaveLength(hubCalls);
  });

  it('sends the same finding once the suppression has expired, and reports the expiry', async () => {
    const summary = await handle(Date.parse('2025-03-07T09:00:00Z'), [
      { ...scannerFinding, count: 4, last_seen: scannerFinding.last_seen + DAY },
    ]);

    expect(summary).toMatchObject({
      suppressed: 0,
      incidentsOpened: 1,
      expiredSuppressions: [SUPPRESSION],
      destinations: { 'slack-soc': { delivered: 1 }, securityhub: { delivered: 1 } },
    });
    expect(parents()).toHaveLength(2);
    expect(header(parents()[1] as SlackPosted)).toContain('inventory-scanner');
  });

  it('retries the findings of a partly failed BatchImportFindings, alone', async () => {
    let throttledId: string | undefined;
    world.securityHub.failFindings((finding, attempt) => {
      throttledId ??= finding.Id as string;
      return finding.Id === throttledId && attempt === 0
        ? { code: 'ThrottlingException', message: 'Rate exceeded' }
        : undefined;
    });
    const calls = world.securityHub.calls.length;
    const summary = await handle(Date.parse('2025-03-07T10:00:00Z'), [
      makeAlertFinding({ first_seen: Date.parse('2025-03-07T09:50:00Z'), actor: { principal: user('bob') } }),
      makeAlertFinding({
        first_seen: Date.parse('2025-03-07T09:51:00Z'),
        actor: { principal: user('dave') },
      }),
    ]);
    world.securityHub.failFindings(undefined);

    expect(summary.destinations.securityhub).toEqual({ delivered: 2, failed: 0, rateLimited: 0 });
    const imports = world.securityHub.calls.slice(calls);
    expect(imports.map((c) => [c.findings.length, c.failed.map((f) => f.ErrorCode)])).toEqual([
      [2, ['ThrottlingException']],
      [1, []],
    ]);
    expect(imports[1]?.findings[0]?.Id).toBe(throttledId);
    expect(world.securityHub.get(throttledId as string)).toBeDefined();
    expect(world.queue.messages).toHaveLength(0);
  });

  const eveKeyRead = makeAlertFinding({
    first_seen: Date.parse('2025-03-08T08:50:00Z'),
    actor: { principal: user('eve') },
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
    evidence: { event_uids: ['e-30'], operations: ['secretsmanager:GetSecretValue'] },
    explanation: 'eve read 40 secrets in two minutes.',
  });
  const eveParameters = makeAlertFinding({
    first_seen: Date.parse('2025-03-08T09:10:00Z'),
    actor: { principal: user('eve') },
    rule: { uid: 'aws.credential-access.parameters-decrypted', name: 'SecureString parameters decrypted' },
    severity: 'medium',
    risk_score: 60,
    attack: [{ tactic: 'Credential Access', technique_id: 'T1552', technique_name: 'Unsecured Credentials' }],
    evidence: { event_uids: ['e-31'], operations: ['ssm:GetParameters'] },
    explanation: 'eve decrypted 12 SecureString parameters.',
  });
  let eveKey: string;

  it('keeps delivering to Slack and Security Hub while PagerDuty is down; the page waits in the dead-letter queue', async () => {
    world.pagerDuty.failNext(1_000, 503, '2');
    const requests = world.pagerDuty.requests.length;
    const summary = await handle(Date.parse('2025-03-08T09:00:00Z'), [eveKeyRead]);

    expect(summary.destinations).toMatchObject({
      'slack-soc': { delivered: 1, failed: 0 },
      securityhub: { delivered: 1, failed: 0 },
      pagerduty: { delivered: 0, failed: 1 },
    });
    // Retried after PagerDuty's Retry-After until the 5 s budget would be spent: three attempts.
    expect(world.pagerDuty.requests.slice(requests).map((r) => r.status)).toEqual([503, 503, 503]);
    expect(world.queue.messages).toHaveLength(1);
    const message = world.queue.messages[0];
    const letter = parseDeadLetter(message?.Body ?? '');
    eveKey = letter?.update.incident.key as string;
    expect(letter).toMatchObject({
      destination: 'pagerduty',
      update: { change: 'opened', incident: { revision: 1, severity: 'high' } },
    });
    expect(letter?.reason).toMatch(/HTTP 503.*budget is spent/);
    expect(message?.MessageAttributes).toMatchObject({
      destination: { StringValue: 'pagerduty' },
      incident_key: { StringValue: eveKey },
    });
    produced.push(message?.Body ?? '');
    expect((await world.store.get(eveKey))?.refs[handledRevisionRef('pagerduty')]).toBe('1');

    // The incident moves on while the page is still undelivered (an update PagerDuty is not sent).
    const update = await handle(Date.parse('2025-03-08T09:20:00Z'), [eveParameters]);
    expect(update.incidentsUpdated).toBe(1);
    expect(update.destinations.pagerduty).toBeUndefined();
    expect(await world.store.get(eveKey)).toMatchObject({ revision: 2, severity: 'high' });
  });

  it('re-drives the dead letter: left in the queue while PagerDuty is down, delivered up to date once it is back', async () => {
    const redriveOptions = {
      client: world.clients.sqs,
      queueUrl: world.queueUrl,
      destinations: new Map(destinations.map((d) => [d.name, d])),
      redeliver: alerter.redeliver,
    };
    now = Date.parse('2025-03-08T09:30:00Z');
    const stillDown = await redriveDeadLetters(redriveOptions);
    produced.push(JSON.stringify(stillDown));
    expect(stillDown).toMatchObject({ received: 1, delivered: 0, failed: 1 });
    expect(stillDown.failures[0]?.failure.error).toMatch(/HTTP 503/);
    expect(world.queue.messages).toHaveLength(1);
    expect(world.pagerDuty.alert(eveKey)).toBeUndefined();

    world.pagerDuty.clearFailures();
    world.sqs.advance(31_000); // the letter's visibility timeout passes
    now = Date.parse('2025-03-08T09:40:00Z');
    const recovered = await redriveDeadLetters(redriveOptions);
    produced.push(JSON.stringify(recovered));

    expect(recovered).toMatchObject({ received: 1, delivered: 1, failed: 0 });
    expect(world.queue.messages).toHaveLength(0);
    const alert = world.pagerDuty.alert(eveKey);
    expect(alert).toMatchObject({ dedupKey: eveKey, state: 'triggered', severity: 'error' });
    // Brought up to date: the page shows the incident as it is now (two rules), not the revision that failed.
    expect(alert?.summary).toContain('(+1 more rules)');
    expect((await world.store.get(eveKey))?.refs[sentRevisionRef('pagerduty')]).toBe('2');
    // A second redrive finds nothing left to send.
    expect(await redriveDeadLetters(redriveOptions)).toMatchObject({ received: 0 });
    expect(world.pagerDuty.alerts.filter((a) => a.dedupKey === eveKey)).toHaveLength(1);
  });

  it('never lets a secret into a log line, an error, a summary or a dead letter', () => {
    const everything = [...produced, ...consoleLines, ...output.records.map((r) => JSON.stringify(r))].join(
      '\n',
    );
    // The checks below must look at real errors, not at nothing.
    expect(everything).toMatch(/budget is spent/);
    for (const secret of world.secretValues) expect(everything).not.toContain(secret);
  });
});
