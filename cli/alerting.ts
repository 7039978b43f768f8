/**
 * Alerting as the CLI hosts it: the configuration from a folder
 * (`alerting.yml`, `suppressions.yml`), incidents in dynalite (under
 * `<state>/profiles` beside the behavioural profiles, or in memory), dead
 * letters as NDJSON under `<state>/undelivered`, and the very destinations and
 * Alerter the deployed functions use. Credentials come from Secrets Manager
 * with the caller's AWS credentials, as in a deployment; nothing secret is
 * read from the command line or the configuration.
 *
 * Endpoints can be pointed elsewhere (a proxy, a local test server) with
 * environment variables: the AWS SDK's own `AWS_ENDPOINT_URL_SECRETS_MANAGER`,
 * `AWS_ENDPOINT_URL_SECURITYHUB` and `AWS_ENDPOINT_URL_EVENTBRIDGE`, and `TRAILHOUND_SLACK_API_URL` and
 * `TRAILHOUND_PAGERDUTY_URL` for the two HTTP APIs.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { buildDestinations } from '../adapters/alerting/destinations.js';
import { DynamoIncidentStore } from '../adapters/dynamodb/incident-store.js';
import { readAlertingConfigDir } from '../adapters/fs/alerting-config.js';
import { FileDeadLetters } from '../adapters/fs/file-dead-letters.js';
import { SecretJsonReader } from '../adapters/secrets/secrets-manager.js';
import { SqsDeadLetterQueue } from '../adapters/sqs/dead-letter-queue.js';
import { Alerter } from '../detectors/alerting/alerter.js';
import type { AlertingConfig } from '../detectors/alerting/config.js';
import type { AlertDestination } from '../detectors/alerting/ports.js';
import { type LocalTable, openLocalTable } from './commands/baseline.js';
import { UsageError } from './errors.js';

export interface LocalAlerting {
  readonly config: AlertingConfig;
  readonly store: DynamoIncidentStore;
  readonly destinations: readonly AlertDestination[];
  readonly alerter: Alerter;
  /** Where undeliverable updates are kept. */
  readonly deadLetterDir: string;
  close(): Promise<void>;
}

export interface LocalAlertingOptions {
  /** The folder of `alerting.yml` and `suppressions.yml`. */
  readonly alertingDir: string;
  /** `--state DIR`: incidents persist in `DIR/profiles`; in memory without it. */
  readonly stateDir?: string | undefined;
  /** An incident store already opened on dynalite (the scan's baselines), to share its lock. */
  readonly store?: DynamoIncidentStore;
  /**
   * A deployment's table (`--table`): incidents are read and changed there, with
   * the caller's AWS credentials, instead of in a local state folder.
   */
  readonly table?: string | undefined;
  /** With `table`: the deployment's dead-letter queue, for updates a destination cannot take now. */
  readonly deadLetterQueueUrl?: string | undefined;
  /** Build destinations (false for commands that only read incidents). Default true. */
  readonly withDestinations?: boolean;
}

function environment(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export async function openLocalAlerting(options: LocalAlertingOptions): Promise<LocalAlerting> {
  let config: AlertingConfig;
  try {
    config = readAlertingConfigDir(options.alertingDir);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const deployed =
    options.table !== undefined ? { client: new DynamoDBClient({}), tableName: options.table } : undefined;
  const opened =
    options.store === undefined && deployed === undefined
      ? await openLocalTable(options.stateDir)
      : undefined;
  const store =
    options.store ??
    new DynamoIncidentStore(
      deployed ?? { client: (opened as LocalTable).client, tableName: (opened as LocalTable).tableName },
    );
  const deadLetterDir =
    options.stateDir !== undefined
      ? join(options.stateDir, 'undelivered')
      : await mkdtemp(join(tmpdir(), 'trailhound-undelivered-'));
  const sending = options.withDestinations !== false;
  const needsAccount = sending && config.destinations.some((d) => d.kind === 'securityhub');
  const accountId = needsAccount
    ? (environment('TRAILHOUND_ACCOUNT_ID') ?? (await callerAccount()))
    : undefined;
  const destinations = !sending
    ? []
    : buildDestinations(config.destinations, {
        secrets: new SecretJsonReader(new SecretsManagerClient({})),
        securityHub: securityHubFor(accountId),
        // The region of a bus given by ARN, else the AWS configuration's.
        eventBridge: (region) => new EventBridgeClient(region !== undefined ? { region } : {}),
        runbookBaseUrl: config.runbookBaseUrl,
        endpoints: {
          ...(environment('TRAILHOUND_SLACK_API_URL') !== undefined
            ? { slackApi: environment('TRAILHOUND_SLACK_API_URL') }
            : {}),
          ...(environment('TRAILHOUND_PAGERDUTY_URL') !== undefined
            ? { pagerDuty: environment('TRAILHOUND_PAGERDUTY_URL') }
            : {}),
        },
      });
  const alerter = new Alerter({
    store,
    rateLimiter: store,
    destinations,
    deadLetters:
      options.deadLetterQueueUrl !== undefined
        ? new SqsDeadLetterQueue({ client: new SQSClient({}), queueUrl: options.deadLetterQueueUrl })
        : new FileDeadLetters(deadLetterDir),
    routes: sending ? config.routes : [],
    suppressions: config.suppressions,
    grouping: config.grouping,
  });
  return {
    config,
    store,
    destinations,
    alerter,
    deadLetterDir,
    close: async () => {
      deployed?.client.destroy();
      await opened?.close();
    },
  };
}

/**
 * Security Hub from the CLI: the region of the destination or of the AWS
 * configuration, and the account of the caller's credentials (the product
 * ARN's account), or `TRAILHOUND_ACCOUNT_ID`.
 */
function securityHubFor(accountId: string | undefined) {
  return (region: string | undefined) => {
    const resolvedRegion = region ?? environment('AWS_REGION') ?? environment('AWS_DEFAULT_REGION');
    if (resolvedRegion === undefined || accountId === undefined)
      throw new UsageError(
        'a securityhub destination needs a region (AWS_REGION, or the destination’s `region`) and AWS credentials to find the account (or TRAILHOUND_ACCOUNT_ID)',
      );
    return { client: new SecurityHubClient({ region: resolvedRegion }), region: resolvedRegion, accountId };
  };
}

/** The account of the caller's AWS credentials, if there are any. */
async function callerAccount(): Promise<string | undefined> {
  try {
    const { Account } = await new STSClient({}).send(new GetCallerIdentityCommand({}));
    return Account;
  } catch {
    return undefined;
  }
}
