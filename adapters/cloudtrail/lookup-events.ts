/**
 * CloudTrail's LookupEvents API as a stream of raw CloudTrail records over a
 * time range: the last 90 days of management events of one account and
 * region, without a trail. Used to warm behavioural baselines on day one.
 *
 * LookupEvents allows about 2 requests per second per account and region. We
 * pace requests ourselves (one every `minRequestIntervalMs`), let the SDK's
 * adaptive retry mode retry throttled calls with backoff and client-side rate
 * limiting, and when the SDK's attempts run out on a `ThrottlingException`,
 * back off ourselves and ask for the same page again.
 *
 * LookupEvents answers newest first. To hand records over oldest first (what
 * profiles learn from best), the range is read in windows (an hour by
 * default), oldest window first; each window is fetched to its last page and
 * sorted before its records are yielded, so memory holds one window.
 */
import {
  type Event as CloudTrailApiEvent,
  CloudTrailClient,
  type CloudTrailClientConfig,
  type LookupAttribute,
  LookupEventsCommand,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import type { InputProblemReason } from '../../detectors/readers/errors.js';
import { unpackDocument } from '../../detectors/readers/unpack.js';

/** LookupEvents returns at most 50 events per page. */
export const MAX_PAGE_SIZE = 50;
/** How far back LookupEvents reaches. */
export const LOOKUP_EVENTS_RETENTION_DAYS = 90;

export interface CloudTrailClientOptions {
  readonly region: string;
  /** Another endpoint (a local server, a VPC endpoint). */
  readonly endpoint?: string;
  readonly credentials?: CloudTrailClientConfig['credentials'];
  /** Attempts per request, the SDK's retries included (default 8). */
  readonly maxAttempts?: number;
}

/** A CloudTrail client in the SDK's adaptive retry mode (backoff plus client-side rate limiting on throttling). */
export function createCloudTrailClient(options: CloudTrailClientOptions): CloudTrailClient {
  return new CloudTrailClient({
    region: options.region,
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 8,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

export interface LookupEventsOptions {
  readonly client: CloudTrailClient;
  /** Inclusive bounds of the range. */
  readonly startTime: Date;
  readonly endTime: Date;
  /** Size of the windows the range is read in, whole seconds (default 1 hour). */
  readonly windowMs?: number;
  /** Events per page, 1 … 50 (default 50). */
  readonly pageSize?: number;
  /** Least time between two requests (default 500 ms: 2 requests/s). */
  readonly minRequestIntervalMs?: number;
  /** Times one page is asked for again after the SDK gave up on throttling (default 6). */
  readonly throttleRetries?: number;
  /** First wait after the SDK gave up on throttling; doubled each time, up to 30 s (default 2 s). */
  readonly throttleBackoffMs?: number;
  /** Passed through to LookupEvents (it takes at most one). */
  readonly lookupAttributes?: LookupAttribute[];
  readonly signal?: AbortSignal;
  /** Told after every page and every finished window. */
  readonly onProgress?: (progress: LookupProgress) => void;
  /** For tests: how to wait. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** For tests: the clock used for pacing. */
  readonly now?: () => number;
}

export interface LookupProgress {
  /** Requests answered. */
  requests: number;
  /** Retries the SDK made inside those requests. */
  sdkRetries: number;
  /** Pages asked for again after the SDK gave up on throttling. */
  throttleRetries: number;
  /** Events received (records and problems). */
  events: number;
  /** Events received twice (on a window boundary) and passed over. */
  duplicates: number;
  /** Windows finished, of `windows`. */
  windowsDone: number;
  windows: number;
  /** Start of the window being read. */
  windowStart: Date;
}

/** One event of LookupEvents: its CloudTrail record, or why it has none. */
export type LookupEventItem =
  | {
      readonly kind: 'record';
      readonly record: Record<string, unknown>;
      readonly eventId: string | undefined;
    }
  | {
      readonly kind: 'problem';
      readonly reason: InputProblemReason;
      readonly message: string;
      /** The event as received, as JSON (for the quarantine). */
      readonly text: string;
      readonly eventId: string | undefined;
    };

const HOUR_MS = 3_600_000;

export class LookupEventsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LookupEventsError';
  }
}

/** The events of one window: `[start, end]`, both inclusive, oldest first. */
export interface LookupWindow {
  readonly start: Date;
  readonly end: Date;
  readonly items: readonly LookupEventItem[];
}

/** The raw CloudTrail records of `[startTime, endTime]` (both inclusive), oldest first. */
export async function* lookupEvents(options: LookupEventsOptions): AsyncGenerator<LookupEventItem> {
  for await (const window of lookupEventWindows(options)) yield* window.items;
}

/**
 * {@link lookupEvents} one window at a time. Window `k` covers
 * `[start + k·windowMs, start + (k+1)·windowMs − 1 s]` (clipped to the end):
 * CloudTrail event times are whole seconds, so windows neither overlap nor
 * leave gaps, and the same range always gives the same windows.
 */
export async function* lookupEventWindows(options: LookupEventsOptions): AsyncGenerator<LookupWindow> {
  const windowMs = options.windowMs ?? HOUR_MS;
  const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
  if (!(Number.isInteger(windowMs) && windowMs >= 1000 && windowMs % 1000 === 0))
    throw new RangeError(`windowMs must be whole seconds, got ${windowMs}`);
  if (!(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= MAX_PAGE_SIZE))
    throw new RangeError(`pageSize must be 1 … ${MAX_PAGE_SIZE}, got ${pageSize}`);
  const start = options.startTime.getTime();
  const end = options.endTime.getTime();
  if (!(start <= end)) throw new RangeError('startTime must not be after endTime');

  const pacer = new Pacer(
    options.minRequestIntervalMs ?? 500,
    options.sleep ?? sleep,
    options.now ?? Date.now,
    options.signal,
  );
  const progress: LookupProgress = {
    requests: 0,
    sdkRetries: 0,
    throttleRetries: 0,
    events: 0,
    duplicates: 0,
    windowsDone: 0,
    windows: Math.floor((end - start) / windowMs) + 1,
    windowStart: new Date(start),
  };
  // Windows do not overlap, but an event served twice (on a page boundary, say) is passed over.
  let previousIds = new Set<string>();
  for (let windowStart = start; windowStart <= end; windowStart += windowMs) {
    const windowEnd = Math.min(windowStart + windowMs - 1000, end);
    progress.windowStart = new Date(windowStart);
    const events = await fetchWindow(options, pacer, progress, windowStart, windowEnd, pageSize);
    const ids = new Set<string>();
    const fresh: CloudTrailApiEvent[] = [];
    for (const event of events) {
      const id = event.EventId;
      if (id !== undefined) {
        if (previousIds.has(id) || ids.has(id)) {
          progress.duplicates += 1;
          continue;
        }
        ids.add(id);
      }
      fresh.push(event);
    }
    previousIds = ids;
    // Newest first from the service: reverse, then a stable sort by time settles any disorder.
    fresh.reverse();
    fresh.sort((a, b) => timeOf(a) - timeOf(b));
    progress.windowsDone += 1;
    options.onProgress?.({ ...progress });
    yield { start: new Date(windowStart), end: new Date(windowEnd), items: fresh.map(toItem) };
  }
}

async function fetchWindow(
  options: LookupEventsOptions,
  pacer: Pacer,
  progress: LookupProgress,
  from: number,
  to: number,
  pageSize: number,
): Promise<CloudTrailApiEvent[]> {
  const events: CloudTrailApiEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await requestPage(options, pacer, progress, {
      StartTime: new Date(from),
      EndTime: new Date(to),
      MaxResults: pageSize,
      ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
      ...(options.lookupAttributes !== undefined ? { LookupAttributes: options.lookupAttributes } : {}),
    });
    const received = page.Events ?? [];
    for (const event of received) events.push(event);
    progress.events += received.length;
    nextToken = page.NextToken || undefined;
    options.onProgress?.({ ...progress });
  } while (nextToken !== undefined);
  return events;
}

async function requestPage(
  options: LookupEventsOptions,
  pacer: Pacer,
  progress: LookupProgress,
  input: LookupEventsCommandInput,
) {
  const retries = options.throttleRetries ?? 6;
  let backoff = options.throttleBackoffMs ?? 2_000;
  for (let attempt = 0; ; attempt++) {
    await pacer.ready();
    try {
      const output = await options.client.send(
        new LookupEventsCommand(input),
        options.signal !== undefined ? { abortSignal: options.signal } : {},
      );
      progress.requests += 1;
      progress.sdkRetries += Math.max(0, (output.$metadata.attempts ?? 1) - 1);
      return output;
    } catch (error) {
      const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
      if (attempts !== undefined) progress.sdkRetries += Math.max(0, attempts - 1);
      if (!isThrottling(error) || attempt >= retries) {
        throw new LookupEventsError(
          `LookupEvents failed for ${input.StartTime?.toISOString()} … ${input.EndTime?.toISOString()}: ${describe(error)}`,
          { cause: error },
        );
      }
      progress.throttleRetries += 1;
      await (options.sleep ?? sleep)(backoff, options.signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
}

function isThrottling(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return (
    name === 'ThrottlingException' ||
    name === 'Throttling' ||
    name === 'TooManyRequestsException' ||
    name === 'RequestLimitExceeded' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 429
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function timeOf(event: CloudTrailApiEvent): number {
  return event.EventTime?.getTime() ?? 0;
}

function toItem(event: CloudTrailApiEvent): LookupEventItem {
  const eventId = event.EventId;
  const [unpacked] = unpackDocument(event);
  if (unpacked?.kind === 'record') return { kind: 'record', record: unpacked.record, eventId };
  return {
    kind: 'problem',
    reason: unpacked?.reason ?? 'unrecognized-record',
    message: unpacked?.message ?? 'empty event',
    text: JSON.stringify(event),
    eventId,
  };
}

/** Spaces requests at least `interval` ms apart. */
class Pacer {
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly interval: number,
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>,
    private readonly now: () => number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async ready(): Promise<void> {
    this.signal?.throwIfAborted();
    const due = this.last + this.interval - this.now();
    if (due > 0) await this.wait(due, this.signal);
    this.last = this.now();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
