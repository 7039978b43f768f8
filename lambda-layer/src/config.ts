/**
 * The extension's configuration, read from the environment once at start (the
 * only module that reads `process.env`). Lambda sets the `AWS_*` variables;
 * the customer sets the `TRAILHOUND_*` ones on the function.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { DEFAULT_RING_CAPACITY, DEFAULT_RING_PATH, type RingFailMode, type RingMode } from './ring.js';

export const EXTENSION_NAME = 'trailhound';

export type FlushMode = 'deferred' | 'per-invoke';

export interface ExtensionConfig {
  /** `host:port` of the Runtime, Extensions and Telemetry APIs. */
  readonly runtimeApi: string;
  readonly extensionName: string;
  readonly function: {
    readonly name: string;
    readonly version: string;
    readonly region: string;
    /** From `TRAILHOUND_ACCOUNT_ID`; the register response or the invoked ARN fill it otherwise. */
    readonly account: string | undefined;
    /** `AWS_EXECUTION_ENV`, e.g. `AWS_Lambda_nodejs22.x`. */
    readonly runtime: string | undefined;
    /** `TRAILHOUND_ROLE_ARN`: the execution role, to name its session (Lambda does not expose it). */
    readonly roleArn: string | undefined;
  };
  readonly ring: {
    readonly path: string;
    readonly capacity: number;
    readonly mode: RingMode;
    readonly failMode: RingFailMode;
    readonly policy: readonly string[];
  };
  readonly telemetry: {
    readonly enabled: boolean;
    /** Address the local listener binds (`sandbox.localdomain` in Lambda). */
    readonly listenHost: string;
    /** Host in the destination URI handed to Lambda. */
    readonly uriHost: string;
    /** 0: any free port. */
    readonly port: number;
    /** Also subscribe to the function's own log lines (for out-of-memory messages). */
    readonly functionLogs: boolean;
    readonly bufferTimeoutMs: number;
  };
  /**
   * `deferred` (default): on INVOKE the extension notes the request id and asks for the next
   * event at once; an invoke's records ship at the next event (INVOKE or SHUTDOWN).
   * `per-invoke`: the extension holds the invoke until `platform.runtimeDone` and ships before
   * asking for the next event (adds the telemetry buffering to billed duration).
   */
  readonly flush: FlushMode;
  /** Deferred mode: at most this many ring records drained per slice of work. */
  readonly drainMax: number;
  /** Deferred mode: wall-clock budget of one slice of work (ms). */
  readonly sliceMs: number;
  /** Write one `{"trailhound_stats":…}` line to stderr at SHUTDOWN (diagnostics, bench). */
  readonly stats: boolean;
  /** How often the ring is drained (and /proc scanned) while an invoke runs. */
  readonly pollMs: number;
  /** /proc backstop interval; 0 turns it off. */
  readonly backstopMs: number;
  readonly procRoot: string;
  /** Ship to this queue instead of stdout. */
  readonly sqsUrl: string | undefined;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}=${raw} is not an integer in ${min}..${max}`);
  }
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name}=${raw} is not one of ${values.join(', ')}`);
  }
  return raw as T;
}

const POLICY_ENTRY = /^(exec:\/\S*|connect:[0-9a-fA-F.:/]+:(\d+|\*)|write:\/\S*)$/;

/**
 * Enforce-mode allow-list: `TRAILHOUND_POLICY` (entries separated by newlines
 * or commas) and `TRAILHOUND_POLICY_FILE` (one entry a line, `#` comments).
 */
export function parsePolicy(text: string): string[] {
  const entries = text
    .split(/[\n,]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0);
  for (const entry of entries) {
    if (!POLICY_ENTRY.test(entry))
      throw new ConfigError(`policy entry ${JSON.stringify(entry)} is not valid`);
  }
  return entries;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ExtensionConfig {
  const runtimeApi = env.AWS_LAMBDA_RUNTIME_API;
  if (!runtimeApi) throw new ConfigError('AWS_LAMBDA_RUNTIME_API is not set: not running inside Lambda');
  const policy = [
    ...parsePolicy(env.TRAILHOUND_POLICY ?? ''),
    ...(env.TRAILHOUND_POLICY_FILE ? parsePolicy(readFileSync(env.TRAILHOUND_POLICY_FILE, 'utf8')) : []),
  ];
  const capacity = integer(env, 'TRAILHOUND_RING_SLOTS', DEFAULT_RING_CAPACITY, 2, 1 << 20);
  if ((capacity & (capacity - 1)) !== 0)
    throw new ConfigError(`TRAILHOUND_RING_SLOTS=${capacity} is not a power of two`);
  return {
    runtimeApi,
    extensionName: EXTENSION_NAME,
    function: {
      name: env.AWS_LAMBDA_FUNCTION_NAME ?? 'unknown',
      version: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'unknown',
      account: env.TRAILHOUND_ACCOUNT_ID || undefined,
      runtime: env.AWS_EXECUTION_ENV || undefined,
      roleArn: env.TRAILHOUND_ROLE_ARN || undefined,
    },
    ring: {
      path: env.TRAILHOUND_RING || DEFAULT_RING_PATH,
      capacity,
      mode: oneOf(env, 'TRAILHOUND_MODE', ['monitor', 'enforce'], 'monitor'),
      failMode: oneOf(env, 'TRAILHOUND_FAIL', ['open', 'closed'], 'open'),
      policy,
    },
    telemetry: {
      enabled: env.TRAILHOUND_TELEMETRY !== 'off',
      listenHost: env.TRAILHOUND_TELEMETRY_LISTEN || 'sandbox.localdomain',
      uriHost: env.TRAILHOUND_TELEMETRY_HOST || 'sandbox.localdomain',
      port: integer(env, 'TRAILHOUND_TELEMETRY_PORT', 4243, 0, 65535),
      functionLogs: env.TRAILHOUND_TELEMETRY_FUNCTION === '1',
      bufferTimeoutMs: integer(env, 'TRAILHOUND_TELEMETRY_BUFFER_MS', 25, 25, 30_000),
    },
    flush: oneOf(env, 'TRAILHOUND_FLUSH', ['deferred', 'per-invoke'], 'deferred'),
    drainMax: integer(env, 'TRAILHOUND_DRAIN_MAX', 256, 1, 1 << 20),
    sliceMs: integer(env, 'TRAILHOUND_SLICE_MS', 2, 1, 1000),
    stats: env.TRAILHOUND_STATS === '1',
    pollMs: integer(env, 'TRAILHOUND_POLL_MS', 10, 1, 10_000),
    backstopMs: integer(env, 'TRAILHOUND_BACKSTOP_MS', 50, 0, 60_000),
    procRoot: env.TRAILHOUND_PROC_ROOT || '/proc',
    sqsUrl: env.TRAILHOUND_SQS_URL || undefined,
  };
}
