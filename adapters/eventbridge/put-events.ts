/**
 * EventBridge `PutEvents` as both buses use it: the findings bus
 * (`finding-bus.ts`) and the incident destination (`incident-bus.ts`).
 *
 * `PutEvents` takes at most 10 entries and 256 KB per request (sizes counted
 * as AWS documents them: 14 bytes for `Time` plus the UTF-8 bytes of `Source`,
 * `DetailType`, `Detail` and each `Resources` item), and can accept some
 * entries while failing others (`FailedEntryCount`, an `ErrorCode` per entry).
 * {@link PutEventsSender.put} groups entries into requests within both limits,
 * in order; sends again, alone, with jittered exponential backoff, the entries
 * that failed for a passing reason (throttling, an internal failure); and
 * reports per entry what was published and what was not. An entry refused for
 * what it is (malformed, not authorized) is not retried, and an entry too big
 * for any request is reported without being sent.
 *
 * A request-level failure (throttled, 5xx, network) is retried by the SDK
 * client itself (its `maxAttempts`); what it finally throws is thrown from
 * `put` (`requestErrors: 'throw'`, the findings bus: its source redelivers) or
 * reported as the failure of that request's entries, the other requests still
 * sent (`requestErrors: 'report'`, an alert destination: one outage never
 * stops the others).
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { type BackoffOptions, backoffDelay, sleep as defaultSleep, type Sleep } from '../retry/backoff.js';

/** PutEvents limits: entries per request, and bytes per request as EventBridge counts them. */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

/** Entry error codes worth sending again (EventBridge's own documentation of PutEvents failures). */
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

/** The code of an entry bigger than a whole request: never sent. */
export const ENTRY_TOO_LARGE = 'EntryTooLarge';

/** The size of an entry as EventBridge counts it against the request limit. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])])
    if (text !== undefined) size += Buffer.byteLength(text, 'utf8');
  return size;
}

/** One entry to send, and the caller's key to report it by. */
export interface PutEventsItem<K> {
  readonly key: K;
  readonly entry: PutEventsRequestEntry;
}

/** An entry that was not published, with its last error. */
export interface UnpublishedEntry<K> {
  readonly key: K;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** False when sending it again cannot help (refused for its content, too large). */
  readonly retryable: boolean;
}

export interface PutEventsOutcome<K> {
  /** Keys of the published entries, in the order they were accepted. */
  readonly published: K[];
  readonly unpublished: UnpublishedEntry<K>[];
}

/** Counters the sender adds to (a bus's own stats object can be passed in). */
export interface PutEventsStats {
  requests: number;
  published: number;
  entryRetries: number;
}

export interface PutEventsSenderOptions {
  readonly client: EventBridgeClient;
  /** Retries of failed entries after the first request (default 5; waits 100 ms doubling, at most 5 s). */
  readonly retry?: BackoffOptions;
  readonly sleep?: Sleep;
  /** What to do with an error the SDK client throws for a whole request (default `throw`). */
  readonly requestErrors?: 'throw' | 'report';
  readonly stats?: PutEventsStats;
}

/** Entries grouped into requests within both limits, in order. An entry over the byte limit goes alone. */
export function batchEntries<T extends { readonly entry: PutEventsRequestEntry }>(
  items: readonly T[],
  limits: { readonly maxEntries?: number; readonly maxBytes?: number } = {},
): T[][] {
  const maxEntries = limits.maxEntries ?? MAX_ENTRIES_PER_REQUEST;
  const maxBytes = limits.maxBytes ?? MAX_REQUEST_BYTES;
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = entrySize(item.entry);
    if (current.length === maxEntries || (current.length > 0 && bytes + size > maxBytes)) {
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

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** A request-level failure is worth another delivery unless the service refused the request itself (4xx). */
function retryableRequestError(error: unknown): boolean {
  const status = httpStatus(error);
  const name = error instanceof Error ? error.name : '';
  return status === undefined || status === 429 || status >= 500 || /throttl/i.test(name);
}

export class PutEventsSender {
  readonly stats: PutEventsStats;
  private readonly client: EventBridgeClient;
  private readonly retry: Required<BackoffOptions>;
  private readonly sleep: Sleep;
  private readonly requestErrors: 'throw' | 'report';

  constructor(options: PutEventsSenderOptions) {
    this.client = options.client;
    this.retry = { retries: 5, baseMs: 100, maxMs: 5_000, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.requestErrors = options.requestErrors ?? 'throw';
    this.stats = options.stats ?? { requests: 0, published: 0, entryRetries: 0 };
  }

  /** Publishes every entry it can; see the module comment for what is retried and what is thrown. */
  async put<K>(items: readonly PutEventsItem<K>[]): Promise<PutEventsOutcome<K>> {
    const outcome: PutEventsOutcome<K> = { published: [], unpublished: [] };
    const fitting: PutEventsItem<K>[] = [];
    for (const item of items) {
      const size = entrySize(item.entry);
      if (size <= MAX_REQUEST_BYTES) fitting.push(item);
      else
        outcome.unpublished.push({
          key: item.key,
          errorCode: ENTRY_TOO_LARGE,
          errorMessage: `entry of ${size} bytes is over the ${MAX_REQUEST_BYTES}-byte request limit`,
          retryable: false,
        });
    }
    for (const batch of batchEntries(fitting)) await this.send(batch, outcome);
    return outcome;
  }

  /** Sends one request's entries, then again the ones that failed for a passing reason. */
  private async send<K>(batch: readonly PutEventsItem<K>[], outcome: PutEventsOutcome<K>): Promise<void> {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.stats.entryRetries += pending.length;
        await this.sleep(backoffDelay(attempt, this.retry));
      }
      this.stats.requests += 1;
      let results: PutEventsResultEntry[];
      try {
        const response = await this.client.send(
          new PutEventsCommand({ Entries: pending.map((p) => p.entry) }),
        );
        results = response.Entries ?? [];
      } catch (error) {
        if (this.requestErrors === 'throw') throw error;
        const status = httpStatus(error);
        const code = error instanceof Error && error.name !== '' ? error.name : 'RequestFailed';
        const message = `${status !== undefined ? `HTTP ${status}: ` : ''}${
          error instanceof Error ? error.message : String(error)
        }`;
        const retryable = retryableRequestError(error);
        for (const item of pending)
          outcome.unpublished.push({ key: item.key, errorCode: code, errorMessage: message, retryable });
        return;
      }
      const again: { item: PutEventsItem<K>; failure: UnpublishedEntry<K> }[] = [];
      pending.forEach((item, index) => {
        const result = results[index];
        if (result?.EventId !== undefined && result.ErrorCode === undefined) {
          this.stats.published += 1;
          outcome.published.push(item.key);
          return;
        }
        const errorCode = result?.ErrorCode ?? 'NoResult';
        const passing = result === undefined || RETRYABLE_ENTRY_ERRORS.has(errorCode);
        const failure: UnpublishedEntry<K> = {
          key: item.key,
          errorCode,
          errorMessage: result?.ErrorMessage ?? 'no result for this entry',
          retryable: passing,
        };
        if (passing) again.push({ item, failure });
        else outcome.unpublished.push(failure);
      });
      if (again.length === 0) return;
      // Out of retries: report each with its last error.
      if (attempt >= this.retry.retries) {
        outcome.unpublished.push(...again.map((a) => a.failure));
        return;
      }
      pending = again.map((a) => a.item);
    }
  }
}
