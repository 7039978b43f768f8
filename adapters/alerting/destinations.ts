/**
 * The configured destinations (`alerting.yml`) as working senders, built the
 * same way for the Lambda dispatcher and for `trailhound scan --notify` /
 * `trailhound notify test`. Credentials are read from Secrets Manager on
 * every delivery through the reader's cache, so a rotated secret is used
 * within minutes and no credential is ever held in configuration or logged.
 *
 * Secret formats (JSON):
 * - Slack: `{"webhook_url": "https://hooks.slack.com/services/…"}` or
 *   `{"bot_token": "xoxb-…", "channel": "C0123456789"}` (bot mode threads updates);
 * - PagerDuty: `{"routing_key": "<32 characters>"}` (an Events API v2 integration key).
 *
 * Security Hub and EventBridge destinations need no secret: the host's AWS
 * credentials (the function's role, the CLI user's) are used.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { DestinationDocument } from '../../detectors/alerting/config.js';
import type { ForensicQueryOptions } from '../../detectors/alerting/format/forensic-query.js';
import type { AlertDestination } from '../../detectors/alerting/ports.js';
import { EventBridgeIncidentDestination } from '../eventbridge/incident-bus.js';
import type { JsonPostOptions } from '../http/json-post.js';
import { type PagerDutyCredentials, PagerDutyDestination } from '../pagerduty/pagerduty-destination.js';
import { SecretError, type SecretValue } from '../secrets/secrets-manager.js';
import { SecurityHubDestination } from '../securityhub/securityhub-destination.js';
import { type SlackCredentials, SlackDestination } from '../slack/slack-destination.js';

/** Reads a secret as a JSON object (`SecretJsonReader`). */
export interface SecretSource {
  read(secretId: string): Promise<SecretValue>;
}

export interface DestinationFactoryOptions {
  readonly secrets: SecretSource;
  /** Security Hub: the client (its region is where findings land) and the deploying account. */
  readonly securityHub?: (region: string | undefined) => {
    readonly client: SecurityHubClient;
    readonly region: string;
    readonly accountId: string;
  };
  /**
   * EventBridge: the client `eventbridge` destinations put incidents with, in
   * the region of a bus given by ARN (undefined for a bus given by name: the
   * host's own region).
   */
  readonly eventBridge?: (region: string | undefined) => EventBridgeClient;
  readonly runbookBaseUrl?: string | undefined;
  readonly forensic?: ForensicQueryOptions;
  /** Base URLs of the HTTP APIs; local servers in tests. */
  readonly endpoints?: { readonly slackApi?: string; readonly pagerDuty?: string };
  readonly http?: JsonPostOptions;
}

export class DestinationConfigError extends Error {
  constructor(
    readonly destination: string,
    message: string,
  ) {
    super(`destination ${destination}: ${message}`);
    this.name = 'DestinationConfigError';
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

async function slackCredentials(secrets: SecretSource, secretId: string): Promise<SlackCredentials> {
  const { json } = await secrets.read(secretId);
  const webhookUrl = text(json.webhook_url ?? json.webhookUrl);
  if (webhookUrl !== undefined) return { webhookUrl };
  const botToken = text(json.bot_token ?? json.botToken);
  const channel = text(json.channel);
  if (botToken !== undefined && channel !== undefined) return { botToken, channel };
  throw new SecretError(secretId, 'holds neither "webhook_url" nor "bot_token" with "channel"');
}

async function pagerDutyCredentials(secrets: SecretSource, secretId: string): Promise<PagerDutyCredentials> {
  const { json } = await secrets.read(secretId);
  const routingKey = text(json.routing_key ?? json.routingKey);
  if (routingKey === undefined) throw new SecretError(secretId, 'holds no "routing_key"');
  return { routingKey };
}

/** The AWS partition of a region: Security Hub's product ARN names it. */
export function partitionOf(region: string): 'aws' | 'aws-cn' | 'aws-us-gov' {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The region of an event-bus ARN; undefined for a bus given by name. */
export function eventBusRegion(bus: string): string | undefined {
  return bus.startsWith('arn:') ? bus.split(':')[3] : undefined;
}

/** One sender per configured destination, in the configuration's order. */
export function buildDestinations(
  docs: readonly DestinationDocument[],
  options: DestinationFactoryOptions,
): AlertDestination[] {
  return docs.map((doc) => buildDestination(doc, options));
}

function buildDestination(doc: DestinationDocument, options: DestinationFactoryOptions): AlertDestination {
  const format = {
    ...(options.runbookBaseUrl !== undefined ? { runbookBaseUrl: options.runbookBaseUrl } : {}),
    ...(options.forensic !== undefined ? { forensic: options.forensic } : {}),
  };
  const http = options.http !== undefined ? { http: options.http } : {};
  if (doc.kind === 'slack')
    return new SlackDestination({
      name: doc.name,
      // Each Slack destination keeps its own thread refs on the incident.
      refsPrefix: doc.name,
      credentials: () => slackCredentials(options.secrets, doc.secret),
      format,
      ...(options.endpoints?.slackApi !== undefined ? { apiBaseUrl: options.endpoints.slackApi } : {}),
      ...http,
    });
  if (doc.kind === 'pagerduty')
    return new PagerDutyDestination({
      name: doc.name,
      credentials: () => pagerDutyCredentials(options.secrets, doc.secret),
      format,
      ...(options.endpoints?.pagerDuty !== undefined ? { baseUrl: options.endpoints.pagerDuty } : {}),
      ...http,
    });
  if (doc.kind === 'eventbridge') {
    const client = options.eventBridge?.(eventBusRegion(doc.bus));
    if (client === undefined)
      throw new DestinationConfigError(doc.name, 'EventBridge needs an AWS client here');
    return new EventBridgeIncidentDestination({
      name: doc.name,
      client,
      busName: doc.bus,
      format: doc.format,
    });
  }
  const hub = options.securityHub?.(doc.region);
  if (hub === undefined)
    throw new DestinationConfigError(doc.name, 'Security Hub needs an AWS client and account here');
  return new SecurityHubDestination({
    name: doc.name,
    client: hub.client,
    region: hub.region,
    accountId: hub.accountId,
    partition: partitionOf(hub.region),
    ...(options.runbookBaseUrl !== undefined ? { runbookBaseUrl: options.runbookBaseUrl } : {}),
  });
}
