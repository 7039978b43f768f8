/**
 * Findings out to a custom EventBridge bus, one event per finding: source
 * `trailhound`, detail-type `Trailhound Finding`, the finding (the core's
 * `Finding`, OCSF Detection Finding) as `detail`. Its JSON schema is
 * `schemas/trailhound-finding-event.schema.json`, which the CDK app registers
 * in the EventBridge schema registry.
 *
 * `PutEvents` takes at most 10 entries and 256 KB per request, and can accept
 * some entries while failing others (`FailedEntryCount`, an `ErrorCode` per
 * entry). Entries that failed for a passing reason (throttling, an internal
 * failure) are sent again, alone, with jittered exponential backoff; an entry
 * refused for what it is (malformed) is not retried. Whatever is still
 * undelivered at the end is reported in one {@link FindingPublishError}, so the
 * host fails the delivery and its source redelivers it: the finding ids are
 * stable, so a consumer sees a re-published finding as the same finding.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { FindingSink } from '../../detectors/pipeline/ports.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { type BackoffOptions, backoffDelay, sleep as defaultSleep, type Sleep } from '../retry/backoff.js';

export const FINDING_EVENT_SOURCE = 'trailhound';
export const FINDING_DETAIL_TYPE = 'Trailhound Finding';

/** PutEvents limits: entries per request, and bytes per request as EventBridge counts them. */
const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
/** Evidence ids kept when a finding has to be shrunk to fit in one event. */
const SHRUNK_EVIDENCE_IDS = 10;

/** Entry error codes worth sending again (EventBridge's own documentation of PutEvents failures). */
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

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

export interface FindingBusStats {
  requests: number;
  published: number;
  entryRetries: number;
  shrunk: number;
}

/** The size of an entry as EventBridge counts it against the request limit. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])])
    if (text !== undefined) size += Buffer.byteLength(text, 'utf8');
  return size;
}

export class EventBridgeFindingSink implements FindingSink {
  readonly stats: FindingBusStats = { requests: 0, published: 0, entryRetries: 0, shrunk: 0 };
  private readonly client: EventBridgeClient;
  private readonly busName: string;
  private readonly retry: Required<BackoffOptions>;
  private readonly sleep: Sleep;

  constructor(options: EventBridgeFindingSinkOptions) {
    this.client = options.client;
    this.busName = options.busName;
    this.retry = { retries: 5, baseMs: 100, maxMs: 5_000, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
  }

  async publish(findings: readonly Finding[]): Promise<void> {
    const undelivered: UndeliveredFinding[] = [];
    const batches = this.batches(findings.map((finding) => this.entryFor(finding)));
    for (const batch of batches) undelivered.push(...(await this.send(batch)));
    if (undelivered.length > 0) throw new FindingPublishError(this.busName, undelivered);
  }

  private entryFor(finding: Finding): { uid: string; entry: PutEventsRequestEntry } {
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
    return { uid: finding.finding_uid, entry: made };
  }

  /** Entries grouped into requests within both limits, in order. */
  private batches<T extends { entry: PutEventsRequestEntry }>(entries: readonly T[]): T[][] {
    const batches: T[][] = [];
    let current: T[] = [];
    let bytes = 0;
    for (const item of entries) {
      const size = entrySize(item.entry);
      if (
        current.length === MAX_ENTRIES_PER_REQUEST ||
        (current.length > 0 && bytes + size > MAX_REQUEST_BYTES)
      ) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(item);
      bytes += size;
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  /** Sends one request's entries, then again the ones that failed for a passing reason. */
  private async send(
    batch: readonly { uid: string; entry: PutEventsRequestEntry }[],
  ): Promise<UndeliveredFinding[]> {
    let pending = batch;
    const refused: UndeliveredFinding[] = [];
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.stats.entryRetries += pending.length;
        await this.sleep(backoffDelay(attempt, this.retry));
      }
      this.stats.requests += 1;
      // A request-level failure (throttled, 5xx) is retried by the SDK client itself; what it
      // finally throws fails the whole publish, and the delivery is retried by its source.
      const response = await this.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      const results = response.Entries ?? [];
      const again: { item: (typeof pending)[number]; failure: UndeliveredFinding }[] = [];
      pending.forEach((item, index) => {
        const result = results[index];
        if (result?.EventId !== undefined && result.ErrorCode === undefined) {
          this.stats.published += 1;
          return;
        }
        const failure: UndeliveredFinding = {
          findingUid: item.uid,
          errorCode: result?.ErrorCode ?? 'NoResult',
          errorMessage: result?.ErrorMessage ?? 'no result for this entry',
        };
        if (RETRYABLE_ENTRY_ERRORS.has(failure.errorCode) || result === undefined)
          again.push({ item, failure });
        else refused.push(failure);
      });
      if (again.length === 0) return refused;
      // Out of retries: report each with its last error.
      if (attempt >= this.retry.retries) return [...refused, ...again.map((a) => a.failure)];
      pending = again.map((a) => a.item);
    }
  }
}
