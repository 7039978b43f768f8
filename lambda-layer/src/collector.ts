/**
 * The collector's state and work, whichever flush mode drives it
 * (`main.ts` runs the loop): the ring reader and the /proc backstop, the
 * invoke spans records are attributed to, the telemetry listener, the
 * bounded drain slices of deferred mode, the per-invoke drain, SHUTDOWN's
 * final flush, and the health records that carry every error.
 */
import type { ExtensionConfig } from './config.js';
import { describeError } from './errors.js';
import type { InvokeEvent, ShutdownEvent } from './extensions-api.js';
import { endpointKey, ProcBackstop, type Sighting } from './proc-backstop.js';
import type { RingCounters, RingReader, RingRecord } from './ring.js';
import { accountOfArn, roleSession, type Shipper } from './shipper.js';
import { subscribeTelemetry, TelemetryListener, type TelemetryType } from './telemetry-api.js';

interface InvokeSpan {
  readonly requestId: string;
  readonly receivedAt: number;
  /** The INVOKE event's `deadlineMs`: the invoke's start plus the function's timeout. */
  readonly deadlineMs: number;
}

/** Margin under a start estimated from `deadlineMs` (the two are set by Lambda a moment apart). */
const START_ESTIMATE_MARGIN_MS = 5;
/** With telemetry but no start known nor estimable yet: records this close to the INVOKE's arrival wait. */
const UNKNOWN_START_HOLD_MS = 250;

const MAX_SPANS = 32;
/** Timings kept for the stats line (the oldest are dropped beyond this). */
const MAX_TIMINGS = 10_000;

/** Wall-clock timings of the extension's own work, for `TRAILHOUND_STATS=1`. */
export interface CollectorStats {
  invokes: number;
  /** Per INVOKE: from the event's arrival to `event/next` being called again (deferred mode). */
  readonly preNextMs: number[];
  /** Per slice of deferred work (drain, attribute, validate, queue for shipping). */
  readonly sliceMs: number[];
  /** The same slices in CPU time (`process.cpuUsage`: wall time also counts freezes and preemption). */
  readonly sliceCpuMs: number[];
  shipped: number;
}

export function timing(into: number[], ms: number): void {
  if (into.length >= MAX_TIMINGS) into.shift();
  into.push(ms);
}

function summary(values: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) };
}

export class Collector {
  private readonly errors: string[] = [];
  private ring: RingReader | undefined;
  private telemetry: TelemetryListener | undefined;
  private backstop: ProcBackstop | undefined;
  private baselined = false;
  private lastBackstopAt = 0;
  private readonly seenPids = new Set<number>();
  private readonly seenEndpoints = new Set<string>();
  private buffered: RingRecord[] = [];
  private sightings: Sighting[] = [];
  private spans: InvokeSpan[] = [];
  private reported: RingCounters | undefined;
  /** Shipping runs behind the loop in deferred mode: each flush chains on the previous one. */
  private shipping: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | undefined;
  private lastTick = 0;
  readonly stats: CollectorStats = { invokes: 0, preNextMs: [], sliceMs: [], sliceCpuMs: [], shipped: 0 };

  constructor(
    private readonly config: ExtensionConfig,
    private readonly shipper: Shipper,
  ) {}

  fail(error: unknown): void {
    this.errors.push(describeError(error));
  }

  useRing(ring: RingReader | Error): void {
    if (ring instanceof Error) this.fail(ring);
    else this.ring = ring;
  }

  async setUpTelemetry(extensionId: string): Promise<void> {
    const { telemetry } = this.config;
    if (!telemetry.enabled) return;
    const listener = new TelemetryListener();
    try {
      const port = await listener.start({ host: telemetry.listenHost, port: telemetry.port });
      const types: TelemetryType[] = telemetry.functionLogs ? ['platform', 'function'] : ['platform'];
      await subscribeTelemetry(this.config.runtimeApi, extensionId, {
        types,
        destinationUri: `http://${telemetry.uriHost}:${port}`,
        buffering: { timeoutMs: telemetry.bufferTimeoutMs },
      });
      this.telemetry = listener;
    } catch (error) {
      this.fail(error);
      await listener.close().catch(() => undefined);
    }
  }

  /** `address:port` of the Runtime API, as connect records name it. */
  private get runtimeApiEndpoint(): string {
    const [host, port] = this.config.runtimeApi.split(':');
    return endpointKey(host === 'localhost' ? '127.0.0.1' : (host ?? ''), Number(port));
  }

  setUpBackstop(): void {
    if (this.config.backstopMs <= 0) return;
    this.backstop = new ProcBackstop({
      procRoot: this.config.procRoot,
      ignoreEndpoints: [this.runtimeApiEndpoint],
    });
  }

  /**
   * Drains up to `limit` ring records into the buffer (every published one when `final`, stuck
   * slots skipped at once); samples /proc when due and `sample`.
   */
  private collect(sample: boolean, final: boolean, limit = Number.POSITIVE_INFINITY): void {
    if (this.ring) {
      try {
        let left = limit;
        while (left > 0) {
          const max = Math.min(1024, left);
          const { records, skipped } = this.ring.drain({ max, ...(final ? { stuckAfterMs: 0 } : {}) });
          if (skipped > 0)
            this.errors.push(`RingError: skipped ${skipped} slot(s) claimed but never published`);
          for (const record of records) {
            this.seenPids.add(record.pid);
            if (record.kind === 'network.connect')
              this.seenEndpoints.add(endpointKey(record.path, record.port));
          }
          for (const record of records) this.buffered.push(record);
          left -= records.length;
          if (records.length < max) break;
        }
      } catch (error) {
        this.fail(error);
      }
    }
    if (this.backstop && sample && !final) {
      const now = Date.now();
      if (now - this.lastBackstopAt >= this.config.backstopMs) {
        this.lastBackstopAt = now;
        try {
          if (!this.baselined) {
            this.backstop.baseline();
            this.baselined = true;
          } else {
            // Drain first so the scan compares against what the ring has already named.
            for (const sighting of this.backstop.scan({
              pids: this.seenPids,
              endpoints: this.seenEndpoints,
            })) {
              this.sightings.push(sighting);
            }
          }
        } catch (error) {
          this.fail(error);
        }
      }
    }
  }

  private startOf(span: InvokeSpan): number {
    return this.telemetry?.startOf(span.requestId) ?? span.receivedAt;
  }

  /**
   * A time at or before the invoke's true start, for deferred slices: records from it on wait
   * until the start is known. Its `platform.start` when known; else, with telemetry, the start
   * estimated from its deadline minus the function's timeout (learned from earlier invokes whose
   * `platform.start` is known), or its arrival minus {@link UNKNOWN_START_HOLD_MS} before that is
   * learned; without telemetry, its arrival (the runtime may start a moment earlier: see README).
   */
  private earliestStart(span: InvokeSpan): number {
    if (!this.telemetry) return span.receivedAt;
    const start = this.telemetry.startOf(span.requestId);
    if (start !== undefined) return start;
    let timeout: number | undefined;
    for (const other of this.spans) {
      const known = this.telemetry.startOf(other.requestId);
      if (known !== undefined) timeout = Math.max(timeout ?? 0, other.deadlineMs - known);
    }
    return timeout === undefined
      ? span.receivedAt - UNKNOWN_START_HOLD_MS
      : Math.min(span.receivedAt, span.deadlineMs - timeout) - START_ESTIMATE_MARGIN_MS;
  }

  /** The invoke a record at `timeMs` happened in. */
  private attribute(timeMs: number): string | undefined {
    for (let i = this.spans.length - 1; i >= 0; i--) {
      const span = this.spans[i];
      if (span && timeMs >= this.startOf(span)) return span.requestId;
    }
    return undefined;
  }

  /** Counters since the last health record; `commit` makes these the new baseline. */
  private counterDelta(): {
    written: number;
    dropped: number;
    denied: number;
    changed: boolean;
    commit: () => void;
  } {
    if (!this.ring) return { written: 0, dropped: 0, denied: 0, changed: false, commit: () => undefined };
    const now = this.ring.counters();
    const before = this.reported;
    const written = Number(now.written - (before?.written ?? 0n));
    const dropped = Number(now.dropped - (before?.dropped ?? 0n));
    const denied = Number(now.denied - (before?.denied ?? 0n));
    return {
      written,
      dropped,
      denied,
      changed: dropped > 0,
      commit: () => {
        this.reported = now;
      },
    };
  }

  /** The runtime's own calls to the Runtime API are not the function's behaviour. */
  private isRuntimeApiTraffic(record: RingRecord): boolean {
    if (record.kind === 'network.connect')
      return endpointKey(record.path, record.port) === this.runtimeApiEndpoint;
    if (record.kind === 'network.dns')
      return `${record.path}:${this.runtimeApiEndpoint.split(':').at(-1)}` === this.runtimeApiEndpoint;
    return false;
  }

  /**
   * Queues what has been collected, plus a health record when something went wrong (or always,
   * at the end). `before` (epoch ms): records and sightings at or after it stay buffered (their
   * invoke may not have arrived yet). `until` (`performance.now()` ms): stop there and leave the
   * rest buffered. Returns whether records before `before` are left.
   */
  private queue(
    requestId: string | undefined,
    forceHealth: boolean,
    bounds: { before?: number; until?: number } = {},
  ): boolean {
    const before = bounds.before ?? Number.POSITIVE_INFINITY;
    const records = this.buffered;
    const held: RingRecord[] = [];
    let i = 0;
    for (; i < records.length; i++) {
      if (bounds.until !== undefined && i % 32 === 31 && performance.now() >= bounds.until) break;
      const record = records[i] as RingRecord;
      const timeMs = Number(record.timeNs / 1_000_000n);
      if (timeMs >= before) {
        held.push(record);
        continue;
      }
      if (this.isRuntimeApiTraffic(record)) continue;
      this.shipper.add(this.shipper.fromRing(record, this.attribute(timeMs)));
    }
    const left = i < records.length;
    this.buffered = left ? held.concat(records.slice(i)) : held;
    const sightings = this.sightings;
    this.sightings = [];
    for (const sighting of sightings) {
      if (sighting.timeMs >= before) this.sightings.push(sighting);
      else this.shipper.add(this.shipper.fromSighting(sighting, this.attribute(sighting.timeMs)));
    }
    for (const event of this.telemetry?.take() ?? []) this.shipper.add(this.shipper.fromPlatform(event));
    if (this.telemetry && this.telemetry.errors.length > 0)
      this.errors.push(...this.telemetry.errors.splice(0));
    const delta = this.counterDelta();
    if (forceHealth || delta.changed || this.errors.length > 0 || this.shipper.pendingErrors > 0) {
      const errors = this.errors.splice(0);
      delta.commit();
      this.shipper.add(
        this.shipper.health(
          { written: delta.written, dropped: delta.dropped, denied: delta.denied },
          errors,
          requestId,
        ),
      );
    }
    return left;
  }

  /** Hands what is queued to the sink, behind any flush still running. */
  private startShipping(): Promise<void> {
    if (this.shipper.queued > 0) {
      this.stats.shipped += this.shipper.queued;
      this.shipping = this.shipping
        .then(() => this.shipper.flush())
        .catch((error: unknown) => this.fail(error));
    }
    return this.shipping;
  }

  /** Ships what is queued; waits for it (and earlier flushes) until `deadline` (epoch ms). */
  private async ship(deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.startShipping(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private noteInvoke(event: InvokeEvent): void {
    const identity = this.shipper.identity;
    if (event.invokedFunctionArn) {
      identity.arn = event.invokedFunctionArn;
      if (identity.account === 'unknown')
        identity.account = accountOfArn(event.invokedFunctionArn) ?? 'unknown';
      const session = roleSession(this.config.function.roleArn, identity.account, identity.name);
      if (session) identity.role_session = session;
    }
    this.spans.push({ requestId: event.requestId, receivedAt: Date.now(), deadlineMs: event.deadlineMs });
    if (this.spans.length > MAX_SPANS) {
      const old = this.spans.shift();
      if (old) this.telemetry?.forget(old.requestId);
    }
    this.stats.invokes++;
  }

  /**
   * Deferred mode, on INVOKE: only notes the invoke (the caller asks for the next event right
   * after); the first slice of work runs once that request is on its way.
   */
  deferInvoke(event: InvokeEvent): void {
    this.noteInvoke(event);
    setImmediate(() => this.slice());
    this.ticker ??= setInterval(() => this.tick(), this.config.pollMs).unref();
  }

  /**
   * The every-`pollMs` slice. A tick much later than due means the environment was frozen and
   * has just been thawed, with an event (INVOKE, SHUTDOWN) about to be read: timers run before
   * I/O in Node's loop, so that tick is skipped rather than delay the extension's `event/next`.
   */
  private tick(): void {
    const now = performance.now();
    const late = now - this.lastTick > this.config.pollMs * 2 + 5;
    this.lastTick = now;
    if (!late) this.slice(true);
  }

  /**
   * One bounded slice of deferred work: drain at most `drainMax` records (while the buffer has
   * room: beyond it they wait in the ring), sample /proc when due and `sample` (ticks only: a
   * scan is not bounded by `sliceMs`, so it never runs in the slice right after an INVOKE),
   * attribute and validate records older than the latest INVOKE within `sliceMs`, and start
   * shipping them.
   */
  private slice(sample = false): void {
    const started = performance.now();
    const cpu = process.cpuUsage();
    try {
      const room = Math.max(0, Number(this.ring?.capacity ?? 0n) - this.buffered.length);
      this.collect(sample, false, Math.min(room, this.config.drainMax));
      const latest = this.spans.at(-1);
      this.queue(latest?.requestId, false, {
        before: latest ? this.earliestStart(latest) : Number.NEGATIVE_INFINITY,
        until: started + this.config.sliceMs,
      });
      void this.startShipping();
    } catch (error) {
      this.fail(error);
    }
    timing(this.stats.sliceMs, performance.now() - started);
    const used = process.cpuUsage(cpu);
    timing(this.stats.sliceCpuMs, (used.user + used.system) / 1000);
  }

  /** Per-invoke mode: holds the invoke until its `platform.runtimeDone`, then ships. */
  async onInvoke(event: InvokeEvent): Promise<void> {
    this.noteInvoke(event);
    // Stop waiting a little before the invoke's own deadline.
    const stopAt = event.deadlineMs - 100;
    if (this.telemetry) {
      while (!this.telemetry.runtimeDone(event.requestId) && Date.now() < stopAt) {
        this.collect(true, false);
        await this.telemetry.waitForBatch(Math.min(this.config.pollMs, stopAt - Date.now()));
      }
    }
    this.collect(true, false);
    this.queue(event.requestId, false);
    await this.ship(event.deadlineMs);
  }

  async onShutdown(event: ShutdownEvent): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    const margin = 200;
    if (this.telemetry) {
      // The last batch (this invoke's report) may still be on its way.
      const quiet = this.config.telemetry.bufferTimeoutMs + 30;
      await this.telemetry.settle(quiet, Math.min(event.deadlineMs - margin, Date.now() + quiet * 4));
    }
    this.collect(false, true);
    this.queue(undefined, true);
    try {
      await this.ship(event.deadlineMs - margin / 2);
    } catch (error) {
      this.fail(error);
    }
    await this.telemetry?.close().catch(() => undefined);
    this.ring?.close();
  }

  /** One JSON line of the extension's own timings (`TRAILHOUND_STATS=1`). */
  statsLine(): string {
    return `${JSON.stringify({
      trailhound_stats: {
        flush: this.config.flush,
        invokes: this.stats.invokes,
        shipped: this.stats.shipped,
        preNextMs: summary(this.stats.preNextMs),
        sliceMs: summary(this.stats.sliceMs),
        sliceCpuMs: summary(this.stats.sliceCpuMs),
      },
    })}\n`;
  }
}
