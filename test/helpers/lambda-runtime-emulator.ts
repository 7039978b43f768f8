/**
 * A local Lambda execution environment for tests of the runtime collector,
 * written from AWS's documentation of its APIs (one HTTP server on 127.0.0.1
 * speaks all three, as `AWS_LAMBDA_RUNTIME_API` does in Lambda):
 *
 * - Runtime API 2018-06-01: `GET invocation/next` (held until an invoke; the
 *   event as body, `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`,
 *   `-Invoked-Function-Arn`, `-Trace-Id` headers), `POST invocation/<id>/response`
 *   and `/error` (202), `POST init/error` (202).
 * - Extensions API 2020-01-01: `POST extension/register` (needs
 *   `Lambda-Extension-Name`, answers `Lambda-Extension-Identifier`, and the
 *   account id when `Lambda-Extension-Accept-Feature: accountId`), `GET
 *   event/next` (held; INVOKE / SHUTDOWN with `deadlineMs`), `POST
 *   init/error`, `exit/error` (202). Unknown identifiers get 403.
 * - Telemetry API 2022-07-01: `PUT telemetry` (schema version, types,
 *   buffering within Lambda's limits, an HTTP destination; 400 otherwise);
 *   the emulator then POSTs JSON arrays of events to the destination,
 *   batched by `maxItems` / `maxBytes` / `timeoutMs`. Events from before the
 *   subscription (the init phase) are delivered too.
 *
 * Lifecycle as documented: extensions start first and must register; the
 * runtime starts after all have (through `AWS_LAMBDA_EXEC_WRAPPER`: the
 * wrapper is executed with the runtime command as its arguments); init ends
 * when the runtime and every extension have asked for their next event. The
 * caller gets the response as soon as the runtime posts it (`responseMs`,
 * and `onResponse`): extensions never hold it. An invoke ends (billed
 * duration, `durationMs`) when the runtime has answered and every extension
 * has asked for its next event; the next invoke waits for that. Between
 * invokes the environment is frozen (`freeze`, default on: SIGSTOP to the
 * runtime and extension processes, SIGCONT at the next invoke or shutdown),
 * so work a process left running after the invoke ended resumes only then.
 * Shutdown: SIGTERM to the runtime (SIGKILL after 500 ms), then SHUTDOWN to
 * the extensions, SIGKILL at the deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

export interface ProcessSpec {
  readonly command: readonly string[];
  readonly env?: Record<string, string>;
}

export interface EmulatorOptions {
  /** Extension processes (the launcher in `/opt/extensions`, or node on a bundle). */
  readonly extensions: readonly ProcessSpec[];
  /** The runtime process (a runtime-interface loop). */
  readonly runtime: ProcessSpec;
  /** `AWS_LAMBDA_EXEC_WRAPPER`: executed with the runtime command as arguments. */
  readonly execWrapper?: string;
  /** Environment of every process (on top of the Lambda variables). */
  readonly env?: Record<string, string>;
  readonly functionName?: string;
  readonly functionVersion?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly handler?: string;
  readonly memoryMb?: number;
  /** Function timeout (default 3000 ms). */
  readonly timeoutMs?: number;
  /** Init must end within this (default 10 s, as in Lambda). */
  readonly initTimeoutMs?: number;
  /**
   * In-process extensions (clients under test): how many register besides the
   * processes, and a callback given the API address before init starts.
   */
  readonly inProcessExtensions?: number;
  readonly onListening?: (runtimeApi: string) => void;
  /**
   * Freeze the runtime and extension processes between invokes, as Lambda does (default true;
   * in-process extensions are not frozen).
   */
  readonly freeze?: boolean;
}

export interface InvokeOptions {
  /** Called as soon as the runtime posts its answer (before extensions are done). */
  readonly onResponse?: (response: {
    requestId: string;
    status: 'success' | 'error' | 'timeout';
    responseMs: number;
  }) => void;
}

export interface TelemetrySubscription {
  readonly extensionName: string;
  readonly types: readonly string[];
  readonly buffering: { maxItems: number; maxBytes: number; timeoutMs: number };
  readonly uri: string;
  batchesDelivered: number;
  eventsDelivered: number;
}

export interface InvokeResult {
  readonly requestId: string;
  readonly status: 'success' | 'error' | 'timeout';
  /** The runtime's response (or error) body. */
  readonly body: string;
  /** From the invoke to the runtime's response: what a caller waits for. */
  readonly responseMs: number;
  /** From the invoke until every extension asked for its next event (billed duration). */
  readonly durationMs: number;
}

interface ExtensionState {
  readonly id: string;
  readonly name: string;
  readonly events: readonly string[];
  pending: ServerResponse | undefined;
  queued: object[];
  ready: boolean;
  errors: { path: string; type: string; body: string }[];
}

interface Pending<T> {
  resolve: (value: T) => void;
  promise: Promise<T>;
}

function deferred<T>(): Pending<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { resolve, promise };
}

const BUFFERING = {
  maxItems: [1000, 10_000, 1000],
  maxBytes: [262_144, 1_048_576, 262_144],
  timeoutMs: [25, 30_000, 100],
} as const;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
}

function lines(stream: NodeJS.ReadableStream | null, into: string[], onLine?: (line: string) => void): void {
  if (!stream) return;
  createInterface({ input: stream }).on('line', (line) => {
    into.push(line);
    onLine?.(line);
  });
}

export class LambdaRuntimeEmulator {
  readonly registrations: ExtensionState[] = [];
  readonly subscriptions: TelemetrySubscription[] = [];
  readonly extensionStdout: string[] = [];
  readonly extensionStderr: string[] = [];
  readonly runtimeStdout: string[] = [];
  readonly runtimeStderr: string[] = [];
  readonly initErrors: { type: string; body: string }[] = [];
  /** Every platform event emitted, in order. */
  readonly events: { time: string; type: string; record: unknown }[] = [];
  readonly runtimeApi: string;

  private readonly extensionProcesses: { child: ChildProcess; closed: Promise<number | null> }[] = [];
  private runtimeProcess: ChildProcess | undefined;
  private runtimePending: ServerResponse | undefined;
  private runtimeQueued: { requestId: string; body: string; deadlineMs: number } | undefined;
  private invocation:
    | { requestId: string; answered: Pending<{ status: 'success' | 'error'; body: string }> }
    | undefined;
  private allReady = deferred<void>();
  private readonly buffers = new Map<
    TelemetrySubscription,
    { events: object[]; bytes: number; timer: NodeJS.Timeout | undefined; sending: Promise<void> }
  >();
  private phase: 'init' | 'ready' | 'shutdown' = 'init';
  /** Settles when the invoke in progress has ended (the next one waits for it). */
  private idle: Promise<unknown> = Promise.resolve();
  private frozen = false;
  private readonly options: Required<Omit<EmulatorOptions, 'execWrapper' | 'env' | 'onListening'>> &
    Pick<EmulatorOptions, 'execWrapper' | 'env' | 'onListening'>;

  private constructor(
    private readonly server: Server,
    options: EmulatorOptions,
  ) {
    this.runtimeApi = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.options = {
      functionName: 'trailhound-test-fn',
      functionVersion: '$LATEST',
      region: 'us-east-1',
      accountId: '111122223333',
      handler: 'handler.handler',
      memoryMb: 128,
      timeoutMs: 3000,
      initTimeoutMs: 10_000,
      inProcessExtensions: 0,
      freeze: true,
      ...options,
    };
    server.on('request', (req, res) => {
      this.route(req, res).catch((error: unknown) => send(res, 500, { errorMessage: String(error) }));
    });
  }

  /** Starts the environment and runs init to its end. */
  static async start(options: EmulatorOptions): Promise<LambdaRuntimeEmulator> {
    const server = createServer();
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const emulator = new LambdaRuntimeEmulator(server, options);
    try {
      await emulator.init();
    } catch (error) {
      await emulator.stop();
      throw error;
    }
    return emulator;
  }

  get functionArn(): string {
    const { region, accountId, functionName } = this.options;
    return `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
  }

  private baseEnv(): Record<string, string> {
    const o = this.options;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      LANG: 'C.UTF-8',
      AWS_LAMBDA_RUNTIME_API: this.runtimeApi,
      AWS_LAMBDA_FUNCTION_NAME: o.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: o.functionVersion,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(o.memoryMb),
      AWS_REGION: o.region,
      AWS_DEFAULT_REGION: o.region,
      _HANDLER: o.handler,
      ...(o.env ?? {}),
    };
  }

  private emit(type: string, record: unknown): void {
    const event = { time: new Date().toISOString(), type, record };
    this.events.push(event);
    for (const subscription of this.subscriptions) this.enqueue(subscription, event);
  }

  private enqueue(subscription: TelemetrySubscription, event: { type: string }): void {
    const category = event.type.startsWith('platform.') ? 'platform' : event.type;
    if (!subscription.types.includes(category)) return;
    const buffer = this.buffers.get(subscription);
    if (!buffer) return;
    buffer.events.push(event);
    buffer.bytes += JSON.stringify(event).length;
    const { maxItems, maxBytes, timeoutMs } = subscription.buffering;
    if (buffer.events.length >= maxItems || buffer.bytes >= maxBytes) this.deliver(subscription);
    else buffer.timer ??= setTimeout(() => this.deliver(subscription), timeoutMs);
  }

  /** Sends the subscriber's buffered events now, in order after any batch in flight. */
  private deliver(subscription: TelemetrySubscription): Promise<void> {
    const buffer = this.buffers.get(subscription);
    if (!buffer) return Promise.resolve();
    clearTimeout(buffer.timer);
    buffer.timer = undefined;
    if (buffer.events.length === 0) return buffer.sending;
    const batch = buffer.events;
    buffer.events = [];
    buffer.bytes = 0;
    buffer.sending = buffer.sending.then(
      () =>
        new Promise<void>((resolve) => {
          const body = JSON.stringify(batch);
          const req = request(
            subscription.uri.replace('sandbox.localdomain', '127.0.0.1'),
            {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              res.resume();
              res.on('end', () => {
                subscription.batchesDelivered++;
                subscription.eventsDelivered += batch.length;
                resolve();
              });
            },
          );
          req.on('error', () => resolve());
          req.end(body);
        }),
    );
    return buffer.sending;
  }

  /** Delivers every buffered telemetry event now. */
  async flushTelemetry(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => this.deliver(s)));
  }

  private async init(): Promise<void> {
    const started = Date.now();
    const deadline = started + this.options.initTimeoutMs;
    const registered = deferred<void>();
    const expected = this.options.extensions.length + this.options.inProcessExtensions;
    this.options.onListening?.(this.runtimeApi);
    this.onRegister = () => {
      if (this.registrations.length === expected) registered.resolve();
    };
    if (expected === 0) registered.resolve();
    for (const spec of this.options.extensions) {
      const [command, ...args] = spec.command;
      if (!command) throw new Error('empty extension command');
      const child = spawn(command, args, {
        env: { ...this.baseEnv(), ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      lines(child.stdout, this.extensionStdout);
      lines(child.stderr, this.extensionStderr);
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      this.extensionProcesses.push({ child, closed });
    }
    await this.within(registered.promise, deadline, 'extensions did not register');
    this.emit('platform.initStart', {
      initializationType: 'on-demand',
      phase: 'init',
      functionName: this.options.functionName,
      functionVersion: this.options.functionVersion,
    });
    const runtimeCommand = [...this.options.runtime.command];
    const [command, ...args] = this.options.execWrapper
      ? [this.options.execWrapper, ...runtimeCommand]
      : runtimeCommand;
    if (!command) throw new Error('empty runtime command');
    const runtime = spawn(command, args, {
      env: { ...this.baseEnv(), ...this.options.runtime.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lines(runtime.stdout, this.runtimeStdout, (line) => this.emit('function', line));
    lines(runtime.stderr, this.runtimeStderr, (line) => this.emit('function', line));
    this.runtimeProcess = runtime;
    this.checkReady();
    await this.within(
      Promise.race([
        this.allReady.promise,
        once(runtime, 'exit').then(() => {
          throw new Error(`runtime exited during init: ${this.runtimeStderr.join('\n')}`);
        }),
      ]),
      deadline,
      'init did not finish',
    );
    this.emit('platform.initRuntimeDone', {
      initializationType: 'on-demand',
      phase: 'init',
      status: 'success',
    });
    this.emit('platform.initReport', {
      initializationType: 'on-demand',
      phase: 'init',
      status: 'success',
      metrics: { durationMs: Date.now() - started },
    });
    this.phase = 'ready';
  }

  private onRegister: () => void = () => undefined;
  private extensionsReady = deferred<void>();

  private checkReady(): void {
    const extensionsDone = this.registrations.every((e) => e.ready);
    if (extensionsDone) this.extensionsReady.resolve();
    if (extensionsDone && this.runtimePending && this.runtimeProcess) {
      this.allReady.resolve();
    }
  }

  private async within<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${what} in time; extension stderr: ${this.extensionStderr.join('\n')}`)),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private extensionOf(req: IncomingMessage, res: ServerResponse): ExtensionState | undefined {
    const id = req.headers['lambda-extension-identifier'];
    const extension = this.registrations.find((e) => e.id === id);
    if (!extension)
      send(res, 403, { errorType: 'Extension.Unregistered', errorMessage: 'unknown extension identifier' });
    return extension;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname.replace(/\/$/, '');
    const body = await readBody(req);

    if (req.method === 'POST' && path === '/2020-01-01/extension/register') {
      const name = req.headers['lambda-extension-name'];
      if (typeof name !== 'string' || name === '') {
        return send(res, 400, {
          errorType: 'InvalidRequest',
          errorMessage: 'Lambda-Extension-Name is required',
        });
      }
      if (this.phase !== 'init')
        return send(res, 403, { errorType: 'Extension.InvalidState', errorMessage: 'init is over' });
      const events = (JSON.parse(body || '{}') as { events?: string[] }).events ?? [];
      if (events.some((e) => e !== 'INVOKE' && e !== 'SHUTDOWN')) {
        return send(res, 400, { errorType: 'InvalidRequest', errorMessage: `events ${events.join(',')}` });
      }
      const extension: ExtensionState = {
        id: randomUUID(),
        name,
        events,
        pending: undefined,
        queued: [],
        ready: false,
        errors: [],
      };
      this.registrations.push(extension);
      this.onRegister();
      const features = String(req.headers['lambda-extension-accept-feature'] ?? '');
      return send(
        res,
        200,
        {
          functionName: this.options.functionName,
          functionVersion: this.options.functionVersion,
          handler: this.options.handler,
          ...(features.split(',').includes('accountId') ? { accountId: this.options.accountId } : {}),
        },
        { 'lambda-extension-identifier': extension.id },
      );
    }
    if (req.method === 'GET' && path === '/2020-01-01/extension/event/next') {
      const extension = this.extensionOf(req, res);
      if (!extension) return;
      if (!extension.ready && this.phase === 'init') {
        this.emit('platform.extension', { name: extension.name, state: 'Ready', events: extension.events });
      }
      extension.ready = true;
      extension.pending = res;
      this.checkReady();
      return this.pump(extension);
    }
    const errorPath = /^\/2020-01-01\/extension\/(init|exit)\/error$/.exec(path);
    if (req.method === 'POST' && errorPath) {
      const extension = this.extensionOf(req, res);
      if (!extension) return;
      extension.errors.push({
        path: `${errorPath[1]}/error`,
        type: String(req.headers['lambda-extension-function-error-type'] ?? ''),
        body,
      });
      return send(res, 202, { status: 'OK' });
    }
    if (req.method === 'PUT' && path === '/2022-07-01/telemetry') {
      const extension = this.extensionOf(req, res);
      if (!extension) return;
      return this.subscribe(extension, body, res);
    }
    if (req.method === 'GET' && path === '/2018-06-01/runtime/invocation/next') {
      this.runtimePending = res;
      this.checkReady();
      return this.pumpRuntime();
    }
    const invocation = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method === 'POST' && invocation) {
      const current = this.invocation;
      if (!current || current.requestId !== invocation[1]) {
        return send(res, 400, { errorType: 'InvalidRequestID', errorMessage: 'no such invocation' });
      }
      current.answered.resolve({ status: invocation[2] === 'response' ? 'success' : 'error', body });
      return send(res, 202, { status: 'OK' });
    }
    if (req.method === 'POST' && path === '/2018-06-01/runtime/init/error') {
      this.initErrors.push({ type: String(req.headers['lambda-runtime-function-error-type'] ?? ''), body });
      return send(res, 202, { status: 'OK' });
    }
    send(res, 404, { errorType: 'NotFound', errorMessage: `${req.method} ${path}` });
  }

  private subscribe(extension: ExtensionState, body: string, res: ServerResponse) {
    let request: {
      schemaVersion?: string;
      types?: string[];
      buffering?: Record<string, number>;
      destination?: { protocol?: string; URI?: string };
    };
    try {
      request = JSON.parse(body);
    } catch {
      return send(res, 400, { errorType: 'ValidationError', errorMessage: 'body is not JSON' });
    }
    const invalid = (message: string) =>
      send(res, 400, { errorType: 'ValidationError', errorMessage: message });
    if (!['2022-07-01', '2022-12-13', '2025-01-29'].includes(request.schemaVersion ?? '')) {
      return invalid('schemaVersion');
    }
    const types = request.types ?? [];
    if (types.length === 0 || types.some((t) => !['platform', 'function', 'extension'].includes(t))) {
      return invalid('types');
    }
    const buffering = { maxItems: 0, maxBytes: 0, timeoutMs: 0 };
    for (const key of ['maxItems', 'maxBytes', 'timeoutMs'] as const) {
      const [min, max, fallback] = BUFFERING[key];
      const value = request.buffering?.[key] ?? fallback;
      if (!Number.isInteger(value) || value < min || value > max) return invalid(`buffering.${key}`);
      buffering[key] = value;
    }
    if (
      request.destination?.protocol !== 'HTTP' ||
      !/^http:\/\/[^/]+:\d+/.test(request.destination.URI ?? '')
    ) {
      return invalid('destination');
    }
    const subscription: TelemetrySubscription = {
      extensionName: extension.name,
      types,
      buffering,
      uri: request.destination.URI as string,
      batchesDelivered: 0,
      eventsDelivered: 0,
    };
    this.subscriptions.push(subscription);
    this.buffers.set(subscription, { events: [], bytes: 0, timer: undefined, sending: Promise.resolve() });
    // Events of the phase so far are delivered too.
    for (const event of this.events) this.enqueue(subscription, event);
    send(res, 200, 'OK', { 'content-type': 'text/plain' });
    this.emit('platform.telemetrySubscription', { name: extension.name, state: 'Subscribed', types });
  }

  private pump(extension: ExtensionState): void {
    const event = extension.queued.shift();
    if (!event || !extension.pending) {
      if (event) extension.queued.unshift(event);
      return;
    }
    const res = extension.pending;
    extension.pending = undefined;
    extension.ready = false;
    send(res, 200, event, { 'lambda-extension-event-identifier': randomUUID() });
  }

  private pumpRuntime(): void {
    const next = this.runtimeQueued;
    if (!next || !this.runtimePending) return;
    this.runtimeQueued = undefined;
    const res = this.runtimePending;
    this.runtimePending = undefined;
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': next.requestId,
      'lambda-runtime-deadline-ms': String(next.deadlineMs),
      'lambda-runtime-invoked-function-arn': this.functionArn,
      'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
    });
    res.end(next.body);
  }

  /** SIGSTOP (freeze) or SIGCONT (thaw) to the runtime and extension processes. */
  private setFrozen(frozen: boolean): void {
    if (this.frozen === frozen || (frozen && !this.options.freeze)) return;
    this.frozen = frozen;
    for (const child of [...this.extensionProcesses.map((p) => p.child), this.runtimeProcess]) {
      if (child && child.exitCode === null && child.signalCode === null)
        child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    }
  }

  /**
   * One invoke; resolves once the runtime answered and every extension asked for its next event.
   * An invoke made while another runs waits for it to end (one invoke at a time per environment).
   */
  invoke(
    payload: unknown = {},
    requestId: string = randomUUID(),
    options: InvokeOptions = {},
  ): Promise<InvokeResult> {
    const run = this.idle.then(() => this.invokeNow(payload, requestId, options));
    this.idle = run.catch(() => undefined);
    return run;
  }

  private async invokeNow(
    payload: unknown,
    requestId: string,
    options: InvokeOptions,
  ): Promise<InvokeResult> {
    if (this.phase !== 'ready') throw new Error(`cannot invoke in phase ${this.phase}`);
    this.setFrozen(false);
    const started = performance.now();
    const deadlineMs = Date.now() + this.options.timeoutMs;
    const answered = deferred<{ status: 'success' | 'error'; body: string }>();
    this.invocation = { requestId, answered };
    this.extensionsReady = deferred<void>();
    this.emit('platform.start', { requestId, version: this.options.functionVersion });
    this.runtimeQueued = { requestId, body: JSON.stringify(payload), deadlineMs };
    this.pumpRuntime();
    for (const extension of this.registrations) {
      if (!extension.events.includes('INVOKE')) continue;
      extension.ready = false;
      extension.queued.push({
        eventType: 'INVOKE',
        deadlineMs,
        requestId,
        invokedFunctionArn: this.functionArn,
        tracing: { type: 'X-Amzn-Trace-Id', value: `Root=1-${randomUUID().slice(0, 8)}` },
      });
      this.pump(extension);
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      answered.promise,
      new Promise<{ status: 'timeout'; body: string }>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'timeout', body: '' }), this.options.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const responseMs = performance.now() - started;
    options.onResponse?.({ requestId, status: outcome.status, responseMs });
    this.emit('platform.runtimeDone', {
      requestId,
      status: outcome.status,
      ...(outcome.status === 'timeout' ? { errorType: 'Sandbox.Timedout' } : {}),
      metrics: { durationMs: responseMs, producedBytes: Buffer.byteLength(outcome.body) },
    });
    const remaining = deadlineMs - Date.now();
    let extensionsTimedOut = false;
    await Promise.race([
      this.extensionsReady.promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(
          () => {
            extensionsTimedOut = true;
            resolve();
          },
          Math.max(0, remaining),
        );
      }),
    ]);
    clearTimeout(timer);
    const durationMs = performance.now() - started;
    const status = outcome.status === 'timeout' || extensionsTimedOut ? 'timeout' : outcome.status;
    this.emit('platform.report', {
      requestId,
      status,
      metrics: {
        durationMs,
        billedDurationMs: Math.ceil(durationMs),
        memorySizeMB: this.options.memoryMb,
        maxMemoryUsedMB: 64,
      },
    });
    this.invocation = undefined;
    if (status === 'timeout') this.phase = 'shutdown';
    else this.setFrozen(true);
    return { requestId, status, body: outcome.body, responseMs, durationMs };
  }

  /**
   * Ends the environment: SIGTERM to the runtime, remaining telemetry
   * delivered, SHUTDOWN to the extensions; each must exit by the deadline or
   * is killed. Resolves to the extensions' exit codes (null: killed).
   */
  async shutdown(reason = 'spindown', deadlineAfterMs = 2000): Promise<{ exitCodes: (number | null)[] }> {
    this.phase = 'shutdown';
    await this.idle;
    this.setFrozen(false);
    const runtime = this.runtimeProcess;
    if (runtime && runtime.exitCode === null && runtime.signalCode === null) {
      const exited = once(runtime, 'exit');
      runtime.kill('SIGTERM');
      const timer = setTimeout(() => runtime.kill('SIGKILL'), 500);
      await exited;
      clearTimeout(timer);
    }
    await this.flushTelemetry();
    const deadlineMs = Date.now() + deadlineAfterMs;
    for (const extension of this.registrations) {
      if (!extension.events.includes('SHUTDOWN')) continue;
      extension.queued.push({ eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs });
      this.pump(extension);
    }
    const exitCodes = await Promise.all(
      this.extensionProcesses.map(async ({ child, closed }) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadlineMs - Date.now()));
        const code = await closed;
        clearTimeout(timer);
        return code;
      }),
    );
    await this.stop();
    return { exitCodes };
  }

  /** Kills whatever still runs and closes the server. */
  async stop(): Promise<void> {
    this.setFrozen(false);
    for (const child of [...this.extensionProcesses.map((p) => p.child), this.runtimeProcess]) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const buffer of this.buffers.values()) clearTimeout(buffer.timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The extension's stdout lines that parse as Trailhound runtime records. */
  runtimeRecords(): Record<string, unknown>[] {
    return this.extensionStdout.flatMap((line) => {
      try {
        const value = JSON.parse(line) as Record<string, unknown>;
        return value && value.trailhound_runtime === 1 ? [value] : [];
      } catch {
        return [];
      }
    });
  }
}
