/**
 * Pub/Sub push authentication with google-auth-library's verifier, on tokens
 * signed here with locally generated RSA keys; the keys are served from
 * memory, and once from a local HTTP server through the library's own
 * fetching and caching.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushAuthError, PushEnvelopeError } from '../../../../adapters/gcp/errors.js';
import {
  decodePushEnvelope,
  type PushAuthOptions,
  verifyPushAuthorization,
} from '../../../../adapters/gcp/push-auth.js';
import {
  googleKeys,
  PUSH_KID,
  pushClaims,
  pushKeys,
  signJwt,
  strangerKeys,
} from '../../../helpers/google-push-tokens.js';

const AUDIENCE = 'https://abc123.lambda-url.eu-west-1.on.aws/gcp/push';
const PUSHER = 'pubsub-push@trailhound-test-1.iam.gserviceaccount.com';
const google = googleKeys;
const stranger = strangerKeys;
const pems = pushKeys;
const KID = PUSH_KID;
const jwt = signJwt;
const claims = (overrides: Record<string, unknown> = {}) => pushClaims(AUDIENCE, PUSHER, overrides);

const options: PushAuthOptions = { audience: AUDIENCE, serviceAccountEmail: PUSHER, keys: async () => pems };

async function reason(authorization: string | undefined, with_: PushAuthOptions = options): Promise<string> {
  const error = await verifyPushAuthorization(authorization, with_).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PushAuthError);
  return (error as PushAuthError).reason;
}

describe('verifyPushAuthorization', () => {
  it('accepts a token Google would send for our subscription', async () => {
    const identity = await verifyPushAuthorization(`Bearer ${jwt(claims())}`, options);
    expect(identity).toMatchObject({ email: PUSHER, audience: AUDIENCE, subject: '117651212345678901234' });
    expect(identity.expiresAt).toBeGreaterThan(Date.now());
  });

  it('refuses, with a reason a host can map to a status', async () => {
    const hour = 3600;
    const now = Math.floor(Date.now() / 1000);
    expect(await reason(undefined)).toBe('missing');
    expect(await reason('')).toBe('missing');
    expect(await reason('Basic dXNlcjpwYXNz')).toBe('malformed');
    expect(await reason('Bearer not-a-jwt')).toBe('malformed');
    expect(await reason('Bearer aaaa.bbbb.cccc')).toBe('malformed');
    expect(await reason(`Bearer ${jwt(claims({ iat: now - 3 * hour, exp: now - 2 * hour }))}`)).toBe(
      'expired',
    );
    expect(await reason(`Bearer ${jwt(claims({ iat: now + 2 * hour, exp: now + 3 * hour }))}`)).toBe(
      'not-yet-valid',
    );
    // Signed with another key under Google's key id, and with a key id Google does not have.
    expect(await reason(`Bearer ${jwt(claims(), stranger.privateKey)}`)).toBe('bad-signature');
    expect(await reason(`Bearer ${jwt(claims(), stranger.privateKey, 'kid-unknown')}`)).toBe('bad-signature');
    expect(await reason(`Bearer ${jwt(claims({ aud: 'https://someone-else.example/push' }))}`)).toBe(
      'wrong-audience',
    );
    expect(await reason(`Bearer ${jwt(claims({ iss: 'https://evil.example' }))}`)).toBe('wrong-issuer');
    expect(
      await reason(`Bearer ${jwt(claims({ email: 'attacker@evil-project.iam.gserviceaccount.com' }))}`),
    ).toBe('wrong-email');
    expect(await reason(`Bearer ${jwt(claims({ email_verified: false }))}`)).toBe('unverified-email');
    expect(await reason(`Bearer ${jwt(claims({ exp: undefined }))}`)).toBe('malformed');
    expect(
      await reason(`Bearer ${jwt(claims())}`, {
        ...options,
        keys: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      }),
    ).toBe('certs-unavailable');
  });

  it('never quotes the token in its message', async () => {
    const token = jwt(claims(), stranger.privateKey);
    const error = (await verifyPushAuthorization(`Bearer ${token}`, options).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.message).toBe('push token refused: Invalid token signature');
    expect(error.message).not.toContain(token.slice(0, 20));
  });

  it('takes a JWKS as well as a PEM map', async () => {
    const jwk = { ...google.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
    const identity = await verifyPushAuthorization(`Bearer ${jwt(claims())}`, {
      ...options,
      keys: async () => ({ keys: [jwk] }),
    });
    expect(identity.email).toBe(PUSHER);
  });

  describe("with the library fetching Google's keys (from a local server)", () => {
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end(JSON.stringify(pems));
    });
    let url = '';
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v1/certs`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('verifies, and fetches the keys once while their max-age lasts', async () => {
      const oauth2Client = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: url } });
      const viaLibrary: PushAuthOptions = { audience: [AUDIENCE], serviceAccountEmail: PUSHER, oauth2Client };
      await verifyPushAuthorization(`Bearer ${jwt(claims())}`, viaLibrary);
      expect(await reason(`Bearer ${jwt(claims(), stranger.privateKey)}`, viaLibrary)).toBe('bad-signature');
      expect(fetches).toBe(1);
    });
  });
});

describe('decodePushEnvelope', () => {
  const entry = {
    insertId: '-x1y2z3e4',
    logName: 'projects/trailhound-test-1/logs/cloudaudit.googleapis.com%2Factivity',
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      methodName: 'SetIamPolicy',
      serviceName: 'cloudresourcemanager.googleapis.com',
    },
    resource: { type: 'project', labels: { project_id: 'trailhound-test-1' } },
    timestamp: '2026-05-04T10:00:00.123456Z',
    severity: 'NOTICE',
  };
  const data = Buffer.from(JSON.stringify(entry)).toString('base64');

  it('returns the LogEntry and the message metadata', () => {
    const body = JSON.stringify({
      message: {
        attributes: { 'logging.googleapis.com/timestamp': entry.timestamp },
        data,
        messageId: '1234567890',
        message_id: '1234567890',
        publishTime: '2026-05-04T10:00:02.5Z',
        publish_time: '2026-05-04T10:00:02.5Z',
      },
      subscription: 'projects/trailhound-test-1/subscriptions/audit-push',
    });
    expect(decodePushEnvelope(body)).toEqual({
      entry,
      messageId: '1234567890',
      publishTime: '2026-05-04T10:00:02.5Z',
      subscription: 'projects/trailhound-test-1/subscriptions/audit-push',
      attributes: { 'logging.googleapis.com/timestamp': entry.timestamp },
    });
    expect(decodePushEnvelope(Buffer.from(body)).entry).toEqual(entry);
  });

  it('says what is wrong with a body that is not a push of a LogEntry', () => {
    const failure = (body: string | Record<string, unknown>) => {
      try {
        decodePushEnvelope(body);
      } catch (error) {
        expect(error).toBeInstanceOf(PushEnvelopeError);
        return (error as PushEnvelopeError).reason;
      }
      return 'accepted';
    };
    expect(failure('{')).toBe('not-json');
    expect(failure({ subscription: 's' })).toBe('no-message');
    expect(failure({ message: { data: '%%%' } })).toBe('bad-data');
    expect(failure({ message: { data: Buffer.from('not json').toString('base64') } })).toBe('bad-data');
    expect(failure({ message: { data: Buffer.from('{"hello":1}').toString('base64') } })).toBe(
      'not-log-entry',
    );
  });
});
