/**
 * GCP credentials from a credentials JSON, exercised end to end against the
 * local server: workload identity federation from AWS (STS token exchange and
 * service-account impersonation) and a service-account key (the library's
 * self-signed JWTs), each then reading audit logs.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../../adapters/dynamodb/checkpoint-store.js';
import { createGcpAuthClient, LOGGING_READ_SCOPE } from '../../../../adapters/gcp/credentials.js';
import { GcpCredentialsError } from '../../../../adapters/gcp/errors.js';
import { createLoggingClient } from '../../../../adapters/gcp/logging-client.js';
import { pullGcpAuditLogs } from '../../../../adapters/gcp/logging-pull.js';
import {
  checkServiceAccountJwt,
  type FakeGcpLogging,
  type LogEntry,
  startFakeGcpLogging,
} from '../../../helpers/fake-gcp-logging-server.js';

const PROJECT = 'trailhound-test-1';
const AUDIENCE =
  '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider';
const READER = `trailhound-reader@${PROJECT}.iam.gserviceaccount.com`;
const AWS_KEY = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const T0 = Date.parse('2026-05-04T10:00:00Z');

const entry: LogEntry = {
  insertId: 'abc-1',
  logName: `projects/${PROJECT}/logs/cloudaudit.googleapis.com%2Factivity`,
  protoPayload: {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    methodName: 'SetIamPolicy',
    serviceName: 'cloudresourcemanager.googleapis.com',
  },
  resource: { type: 'project', labels: { project_id: PROJECT } },
  timestamp: '2026-05-04T10:00:00Z',
  severity: 'NOTICE',
};

/** The external-account JSON `gcloud iam workload-identity-pools create-cred-config --aws` writes, aimed at `fake`. */
function federationConfig(fake: FakeGcpLogging): Record<string, unknown> {
  return {
    universe_domain: 'googleapis.com',
    type: 'external_account',
    audience: AUDIENCE,
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    service_account_impersonation_url: `${fake.url}/v1/projects/-/serviceAccounts/${READER}:generateAccessToken`,
    token_url: `${fake.url}/v1/token`,
    credential_source: {
      environment_id: 'aws1',
      region_url: 'http://169.254.169.254/latest/meta-data/placement/availability-zone',
      url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials',
      regional_cred_verification_url:
        'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    },
  };
}

const servers: FakeGcpLogging[] = [];
const savedEnv = { ...process.env };
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION'])
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
});

async function pullWith(fake: FakeGcpLogging, authClient: ReturnType<typeof createGcpAuthClient>) {
  const delivered: Record<string, unknown>[] = [];
  await pullGcpAuditLogs({
    logging: createLoggingClient({
      projectId: PROJECT,
      authClient,
      apiEndpoint: fake.host,
      port: fake.port,
      protocol: 'http',
    }),
    resourceName: `projects/${PROJECT}`,
    store: new MemoryCheckpointStore(),
    deliver: async (records) => {
      delivered.push(...records);
    },
    startTime: new Date(T0 - 60_000),
    endTime: new Date(T0 + 60_000),
    minRequestIntervalMs: 0,
  });
  return delivered;
}

describe('createGcpAuthClient', () => {
  it('federates from AWS credentials handed over in code: STS exchange, then impersonation', async () => {
    const fake = await startFakeGcpLogging([entry], {
      sts: { audience: AUDIENCE, awsAccessKeyId: AWS_KEY.accessKeyId },
      acceptToken: () => false,
    });
    servers.push(fake);
    const authClient = createGcpAuthClient({
      externalAccount: JSON.stringify(federationConfig(fake)),
      allowCustomEndpoints: true,
      aws: {
        region: 'eu-west-1',
        credentials: async () => ({ ...AWS_KEY, sessionToken: 'FwoGZXIvYXdzEXAMPLE' }),
      },
    });
    expect(await pullWith(fake, authClient)).toEqual([entry]);

    const [exchange, impersonation] = fake.tokenExchanges;
    expect(exchange).toMatchObject({ path: '/v1/token', ok: true });
    expect(exchange?.form.scope).toBe('https://www.googleapis.com/auth/cloud-platform');
    const subject = JSON.parse(decodeURIComponent(exchange?.form.subject_token ?? '')) as {
      url: string;
      headers: Array<{ key: string; value: string }>;
    };
    expect(subject.url).toBe(
      'https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    );
    expect(subject.headers.find((h) => h.key === 'x-amz-security-token')?.value).toBe('FwoGZXIvYXdzEXAMPLE');
    expect(impersonation).toMatchObject({ path: `generateAccessToken:${READER}`, ok: true });
    expect(JSON.parse(String(impersonation?.body))).toMatchObject({ scope: [LOGGING_READ_SCOPE] });
    expect(fake.requests[0]?.authorization).toBe(`Bearer ${impersonation?.note}`);
  });

  it("federates with the configuration's own AWS credential lookup (Lambda's environment variables)", async () => {
    const fake = await startFakeGcpLogging([entry], {
      sts: { audience: AUDIENCE, awsAccessKeyId: AWS_KEY.accessKeyId },
      acceptToken: () => false,
    });
    servers.push(fake);
    process.env.AWS_ACCESS_KEY_ID = AWS_KEY.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = AWS_KEY.secretAccessKey;
    process.env.AWS_SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE';
    process.env.AWS_REGION = 'us-east-2';
    const authClient = createGcpAuthClient({
      externalAccount: federationConfig(fake),
      allowCustomEndpoints: true,
    });
    expect(await pullWith(fake, authClient)).toEqual([entry]);
    expect(fake.tokenExchanges.map((e) => e.ok)).toEqual([true, true]);
  });

  it('falls back to a service-account key: the library signs its own JWT with it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = {
      type: 'service_account',
      project_id: PROJECT,
      private_key_id: 'k1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: READER,
      client_id: '1234',
      token_uri: 'https://oauth2.googleapis.com/token',
    };
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const fake = await startFakeGcpLogging([entry], {
      acceptToken: (token) => checkServiceAccountJwt(token, { [READER]: publicPem }).ok,
    });
    servers.push(fake);
    const authClient = createGcpAuthClient({ serviceAccountKey: JSON.stringify(key) });
    expect(await pullWith(fake, authClient)).toEqual([entry]);
    const token = fake.requests[0]?.authorization?.replace('Bearer ', '') ?? '';
    expect(checkServiceAccountJwt(token, { [READER]: publicPem }).claims).toMatchObject({
      iss: READER,
      sub: READER,
      scope: LOGGING_READ_SCOPE,
    });
  });

  it('prefers federation when both are given, and says what is wrong with a bad configuration', () => {
    expect(() => createGcpAuthClient({})).toThrow(GcpCredentialsError);
    expect(() => createGcpAuthClient({ externalAccount: '{' })).toThrow(/not JSON/);
    expect(() => createGcpAuthClient({ externalAccount: { type: 'service_account' } })).toThrow(
      /expected external_account/,
    );
    expect(() =>
      createGcpAuthClient({ externalAccount: { type: 'external_account', audience: AUDIENCE } }),
    ).toThrow(/subject_token_type/);
    expect(() =>
      createGcpAuthClient({ serviceAccountKey: { type: 'service_account', client_email: READER } }),
    ).toThrow(/private_key/);
    expect(() =>
      createGcpAuthClient({
        externalAccount: {
          type: 'external_account',
          audience: AUDIENCE,
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          credential_source: { executable: { command: '/bin/sh -c id' } },
        },
      }),
    ).toThrow(/only AWS federation/);
  });

  it('sends AWS signatures and tokens only to Google and AWS endpoints, unless told otherwise', async () => {
    const fake = await startFakeGcpLogging([]);
    servers.push(fake);
    // The same configuration the tests above use, without allowCustomEndpoints.
    expect(() => createGcpAuthClient({ externalAccount: federationConfig(fake) })).toThrow(
      /token_url http:\/\/127\.0\.0\.1:\d+\/v1\/token is not a Google or AWS endpoint/,
    );
    const real = {
      ...federationConfig(fake),
      token_url: 'https://sts.googleapis.com/v1/token',
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${READER}:generateAccessToken`,
    };
    expect(createGcpAuthClient({ externalAccount: real })).toBeDefined();
    const source = federationConfig(fake).credential_source as Record<string, unknown>;
    const stolen = { ...real, credential_source: { ...source, url: 'http://evil.example/creds' } };
    expect(() => createGcpAuthClient({ externalAccount: stolen })).toThrow(/credential_source.url/);
  });
});
