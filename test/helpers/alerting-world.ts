/**
 * Everything the alerting path talks to, on this machine, for end-to-end
 * tests of the real senders and the real alert functions: Secrets Manager
 * (holding the Slack bot token, a Slack webhook URL and the PagerDuty routing
 * key), Slack, PagerDuty, Security Hub and SQS as local protocol servers,
 * and the profile table on dynalite, with real SDK clients pointed at them.
 *
 * The functions check that `DEAD_LETTER_QUEUE_URL` is a real (https) SQS
 * URL, so the queue is named by its public-style URL ({@link AlertingWorld.queueUrl})
 * and the SQS client given to the code maps that URL to the local queue's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { DynamoIncidentStore } from '../../adapters/dynamodb/incident-store.js';
import { type LocalDynamo, startLocalDynalite } from '../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../adapters/dynamodb/profile-store.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { sqsEvent, sqsRecord } from './aws-events.js';
import { type FakeAws, startFakeAws } from './fake-aws-server.js';
import { type FakePagerDuty, startFakePagerDuty } from './fake-pagerduty-server.js';
import { type FakeSecurityHub, startFakeSecurityHub } from './fake-securityhub-server.js';
import { type FakeSlack, startFakeSlack } from './fake-slack-server.js';
import { type FakeQueue, type FakeSqs, startFakeSqs } from './fake-sqs-server.js';
import type { FunctionSetup } from './lambda.js';
import { fastRetryStrategy } from './throttling-proxy.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const TABLE = 'trailhound-profiles';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:trailhound`;
export const SLACK_SECRET = `${SECRET_ARN}/slack-soc-Ab12Cd`;
export const SLACK_WEBHOOK_SECRET = `${SECRET_ARN}/slack-audit-Ef34Gh`;
export const PAGERDUTY_SECRET = `${SECRET_ARN}/pagerduty-Ij56Kl`;
/** The credentials every test SDK client signs with (the local servers want a SigV4 header). */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDALERTINGTEST', secretAccessKey: 'alerting-test' };
const QUEUE_NAME = 'trailhound-alert-dead-letters';
/** The queue the findings bus delivers finding events to, for the alert dispatcher. */
export const FINDINGS_QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:trailhound-alert-findings`;

export interface AlertingWorld {
  readonly aws: FakeAws;
  readonly slack: FakeSlack;
  readonly pagerDuty: FakePagerDuty;
  readonly securityHub: FakeSecurityHub;
  readonly sqs: FakeSqs;
  /** The local dead-letter queue. */
  readonly queue: FakeQueue;
  /** Its public-style URL, as a deployment names it (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
  readonly queueUrl: string;
  readonly dynamo: LocalDynamo;
  /** The incident store on the profile table, to look at what the code under test stored. */
  readonly store: DynamoIncidentStore;
  readonly clients: {
    readonly secretsManager: SecretsManagerClient;
    readonly securityHub: SecurityHubClient;
    readonly sqs: SQSClient;
  };
  /** The secret values that must never reach a log line, an error or a dead letter. */
  readonly secretValues: readonly string[];
  close(): Promise<void>;
}

export async function startAlertingWorld(): Promise<AlertingWorld> {
  const [aws, slack, pagerDuty, securityHub, sqs, dynamo] = await Promise.all([
    startFakeAws(),
    startFakeSlack(),
    startFakePagerDuty(),
    startFakeSecurityHub({ accountId: ACCOUNT, region: REGION }),
    startFakeSqs(),
    startLocalDynalite(),
  ]);
  await createProfileTable(dynamo.client, TABLE);
  aws.putSecret(SLACK_SECRET, JSON.stringify({ bot_token: slack.botToken, channel: slack.channel }));
  aws.putSecret(SLACK_WEBHOOK_SECRET, JSON.stringify({ webhook_url: slack.webhookUrl }));
  aws.putSecret(PAGERDUTY_SECRET, JSON.stringify({ routing_key: pagerDuty.routingKey }));
  const queue = sqs.createQueue(QUEUE_NAME, { visibilityTimeoutSeconds: 30 });
  const queueUrl = `https://sqs.${REGION}.amazonaws.com/${queue.url.split('/').at(-2)}/${QUEUE_NAME}`;

  const common = { region: REGION, credentials: TEST_CREDENTIALS };
  const sqsClient = new SQSClient({ ...common, endpoint: sqs.endpoint, retryStrategy: fastRetryStrategy(2) });
  // The public URL the code is configured with names the local queue.
  sqsClient.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { QueueUrl?: string };
      return next(input.QueueUrl === queueUrl ? { ...args, input: { ...input, QueueUrl: queue.url } } : args);
    },
    { step: 'initialize', name: 'localDeadLetterQueueUrl' },
  );
  const clients = {
    secretsManager: new SecretsManagerClient({ ...common, endpoint: aws.endpoint }),
    securityHub: new SecurityHubClient({
      ...common,
      endpoint: securityHub.endpoint,
      // The destination's own retries are what the tests look at.
      retryStrategy: fastRetryStrategy(1),
    }),
    sqs: sqsClient,
  };
  return {
    aws,
    slack,
    pagerDuty,
    securityHub,
    sqs,
    queue,
    queueUrl,
    dynamo,
    store: new DynamoIncidentStore({ client: dynamo.client, tableName: TABLE }),
    clients,
    secretValues: [
      slack.botToken,
      slack.webhookUrl,
      new URL(slack.webhookUrl).pathname,
      pagerDuty.routingKey,
    ],
    async close() {
      clients.secretsManager.destroy();
      clients.securityHub.destroy();
      clients.sqs.destroy();
      await Promise.all([
        aws.close(),
        slack.close(),
        pagerDuty.close(),
        securityHub.close(),
        sqs.close(),
        dynamo.close(),
      ]);
    },
  };
}

/**
 * `alerting.yml` naming the world's secrets, as the sample configuration
 * routes: the SOC channel from medium up (rate-limited), pages from high,
 * every incident to Security Hub; with `webhook`, also an audit channel
 * (Slack incoming webhook) told of escalations to critical.
 */
export function alertingYaml(options: { webhook?: boolean; resolveAfter?: string } = {}): string {
  return `
grouping:
  window: 24h
  resolve_after: ${options.resolveAfter ?? '3d'}
runbook_base_url: https://runbooks.example.com/rules
destinations:
  - { name: slack-soc, kind: slack, secret: '${SLACK_SECRET}' }
  - { name: pagerduty, kind: pagerduty, secret: '${PAGERDUTY_SECRET}' }
  - { name: securityhub, kind: securityhub }
${options.webhook === true ? `  - { name: slack-audit, kind: slack, secret: '${SLACK_WEBHOOK_SECRET}' }\n` : ''}routes:
  - destination: slack-soc
    min_severity: medium
    rate_limit: { max: 20, per: 1h }
  - destination: pagerduty
    min_severity: high
    changes: [opened, escalated, acknowledged, resolved, reopened]
  - destination: securityhub
    min_severity: low
${options.webhook === true ? '  - { destination: slack-audit, min_severity: critical, changes: [escalated] }\n' : ''}`;
}

/** A governed suppression of `actor`'s discovery findings, expiring at the end of `expires` (YYYY-MM-DD). */
export function suppressionsYaml(id: string, actor: string, expires: string): string {
  return `
suppressions:
  - id: ${id}
    match: { rule: 'aws.discovery.*', actor: '${actor}' }
    owner: cloud-platform@example.com
    reason: The asset inventory job lists IAM users and roles every hour.
    ticket: SEC-1042
    expires: ${expires}
`;
}

/** A temporary `ALERTING_DIR` holding these files; removed by the returned function. */
export function alertingDir(files: { alerting: string; suppressions?: string }): {
  dir: string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'trailhound-alerting-'));
  writeFileSync(join(dir, 'alerting.yml'), files.alerting);
  if (files.suppressions !== undefined) writeFileSync(join(dir, 'suppressions.yml'), files.suppressions);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The environment and clients the alert functions (`alert-dispatch`,
 * `alert-housekeeping`) are loaded with against `world`, reading their
 * configuration from `alertingDir`.
 */
export function alertFunctionSetup(world: AlertingWorld, alertingDir: string): FunctionSetup {
  return {
    env: {
      PROFILE_TABLE_NAME: TABLE,
      ALERTING_DIR: alertingDir,
      DEAD_LETTER_QUEUE_URL: world.queueUrl,
      DEPLOYMENT_ACCOUNT_ID: ACCOUNT,
      AWS_REGION: REGION,
    },
    clients: {
      dynamodb: world.dynamo.client,
      secretsManager: world.clients.secretsManager,
      sqs: world.clients.sqs,
      securityHub: () => world.clients.securityHub,
    },
    outside: { slackApi: world.slack.apiBaseUrl, pagerDuty: world.pagerDuty.endpoint },
  };
}

/** Message bodies (e.g. {@link findingEvent}s) as one SQS batch from the findings queue. */
export function findingsBatch(bodies: readonly string[]): SQSEvent {
  return sqsEvent(bodies.map((body) => sqsRecord(body, FINDINGS_QUEUE_ARN)));
}

/** A finding as the findings bus delivers it to the alert queue: an EventBridge event. */
export function findingEvent(finding: Finding): string {
  return JSON.stringify({
    version: '0',
    id: `evt-${finding.finding_uid}-${finding.count}`,
    'detail-type': 'Trailhound Finding',
    source: 'trailhound',
    account: ACCOUNT,
    time: new Date(finding.time).toISOString(),
    region: REGION,
    resources: [],
    detail: finding,
  });
}
