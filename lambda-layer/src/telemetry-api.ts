/**
 * The Lambda Telemetry API (version 2022-07-01, schema 2022-12-13): a local
 * HTTP listener Lambda POSTs batches of events to, and the subscription that
 * tells Lambda where it is. The extension keeps what matters for detection
 * (init, failed or timed-out invokes, reports, out-of-memory signals,
 * extension state) and follows `platform.start` / `platform.runtimeDone` to
 * know when an invoke's runtime work has ended.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TelemetryApiError } from './errors.js';
import { httpRequest } from './http.js';

export const TELEMETRY_API_VERSION = '2022-07-01';
export const TELEMETRY_SCHEMA_VERSION = '2022-12-13';

export type TelemetryType = 'platform' | 'function' | 'extension';

/** One Telemetry API event as Lambda posts it. */
export interface TelemetryEvent {
  /** ISO 8601. */
  readonly time: string;
  /** `platform.initStart`, `platform.runtimeDone`, `function`, … */
  readonly type: string;
  /** An object for platform events; a string (text logs) or object (JSON logs) for `function`. */
  readonly record: unknown;
}

export interface Buffering {
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

/** Lambda's limits for each buffering setting (a subscription outside them is refused). */
export const BUFFERING_LIMITS = {
  maxItems: { min: 1000, max: 10_000, default: 1000 },
  maxBytes: { min: 262_144, max: 1_048_576, default: 262_144 },
  timeoutMs: { min: 25, max: 30_000, default: 100 },
} as const;

/** Fills defaults and clamps each setting into Lambda's range. */
export function normalizeBuffering(buffering: Partial<Buffering> = {}): Buffering {
  const pick = (key: keyof Buffering) => {
    const limit = BUFFERING_LIMITS[key];
    const value = buffering[key] ?? limit.default;
    return Math.min(limit.max, Math.max(limit.min, Math.round(value)));
  };
  return { maxItems: pick('maxItems'), maxBytes: pick('maxBytes'), timeoutMs: pick('timeoutMs') };
}

const OUT_OF_MEMORY = /OutOfMemory|out of memory|MemoryError|signal: killed/i;

function recordObject(event: TelemetryEvent): Record<string, unknown> | undefined {
  return event.record && typeof event.record === 'object' && !Array.isArray(event.record)
    ? (event.record as Record<string, unknown>)
    : undefined;
}

/** Whether an event is kept as a `platform.event` record. */
export function keepTelemetryEvent(event: TelemetryEvent): boolean {
  const record = recordObject(event);
  const status = record?.status;
  if (record && typeof record.errorType === 'string' && OUT_OF_MEMORY.test(record.errorType)) return true;
  switch (event.type) {
    case 'platform.initStart':
    case 'platform.report':
    case 'platform.extension':
      return true;
    case 'platform.runtimeDone':
    case 'platform.initRuntimeDone':
    case 'platform.initReport':
      return status !== undefined && status !== 'success';
    case 'function': {
      const text = typeof event.record === 'string' ? event.record : JSON.stringify(event.record);
      return OUT_OF_MEMORY.test(text);
    }
    default:
      return false;
  }
}

/** The request id of an event, when it has one. */
export function telemetryRequestId(event: TelemetryEvent): string | undefined {
  const id = recordObject(event)?.requestId;
  return typeof id === 'string' ? id : undefined;
}

export interface ListenerOptions {
  /** `sandbox.localdomain` in Lambda; 127.0.0.1 in tests. */
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
}

/**
 * The local endpoint Lambda posts batches to. It answers every batch at once
 * (Lambda retries a batch the listener fails) and keeps:
 * - `kept`: events for `platform.event` records, drained with {@link take};
 * - the start time and end of every invoke, for {@link waitForRuntimeDone}.
 */
export class TelemetryListener {
  private server: Server | undefined;
  private kept: TelemetryEvent[] = [];
  private readonly starts = new Map<string, number>();
  private readonly done = new Map<string, TelemetryEvent>();
  private waiters: Array<() => void> = [];
  private lastBatchAt = 0;
  batches = 0;
  errors: string[] = [];

  async start(options: ListenerOptions): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.writeHead(200).end();
        if (req.method !== 'POST') return;
        try {
          const events: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (!Array.isArray(events)) throw new Error('batch is not an array');
          this.accept(events as TelemetryEvent[]);
        } catch (error) {
          this.errors.push(`TelemetryApiError: unreadable batch (${(error as Error).message})`);
        }
      });
    });
    server.keepAliveTimeout = 0;
    server.listen(options.port, options.host);
    await once(server, 'listening');
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Takes in one batch (exposed for tests and for callers with their own transport). */
  accept(events: readonly TelemetryEvent[]): void {
    this.batches++;
    this.lastBatchAt = Date.now();
    for (const event of events) {
      if (!event || typeof event.type !== 'string') continue;
      const requestId = telemetryRequestId(event);
      if (event.type === 'platform.start' && requestId) this.starts.set(requestId, Date.parse(event.time));
      if (event.type === 'platform.runtimeDone' && requestId) this.done.set(requestId, event);
      if (keepTelemetryEvent(event)) this.kept.push(event);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Kept events since the last call. */
  take(): TelemetryEvent[] {
    const kept = this.kept;
    this.kept = [];
    return kept;
  }

  /** Epoch ms of the invoke's `platform.start`, once known. */
  startOf(requestId: string): number | undefined {
    return this.starts.get(requestId);
  }

  runtimeDone(requestId: string): TelemetryEvent | undefined {
    return this.done.get(requestId);
  }

  /** Forgets bookkeeping of finished invokes. */
  forget(requestId: string): void {
    this.starts.delete(requestId);
    this.done.delete(requestId);
  }

  /** Resolves at the next batch, or after `ms`. */
  waitForBatch(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** Waits until no batch has arrived for `quietMs`, or until `deadline` (epoch ms). */
  async settle(quietMs: number, deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const idle = Date.now() - this.lastBatchAt;
      if (idle >= quietMs) return;
      await this.waitForBatch(Math.min(quietMs - idle, deadline - Date.now()));
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface SubscribeOptions {
  readonly types: readonly TelemetryType[];
  readonly destinationUri: string;
  readonly buffering?: Partial<Buffering>;
}

/** Subscribes the registered extension; Lambda then POSTs batches to `destinationUri`. */
export async function subscribeTelemetry(
  runtimeApi: string,
  extensionId: string,
  options: SubscribeOptions,
): Promise<void> {
  const body = {
    schemaVersion: TELEMETRY_SCHEMA_VERSION,
    types: options.types,
    buffering: normalizeBuffering(options.buffering),
    destination: { protocol: 'HTTP', URI: options.destinationUri },
  };
  let res: Awaited<ReturnType<typeof httpRequest>>;
  try {
    res = await httpRequest(
      `http://${runtimeApi}/${TELEMETRY_API_VERSION}/telemetry`,
      'PUT',
      { 'lambda-extension-identifier': extensionId },
      JSON.stringify(body),
    );
  } catch (error) {
    throw new TelemetryApiError('subscribe failed', undefined, { cause: error });
  }
  if (res.status !== 200)
    throw new TelemetryApiError(`subscribe answered ${res.status}: ${res.body}`, res.status);
}
