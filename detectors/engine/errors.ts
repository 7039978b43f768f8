import { DetectorError } from '../errors.js';

/** A rule file that cannot be parsed, validated or compiled. Names the file. */
export class RuleLoadError extends DetectorError {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** A rule that threw while evaluating one event. Isolated and counted, never fatal. */
export class RuleEvaluationError extends DetectorError {
  constructor(
    readonly ruleId: string,
    readonly eventUid: string,
    options?: { cause?: unknown },
  ) {
    const reason = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`rule ${ruleId} threw on event ${eventUid}: ${reason}`, options);
  }
}
