/**
 * Pulls GCP Cloud Audit Logs from Cloud Logging (`entries.list`) and hands
 * them, as `LogEntry` JSON, to the detection pipeline, resuming from a
 * checkpoint with an overlap window (`adapters/pull/checkpointed-pull.ts`).
 *
 * One run reads `[windowStart, endTime)` of one resource (a project, folder,
 * organization or billing account) with the filter
 * `logName:"cloudaudit.googleapis.com" AND timestamp >= … AND timestamp < …`,
 * `orderBy: "timestamp asc"`, one page per request (`pageSize`, at most 1000),
 * each page delivered and then committed.
 *
 * Throttling: `entries.list` allows 60 requests per minute per project. We
 * space requests (`minRequestIntervalMs`, 1 s by default) and, when the API
 * still answers RESOURCE_EXHAUSTED (HTTP 429; the library does not retry it),
 * wait (the server's RetryInfo delay if it sent one, else exponential backoff)
 * and ask for the same page again. Other failures are thrown as
 * `GcpLoggingError` with the library's error as `cause`; the library itself
 * retries UNAVAILABLE, INTERNAL and DEADLINE_EXCEEDED.
 */
import type { Logging } from '@google-cloud/logging';
import {
  type PageSource,
  type PulledRecord,
  type PullResult,
  type PullSettings,
  runCheckpointedPull,
} from '../pull/checkpointed-pull.js';
import { backoffDelay, type Sleep, sleep } from '../retry/backoff.js';
import { GcpEntryFormatError, GcpLoggingError, GcpThrottledError } from './errors.js';
import { entryId, entryTime, type LogEntryJson, toLogEntryJson } from './log-entry.js';

/** entries.list returns at most 1000 entries per page. */
export const MAX_PAGE_SIZE = 1000;
/** Cloud Audit Logs: Admin Activity, Data Access, System Event and Policy Denied logs all live under it. */
export const AUDIT_LOG_FILTER = 'logName:"cloudaudit.googleapis.com"';
/** gRPC status RESOURCE_EXHAUSTED (HTTP 429). */
const RESOURCE_EXHAUSTED = 8;

export interface GcpAuditPullOptions extends PullSettings {
  /** From `createLoggingClient` (JSON transport, audit payloads decodable). */
  readonly logging: Logging;
  /** `projects/<id>`, `folders/<id>`, `organizations/<id>` or `billingAccounts/<id>`. Entries per request 1 … 1000 (default 1000); at most one request a second by default (the 60-per-minute quota). */
  readonly resourceName: string;
  /** ANDed to the audit-log filter, e.g. `logName:"activity"` or `protoPayload.serviceName="iam.googleapis.com"`. */
  readonly filter?: string;
}

/** The checkpoint stream of one resource: `gcp:<resourceName>`. */
export function gcpStream(resourceName: string): string {
  return `gcp:${resourceName}`;
}

/** One run over one resource; returns what it did and the checkpoint it left. */
export function pullGcpAuditLogs(options: GcpAuditPullOptions): Promise<PullResult> {
  const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
  if (!(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= MAX_PAGE_SIZE))
    throw new RangeError(`pageSize must be 1 … ${MAX_PAGE_SIZE}, got ${pageSize}`);
  return runCheckpointedPull({
    stream: gcpStream(options.resourceName),
    store: options.store,
    source: auditEntryPages(options, pageSize),
    deliver: options.deliver,
    startTime: options.startTime,
    ...(options.endTime !== undefined ? { endTime: options.endTime } : {}),
    ...(options.overlapMs !== undefined ? { overlapMs: options.overlapMs } : {}),
    ...(options.maxSeenIds !== undefined ? { maxSeenIds: options.maxSeenIds } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.onPage !== undefined ? { onPage: options.onPage } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
}

/** The filter of one run: audit logs of `[from, to)`, and the caller's own condition. */
export function auditLogFilter(from: number, to: number, extra?: string): string {
  const range = `timestamp >= "${new Date(from).toISOString()}" AND timestamp < "${new Date(to).toISOString()}"`;
  return `${AUDIT_LOG_FILTER} AND ${range}${extra ? ` AND (${extra})` : ''}`;
}

function auditEntryPages(options: GcpAuditPullOptions, pageSize: number): PageSource {
  const wait = options.sleep ?? sleep;
  const clock = options.clock ?? Date.now;
  const interval = options.minRequestIntervalMs ?? 1_000;
  let lastRequest = Number.NEGATIVE_INFINITY;
  return async function* ({ from, to }) {
    const filter = auditLogFilter(from, to, options.filter);
    let pageToken: string | undefined;
    do {
      const due = lastRequest + interval - clock();
      if (due > 0) await wait(due);
      lastRequest = clock();
      const page = await listPage(options, wait, { filter, pageSize, pageToken });
      yield page.records;
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
  };
}

interface ListedPage {
  readonly records: PulledRecord[];
  readonly nextPageToken: string | undefined;
}

async function listPage(
  options: GcpAuditPullOptions,
  wait: Sleep,
  request: { filter: string; pageSize: number; pageToken: string | undefined },
): Promise<ListedPage> {
  const retries = options.throttle?.retries ?? 6;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const [, nextQuery, response] = await options.logging.getEntries({
        resourceNames: [options.resourceName],
        filter: request.filter,
        orderBy: 'timestamp asc',
        pageSize: request.pageSize,
        ...(request.pageToken !== undefined ? { pageToken: request.pageToken } : {}),
        // One page per call: each page is delivered and committed before the next is asked for.
        autoPaginate: false,
      });
      // The raw page, not the `Entry` objects made from it (see log-entry.ts for why).
      const decoded = (response?.entries ?? []) as Record<string, unknown>[];
      return {
        records: decoded.map((entry) => toPulledRecord(options.resourceName, entry)),
        nextPageToken: nextQuery?.pageToken || undefined,
      };
    } catch (error) {
      if (error instanceof GcpLoggingError) throw error;
      const code = (error as { code?: unknown }).code;
      if (code !== RESOURCE_EXHAUSTED)
        throw new GcpLoggingError(
          `entries.list for ${options.resourceName} failed: ${describe(error)}`,
          {
            resourceName: options.resourceName,
            operation: 'entries.list',
            ...(typeof code === 'number' ? { code } : {}),
          },
          { cause: error },
        );
      if (attempt > retries) throw new GcpThrottledError(options.resourceName, attempt, { cause: error });
      const delay = backoffDelay(attempt, options.throttle ?? {}, retryInfoDelayMs(error));
      options.onThrottle?.(attempt, delay);
      await wait(delay);
    }
  }
}

function toPulledRecord(resourceName: string, decoded: Record<string, unknown>): PulledRecord {
  const record: LogEntryJson = toLogEntryJson(decoded);
  const time = entryTime(record);
  if (time === undefined)
    throw new GcpEntryFormatError(
      `an entry of ${resourceName} (insertId ${record.insertId ?? '?'}) has no readable timestamp`,
      { resourceName, operation: 'entries.list' },
    );
  return { id: entryId(record), time, record };
}

/**
 * The delay of a google.rpc.RetryInfo detail, when the error carries one
 * (decoded as a Duration `{seconds, nanos}`, or still as JSON `"1.5s"`).
 */
function retryInfoDelayMs(error: unknown): number | undefined {
  const details = (error as { statusDetails?: unknown; details?: unknown }).statusDetails;
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const delay = (detail as { retryDelay?: unknown } | null)?.retryDelay;
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) return Number.parseFloat(delay) * 1000;
    if (typeof delay === 'object' && delay !== null) {
      const { seconds, nanos } = delay as { seconds?: unknown; nanos?: unknown };
      return Number(seconds ?? 0) * 1000 + Number(nanos ?? 0) / 1e6;
    }
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
