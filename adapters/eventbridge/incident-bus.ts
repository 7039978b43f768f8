/**
 * Incidents out to an EventBridge bus, for OCSF consumers (Security Lake
 * custom sources, the OCSF-based Security Hub, SIEMs that read OCSF): one event
 * per incident update, source `trailhound`, detail-type `Trailhound Incident`,
 * the update as an OCSF 1.1 Detection Finding (`detectors/alerting/format/ocsf.ts`)
 * as `detail`. Every update of one incident carries the same
 * `finding_info.uid` (the incident key); its activity is Create when the
 * incident opens, Update as it changes and Close when it is resolved. Its JSON
 * schema is `schemas/trailhound-incident-event.schema.json`.
 *
 * Every update is its own event, even several of one incident in one delivery
 * (an event stream keeps history; Security Hub's ASFF destination keeps only
 * the newest). EventBridge does not keep order, and a retried entry can land
 * after a newer one: consumers order an incident's events by
 * `finding_info.modified_time` (or `unmapped.trailhound.revision`).
 *
 * Batching within PutEvents' limits and the retries of failed entries are
 * `put-events.ts`'s, shared with the findings bus. Here a request the SDK
 * client finally gives up on fails that request's updates (retryable unless
 * the service refused the request), and the other requests are still sent:
 * nothing is thrown for an unreachable bus.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type OcsfDetectionFinding, toOcsfDetectionFinding } from '../../detectors/alerting/format/ocsf.js';
import type { IncidentUpdate } from '../../detectors/alerting/incident.js';
import type {
  AlertDestination,
  DeliveredUpdate,
  DeliveryResult,
  FailedUpdate,
} from '../../detectors/alerting/ports.js';
import { TRAILHOUND_VERSION } from '../../detectors/version.js';
import type { BackoffOptions, Sleep } from '../retry/backoff.js';
import { entrySize, MAX_REQUEST_BYTES, PutEventsSender, type PutEventsStats } from './put-events.js';

export const INCIDENT_EVENT_SOURCE = 'trailhound';
export const INCIDENT_DETAIL_TYPE = 'Trailhound Incident';

/** The forms an incident event's detail can take. */
export type IncidentEventFormat = 'ocsf';

/** Characters of `finding_info.desc` kept when an incident has to be shrunk to fit in one event. */
const SHRUNK_DESC_CHARS = 2_000;

export interface EventBridgeIncidentDestinationOptions {
  /** The SDK client, created once by the host. */
  readonly client: EventBridgeClient;
  /** The bus: a name (the client's account and region) or an event-bus ARN. */
  readonly busName: string;
  /** Name in the routing configuration (default `eventbridge`). */
  readonly name?: string;
  /** Default `ocsf`. */
  readonly format?: IncidentEventFormat;
  /** `metadata.product.version` (default Trailhound's own). */
  readonly productVersion?: string;
  /** Retries of failed entries after the first request (default 5; waits 100 ms doubling, at most 5 s). */
  readonly retry?: BackoffOptions;
  readonly sleep?: Sleep;
}

export interface IncidentBusStats extends PutEventsStats {
  shrunk: number;
}

export class EventBridgeIncidentDestination implements AlertDestination {
  readonly kind = 'eventbridge' as const;
  readonly name: string;
  readonly stats: IncidentBusStats = { requests: 0, published: 0, entryRetries: 0, shrunk: 0 };
  private readonly busName: string;
  private readonly productVersion: string;
  private readonly sender: PutEventsSender;

  constructor(options: EventBridgeIncidentDestinationOptions) {
    this.name = options.name ?? 'eventbridge';
    this.busName = options.busName;
    this.productVersion = options.productVersion ?? TRAILHOUND_VERSION;
    this.sender = new PutEventsSender({
      client: options.client,
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
      ...(options.sleep !== undefined ? { sleep: options.sleep } : {}),
      requestErrors: 'report',
      stats: this.stats,
    });
  }

  async deliver(updates: readonly IncidentUpdate[]): Promise<DeliveryResult> {
    // Keyed by position: two updates of one incident are two entries.
    const outcome = await this.sender.put(
      updates.map((update, index) => ({ key: index, entry: this.entryFor(update) })),
    );
    const ref = (index: number) => {
      const { incident } = updates[index] as IncidentUpdate;
      return { key: incident.key, revision: incident.revision };
    };
    const delivered: DeliveredUpdate[] = [...outcome.published].sort((a, b) => a - b).map(ref);
    const failed: FailedUpdate[] = [...outcome.unpublished]
      .sort((a, b) => a.key - b.key)
      .map((u) => ({
        ...ref(u.key),
        error: `${u.errorCode}: ${u.errorMessage}`.slice(0, 300),
        retryable: u.retryable,
      }));
    return { delivered, failed };
  }

  private entryFor(update: IncidentUpdate): PutEventsRequestEntry {
    const entry = (detail: OcsfDetectionFinding): PutEventsRequestEntry => ({
      EventBusName: this.busName,
      Source: INCIDENT_EVENT_SOURCE,
      DetailType: INCIDENT_DETAIL_TYPE,
      Detail: JSON.stringify(detail),
      Time: new Date(detail.time),
      Resources: [],
    });
    const finding = toOcsfDetectionFinding(update, { productVersion: this.productVersion });
    const made = entry(finding);
    if (entrySize(made) <= MAX_REQUEST_BYTES) return made;
    // The timeline's sentences are what grows: keep each related finding, without its sentence.
    this.stats.shrunk += 1;
    return entry({
      ...finding,
      finding_info: {
        ...finding.finding_info,
        desc: finding.finding_info.desc?.slice(0, SHRUNK_DESC_CHARS),
        related_events: finding.finding_info.related_events.map(({ desc: _desc, ...event }) => event),
      },
    });
  }
}
