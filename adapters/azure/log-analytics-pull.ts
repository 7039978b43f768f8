/**
 * Pulls Azure audit logs from a Log Analytics workspace (`AzureActivity`,
 * `AuditLogs`, `SigninLogs`) with `@azure/monitor-query-logs`, and hands each
 * row to the detection pipeline as the record Log Analytics exports write:
 * `{"Type": "<table>", ...columns}`. Each table is its own checkpointed stream
 * (`azure:<workspaceId>:<table>`, see `adapters/pull/checkpointed-pull.ts`),
 * re-read from 10 minutes below its high-water mark: Log Analytics ingests
 * minutes late.
 *
 * The range is read in time slices (`sliceMs`, an hour by default: each
 * query's `timespan` and scan stay small), each slice in keyset pages of
 * `pageSize` rows (`kql.ts` says how). Throttling (HTTP 429 with Retry-After)
 * is retried first by the SDK's own retry policy, which waits as Retry-After
 * says (3 retries unless the client is built otherwise); when that gives up
 * we wait as the last Retry-After said and ask again. A partial result (rows
 * cut by the result-size limit, or a query timeout) is never delivered: the
 * page is asked for again with half as many rows.
 */
import {
  type LogsQueryClient,
  type LogsQueryResult,
  LogsQueryResultStatus,
  type LogsTable,
} from '@azure/monitor-query-logs';
import {
  type PageSource,
  type PulledRecord,
  type PullResult,
  type PullSettings,
  runCheckpointedPull,
} from '../pull/checkpointed-pull.js';
import { backoffDelay, type Sleep, sleep } from '../retry/backoff.js';
import { LogAnalyticsError, LogAnalyticsPartialResultError, LogAnalyticsThrottledError } from './errors.js';
import {
  AZURE_TABLES,
  type AzureTable,
  KEY_COLUMN,
  type PagePosition,
  pageQuery,
  TIME_COLUMN,
} from './kql.js';

export { AZURE_TABLES, type AzureTable } from './kql.js';

const HOUR = 3_600_000;
/** Below this many rows a partial result is an error, not a reason to ask for fewer. */
const MIN_PAGE_SIZE = 100;

export interface LogAnalyticsPullOptions extends PullSettings {
  /** A `LogsQueryClient` with the workspace's credential (`createAzureCredential`). Rows per query default 5000; at most one query per 200 ms by default (200 per 30 s per caller). */
  readonly client: LogsQueryClient;
  /** The workspace (customer) id, a GUID. */
  readonly workspaceId: string;
  /** Time slice per query, default 1 hour. */
  readonly sliceMs?: number;
  /** Passed as the `Prefer: wait=` server timeout. */
  readonly serverTimeoutInSeconds?: number;
}

/** The checkpoint stream of one table: `azure:<workspaceId>:<table>`. */
export function azureStream(workspaceId: string, table: AzureTable): string {
  return `azure:${workspaceId}:${table}`;
}

/** One run over each of `tables` (default: all three), one after the other. */
export async function pullLogAnalytics(
  options: LogAnalyticsPullOptions & { readonly tables?: readonly AzureTable[] },
): Promise<PullResult[]> {
  const results: PullResult[] = [];
  for (const table of options.tables ?? AZURE_TABLES)
    results.push(await pullLogAnalyticsTable({ ...options, table }));
  return results;
}

export function pullLogAnalyticsTable(
  options: LogAnalyticsPullOptions & { readonly table: AzureTable },
): Promise<PullResult> {
  const pageSize = options.pageSize ?? 5_000;
  const sliceMs = options.sliceMs ?? HOUR;
  if (!(Number.isInteger(pageSize) && pageSize >= 1))
    throw new RangeError(`pageSize must be >= 1, got ${pageSize}`);
  if (!(sliceMs >= 1_000)) throw new RangeError(`sliceMs must be >= 1000, got ${sliceMs}`);
  if (!AZURE_TABLES.includes(options.table)) throw new RangeError(`unknown table ${options.table}`);
  return runCheckpointedPull({
    stream: azureStream(options.workspaceId, options.table),
    store: options.store,
    source: tablePages(options, pageSize, sliceMs),
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

type TableOptions = LogAnalyticsPullOptions & { readonly table: AzureTable };

function tablePages(options: TableOptions, pageSize: number, sliceMs: number): PageSource {
  const wait = options.sleep ?? sleep;
  const clock = options.clock ?? Date.now;
  const interval = options.minRequestIntervalMs ?? 200;
  let lastRequest = Number.NEGATIVE_INFINITY;
  const paced = async <T>(call: () => Promise<T>): Promise<T> => {
    const due = lastRequest + interval - clock();
    if (due > 0) await wait(due);
    lastRequest = clock();
    return call();
  };
  return async function* ({ from, to }) {
    // Once a page size gave a partial result, the smaller one is kept for the rest of the run.
    let take = pageSize;
    for (let sliceStart = from; sliceStart < to; sliceStart += sliceMs) {
      const sliceEnd = Math.min(sliceStart + sliceMs, to);
      let after: PagePosition | undefined;
      for (;;) {
        const page = await queryPage(options, paced, wait, { from: sliceStart, to: sliceEnd, after, take });
        take = page.take;
        yield page.records;
        const last = page.records.at(-1);
        if (page.records.length < take || last === undefined) break;
        if (after !== undefined && last.time === after.time && last.id === after.key)
          throw new LogAnalyticsError(
            `paging ${options.table} of workspace ${options.workspaceId} did not move past ${last.id}`,
            { workspaceId: options.workspaceId, table: options.table },
          );
        after = { time: last.time, key: last.id };
      }
    }
  };
}

interface Page {
  readonly records: PulledRecord[];
  /** The page size that finally gave a complete result. */
  readonly take: number;
}

async function queryPage(
  options: TableOptions,
  paced: <T>(call: () => Promise<T>) => Promise<T>,
  wait: Sleep,
  range: { from: number; to: number; after: PagePosition | undefined; take: number },
): Promise<Page> {
  const { workspaceId, table } = options;
  const retries = options.throttle?.retries ?? 6;
  let take = range.take;
  let throttled = 0;
  for (;;) {
    const query = pageQuery({
      table,
      from: range.from,
      to: range.to,
      take,
      ...(range.after !== undefined ? { after: range.after } : {}),
    });
    let result: LogsQueryResult;
    try {
      result = await paced(() =>
        options.client.queryWorkspace(
          workspaceId,
          query,
          { startTime: new Date(range.from), endTime: new Date(range.to) },
          options.serverTimeoutInSeconds !== undefined
            ? { serverTimeoutInSeconds: options.serverTimeoutInSeconds }
            : {},
        ),
      );
    } catch (error) {
      const status = (error as { statusCode?: unknown }).statusCode;
      if (status !== 429) throw queryError(options, error);
      throttled += 1;
      if (throttled > retries)
        throw new LogAnalyticsThrottledError(workspaceId, table, throttled, { cause: error });
      const delay = backoffDelay(throttled, options.throttle ?? {}, retryAfterMs(error));
      options.onThrottle?.(throttled, delay);
      await wait(delay);
      continue;
    }
    if (result.status === LogsQueryResultStatus.PartialFailure) {
      // Delivering the rows we got would skip the rest: ask for fewer instead.
      if (take > MIN_PAGE_SIZE) {
        take = Math.max(MIN_PAGE_SIZE, Math.floor(take / 2));
        continue;
      }
      throw new LogAnalyticsPartialResultError(
        `the ${table} query of workspace ${workspaceId} returned a partial result even for ${take} rows: ${result.partialError.code}: ${result.partialError.message}`,
        { workspaceId, table, code: result.partialError.code },
      );
    }
    const [primary] = result.tables;
    return { records: primary === undefined ? [] : tableRecords(table, primary), take };
  }
}

/**
 * The rows as export records: `Type` first, then every column by name; Dates
 * (the SDK's datetimes) back to ISO 8601, dynamic columns as the objects the
 * SDK parsed; the query's own key and time columns left out.
 */
export function tableRecords(table: AzureTable, result: LogsTable): PulledRecord[] {
  const names = result.columnDescriptors.map((column) => column.name ?? '');
  const keyAt = names.indexOf(KEY_COLUMN);
  const timeAt = names.indexOf(TIME_COLUMN);
  if (keyAt < 0 || timeAt < 0)
    throw new Error(
      `the ${table} result has no ${KEY_COLUMN} or ${TIME_COLUMN} column: not this adapter's query`,
    );
  return result.rows.map((row) => {
    const record: Record<string, unknown> = { Type: table };
    names.forEach((name, index) => {
      if (index === keyAt || index === timeAt || name === 'Type') return;
      const value = row[index];
      record[name] = value instanceof Date ? value.toISOString() : value;
    });
    const time = row[timeAt];
    return {
      id: String(row[keyAt] ?? ''),
      time: time instanceof Date ? time.getTime() : Date.parse(String(time)),
      record,
    };
  });
}

/** Retry-After of a 429, in ms: `retry-after-ms` / `x-ms-retry-after-ms`, or `Retry-After` in seconds or as a date. */
function retryAfterMs(error: unknown): number | undefined {
  const headers = (error as { response?: { headers?: { get(name: string): string | undefined } } }).response
    ?.headers;
  if (headers === undefined) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = Number(headers.get(name));
    if (headers.get(name) !== undefined && Number.isFinite(value)) return value;
  }
  const header = headers.get('retry-after');
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function queryError(options: TableOptions, error: unknown): LogAnalyticsError {
  const status = (error as { statusCode?: unknown }).statusCode;
  const detail = (error as { details?: { error?: { code?: string; message?: string } } }).details?.error;
  const code = detail?.code ?? (error as { code?: unknown }).code;
  const message = detail?.message ?? (error as Error).message ?? String(error);
  return new LogAnalyticsError(
    `the ${options.table} query of workspace ${options.workspaceId} failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${typeof code === 'string' ? `${code}: ` : ''}${message}`,
    {
      workspaceId: options.workspaceId,
      table: options.table,
      ...(typeof status === 'number' ? { status } : {}),
      ...(typeof code === 'string' ? { code } : {}),
    },
    { cause: error },
  );
}
