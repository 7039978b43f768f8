/**
 * The Pub/Sub push function, as Lambda runs it: the exported handler (the
 * whole middy stack) on function URL requests (payload 2.0), tokens signed
 * with a locally generated "Google" key, profiles in dynalite, findings and
 * quarantine read back from the log lines the function writes.
 */

import type { KeyObject } from 'node:crypto';
import { DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynalite } from '../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../adapters/dynamodb/profile-store.js';
import { setClients, setOutsideServices } from '../../../functions/commons/clients.js';
import { setEnvSource } from '../../../functions/commons/env.js';
import type { PushResponse } from '../../../functions/gcp-pubsub-push.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import { pushClaims, pushKeys, signJwt, strangerKeys } from '../../helpers/google-push-tokens.js';
import { FUNCTION_URL_DOMAIN, functionUrlEvent, lambdaContext } from '../../helpers/lambda.js';

const TABLE = 'trailhound-profiles';
const AUDIENCE = `https://${FUNCTION_URL_DOMAIN}/`;
const PUSHER = 'pubsub-push@acme-logging.iam.gserviceaccount.com';
const SUBSCRIPTION = 'projects/acme-logging/subscriptions/trailhound-audit-push';
const PROJECT = 'acme-prod-123';
const KEY_RULE = 'gcp.persistence.service-account-key-created';

type Handler = (event: unknown, context: unknown) => Promise<PushResponse>;
let handler: Handler;
let dynamo: LocalDynamo;
let output: CapturedOutput;
let googleKeysReachable = true;

beforeAll(async () => {
  output = captureOutput();
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, TABLE);
  setEnvSource({
    PROFILE_TABLE_NAME: TABLE,
    GCP_PUSH_AUDIENCE: AUDIENCE,
    GCP_PUSH_SERVICE_ACCOUNT: PUSHER,
  });
  setClients({ dynamodb: dynamo.client });
  setOutsideServices({
    gcpPushKeys: async () => {
      if (!googleKeysReachable) throw new Error('connect ECONNREFUSED 142.250.180.10:443');
      return pushKeys;
    },
  });
  ({ handler } = (await import('../../../functions/gcp-pubsub-push.js')) as unknown as { handler: Handler });
});

afterAll(async () => {
  output.restore();
  await dynamo.close();
});

beforeEach(() => output.clear());

let messages = 0;

/**
 * A person from outside the organization creates a JSON key for the backup
 * service account: the Admin Activity entry a log sink publishes.
 */
function keyCreatedEntry(actor: string, insertId: string): Record<string, unknown> {
  const time = new Date().toISOString();
  return {
    insertId,
    logName: `projects/${PROJECT}/logs/cloudaudit.googleapis.com%2Factivity`,
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: { principalEmail: actor, principalSubject: `user:${actor}` },
      requestMetadata: {
        callerIp: '198.51.100.77',
        callerSuppliedUserAgent:
          'google-cloud-sdk gcloud/468.0.0 command/gcloud.iam.service-accounts.keys.create,gzip(gfe)',
        requestAttributes: { time, auth: {} },
        destinationAttributes: {},
      },
      serviceName: 'iam.googleapis.com',
      methodName: 'google.iam.admin.v1.CreateServiceAccountKey',
      authorizationInfo: [
        {
          resource: 'projects/-/serviceAccounts/112233445566778899001',
          permission: 'iam.serviceAccountKeys.create',
          granted: true,
          resourceAttributes: {},
        },
      ],
      resourceName: 'projects/-/serviceAccounts/112233445566778899001',
      request: {
        '@type': 'type.googleapis.com/google.iam.admin.v1.CreateServiceAccountKeyRequest',
        name: `projects/-/serviceAccounts/backup-runner@${PROJECT}.iam.gserviceaccount.com`,
        private_key_type: 2,
      },
      response: {
        '@type': 'type.googleapis.com/google.iam.admin.v1.ServiceAccountKey',
        name: `projects/${PROJECT}/serviceAccounts/backup-runner@${PROJECT}.iam.gserviceaccount.com/keys/3f1e9a2b7c4d5e6f`,
        key_origin: 2,
        key_type: 1,
      },
    },
    resource: {
      type: 'service_account',
      labels: {
        project_id: PROJECT,
        email_id: `backup-runner@${PROJECT}.iam.gserviceaccount.com`,
        unique_id: '112233445566778899001',
      },
    },
    timestamp: time,
    severity: 'NOTICE',
    receiveTimestamp: time,
  };
}

/** The body Pub/Sub POSTs for one message (both spellings of the ids, as it sends them). */
function pushBody(entry: unknown, messageId = String(9_100_000_000_000 + ++messages)): string {
  const publishTime = new Date().toISOString();
  return JSON.stringify({
    message: {
      attributes: { 'logging.googleapis.com/timestamp': (entry as { timestamp?: string }).timestamp ?? '' },
      data: Buffer.from(JSON.stringify(entry)).toString('base64'),
      messageId,
      message_id: messageId,
      publishTime,
      publish_time: publishTime,
    },
    subscription: SUBSCRIPTION,
  });
}

function token(overrides: Record<string, unknown> = {}, key?: KeyObject): string {
  return signJwt(pushClaims(AUDIENCE, PUSHER, overrides), key);
}

function push(
  body: string,
  /** `null`: no Authorization header at all. */
  authorization: string | null = `Bearer ${token()}`,
  options: { base64?: boolean; method?: string } = {},
): Promise<PushResponse> {
  return handler(
    functionUrlEvent({
      body,
      headers: authorization !== null ? { authorization } : {},
      ...options,
    }),
    lambdaContext({ functionName: 'trailhound-gcp-pubsub-push' }),
  );
}

/** Events counted in each stored profile, by subject. */
async function profileEvents(): Promise<Map<string, number>> {
  const items = (await dynamo.client.send(new ScanCommand({ TableName: TABLE }))).Items ?? [];
  const events = new Map<string, number>();
  for (const item of items) {
    if (!item.pk?.S?.startsWith('PROFILE#')) continue;
    const profile = JSON.parse(item.profile?.S ?? '{}') as { subject: string; events: number };
    events.set(profile.subject, profile.events);
  }
  return events;
}

function findings(): Array<{ rule: { uid: string }; actor: { principal?: string }; evidence: unknown }> {
  return output.logs('finding').map((line) => line.finding as never);
}

describe('an authenticated push', () => {
  it('is answered 204, and its entry runs through rules and baselines', async () => {
    const entry = keyCreatedEntry('mallory@evil-corp.example', 'push-accepted-1');
    const response = await push(pushBody(entry));

    expect(response.statusCode).toBe(204);
    expect(response.body).toBeUndefined();
    const [finding] = findings().filter((f) => f.rule.uid === KEY_RULE);
    expect(finding).toMatchObject({
      rule: { uid: KEY_RULE },
      severity: 'medium',
      cloud: { provider: 'GCP', account: PROJECT },
      actor: { principal: 'mallory@evil-corp.example', ip: '198.51.100.77' },
    });
    const processed = output.logs('push processed')[0];
    expect(processed).toMatchObject({
      subscription: SUBSCRIPTION,
      records: 1,
      events: 1,
      quarantined: 0,
      function_name: 'trailhound-gcp-pubsub-push',
    });
    expect(processed?.findings).toBeGreaterThanOrEqual(1);
    expect((await profileEvents()).get('principal:mallory@evil-corp.example')).toBe(1);
    expect(output.metric('PushAccepted')).toBe(1);
    expect(output.metric('Findings')).toBeGreaterThanOrEqual(1);
  });

  it('reads a base64-encoded body the same way', async () => {
    const entry = keyCreatedEntry('trudy@evil-corp.example', 'push-base64-1');
    expect((await push(pushBody(entry), `Bearer ${token()}`, { base64: true })).statusCode).toBe(204);
    expect(findings().map((f) => f.actor.principal)).toContain('trudy@evil-corp.example');
  });

  it('is not counted twice in the profiles when Pub/Sub delivers it again', async () => {
    const entry = keyCreatedEntry('oscar@evil-corp.example', 'push-replayed-1');
    const body = pushBody(entry, '9200000000000001');
    expect((await push(body)).statusCode).toBe(204);
    expect((await push(body)).statusCode).toBe(204);

    const events = await profileEvents();
    expect(events.get('principal:oscar@evil-corp.example')).toBe(1);
    const [first, second] = output.logs('push processed');
    expect(first?.profileWrites).toBeGreaterThan(0);
    // The redelivery is the same batch: found in the batch ledger, nothing written.
    expect(second).toMatchObject({ events: 1, profileWrites: 0 });
  });
});

describe('a push without a good token is refused before its body is read', () => {
  const now = Math.floor(Date.now() / 1000);
  const refusals: Array<[string, string | null, number, string]> = [
    ['no Authorization header', null, 401, 'missing'],
    ['an expired token', `Bearer ${token({ iat: now - 3 * 3600, exp: now - 2 * 3600 })}`, 401, 'expired'],
    [
      'a token for another audience',
      `Bearer ${token({ aud: 'https://someone-else.example/push' })}`,
      401,
      'wrong-audience',
    ],
    ['a token signed by another key', `Bearer ${token({}, strangerKeys.privateKey)}`, 401, 'bad-signature'],
    [
      'a valid Google token of another service account',
      `Bearer ${signJwt(pushClaims(AUDIENCE, 'attacker@evil-project.iam.gserviceaccount.com'))}`,
      403,
      'wrong-email',
    ],
  ];

  it.each(refusals)('%s', async (_name, authorization, status, reason) => {
    const entry = keyCreatedEntry('eve@evil-corp.example', `push-refused-${reason}`);
    const before = await profileEvents();
    const response = await push(pushBody(entry), authorization);

    expect(response.statusCode).toBe(status);
    expect(JSON.parse(String(response.body))).toEqual({
      error: status === 403 ? 'forbidden' : 'unauthorized',
    });
    expect(response.headers?.['content-type']).toBe('application/json');
    if (status === 401) expect(response.headers?.['www-authenticate']).toBe('Bearer');
    const [refused] = output.logs('push refused');
    expect(refused).toMatchObject({ level: 'WARN', reason, status });
    // The token itself is never written anywhere.
    const written = JSON.stringify(output.records);
    if (authorization !== null) expect(written).not.toContain(authorization.slice(7, 60));
    // Nothing ran: no finding, no profile, no quarantine.
    expect(findings()).toEqual([]);
    expect(output.logs('push processed')).toEqual([]);
    expect(await profileEvents()).toEqual(before);
    expect(output.metric('PushRefused')).toBe(1);
  });

  it('even when the body is garbage (the token is checked first)', async () => {
    const response = await push('not json at all', `Bearer ${token({}, strangerKeys.privateKey)}`);
    expect(response.statusCode).toBe(401);
    expect(output.logs('quarantined')).toEqual([]);
  });

  it("answers 503 when Google's keys cannot be had, so that Pub/Sub retries", async () => {
    googleKeysReachable = false;
    try {
      const response = await push(pushBody(keyCreatedEntry('eve@evil-corp.example', 'push-503')));
      expect(response.statusCode).toBe(503);
      expect(JSON.parse(String(response.body))).toEqual({ error: 'unavailable' });
      expect(output.logs('push refused')[0]).toMatchObject({ reason: 'certs-unavailable' });
    } finally {
      googleKeysReachable = true;
    }
  });

  it('answers 405 to an authenticated request that is not a POST', async () => {
    const response = await push('', `Bearer ${token()}`, { method: 'GET' });
    expect(response.statusCode).toBe(405);
  });
});

describe('a malformed message', () => {
  it('is quarantined with its reason and acknowledged (204), not redelivered forever', async () => {
    const body =
      '{"message": {"data": "not base64!!", "messageId": "9300000000000001"}, "subscription": "x"}';
    const notBase64 = await push(body);
    const notJson = await push('<html>definitely not a push</html>');
    const noEntry = await push(pushBody({ hello: 'world' }));

    expect([notBase64.statusCode, notJson.statusCode, noEntry.statusCode]).toEqual([204, 204, 204]);
    const quarantined = output.logs('quarantined').map((line) => line.quarantine);
    expect(quarantined).toEqual([
      expect.objectContaining({ reason: 'push-bad-data', input: 'pubsub-push', content: body }),
      expect.objectContaining({ reason: 'push-not-json', content: '<html>definitely not a push</html>' }),
      expect.objectContaining({ reason: 'push-not-log-entry' }),
    ]);
    expect(findings()).toEqual([]);
    expect(output.metric('PushQuarantined')).toBe(3);
  });

  it('is quarantined by the pipeline when the envelope is fine but the entry is no audit log', async () => {
    const entry = {
      insertId: 'text-1',
      logName: `projects/${PROJECT}/logs/syslog`,
      textPayload: 'Started Daily apt upgrade and clean activities.',
      resource: { type: 'gce_instance', labels: { project_id: PROJECT } },
      timestamp: new Date().toISOString(),
    };
    const response = await push(pushBody(entry));
    expect(response.statusCode).toBe(204);
    expect(output.logs('quarantined')[0]?.quarantine).toMatchObject({
      reason: 'unrecognized-record',
      input: expect.stringMatching(
        /^pubsub-push\/projects\/acme-logging\/subscriptions\/trailhound-audit-push\/\d+$/,
      ),
    });
    expect(output.logs('push processed')[0]).toMatchObject({ records: 0, events: 0, quarantined: 1 });
  });
});

describe('an internal failure', () => {
  it('answers 500 so that Pub/Sub redelivers, and the redelivery succeeds once the cause is gone', async () => {
    const body = pushBody(keyCreatedEntry('victor@evil-corp.example', 'push-500-1'));
    await dynamo.client.send(new DeleteTableCommand({ TableName: TABLE }));
    try {
      const failed = await push(body);
      expect(failed.statusCode).toBe(500);
      expect(JSON.parse(String(failed.body))).toEqual({ error: 'internal' });
      const [logged] = output.logs('push processing failed; Pub/Sub will redeliver');
      expect(logged).toMatchObject({ level: 'ERROR', error: { name: 'IngestError' } });
      expect(output.metric('PushFailed')).toBe(1);
    } finally {
      await createProfileTable(dynamo.client, TABLE);
    }
    expect((await push(body)).statusCode).toBe(204);
    expect((await profileEvents()).get('principal:victor@evil-corp.example')).toBe(1);
  });
});
