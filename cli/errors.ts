/** A bad command line or an input that cannot be read at all: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
