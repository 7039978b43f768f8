/**
 * The extension's loop: create the ring → register → subscribe to telemetry
 * → `event/next`. Two flush modes (`TRAILHOUND_FLUSH`):
 *
 * - `deferred` (default): on INVOKE note the request id and its arrival time,
 *   and ask for the next event at once, so the extension adds nothing to the
 *   invoke (Lambda ends an invoke when the runtime AND every extension have
 *   asked for their next event). The work runs while the extension waits in
 *   that long poll, in bounded slices (at most `drainMax` ring records and
 *   `sliceMs` of wall clock each): one right after `event/next` is on its way,
 *   then one every `pollMs` while the environment is thawed. Lambda freezes
 *   the environment between invokes, so work left over simply resumes at the
 *   next thaw; nothing is dropped. A slice attributes and ships only records
 *   older than the latest INVOKE's arrival: an invoke's records ship once the
 *   next INVOKE (or SHUTDOWN) has arrived, never guessed before the next
 *   invoke's start is known.
 * - `per-invoke`: drain the ring (and sample /proc) every `pollMs` until the
 *   Telemetry API reports the invoke's `platform.runtimeDone` (or the
 *   invoke's deadline nears), then ship and ask for the next event, which
 *   ends the invoke for Lambda (billed duration grows by the telemetry
 *   buffering). Without telemetry the ring is drained once and the records
 *   ship at the next event.
 * - SHUTDOWN (both): wait briefly for the last telemetry batch, drain
 *   everything, flush within the deadline, exit 0.
 *
 * Records are attributed to invokes by time: each invoke starts at its
 * `platform.start` (else at the INVOKE event's arrival), and a record belongs
 * to the latest invoke started at or before it (none: init).
 *
 * Nothing here may fail the function: every error becomes a
 * `collector.health` record.
 */
import type { Writable } from 'node:stream';
import { Collector, timing } from './collector.js';
import { type ExtensionConfig, readConfig } from './config.js';
import { describeError } from './errors.js';
import { ExtensionsApiClient } from './extensions-api.js';
import { createRing, RingReader } from './ring.js';
import {
  type FunctionIdentity,
  type RecordSink,
  roleSession,
  Shipper,
  SqsSink,
  StreamSink,
} from './shipper.js';

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: Writable;
}

async function makeSink(config: ExtensionConfig, stdout: Writable): Promise<RecordSink> {
  const lines = new StreamSink(stdout);
  if (!config.sqsUrl) return lines;
  const { SQSClient, SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
  const client = new SQSClient({ region: config.function.region });
  return new SqsSink(
    config.sqsUrl,
    client as unknown as ConstructorParameters<typeof SqsSink>[1],
    (input) => new SendMessageBatchCommand(input),
    lines,
  );
}

function prepareRing(config: ExtensionConfig): RingReader | Error {
  const { path, capacity, mode, failMode, policy } = config.ring;
  try {
    createRing(path, { capacity, mode, failMode, policy });
    return new RingReader(path);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Runs the extension until SHUTDOWN; resolves to the exit code. */
export async function runExtension(options: RunOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const stdout = options.stdout ?? process.stdout;
  const startupErrors: string[] = [];
  let config: ExtensionConfig;
  try {
    config = readConfig(env);
  } catch (error) {
    if (!env.AWS_LAMBDA_RUNTIME_API) {
      process.stderr.write(`trailhound: ${describeError(error)}\n`);
      return 1;
    }
    // A bad TRAILHOUND_* setting: run with defaults and report it.
    startupErrors.push(describeError(error));
    config = readConfig({
      ...Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TRAILHOUND_'))),
    });
  }

  // The ring exists before registering: Lambda starts the runtime (whose preloaded collector opens
  // the ring once, and fails open without it) as soon as every extension has registered.
  const ring = prepareRing(config);
  const api = new ExtensionsApiClient(config.runtimeApi);
  let registration: Awaited<ReturnType<ExtensionsApiClient['register']>>;
  try {
    registration = await api.register(config.extensionName, ['INVOKE', 'SHUTDOWN']);
  } catch (error) {
    process.stderr.write(`trailhound: ${describeError(error)}\n`);
    return 1;
  }
  const identity: FunctionIdentity = {
    name: config.function.name,
    version: config.function.version,
    region: config.function.region,
    account: config.function.account ?? registration.accountId ?? 'unknown',
    ...(config.function.runtime ? { runtime: config.function.runtime } : {}),
  };
  const session = roleSession(config.function.roleArn, identity.account, identity.name);
  if (session) identity.role_session = session;

  let sink: RecordSink;
  try {
    sink = await makeSink(config, stdout);
  } catch (error) {
    startupErrors.push(describeError(error));
    sink = new StreamSink(stdout);
  }
  const collector = new Collector(config, new Shipper(identity, sink));
  for (const error of startupErrors) collector.fail(new Error(error));
  collector.useRing(ring);
  const onUncaught = (error: unknown) => collector.fail(error);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  // Lambda's SIGTERM is meant for the runtime; the extension ends at SHUTDOWN.
  const ignoreTerm = () => undefined;
  process.on('SIGTERM', ignoreTerm);

  await collector.setUpTelemetry(registration.extensionId);
  collector.setUpBackstop();

  let failures = 0;
  /** When the INVOKE being handled arrived (`performance.now()`), in deferred mode. */
  let invokeArrived: number | undefined;
  try {
    for (;;) {
      if (invokeArrived !== undefined) {
        timing(collector.stats.preNextMs, performance.now() - invokeArrived);
        invokeArrived = undefined;
      }
      let event: Awaited<ReturnType<ExtensionsApiClient['next']>>;
      try {
        event = await api.next();
        failures = 0;
      } catch (error) {
        collector.fail(error);
        if (++failures >= 3) return 0;
        await new Promise((resolve) => setTimeout(resolve, 50 * failures));
        continue;
      }
      if (event.eventType === 'SHUTDOWN') {
        await collector.onShutdown(event);
        if (config.stats) process.stderr.write(collector.statsLine());
        return 0;
      }
      try {
        if (config.flush === 'deferred') {
          invokeArrived = performance.now();
          collector.deferInvoke(event);
        } else {
          await collector.onInvoke(event);
        }
      } catch (error) {
        collector.fail(error);
      }
    }
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    process.off('SIGTERM', ignoreTerm);
  }
}
