/**
 * Errors of the GCP adapters. Each says what was being done and for which
 * resource, and chains the client library's error as `cause`.
 */

/** A Cloud Logging call failed (after the library's own retries and ours). */
export class GcpLoggingError extends Error {
  constructor(
    message: string,
    readonly details: {
      readonly resourceName: string;
      readonly operation: string;
      /** The gRPC status code of the failure, when it had one (8 = RESOURCE_EXHAUSTED). */
      readonly code?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Still RESOURCE_EXHAUSTED (HTTP 429) after every retry. */
export class GcpThrottledError extends GcpLoggingError {
  constructor(
    resourceName: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(
      `entries.list for ${resourceName} was still throttled (RESOURCE_EXHAUSTED) after ${attempts} attempts; the read-requests quota is 60 per minute per project`,
      { resourceName, operation: 'entries.list', code: 8 },
      options,
    );
  }
}

/** An entry came back in a shape that cannot be turned into a LogEntry (no timestamp, say). */
export class GcpEntryFormatError extends GcpLoggingError {}

/** The credentials configuration cannot be used (wrong type, missing field, unreadable JSON). */
export class GcpCredentialsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GcpCredentialsError';
  }
}

/**
 * Why a Pub/Sub push request was refused. `certs-unavailable` is ours, not the
 * caller's: a host answers it with 503 (Pub/Sub retries), every other with 401/403.
 */
export type PushAuthFailure =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-signature'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'wrong-email'
  | 'unverified-email'
  | 'certs-unavailable';

export class PushAuthError extends Error {
  constructor(
    readonly reason: PushAuthFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PushAuthError';
  }
}

/** Why a push body is not a Pub/Sub envelope carrying a LogEntry. */
export type PushEnvelopeFailure = 'not-json' | 'no-message' | 'bad-data' | 'not-log-entry';

export class PushEnvelopeError extends Error {
  constructor(
    readonly reason: PushEnvelopeFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PushEnvelopeError';
  }
}
