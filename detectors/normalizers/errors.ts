import { DetectorError } from '../errors.js';

/** A record that is valid JSON but not a record this normalizer understands. */
export class NormalizationError extends DetectorError {
  constructor(
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
