/**
 * Incident updates to PagerDuty through the Events API v2
 * (`POST {base}/v2/enqueue`). The incident key is the `dedup_key`, so one
 * Trailhound incident stays one PagerDuty alert from trigger through
 * acknowledge to resolve (see `detectors/alerting/format/pagerduty.ts`).
 *
 * PagerDuty answers 202 with `{status: "success", dedup_key}`; 400 means the
 * event is invalid and sending it again cannot help; 429 (throttled per
 * routing key) and 5xx are retried by {@link JsonPostSender}, honouring
 * `Retry-After`. The routing key comes from the host's credentials provider
 * at every delivery (rotation applies at once) and is kept out of every error.
 */

import { type PagerDutyFormatOptions, pagerDutyEvent } from '../../detectors/alerting/format/pagerduty.js';
import type { IncidentUpdate } from '../../detectors/alerting/incident.js';
import type {
  AlertDestination,
  DeliveredUpdate,
  DeliveryResult,
  FailedUpdate,
} from '../../detectors/alerting/ports.js';
import { BLOCKED_BY_EARLIER, byIncident, skippedDuringOutage } from '../http/incident-batches.js';
import {
  HttpDeliveryError,
  HttpRequestError,
  type JsonPostOptions,
  JsonPostSender,
} from '../http/json-post.js';

export interface PagerDutyCredentials {
  /** The integration key of an Events API v2 integration or ruleset (32 characters). */
  readonly routingKey: string;
}

export interface PagerDutyDestinationOptions {
  /** The destination's name in the routing configuration (default `pagerduty`). */
  readonly name?: string;
  readonly credentials: () => Promise<PagerDutyCredentials>;
  /** Default `https://events.pagerduty.com` (`https://events.eu.pagerduty.com` for EU accounts); a local server in tests. */
  readonly baseUrl?: string;
  readonly format?: PagerDutyFormatOptions;
  readonly http?: JsonPostOptions | JsonPostSender;
}

export interface PagerDutyDestinationStats {
  events: number;
  triggers: number;
  acknowledges: number;
  resolves: number;
}

/** The PagerDuty destination cannot send at all (no usable routing key). Never carries the key. */
export class PagerDutyConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PagerDutyConfigError';
  }
}

interface EnqueueAnswer {
  readonly status?: string;
  readonly message?: string;
  readonly dedup_key?: string;
}

export const ROUTING_KEY_LENGTH = 32;

export class PagerDutyDestination implements AlertDestination {
  readonly kind = 'pagerduty' as const;
  readonly name: string;
  readonly stats: PagerDutyDestinationStats = { events: 0, triggers: 0, acknowledges: 0, resolves: 0 };
  private readonly options: PagerDutyDestinationOptions;
  private readonly sender: JsonPostSender;
  private readonly url: string;

  constructor(options: PagerDutyDestinationOptions) {
    this.options = options;
    this.name = options.name ?? 'pagerduty';
    this.sender = options.http instanceof JsonPostSender ? options.http : new JsonPostSender(options.http);
    this.url = `${(options.baseUrl ?? 'https://events.pagerduty.com').replace(/\/+$/, '')}/v2/enqueue`;
  }

  async deliver(updates: readonly IncidentUpdate[]): Promise<DeliveryResult> {
    const delivered: DeliveredUpdate[] = [];
    const failed: FailedUpdate[] = [];
    if (updates.length === 0) return { delivered, failed };

    let routingKey: string;
    try {
      const credentials = (await this.options.credentials()) as PagerDutyCredentials & {
        routing_key?: unknown;
      };
      // The secret's own name (`routing_key`) is read too, so a host may pass the parsed secret as it is.
      routingKey = (credentials.routingKey ?? credentials.routing_key) as string;
    } catch (error) {
      for (const u of updates)
        failed.push({
          key: u.incident.key,
          revision: u.incident.revision,
          error: `${this.name}: credentials unavailable (${(error as Error)?.name ?? 'error'})`,
          retryable: true,
        });
      return { delivered, failed };
    }
    if (typeof routingKey !== 'string' || routingKey.length !== ROUTING_KEY_LENGTH)
      throw new PagerDutyConfigError(
        `${this.name}: the routing key must be ${ROUTING_KEY_LENGTH} characters (an Events API v2 integration key)`,
      );

    let outage: string | undefined;
    for (const group of byIncident(updates)) {
      let blocked = false;
      for (const update of group) {
        const { key, revision } = update.incident;
        const event = pagerDutyEvent(update, this.options.format);
        if (event === undefined) {
          delivered.push({ key, revision });
          continue;
        }
        if (outage !== undefined) {
          failed.push({
            key,
            revision,
            error: `${this.name}: ${skippedDuringOutage(outage)}`,
            retryable: true,
          });
          continue;
        }
        if (blocked) {
          failed.push({ key, revision, error: `${this.name}: ${BLOCKED_BY_EARLIER}`, retryable: true });
          continue;
        }
        try {
          await this.sender.post<EnqueueAnswer>({
            url: this.url,
            body: { routing_key: routingKey, ...event },
            secrets: [routingKey],
            label: `PagerDuty ${event.event_action}`,
            judge: ({ status }) => (status === 202 || status === 200 ? { outcome: 'delivered' } : undefined),
          });
          this.stats.events += 1;
          if (event.event_action === 'trigger') this.stats.triggers += 1;
          else if (event.event_action === 'acknowledge') this.stats.acknowledges += 1;
          else this.stats.resolves += 1;
          delivered.push({ key, revision });
        } catch (error) {
          if (error instanceof HttpRequestError)
            throw new PagerDutyConfigError(`${this.name}: ${error.message}`);
          if (!(error instanceof HttpDeliveryError)) throw error;
          // Later updates of this incident wait for this one: a resolve must not overtake its trigger.
          blocked = true;
          if (error.retryable) outage = error.message;
          failed.push({ key, revision, error: `${this.name}: ${error.message}`, retryable: error.retryable });
        }
      }
    }
    return { delivered, failed };
  }
}
