/**
 * Errors of the Azure adapters. Each names the workspace and table (or the
 * credential) and chains the SDK's error as `cause`.
 */

/** A Log Analytics query failed (after the SDK's retries and ours). */
export class LogAnalyticsError extends Error {
  constructor(
    message: string,
    readonly details: {
      readonly workspaceId: string;
      readonly table: string;
      /** HTTP status of the failure, when there was a response. */
      readonly status?: number;
      /** The service's error code (`BadArgumentError`, `ThrottledError`…), when it sent one. */
      readonly code?: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Still HTTP 429 after every retry. */
export class LogAnalyticsThrottledError extends LogAnalyticsError {
  constructor(
    workspaceId: string,
    table: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(
      `the ${table} query of workspace ${workspaceId} was still throttled (HTTP 429) after ${attempts} attempts`,
      { workspaceId, table, status: 429 },
      options,
    );
  }
}

/**
 * The service kept answering with a partial result (result too large, or the
 * query timed out) even for small pages: reading on would skip rows.
 */
export class LogAnalyticsPartialResultError extends LogAnalyticsError {}

/** The credential configuration cannot be used. */
export class AzureCredentialsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AzureCredentialsError';
  }
}
