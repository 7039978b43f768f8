/**
 * Secrets from Secrets Manager, the only place Trailhound takes secrets from
 * (the Lambda functions, and the CLI when it sends to real destinations). A value is fetched on first use and kept for `ttlMs` (5 minutes), so a
 * warm function does not call Secrets Manager on every invocation and still
 * sees a rotated secret within minutes.
 *
 * Nothing here ever puts a secret's value in an error or a log line: a value
 * that is not JSON is reported as such, without the parser's message (which
 * quotes the text).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A secret could not be read, or is not what it should be. Names the secret, never its value. */
export class SecretError extends Error {
  constructor(
    readonly secretArn: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`secret ${secretArn}: ${message}`, options);
    this.name = 'SecretError';
  }
}

export interface SecretValue {
  readonly json: Record<string, unknown>;
  /** The secret's version id: changes on rotation, so callers can rebuild what they made from it. */
  readonly versionId: string;
}

export class SecretJsonReader {
  private readonly cache = new Map<string, { value: SecretValue; fetchedAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: { readonly ttlMs?: number; readonly clock?: () => number } = {},
  ) {}

  /** The secret's current value, parsed as a JSON object. */
  async read(secretArn: string): Promise<SecretValue> {
    const clock = this.options.clock ?? Date.now;
    const cached = this.cache.get(secretArn);
    if (cached !== undefined && clock() - cached.fetchedAt < (this.options.ttlMs ?? 5 * 60_000))
      return cached.value;
    let text: string | undefined;
    let versionId: string | undefined;
    try {
      const response = await this.client.send(new GetSecretValueCommand({ SecretId: secretArn }));
      text = response.SecretString;
      versionId = response.VersionId;
    } catch (error) {
      throw new SecretError(secretArn, `could not be read: ${(error as Error).name}`, { cause: error });
    }
    if (text === undefined)
      throw new SecretError(secretArn, 'has no SecretString (binary secrets are not read)');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SecretError(secretArn, 'is not JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new SecretError(secretArn, 'is not a JSON object');
    const value: SecretValue = { json: json as Record<string, unknown>, versionId: versionId ?? '' };
    this.cache.set(secretArn, { value, fetchedAt: clock() });
    return value;
  }
}
