/**
 * The AWS SDK clients of the functions, created once per execution
 * environment (at init, outside handlers: their connections and credentials
 * are reused by every invocation), and traced by the shared tracer.
 *
 * - DynamoDB: profiles, the batch ledger and pull checkpoints.
 * - Secrets Manager: the only source of secrets (a GCP service-account key,
 *   the Azure app settings); never an environment value.
 * - S3: trail log objects in, the quarantine out.
 * - EventBridge: findings out to the findings bus.
 * - SQS: updates a destination could not take, to the alerting dead-letter queue.
 * - Security Hub: incidents imported as ASFF findings.
 * - STS: the function's own identity, as a signed web identity token
 *   (`GetWebIdentityToken`), which Entra ID takes as a federated client
 *   assertion; and the AWS credentials Google's STS checks for workload
 *   identity federation (the clients' own credential provider).
 *
 * Region and credentials come from the Lambda environment through the SDK's
 * default chain.
 *
 * **Test seam.** {@link setClients} replaces clients and {@link setOutsideServices}
 * points the handlers at local stand-ins of services outside AWS. Like
 * `setEnvSource`, call them before importing a handler module.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { PushKeySet } from '../../adapters/gcp/push-auth.js';
import { tracer } from './powertools.js';

export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly eventBridge: EventBridgeClient;
  readonly secretsManager: SecretsManagerClient;
  readonly sts: STSClient;
  readonly sqs: SQSClient;
  /** Security Hub in a region (the function's own unless a destination names another). */
  readonly securityHub: (region?: string) => SecurityHubClient;
}

let clients: { -readonly [K in keyof AwsClients]?: AwsClients[K] } = {};
const securityHubs = new Map<string, SecurityHubClient>();

/** The clients, each created on first use and then shared. */
export function awsClients(): AwsClients {
  clients.dynamodb ??= tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 5 }));
  clients.s3 ??= tracer.captureAWSv3Client(new S3Client({ maxAttempts: 5 }));
  clients.eventBridge ??= tracer.captureAWSv3Client(new EventBridgeClient({ maxAttempts: 5 }));
  clients.secretsManager ??= tracer.captureAWSv3Client(new SecretsManagerClient({}));
  clients.sts ??= tracer.captureAWSv3Client(new STSClient({}));
  clients.sqs ??= tracer.captureAWSv3Client(new SQSClient({ maxAttempts: 5 }));
  clients.securityHub ??= (region) => {
    const key = region ?? '';
    let client = securityHubs.get(key);
    if (client === undefined) {
      client = tracer.captureAWSv3Client(
        new SecurityHubClient({ maxAttempts: 5, ...(region !== undefined ? { region } : {}) }),
      );
      securityHubs.set(key, client);
    }
    return client;
  };
  return clients as AwsClients;
}

/** Test seam: use these clients (pointed at local servers) instead of creating them. */
export function setClients(replacements: Partial<AwsClients>): void {
  clients = { ...replacements };
}

/**
 * Services outside AWS, where the defaults (Google's, Microsoft's, Slack's and
 * PagerDuty's public endpoints) are not what a test can reach. Every field is
 * for tests only.
 */
export interface OutsideServices {
  /** Google's token-signing keys for push verification (default: fetched and cached by google-auth-library). */
  readonly gcpPushKeys?: () => Promise<PushKeySet>;
  /** Where Cloud Logging is (default `logging.googleapis.com`, https). */
  readonly gcpLogging?: {
    readonly apiEndpoint: string;
    readonly port: number;
    readonly protocol: 'http' | 'https';
  };
  /** Accept token URLs outside googleapis.com in the federation configuration (a local STS). */
  readonly gcpAllowCustomEndpoints?: boolean;
  /**
   * Stands in for Entra ID's token endpoint: given the client assertion the
   * function would present (its STS web identity token), returns the access
   * token Entra ID would issue. Default: the real exchange by `@azure/identity`.
   */
  readonly azureTokenExchange?: (assertion: string, scopes: readonly string[]) => Promise<AccessToken>;
  /** Base URL of Slack's Web API for the alert destinations (default `https://slack.com/api`). */
  readonly slackApi?: string;
  /** Base URL of PagerDuty's Events API for the alert destinations (default `https://events.pagerduty.com`). */
  readonly pagerDuty?: string;
}

let outside: OutsideServices = {};

export function outsideServices(): OutsideServices {
  return outside;
}

/** Test seam: see {@link OutsideServices}. */
export function setOutsideServices(services: OutsideServices): void {
  outside = services;
}

/** A credential that asks {@link OutsideServices.azureTokenExchange} instead of Entra ID. */
export function exchangeCredential(
  exchange: NonNullable<OutsideServices['azureTokenExchange']>,
  assertion: () => Promise<string>,
): TokenCredential {
  return {
    getToken: async (scopes) => exchange(await assertion(), typeof scopes === 'string' ? [scopes] : scopes),
  };
}
