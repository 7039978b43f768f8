/** Waiting between retries of a throttled API (audit-log pulls, EventBridge PutEvents). */

export interface BackoffOptions {
  /** Retries after the first attempt (default 6). */
  readonly retries?: number;
  /** First wait; doubled each retry (default 1 s). */
  readonly baseMs?: number;
  /** Longest single wait (default 60 s). */
  readonly maxMs?: number;
}

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The wait before retry `attempt` (1-based): the server's own hint when it
 * gave one (Retry-After, google.rpc.RetryInfo), else exponential backoff with
 * jitter (half of it random), so that pullers throttled together do not retry together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, hintMs?: number): number {
  const maxMs = options.maxMs ?? 60_000;
  if (hintMs !== undefined && Number.isFinite(hintMs) && hintMs >= 0) return Math.min(hintMs, maxMs);
  const ceiling = Math.min(maxMs, (options.baseMs ?? 1_000) * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
