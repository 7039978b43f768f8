/**
 * Pub/Sub push delivery of audit logs (a log sink into a topic, a push
 * subscription to our function URL): who may call, and what they sent.
 *
 * A push subscription with authentication sends `Authorization: Bearer <JWT>`,
 * a Google-signed OIDC token for the subscription's service account. Anyone
 * can reach a function URL, so a request counts only when that token:
 * - is signed by one of Google's current keys (`google-auth-library`,
 *   `verifySignedJwtWithCertsAsync`; the keys are fetched and cached per their
 *   Cache-Control by the library, or injected);
 * - is for us (`aud` = the audience configured on the subscription, by default
 *   the push endpoint URL) and issued by `accounts.google.com`;
 * - names the expected service account (`email`), with `email_verified`: any
 *   Google account can mint a token for our URL, only ours may push;
 * - is within its lifetime (`exp`, `iat`, with the library's 5-minute skew).
 * Failures are typed ({@link PushAuthError} `reason`) so a host answers 401/403,
 * or 503 for `certs-unavailable` (our problem: Pub/Sub should retry).
 *
 * The body is the push envelope `{message: {data, attributes, messageId,
 * publishTime}, subscription}` whose base64 `data` is the LogEntry JSON the
 * sink wrote.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { OAuth2Client, type TokenPayload } from 'google-auth-library';
import { PushAuthError, PushEnvelopeError } from './errors.js';
import type { LogEntryJson } from './log-entry.js';

export const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];

/** Verification keys: `{kid: PEM or JWK}` (Google's v1 certs, the library's cache) or a JWKS `{keys: [...]}` (v3). */
export type PushKeySet =
  | Readonly<Record<string, string | JsonWebKey>>
  | { readonly keys: readonly (JsonWebKey & { kid?: string })[] };

export interface PushAuthOptions {
  /** The audience set on the push subscription (default there: the push endpoint URL). */
  readonly audience: string | readonly string[];
  /** The service account the subscription authenticates as. */
  readonly serviceAccountEmail: string;
  /** Where the keys come from (default: Google's, through `oauth2Client`, cached by the library). */
  readonly keys?: () => Promise<PushKeySet>;
  /** The client whose key cache is used when `keys` is absent (share one per process). */
  readonly oauth2Client?: OAuth2Client;
  readonly issuers?: readonly string[];
}

/** The caller, once verified. */
export interface PushIdentity {
  readonly email: string;
  readonly subject: string;
  readonly audience: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface PushedLogEntry {
  readonly entry: LogEntryJson;
  readonly messageId: string;
  readonly publishTime: string | undefined;
  readonly subscription: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
}

let sharedClient: OAuth2Client | undefined;

/** One client per process, so Google's keys are fetched once per their max-age, not per request. */
function defaultClient(): OAuth2Client {
  sharedClient ??= new OAuth2Client();
  return sharedClient;
}

/** Verifies the Authorization header of a push request; throws {@link PushAuthError}. */
export async function verifyPushAuthorization(
  authorization: string | undefined,
  options: PushAuthOptions,
): Promise<PushIdentity> {
  if (authorization === undefined || authorization.trim() === '')
    throw new PushAuthError('missing', 'the push request has no Authorization header');
  const match = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization.trim());
  if (match === null) throw new PushAuthError('malformed', 'the Authorization header is not "Bearer <JWT>"');
  const jwt = match[1] as string;
  for (const part of jwt.split('.').slice(0, 2)) {
    try {
      JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    } catch (error) {
      throw new PushAuthError(
        'malformed',
        'the bearer token is not a JWT (its header or payload is not JSON)',
        {
          cause: error,
        },
      );
    }
  }

  const client = options.oauth2Client ?? defaultClient();
  let certs: Record<string, string>;
  try {
    certs = toPemMap(
      options.keys !== undefined
        ? await options.keys()
        : ((await client.getFederatedSignonCertsAsync()).certs as PushKeySet),
    );
  } catch (error) {
    throw new PushAuthError(
      'certs-unavailable',
      `Google's token keys could not be had: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }

  let payload: TokenPayload | undefined;
  try {
    const ticket = await client.verifySignedJwtWithCertsAsync(
      jwt,
      certs,
      typeof options.audience === 'string' ? options.audience : [...options.audience],
      [...(options.issuers ?? GOOGLE_ISSUERS)],
    );
    payload = ticket.getPayload();
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    // The library says why in its message only; the prefixes below are its wording (tests pin it).
    // Only the text before ": " goes into ours: the rest quotes the token or its claims.
    throw new PushAuthError(reasonOf(message), `push token refused: ${message.split(': ')[0]}`, {
      cause: error,
    });
  }
  if (payload === undefined) throw new PushAuthError('malformed', 'the push token has no payload');
  if (payload.email !== options.serviceAccountEmail)
    throw new PushAuthError(
      'wrong-email',
      `the push token is for ${payload.email ?? 'no account'}, not ${options.serviceAccountEmail}`,
    );
  if (payload.email_verified !== true)
    throw new PushAuthError('unverified-email', `the push token's email ${payload.email} is not verified`);
  return {
    email: payload.email,
    subject: payload.sub,
    audience: String(payload.aud),
    issuedAt: payload.iat * 1000,
    expiresAt: payload.exp * 1000,
  };
}

function reasonOf(message: string): PushAuthError['reason'] {
  if (message.startsWith('Invalid token signature') || message.startsWith('No pem found'))
    return 'bad-signature';
  if (message.startsWith('Token used too late')) return 'expired';
  if (message.startsWith('Token used too early')) return 'not-yet-valid';
  if (message.startsWith('Wrong recipient')) return 'wrong-audience';
  if (message.startsWith('Invalid issuer')) return 'wrong-issuer';
  // Missing iat/exp, a lifetime over a day, unparseable parts: not a token Google issued.
  return 'malformed';
}

/** `{kid: PEM}`, what the library verifies with on Node, from any key-set form. */
function toPemMap(keys: PushKeySet): Record<string, string> {
  const list = (keys as { keys?: unknown }).keys;
  const entries: Array<[string, string | JsonWebKey]> = Array.isArray(list)
    ? (list as Array<JsonWebKey & { kid?: unknown }>).flatMap((jwk) =>
        typeof jwk.kid === 'string' ? [[jwk.kid, jwk] as [string, JsonWebKey]] : [],
      )
    : Object.entries(keys as Record<string, string | JsonWebKey>);
  return Object.fromEntries(
    entries.map(([kid, key]) => [
      kid,
      typeof key === 'string'
        ? key
        : createPublicKey({ key, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString(),
    ]),
  );
}

/** The LogEntry inside a push body; throws {@link PushEnvelopeError}. */
export function decodePushEnvelope(body: string | Uint8Array | Record<string, unknown>): PushedLogEntry {
  let envelope: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    try {
      envelope = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
    } catch (error) {
      throw new PushEnvelopeError('not-json', 'the push body is not JSON', { cause: error });
    }
  }
  const message = (envelope as { message?: unknown } | null)?.message;
  if (typeof message !== 'object' || message === null)
    throw new PushEnvelopeError('no-message', 'the push body has no message');
  const fields = message as Record<string, unknown>;
  const data = fields.data;
  // Pub/Sub sends both spellings; older subscriptions only the snake_case ones.
  const messageId = String(fields.messageId ?? fields.message_id ?? '');
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0)
    throw new PushEnvelopeError('bad-data', `message ${messageId} has no base64 data`);
  let entry: unknown;
  try {
    entry = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch (error) {
    throw new PushEnvelopeError('bad-data', `the data of message ${messageId} is not JSON`, { cause: error });
  }
  const log = entry as Record<string, unknown> | null;
  if (
    typeof log !== 'object' ||
    log === null ||
    typeof log.logName !== 'string' ||
    typeof log.timestamp !== 'string' ||
    typeof log.insertId !== 'string'
  )
    throw new PushEnvelopeError('not-log-entry', `message ${messageId} does not carry a LogEntry`);
  const attributes = fields.attributes;
  const publishTime = fields.publishTime ?? fields.publish_time;
  const subscription = (envelope as { subscription?: unknown }).subscription;
  return {
    entry: log as LogEntryJson,
    messageId,
    publishTime: typeof publishTime === 'string' ? publishTime : undefined,
    subscription: typeof subscription === 'string' ? subscription : undefined,
    attributes:
      typeof attributes === 'object' && attributes !== null ? (attributes as Record<string, string>) : {},
  };
}
