/**
 * One error family for the extension. Every error the loop catches becomes a
 * `collector.health` record (its `name: message`), never a crash of the
 * function.
 */
export class TrailhoundExtensionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrailhoundExtensionError';
  }
}

/** The Extensions API answered an unexpected status or body. */
export class ExtensionsApiError extends TrailhoundExtensionError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExtensionsApiError';
  }
}

/** The Telemetry API refused the subscription, or the local listener failed. */
export class TelemetryApiError extends TrailhoundExtensionError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TelemetryApiError';
  }
}

/** The ring file is missing, of another format, or a slot could not be read. */
export class RingError extends TrailhoundExtensionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingError';
  }
}

/** A configuration variable holds a value the extension cannot use. */
export class ConfigError extends TrailhoundExtensionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A record could not be shipped (invalid, or refused by SQS). */
export class ShipperError extends TrailhoundExtensionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShipperError';
  }
}

/** `name: message` of anything thrown, for health records. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
