/**
 * The alerting runtime of the Lambda functions, built once per execution
 * environment: the configuration from `ALERTING_DIR` (the data layer), the
 * incident store on the profile table, the destinations with their
 * credentials from Secrets Manager (and the shared AWS clients for Security
 * Hub and EventBridge), the SQS dead-letter queue, and the
 * {@link Alerter} over them: the same classes `trailhound scan --notify` uses.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { buildDestinations } from '../../adapters/alerting/destinations.js';
import { DynamoIncidentStore } from '../../adapters/dynamodb/incident-store.js';
import { readAlertingConfigDir, sampleAlertingDir } from '../../adapters/fs/alerting-config.js';
import { SecretJsonReader } from '../../adapters/secrets/secrets-manager.js';
import { SqsDeadLetterQueue } from '../../adapters/sqs/dead-letter-queue.js';
import { Alerter } from '../../detectors/alerting/alerter.js';
import type { AlertingConfig } from '../../detectors/alerting/config.js';
import type { AlertDestination } from '../../detectors/alerting/ports.js';
import { type AwsClients, outsideServices } from './clients.js';
import type { AlertingEnv } from './env.js';
import { logger, tracer } from './powertools.js';

export interface AlertingRuntime {
  readonly config: AlertingConfig;
  readonly store: DynamoIncidentStore;
  readonly destinations: readonly AlertDestination[];
  readonly alerter: Alerter;
}

export function createAlertingRuntime(env: AlertingEnv, clients: AwsClients): AlertingRuntime {
  const dir = env.alertingDir ?? sampleAlertingDir();
  const config = readAlertingConfigDir(dir);
  const store = new DynamoIncidentStore({ client: clients.dynamodb, tableName: env.tableName });
  const destinations = buildDestinations(config.destinations, {
    secrets: new SecretJsonReader(clients.secretsManager),
    securityHub: (region) => ({
      client: clients.securityHub(region),
      region: region ?? env.region,
      accountId: env.accountId,
    }),
    // A bus in another region (given by ARN) needs a client of that region; built once, at init, like this one.
    eventBridge: (region) =>
      region === undefined || region === env.region
        ? clients.eventBridge
        : tracer.captureAWSv3Client(new EventBridgeClient({ region, maxAttempts: 5 })),
    runbookBaseUrl: config.runbookBaseUrl,
    // Test seam only: local stand-ins of Slack and PagerDuty (see OutsideServices); unset in Lambda.
    endpoints: { slackApi: outsideServices().slackApi, pagerDuty: outsideServices().pagerDuty },
  });
  const alerter = new Alerter({
    store,
    rateLimiter: store,
    destinations,
    deadLetters: new SqsDeadLetterQueue({ client: clients.sqs, queueUrl: env.deadLetterQueueUrl }),
    routes: config.routes,
    suppressions: config.suppressions,
    grouping: config.grouping,
  });
  logger.info('alerting runtime ready', {
    alertingDir: dir,
    destinations: config.destinations.map((d) => `${d.name} (${d.kind})`),
    routes: config.routes.length,
    suppressions: config.suppressions.length,
  });
  return { config, store, destinations, alerter };
}
