/**
 * POST a JSON body over Node's global `fetch`, with the retry policy every
 * alert destination needs:
 *
 * - each attempt is cut off after `timeoutMs` (`AbortSignal.timeout`);
 * - 429, 5xx, network failures and timeouts are retried with jittered
 *   exponential backoff, or after the server's `Retry-After` (seconds or an
 *   HTTP date) when it gave one, capped at `retry.maxMs`;
 * - any other 4xx is an answer, not a passing failure, and is not retried;
 * - all attempts together stay within `budgetMs`: a wait that would end past
 *   the budget is not waited, the delivery fails as retryable instead (the
 *   caller's dead-letter queue re-drives it later);
 * - a `judge` can overrule the status (Slack's Web API answers 200 with
 *   `{ok: false, error: "ratelimited"}`).
 *
 * URLs of alert destinations are secrets (a Slack webhook URL is its own
 * credential; so is a bot token in a header, or a PagerDuty routing key in the
 * body). No error this module makes, and no hook it calls, carries more of the
 * URL than its origin (`https://hooks.slack.com`), any header value, or any
 * string listed in `secrets`; a network error's own text passes through the
 * same redaction before it becomes a `cause`.
 */
import { type BackoffOptions, backoffDelay, sleep as defaultSleep, type Sleep } from '../retry/backoff.js';

/** A delivery that failed after the sender's own retries, or was refused. */
export class HttpDeliveryError extends Error {
  constructor(
    message: string,
    readonly details: {
      /** The origin only (`https://hooks.slack.com`): never the path, which can be the secret. */
      readonly origin: string;
      /** The last HTTP status, when there was an answer. */
      readonly status?: number;
      /** True when sending it again later can help (throttled, 5xx, network, budget spent). */
      readonly retryable: boolean;
      readonly attempts: number;
      /** The destination's own error code, when it gave one (Slack `channel_not_found`). */
      readonly code?: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpDeliveryError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get retryable(): boolean {
    return this.details.retryable;
  }

  get code(): string | undefined {
    return this.details.code;
  }
}

/** The request cannot be made at all: a URL that does not parse, a body that is not JSON. */
export class HttpRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpRequestError';
  }
}

export interface JsonPostResponse<T = unknown> {
  readonly status: number;
  /** The parsed JSON body; the text when it is not JSON; undefined when empty. */
  readonly body: T;
  readonly headers: Headers;
  readonly attempts: number;
}

/** What an answer means; the default: 2xx delivered, 429 and 5xx retry, the rest refused. */
export type Verdict =
  | { readonly outcome: 'delivered' }
  | { readonly outcome: 'retry'; readonly code?: string; readonly retryAfterMs?: number }
  | { readonly outcome: 'refused'; readonly code?: string };

export type Judge = (answer: { status: number; body: unknown; headers: Headers }) => Verdict | undefined;

export interface JsonPostRequest {
  readonly url: string;
  readonly body: unknown;
  /** Extra headers (`authorization`); their values never reach an error. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Strings to keep out of errors besides the URL and headers (a routing key in the body). */
  readonly secrets?: readonly string[];
  /** Overrules the status-based verdict (return undefined to keep it). */
  readonly judge?: Judge;
  /** Names the destination in messages (`Slack chat.postMessage`); the origin is added. */
  readonly label?: string;
}

export interface RetryNotice {
  readonly origin: string;
  readonly attempt: number;
  readonly status?: number;
  readonly code?: string;
  readonly delayMs: number;
}

export interface JsonPostOptions {
  /** Per attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** All attempts and waits together (default 30 s). */
  readonly budgetMs?: number;
  /** Retries after the first attempt (default 5); waits from 500 ms doubling; `maxMs` (default 20 s) also caps `Retry-After`. */
  readonly retry?: BackoffOptions;
  readonly sleep?: Sleep;
  readonly clock?: () => number;
  /** For tests; the global `fetch` otherwise. */
  readonly fetch?: typeof fetch;
  /** Called before each wait, for the host's logs and metrics; carries no secret. */
  readonly onRetry?: (notice: RetryNotice) => void;
}

const RETRYABLE_STATUS = (status: number) => status === 429 || status === 408 || status >= 500;
/** Longest error text kept from a destination's answer. */
const MAX_ANSWER_TEXT = 200;

/**
 * The wait a `Retry-After` header asks for, in ms: delta-seconds or an HTTP
 * date (RFC 9110 §10.2.3); undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The origin of a URL, or a placeholder when it does not parse. Never the path or query. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '<invalid url>';
  }
}

/** `text` with every secret replaced by `[redacted]`, longest first (a URL before its path). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length))
    out = out.split(secret).join('[redacted]');
  return out;
}

export class JsonPostSender {
  private readonly timeoutMs: number;
  private readonly budgetMs: number;
  private readonly retry: Required<BackoffOptions>;
  private readonly sleep: Sleep;
  private readonly clock: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly onRetry: ((notice: RetryNotice) => void) | undefined;

  constructor(options: JsonPostOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.budgetMs = options.budgetMs ?? 30_000;
    this.retry = { retries: 5, baseMs: 500, maxMs: 20_000, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.clock = options.clock ?? Date.now;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.onRetry = options.onRetry;
  }

  /**
   * Sends the request until it is delivered, refused, out of retries or out
   * of budget. Returns the delivered answer; throws {@link HttpDeliveryError}
   * otherwise, and {@link HttpRequestError} when the request cannot be made.
   */
  async post<T = unknown>(request: JsonPostRequest): Promise<JsonPostResponse<T>> {
    if (!URL.canParse(request.url))
      throw new HttpRequestError(`${request.label ?? 'request'}: the URL does not parse`);
    const url = new URL(request.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new HttpRequestError(`${request.label ?? 'request'}: only http and https URLs are sent to`);
    const origin = url.origin;
    const secrets = [
      request.url,
      url.pathname.length > 1 ? url.pathname : '',
      url.search,
      ...Object.values(request.headers ?? {}).flatMap((v) => [v, v.replace(/^Bearer\s+/i, '')]),
      ...(request.secrets ?? []),
    ];
    const label = `${request.label ?? 'POST'} to ${origin}`;
    let body: string;
    try {
      body = JSON.stringify(request.body);
    } catch (error) {
      throw new HttpRequestError(`${label}: the body is not JSON`, { cause: sanitize(error, secrets) });
    }

    const started = this.clock();
    let last: { status?: number; code?: string; cause?: unknown; reason: string } = { reason: 'not sent' };
    for (let attempt = 1; ; attempt++) {
      const remaining = this.budgetMs - (this.clock() - started);
      let hintMs: number | undefined;
      try {
        const response = await this.fetchImpl(request.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', ...request.headers },
          body,
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.timeoutMs, remaining))),
          redirect: 'error',
        });
        const text = await response.text();
        const parsed = parse(text);
        const verdict =
          request.judge?.({ status: response.status, body: parsed, headers: response.headers }) ??
          defaultVerdict(response.status);
        if (verdict.outcome === 'delivered')
          return { status: response.status, body: parsed as T, headers: response.headers, attempts: attempt };
        const code = verdict.code ?? answerCode(parsed);
        const reason = `HTTP ${response.status}${code !== undefined ? ` ${redact(code, secrets)}` : ''}`;
        if (verdict.outcome === 'refused')
          throw new HttpDeliveryError(`${label} was refused: ${reason}`, {
            origin,
            status: response.status,
            retryable: false,
            attempts: attempt,
            ...(code !== undefined ? { code: redact(code, secrets) } : {}),
          });
        hintMs = verdict.retryAfterMs ?? retryAfterMs(response.headers.get('retry-after'), this.clock());
        last = {
          status: response.status,
          reason,
          ...(code !== undefined ? { code: redact(code, secrets) } : {}),
        };
      } catch (error) {
        if (error instanceof HttpDeliveryError) throw error;
        const timedOut = (error as Error)?.name === 'TimeoutError';
        last = {
          reason: timedOut
            ? `no answer within ${this.timeoutMs} ms`
            : `network error (${networkCode(error)})`,
          cause: sanitize(error, secrets),
        };
      }

      const elapsed = this.clock() - started;
      const giveUp = (why: string) =>
        new HttpDeliveryError(
          `${label} failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${last.reason}${why}`,
          {
            origin,
            retryable: true,
            attempts: attempt,
            ...(last.status !== undefined ? { status: last.status } : {}),
            ...(last.code !== undefined ? { code: last.code } : {}),
          },
          last.cause !== undefined ? { cause: last.cause } : undefined,
        );
      if (attempt > this.retry.retries) throw giveUp('');
      const delayMs = backoffDelay(attempt, this.retry, hintMs);
      if (elapsed + delayMs >= this.budgetMs) throw giveUp(` (the ${this.budgetMs} ms budget is spent)`);
      this.onRetry?.({
        origin,
        attempt,
        delayMs,
        ...(last.status !== undefined ? { status: last.status } : {}),
        ...(last.code !== undefined ? { code: last.code } : {}),
      });
      await this.sleep(delayMs);
    }
  }
}

function defaultVerdict(status: number): Verdict {
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  return RETRYABLE_STATUS(status) ? { outcome: 'retry' } : { outcome: 'refused' };
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A short error code from an answer body: Slack's `error`, PagerDuty's `message`, or plain text. */
function answerCode(body: unknown): string | undefined {
  if (typeof body === 'string')
    return body.slice(0, MAX_ANSWER_TEXT).replace(/\s+/g, ' ').trim() || undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  for (const key of ['error', 'message', 'status'])
    if (typeof record[key] === 'string') return (record[key] as string).slice(0, MAX_ANSWER_TEXT);
  return undefined;
}

/** The system error code under fetch's `TypeError: fetch failed` (ECONNREFUSED, ENOTFOUND…). */
function networkCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return error instanceof Error ? error.name : 'unknown';
}

/** An error safe to keep as a cause: its name, code and redacted message, no stack frames holding secrets. */
function sanitize(error: unknown, secrets: readonly string[]): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const inner = original.cause instanceof Error ? sanitize(original.cause, secrets) : undefined;
  const safe = new Error(
    redact(original.message, secrets),
    inner !== undefined ? { cause: inner } : undefined,
  );
  safe.name = original.name;
  const code = (original as Error & { code?: unknown }).code;
  if (typeof code === 'string') (safe as Error & { code?: string }).code = code;
  safe.stack = `${safe.name}: ${safe.message}`;
  return safe;
}
