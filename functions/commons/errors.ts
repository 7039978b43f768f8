/**
 * Errors of the Lambda hosts. One base, {@link FunctionError}; subclasses end
 * in `Error`, set `name` and chain `cause`, so a log line says what failed and
 * why. Messages never quote a secret or a token: they name the variable, the
 * secret's ARN or the stream instead.
 */

export class FunctionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One environment variable that is missing or does not hold what it must. */
export interface ConfigurationProblem {
  readonly variable: string;
  readonly problem: string;
}

/**
 * The function's environment cannot be used. Thrown at init (the handler
 * module's import), so the function fails to start rather than half-working;
 * every problem found is listed, not only the first.
 */
export class ConfigurationError extends FunctionError {
  constructor(readonly problems: readonly ConfigurationProblem[]) {
    super(
      `the function's environment is not usable: ${problems.map((p) => `${p.variable} ${p.problem}`).join('; ')}`,
    );
  }
}

/** A Secrets Manager secret could not be read, or does not hold what it must. Never carries the value. */
/** The pipeline could not take a delivery (profile store, quarantine): the input must be delivered again. */
export class IngestError extends FunctionError {
  constructor(
    readonly input: string,
    options: { cause: unknown },
  ) {
    super(`ingesting ${input} failed: ${describe(options.cause)}`, options);
  }
}

/** A scheduled pull cannot start or did not finish; its checkpoint stays at the last committed page. */
export class PullError extends FunctionError {
  constructor(
    readonly stream: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`pull of ${stream}: ${message}`, options);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export { SecretError } from '../../adapters/secrets/secrets-manager.js';
