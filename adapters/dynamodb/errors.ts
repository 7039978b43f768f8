/**
 * Errors of the DynamoDB profile store. Every one names the table and, where
 * there is one, the subject, and chains the SDK's error as `cause`.
 */
export class ProfileStoreError extends Error {
  constructor(
    message: string,
    readonly details: { readonly table: string; readonly subject?: string; readonly operation?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A merged profile would not fit in one item (the guard sits below DynamoDB's 400 KB limit). */
export class ProfileTooLargeError extends ProfileStoreError {
  constructor(
    table: string,
    subject: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `profile ${subject} would be ${Math.ceil(bytes / 1024)} KB, over the ${Math.floor(limit / 1024)} KB item guard of table ${table}; lower the profile policy's maxValuesPerFeature`,
      { table, subject, operation: 'PutItem' },
    );
  }
}

/** Writers kept changing one subject's item: the bounded conditional retries ran out. */
export class ProfileContentionError extends ProfileStoreError {
  constructor(
    table: string,
    subject: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(
      `profile ${subject} in table ${table} was changed by other writers ${attempts} times in a row; giving up for this batch (it is safe to replay)`,
      { table, subject, operation: 'PutItem' },
      options,
    );
  }
}

/** BatchGetItem kept returning UnprocessedKeys past the retry budget. */
export class ProfileReadIncompleteError extends ProfileStoreError {
  constructor(
    table: string,
    readonly missing: number,
    readonly attempts: number,
  ) {
    super(
      `${missing} profile(s) of table ${table} were still unprocessed after ${attempts} BatchGetItem attempts (throughput exceeded?)`,
      { table, operation: 'BatchGetItem' },
    );
  }
}

/** The item exists but is not a profile this code can read (another format or a hand edit). */
export class ProfileFormatError extends ProfileStoreError {}
