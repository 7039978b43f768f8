/**
 * Turns ring records, backstop sightings and platform events into the wire
 * record of `detectors/schema/runtime-record.ts`, tags each with the
 * function's identity and the invoke it happened in, validates it, and ships
 * it: one JSON line per record on stdout (Lambda sends an extension's stdout
 * to the function's log stream) or, with `TRAILHOUND_SQS_URL`, one message
 * per record in `SendMessageBatch` calls of up to 10. Records SQS refuses are
 * written to stdout instead, so none is lost.
 */
import { readlinkSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { RUNTIME_RECORD_VERSION, RuntimeRecord } from '../../detectors/schema/runtime-record.js';
import { describeError, ShipperError } from './errors.js';
import type { Sighting } from './proc-backstop.js';
import { RING_FLAG_BACKSTOP, RING_FLAG_DENIED, RING_FLAG_TRUNCATED, type RingRecord } from './ring.js';
import type { TelemetryEvent } from './telemetry-api.js';

export interface FunctionIdentity {
  name: string;
  version: string;
  region: string;
  account: string;
  arn?: string;
  role_session?: string;
  runtime?: string;
}

/** Where validated records go. */
export interface RecordSink {
  send(records: readonly RuntimeRecord[]): Promise<void>;
}

/** One JSON line per record on a stream (stdout in Lambda). */
export class StreamSink implements RecordSink {
  constructor(private readonly stream: Writable = process.stdout) {}

  send(records: readonly RuntimeRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    return new Promise((resolve, reject) =>
      this.stream.write(text, (error) => (error ? reject(error) : resolve())),
    );
  }
}

/** The part of `SQSClient` the sink uses. */
export interface SqsSender {
  send(command: unknown): Promise<{ Failed?: { Id?: string; Message?: string }[] }>;
}

const SQS_BATCH_ENTRIES = 10;
const SQS_BATCH_BYTES = 256 * 1024;

/** `SendMessageBatch` in batches of at most 10 entries and 256 KiB; refused entries go to `fallback`. */
export class SqsSink implements RecordSink {
  errors: string[] = [];

  constructor(
    private readonly queueUrl: string,
    private readonly client: SqsSender,
    private readonly makeCommand: (input: {
      QueueUrl: string;
      Entries: { Id: string; MessageBody: string }[];
    }) => unknown,
    private readonly fallback: RecordSink = new StreamSink(),
  ) {}

  async send(records: readonly RuntimeRecord[]): Promise<void> {
    const refused: RuntimeRecord[] = [];
    let batch: { record: RuntimeRecord; body: string }[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const current = batch;
      batch = [];
      bytes = 0;
      try {
        const out = await this.client.send(
          this.makeCommand({
            QueueUrl: this.queueUrl,
            Entries: current.map((item, i) => ({ Id: `r${i}`, MessageBody: item.body })),
          }),
        );
        for (const failed of out.Failed ?? []) {
          const item = current[Number(failed.Id?.slice(1))];
          if (item) refused.push(item.record);
          this.errors.push(`ShipperError: SQS refused a record (${failed.Message ?? 'no reason'})`);
        }
      } catch (error) {
        refused.push(...current.map((item) => item.record));
        this.errors.push(describeError(new ShipperError('SendMessageBatch failed', { cause: error })));
      }
    };
    for (const record of records) {
      const body = JSON.stringify(record);
      const size = Buffer.byteLength(body);
      if (batch.length === SQS_BATCH_ENTRIES || bytes + size > SQS_BATCH_BYTES) await flush();
      batch.push({ record, body });
      bytes += size;
    }
    await flush();
    await this.fallback.send(refused);
  }
}

const FAMILIES: Record<number, RuntimeRecord['family']> = { 2: 'ipv4', 10: 'ipv6', 1: 'unix' };

/** The executable of a process, or undefined (it exited, or /proc is not readable). */
export type ExeResolver = (pid: number) => string | undefined;

/** Pids whose executable is remembered at most: a sandbox runs few processes. */
const EXE_CACHE_SIZE = 256;

/**
 * `/proc/<pid>/exe`, remembered per pid. Best effort: a process that exited
 * before the drain has no answer, and a reused pid keeps its first answer
 * until it falls out of the cache, which in a function sandbox is rare.
 */
export function procExeResolver(procRoot = '/proc'): ExeResolver {
  const cache = new Map<number, string | undefined>();
  return (pid) => {
    if (cache.has(pid)) return cache.get(pid);
    let exe: string | undefined;
    try {
      exe = readlinkSync(`${procRoot}/${pid}/exe`);
    } catch {
      exe = undefined;
    }
    if (cache.size >= EXE_CACHE_SIZE) cache.delete(cache.keys().next().value as number);
    cache.set(pid, exe);
    return exe;
  };
}

/** Kinds whose record says what was done but not by which program: the wire record's `exe` says it. */
const NEEDS_EXE = new Set<RuntimeRecord['kind']>([
  'network.connect',
  'network.dns',
  'file.read-sensitive',
  'file.write-tmp',
  'file.chmod-exec',
]);

function nonEmpty(value: string): string | undefined {
  return value === '' ? undefined : value;
}

export interface HealthCounters {
  readonly written: number;
  readonly dropped: number;
  readonly denied: number;
}

export class Shipper {
  private pending: RuntimeRecord[] = [];
  /** Records that failed validation, reported in the next health record. */
  private invalid: string[] = [];

  constructor(
    readonly identity: FunctionIdentity,
    private readonly sink: RecordSink,
    private readonly exeOf: ExeResolver = procExeResolver(),
  ) {}

  private base(kind: RuntimeRecord['kind'], time: number, requestId: string | undefined): RuntimeRecord {
    return {
      trailhound_runtime: RUNTIME_RECORD_VERSION,
      kind,
      time,
      function: { ...this.identity },
      ...(requestId ? { request_id: requestId } : {}),
    };
  }

  /** A ring record; `requestId` is the invoke it happened in (none during init). */
  fromRing(record: RingRecord, requestId: string | undefined): RuntimeRecord | undefined {
    if (record.kind === undefined) {
      this.invalid.push(`RingError: unknown record kind ${record.kindValue}`);
      return undefined;
    }
    const out: RuntimeRecord = {
      ...this.base(record.kind, Number(record.timeNs / 1_000_000n), requestId),
      pid: record.pid,
      ppid: record.ppid,
      result: record.result,
    };
    if (record.flags & RING_FLAG_DENIED) out.denied = true;
    if (record.flags & RING_FLAG_TRUNCATED) out.truncated = true;
    if (record.flags & RING_FLAG_BACKSTOP) out.backstop = true;
    const path = nonEmpty(record.path);
    if (path !== undefined) out.path = path;
    const family = FAMILIES[record.family];
    if (family) out.family = family;
    switch (record.kind) {
      case 'process.exec':
      case 'process.spawn':
      case 'process.backstop':
        if (record.detail !== '') out.args = record.detail.split('\x1f');
        break;
      case 'process.system':
        if (record.detail !== '') out.args = [record.detail];
        break;
      case 'network.connect':
      case 'network.backstop':
        out.port = record.port;
        break;
      case 'network.dns':
        out.addresses = record.detail
          .split('\x1f')
          .flatMap((part) => part.split(/[,; ]+/))
          .filter((a) => a !== '');
        break;
      default:
        break;
    }
    if (NEEDS_EXE.has(record.kind) && record.pid > 0) {
      const exe = this.exeOf(record.pid);
      if (exe !== undefined) out.exe = exe;
    }
    return out;
  }

  fromSighting(sighting: Sighting, requestId: string | undefined): RuntimeRecord {
    const out: RuntimeRecord = { ...this.base(sighting.kind, sighting.timeMs, requestId), backstop: true };
    if (sighting.kind === 'process.backstop') {
      return { ...out, pid: sighting.pid, ppid: sighting.ppid, path: sighting.path, args: sighting.args };
    }
    return {
      ...out,
      ...(sighting.pid !== undefined ? { pid: sighting.pid } : {}),
      path: sighting.address,
      port: sighting.port,
      family: sighting.family,
    };
  }

  fromPlatform(event: TelemetryEvent): RuntimeRecord {
    const record =
      event.record && typeof event.record === 'object' && !Array.isArray(event.record)
        ? (event.record as Record<string, unknown>)
        : { message: event.record };
    const requestId = typeof record.requestId === 'string' ? record.requestId : undefined;
    const time = Date.parse(event.time);
    return {
      ...this.base('platform.event', Number.isNaN(time) ? Date.now() : time, requestId),
      platform: { type: event.type, record },
    };
  }

  health(counters: HealthCounters, errors: readonly string[], requestId?: string): RuntimeRecord {
    const all = [...errors, ...this.invalid];
    this.invalid = [];
    return { ...this.base('collector.health', Date.now(), requestId), health: { ...counters, errors: all } };
  }

  /** Validates and queues records; an invalid one is dropped and reported in the next health record. */
  add(...records: (RuntimeRecord | undefined)[]): void {
    for (const record of records) {
      if (!record) continue;
      const parsed = RuntimeRecord.safeParse(record);
      if (parsed.success) this.pending.push(parsed.data);
      else
        this.invalid.push(
          `ShipperError: invalid ${record.kind} record (${parsed.error.issues[0]?.message ?? ''})`,
        );
    }
  }

  /** Errors waiting for the next health record. */
  get pendingErrors(): number {
    return this.invalid.length;
  }

  get queued(): number {
    return this.pending.length;
  }

  async flush(): Promise<void> {
    const records = this.pending;
    this.pending = [];
    await this.sink.send(records);
  }
}

/** `arn:aws:sts::<account>:assumed-role/<role>/<function>`: the session Lambda names after the function. */
export function roleSession(
  roleArn: string | undefined,
  account: string,
  functionName: string,
): string | undefined {
  const role = roleArn ? /:role\/(?:.*\/)?([^/]+)$/.exec(roleArn)?.[1] : undefined;
  return role ? `arn:aws:sts::${account}:assumed-role/${role}/${functionName}` : undefined;
}

/** The account in a Lambda ARN (`arn:aws:lambda:<region>:<account>:function:…`). */
export function accountOfArn(arn: string): string | undefined {
  return /^arn:[^:]+:lambda:[^:]*:(\d{12}):/.exec(arn)?.[1];
}
