/**
 * Pub/Sub push tokens as Google signs them, signed here with locally
 * generated RSA keys: `googleKeys` stands for Google's current signing key
 * (its public half served as `pushKeys`), `strangerKeys` for anyone else's.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

export const PUSH_KID = 'kid-google-1';

export const googleKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const strangerKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Google's keys as `{kid: PEM}`, the form google-auth-library caches them in. */
export const pushKeys: Readonly<Record<string, string>> = {
  [PUSH_KID]: googleKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
};

/** A compact RS256 JWT over `claims`. */
export function signJwt(
  claims: Record<string, unknown>,
  key: KeyObject = googleKeys.privateKey,
  kid = PUSH_KID,
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'RS256', kid, typ: 'JWT' })}.${part(claims)}`;
  return `${signed}.${sign('RSA-SHA256', Buffer.from(signed), key).toString('base64url')}`;
}

/** The claims of a push token as Google issues it for `audience` and the pushing service account. */
export function pushClaims(
  audience: string,
  email: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: audience,
    azp: '117651212345678901234',
    email,
    email_verified: true,
    exp: now + 3600,
    iat: now,
    iss: 'https://accounts.google.com',
    sub: '117651212345678901234',
    ...overrides,
  };
}
