/**
 * Typed client of the Lambda Extensions API (version 2020-01-01): register,
 * the `event/next` long poll with its INVOKE / SHUTDOWN events, and the
 * `init/error` / `exit/error` reports.
 *
 * @example
 * const api = new ExtensionsApiClient(process.env.AWS_LAMBDA_RUNTIME_API!);
 * const registration = await api.register('trailhound', ['INVOKE', 'SHUTDOWN']);
 * for (;;) {
 *   const event = await api.next();
 *   if (event.eventType === 'SHUTDOWN') break;
 * }
 */
import { ExtensionsApiError } from './errors.js';
import { httpRequest } from './http.js';

export const EXTENSIONS_API_VERSION = '2020-01-01';

export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

export interface InvokeEvent {
  readonly eventType: 'INVOKE';
  /** Epoch milliseconds at which the invoke times out. */
  readonly deadlineMs: number;
  readonly requestId: string;
  readonly invokedFunctionArn: string;
  readonly tracing?: { readonly type: string; readonly value: string };
}

export interface ShutdownEvent {
  readonly eventType: 'SHUTDOWN';
  /** `spindown`, `timeout` or `failure`. */
  readonly shutdownReason: string;
  /** Epoch milliseconds by which the extension must have exited. */
  readonly deadlineMs: number;
}

export type ExtensionEvent = InvokeEvent | ShutdownEvent;

export interface Registration {
  /** The `Lambda-Extension-Identifier` every later call carries. */
  readonly extensionId: string;
  readonly functionName: string | undefined;
  readonly functionVersion: string | undefined;
  readonly handler: string | undefined;
  /** Present when the `accountId` feature was accepted. */
  readonly accountId: string | undefined;
}

function json(body: string, what: string, status: number): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (error) {
    throw new ExtensionsApiError(`${what}: body is not JSON`, status, { cause: error });
  }
  throw new ExtensionsApiError(`${what}: body is not a JSON object`, status);
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** Checks an `event/next` body and narrows it to the event union. */
export function parseExtensionEvent(body: string, status = 200): ExtensionEvent {
  const value = json(body, 'event/next', status);
  const deadlineMs = value.deadlineMs;
  if (typeof deadlineMs !== 'number') throw new ExtensionsApiError('event/next: no deadlineMs', status);
  if (value.eventType === 'INVOKE') {
    if (typeof value.requestId !== 'string')
      throw new ExtensionsApiError('event/next: INVOKE without requestId', status);
    const tracing = value.tracing as { type?: unknown; value?: unknown } | undefined;
    return {
      eventType: 'INVOKE',
      deadlineMs,
      requestId: value.requestId,
      invokedFunctionArn: optionalString(value.invokedFunctionArn) ?? '',
      ...(tracing && typeof tracing.type === 'string' && typeof tracing.value === 'string'
        ? { tracing: { type: tracing.type, value: tracing.value } }
        : {}),
    };
  }
  if (value.eventType === 'SHUTDOWN') {
    return {
      eventType: 'SHUTDOWN',
      deadlineMs,
      shutdownReason: optionalString(value.shutdownReason) ?? 'unknown',
    };
  }
  throw new ExtensionsApiError(`event/next: unknown eventType ${String(value.eventType)}`, status);
}

export class ExtensionsApiClient {
  private readonly base: string;
  private id: string | undefined;

  constructor(runtimeApi: string) {
    this.base = `http://${runtimeApi}/${EXTENSIONS_API_VERSION}/extension`;
  }

  get extensionId(): string | undefined {
    return this.id;
  }

  private requireId(): string {
    if (!this.id) throw new ExtensionsApiError('not registered', undefined);
    return this.id;
  }

  /** Registers for the given events; `name` must equal the launcher's file name. */
  async register(name: string, events: readonly ExtensionEventType[]): Promise<Registration> {
    const res = await httpRequest(
      `${this.base}/register`,
      'POST',
      { 'lambda-extension-name': name, 'lambda-extension-accept-feature': 'accountId' },
      JSON.stringify({ events }),
    );
    if (res.status !== 200)
      throw new ExtensionsApiError(`register answered ${res.status}: ${res.body}`, res.status);
    const id = res.headers['lambda-extension-identifier'];
    if (typeof id !== 'string' || id === '') {
      throw new ExtensionsApiError('register: no Lambda-Extension-Identifier header', res.status);
    }
    this.id = id;
    const body = json(res.body || '{}', 'register', res.status);
    return {
      extensionId: id,
      functionName: optionalString(body.functionName),
      functionVersion: optionalString(body.functionVersion),
      handler: optionalString(body.handler),
      accountId: optionalString(body.accountId),
    };
  }

  /** Blocks until the next event; calling it also tells Lambda this extension is done with the previous one. */
  async next(): Promise<ExtensionEvent> {
    const res = await httpRequest(`${this.base}/event/next`, 'GET', {
      'lambda-extension-identifier': this.requireId(),
    });
    if (res.status !== 200)
      throw new ExtensionsApiError(`event/next answered ${res.status}: ${res.body}`, res.status);
    return parseExtensionEvent(res.body, res.status);
  }

  /** Reports a failed init (Lambda then fails the init phase). `errorType` is `Category.Reason`. */
  initError(errorType: string, error: Error): Promise<void> {
    return this.report('init/error', errorType, error);
  }

  /** Reports an error before exiting; Lambda resets the execution environment. */
  exitError(errorType: string, error: Error): Promise<void> {
    return this.report('exit/error', errorType, error);
  }

  private async report(path: string, errorType: string, error: Error): Promise<void> {
    const res = await httpRequest(
      `${this.base}/${path}`,
      'POST',
      { 'lambda-extension-identifier': this.requireId(), 'lambda-extension-function-error-type': errorType },
      JSON.stringify({ errorMessage: error.message, errorType, stackTrace: (error.stack ?? '').split('\n') }),
    );
    if (res.status !== 202)
      throw new ExtensionsApiError(`${path} answered ${res.status}: ${res.body}`, res.status);
  }
}
