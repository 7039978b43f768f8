/**
 * Base of every error the detection core raises. Subclasses end in `Error`,
 * set `name`, and chain the underlying `cause`, so a log line says what failed,
 * where, and why.
 */
export class DetectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
