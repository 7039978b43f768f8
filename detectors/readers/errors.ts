import { DetectorError } from '../errors.js';

/** Why a piece of input could not be read. Stable strings: they key the scan summary and metrics. */
export type InputProblemReason =
  | 'malformed-json'
  | 'truncated-file'
  | 'unknown-format'
  | 'oversized-record'
  | 'invalid-structure'
  | 'unrecognized-record'
  | 'not-normalizable'
  | 'read-error';

/**
 * A piece of input that could not be used, with where it was. Readers yield
 * these instead of throwing, so one bad line never stops a batch.
 */
export class InputProblemError extends DetectorError {
  constructor(
    readonly reason: InputProblemReason,
    readonly file: string,
    readonly line: number | undefined,
    message: string,
    /** The offending text (capped), kept so the quarantine loses nothing. */
    readonly content?: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${message}`, options);
  }
}
