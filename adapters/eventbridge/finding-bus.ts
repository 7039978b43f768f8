/**
 * Findings out to a custom EventBridge bus, one event per finding: source
 * `trailhound`, detail-type `Trailhound Finding`, the finding (the core's
 * `Finding`, OCSF Detection Finding) as `detail`. Its JSON schema is
 * `schemas/trailhound-finding-event.schema.json`, which the CDK app registers
 * in the EventBridge schema registry.
 *
 * Batching within PutEvents' limits and the retries of failed entries are
 * `put-events.ts`'s (shared with the incident destination). A finding too big
 * for one event is shrunk (its evidence ids cut to the first ten). Whatever is
 * still undelivered at the end is reported in one {@link FindingPublishError},
 * so the host fails the delivery and its source redelivers it: the finding ids
 * are stable, so a consumer sees a re-published finding as the same finding. A
 * request the SDK client finally gives up on is thrown as it is, to the same end.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { FindingSink } from '../../detectors/pipeline/ports.js';
import type { Finding } from '../../detectors/schema/finding.js';
import type { BackoffOptions, Sleep } from '../retry/backoff.js';
import { entrySize, MAX_REQUEST_BYTES, PutEventsSender, type PutEventsStats } from './put-events.js';

export const FINDING_EVENT_SOURCE = 'trailhound';
export const FINDING_DETAIL_TYPE = 'Trailhound Finding';

/** Evidence ids kept when a finding has to be shrunk to fit in one event. */
const SHRUNK_EVIDENCE_IDS = 10;

export interface UndeliveredFinding {
  readonly findingUid: string;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export class FindingPublishError extends Error {
  constructor(
    readonly busName: string,
    readonly undelivered: readonly UndeliveredFinding[],
    options?: { cause?: unknown },
  ) {
    const codes = [...new Set(undelivered.map((u) => u.errorCode))].join(', ');
    super(`${undelivered.length} findings not delivered to event bus ${busName} (${codes})`, options);
    this.name = 'FindingPublishError';
  }
}

export interface EventBridgeFindingSinkOptions {
  readonly client: EventBridgeClient;
  readonly busName: string;
  /** Retries of failed entries after the first request (default 5; waits 100 ms doubling, at most 5 s). */
  readonly retry?: BackoffOptions;
  readonly sleep?: Sleep;
}

export interface FindingBusStats extends PutEventsStats {
  shrunk: number;
}

export class EventBridgeFindingSink implements FindingSink {
  readonly stats: FindingBusStats = { requests: 0, published: 0, entryRetries: 0, shrunk: 0 };
  private readonly busName: string;
  private readonly sender: PutEventsSender;

  constructor(options: EventBridgeFindingSinkOptions) {
    this.busName = options.busName;
    this.sender = new PutEventsSender({
      client: options.client,
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
      ...(options.sleep !== undefined ? { sleep: options.sleep } : {}),
      requestErrors: 'throw',
      stats: this.stats,
    });
  }

  async publish(findings: readonly Finding[]): Promise<void> {
    const { unpublished } = await this.sender.put(findings.map((finding) => this.entryFor(finding)));
    if (unpublished.length > 0)
      throw new FindingPublishError(
        this.busName,
        unpublished.map((u) => ({ findingUid: u.key, errorCode: u.errorCode, errorMessage: u.errorMessage })),
      );
  }

  private entryFor(finding: Finding): { key: string; entry: PutEventsRequestEntry } {
    const entry = (detail: Finding): PutEventsRequestEntry => ({
      EventBusName: this.busName,
      Source: FINDING_EVENT_SOURCE,
      DetailType: FINDING_DETAIL_TYPE,
      Detail: JSON.stringify(detail),
      Time: new Date(detail.time),
      Resources: [],
    });
    let made = entry(finding);
    if (entrySize(made) > MAX_REQUEST_BYTES) {
      // Only the evidence lists grow without bound; the first ids are enough to find the rest.
      this.stats.shrunk += 1;
      made = entry({
        ...finding,
        evidence: {
          ...finding.evidence,
          event_uids: finding.evidence.event_uids.slice(0, SHRUNK_EVIDENCE_IDS),
        },
        anomaly_analyses: finding.anomaly_analyses?.slice(0, 1),
      });
    }
    return { key: finding.finding_uid, entry: made };
  }
}
