/**
 * The scheduled Cloud Logging pull, as Lambda runs it: the exported handler
 * on EventBridge Scheduler inputs, the real `@google-cloud/logging` client
 * against the local Cloud Logging server, credentials through the function's
 * own path (a service-account key from a Secrets Manager served locally; or
 * workload identity federation signed with the function's AWS credentials),
 * checkpoints and profiles in dynalite.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkpointKey } from '../../../adapters/dynamodb/checkpoint-store.js';
import {
  LOCAL_CREDENTIALS,
  type LocalDynamo,
  startLocalDynalite,
} from '../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../adapters/dynamodb/profile-store.js';
import type { PullRunReport } from '../../../functions/commons/scheduled-pull.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import { type FakeAws, startFakeAws } from '../../helpers/fake-aws-server.js';
import {
  checkServiceAccountJwt,
  type FakeGcpLogging,
  type LogEntry,
  startFakeGcpLogging,
} from '../../helpers/fake-gcp-logging-server.js';
import { lambdaContext, loadFunction, schedulerEvent } from '../../helpers/lambda.js';

const TABLE = 'trailhound-profiles';
const PROJECT = 'acme-prod-123';
const RESOURCE = `projects/${PROJECT}`;
const STREAM = `gcp:${RESOURCE}`;
const KEY_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/gcp-reader-key-AbCdEf';
const READER = `trailhound-reader@${PROJECT}.iam.gserviceaccount.com`;
const MARGIN_SECONDS = 5;
const MINUTE = 60_000;

type Handler = (event: unknown, context: unknown) => Promise<PullRunReport>;

let dynamo: LocalDynamo;
let aws: FakeAws;
let output: CapturedOutput;
const servers: FakeGcpLogging[] = [];

beforeAll(async () => {
  output = captureOutput();
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, TABLE);
  aws = await startFakeAws();
});

afterAll(async () => {
  output.restore();
  await aws.close();
  await dynamo.close();
});

beforeEach(() => output.clear());
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** The function's SDK clients, signing with local credentials, Secrets Manager and STS served by `aws`. */
function awsClients(credentials: { accessKeyId: string; secretAccessKey: string } = LOCAL_CREDENTIALS) {
  const common = { endpoint: aws.endpoint, region: 'eu-west-1', credentials };
  return {
    dynamodb: dynamo.client,
    secretsManager: new SecretsManagerClient(common),
    sts: new STSClient(common),
  };
}

/** A user-managed key created for an app's service account by alice: one finding each. */
function keyEntry(n: number, time: number): LogEntry {
  const timestamp = new Date(time).toISOString();
  return {
    insertId: `pull-${String(n).padStart(4, '0')}`,
    logName: `${RESOURCE}/logs/cloudaudit.googleapis.com%2Factivity`,
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: { principalEmail: 'alice@example.com', principalSubject: 'user:alice@example.com' },
      requestMetadata: {
        callerIp: '203.0.113.7',
        callerSuppliedUserAgent:
          'google-cloud-sdk gcloud/470.0.0 command/gcloud.iam.service-accounts.keys.create',
        requestAttributes: { time: timestamp, auth: {} },
        destinationAttributes: {},
      },
      serviceName: 'iam.googleapis.com',
      methodName: 'google.iam.admin.v1.CreateServiceAccountKey',
      authorizationInfo: [
        {
          resource: `projects/-/serviceAccounts/10${n}`,
          permission: 'iam.serviceAccountKeys.create',
          granted: true,
        },
      ],
      resourceName: `projects/-/serviceAccounts/10${n}`,
      request: {
        '@type': 'type.googleapis.com/google.iam.admin.v1.CreateServiceAccountKeyRequest',
        name: `projects/-/serviceAccounts/app-${n}@${PROJECT}.iam.gserviceaccount.com`,
        private_key_type: 2,
      },
      response: {
        '@type': 'type.googleapis.com/google.iam.admin.v1.ServiceAccountKey',
        name: `projects/${PROJECT}/serviceAccounts/app-${n}@${PROJECT}.iam.gserviceaccount.com/keys/k${n}`,
        key_origin: 2,
        key_type: 1,
      },
    },
    resource: {
      type: 'service_account',
      labels: {
        project_id: PROJECT,
        email_id: `app-${n}@${PROJECT}.iam.gserviceaccount.com`,
        unique_id: `10${n}`,
      },
    },
    timestamp,
    severity: 'NOTICE',
    receiveTimestamp: timestamp,
  };
}

async function checkpoint(stream: string) {
  const item = (
    await dynamo.client.send(
      new GetItemCommand({ TableName: TABLE, Key: checkpointKey(stream), ConsistentRead: true }),
    )
  ).Item;
  return item === undefined
    ? undefined
    : { version: Number(item.version?.N), highWater: Number(item.highWater?.N) };
}

async function profileEvents(subject: string): Promise<number | undefined> {
  const items = (await dynamo.client.send(new ScanCommand({ TableName: TABLE }))).Items ?? [];
  const item = items.find((i) => i.pk?.S === `PROFILE#${subject}`);
  return item === undefined ? undefined : (JSON.parse(item.profile?.S ?? '{}') as { events: number }).events;
}

const findingsOf = (rule: string) =>
  output.logs('finding').filter((line) => (line.finding as { rule: { uid: string } }).rule.uid === rule);

describe('with a service-account key from Secrets Manager', () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const start = Date.now() - 60 * MINUTE;
  const served = Array.from({ length: 25 }, (_, n) => keyEntry(n, start + n * MINUTE));
  let fake: FakeGcpLogging;
  let handler: Handler;

  beforeAll(async () => {
    aws.putSecret(
      KEY_SECRET,
      JSON.stringify({
        type: 'service_account',
        project_id: PROJECT,
        private_key_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4',
        private_key: privateKey,
        client_email: READER,
        client_id: '109876543210987654321',
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    fake = await startFakeGcpLogging(served, {
      // Only the JWTs the library signs with the key from the secret are accepted.
      acceptToken: (token) => checkServiceAccountJwt(token, { [READER]: publicKey }).ok,
    });
    handler = await loadFunction<Handler>('gcp-logging-pull', {
      env: {
        PROFILE_TABLE_NAME: TABLE,
        GCP_RESOURCE_NAME: RESOURCE,
        GCP_SA_KEY_SECRET_ARN: KEY_SECRET,
        PULL_PAGE_SIZE: '10',
        PULL_INITIAL_LOOKBACK_MINUTES: '120',
        PULL_DEADLINE_MARGIN_SECONDS: String(MARGIN_SECONDS),
      },
      clients: awsClients(),
      outside: { gcpLogging: { apiEndpoint: fake.host, port: fake.port, protocol: 'http' } },
    });
  });

  afterAll(() => fake.close());

  it('stops before the Lambda deadline, then resumes from its checkpoint on the next invocation', async () => {
    // 1. Barely more time than the margin (20 ms): one page, committed, then a stop well before the deadline.
    const remainingMs = MARGIN_SECONDS * 1000 + 20;
    const started = Date.now();
    const first = await handler(schedulerEvent('trailhound-gcp-pull'), lambdaContext({ remainingMs }));
    expect(Date.now() - started).toBeLessThan(remainingMs);
    expect(first.streams).toEqual([
      expect.objectContaining({
        stream: STREAM,
        status: 'stopped-at-deadline',
        pages: 1,
        delivered: 10,
        commits: 1,
      }),
    ]);
    expect(await checkpoint(STREAM)).toEqual({ version: 1, highWater: start + 9 * MINUTE });
    expect(findingsOf('gcp.persistence.service-account-key-created')).toHaveLength(10);
    expect(output.logs('pull run finished')[0]).toMatchObject({
      scheduleArn: expect.stringContaining(':schedule/default/trailhound-gcp-pull'),
      attemptNumber: '1',
      run: { detection: { records: 10, events: 10, findings: 10 } },
    });
    expect(output.metric('PullStoppedAtDeadline')).toBe(1);
    // The key came from Secrets Manager, read with the function's credentials.
    expect(aws.calls).toEqual([
      expect.objectContaining({
        service: 'secretsmanager',
        action: 'GetSecretValue',
        params: { SecretId: KEY_SECRET },
      }),
    ]);

    // 2. Time enough: the rest, from the checkpoint; the first page comes back in the overlap and is passed over.
    output.clear();
    const second = await handler(
      schedulerEvent('trailhound-gcp-pull'),
      lambdaContext({ remainingMs: 60_000 }),
    );
    expect(second.streams).toEqual([
      expect.objectContaining({ status: 'complete', pages: 3, received: 25, duplicates: 10, delivered: 15 }),
    ]);
    expect(await checkpoint(STREAM)).toEqual({ version: 3, highWater: start + 24 * MINUTE });
    expect(findingsOf('gcp.persistence.service-account-key-created')).toHaveLength(15);
    expect(await profileEvents('principal:alice@example.com')).toBe(25);
    // The key is cached with its client between invocations (the secret is read again after 5 minutes).
    expect(aws.calls).toHaveLength(1);

    // 3. A late entry inside the overlap is caught; nothing else is delivered again.
    output.clear();
    fake.addEntries([keyEntry(99, start + 20 * MINUTE + 30_000)]);
    const third = await handler(
      schedulerEvent('trailhound-gcp-pull'),
      lambdaContext({ remainingMs: 60_000 }),
    );
    expect(third.streams).toEqual([expect.objectContaining({ status: 'complete', delivered: 1 })]);
    expect(await profileEvents('principal:alice@example.com')).toBe(26);
    const requests = fake.requests.map((r) => r.authorization ?? '');
    expect(requests.every((a) => a.startsWith('Bearer ey'))).toBe(true);
  });

  it('fails the invocation when Cloud Logging refuses, leaving the checkpoint where it was', async () => {
    const before = await checkpoint(STREAM);
    const broken = await startFakeGcpLogging(served, { acceptToken: () => false });
    servers.push(broken);
    const failing = await loadFunction<Handler>('gcp-logging-pull', {
      env: {
        PROFILE_TABLE_NAME: TABLE,
        GCP_RESOURCE_NAME: RESOURCE,
        GCP_SA_KEY_SECRET_ARN: KEY_SECRET,
        PULL_DEADLINE_MARGIN_SECONDS: String(MARGIN_SECONDS),
      },
      clients: awsClients(),
      outside: { gcpLogging: { apiEndpoint: broken.host, port: broken.port, protocol: 'http' } },
    });
    output.clear();
    const error = await failing(schedulerEvent('trailhound-gcp-pull'), lambdaContext()).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'PullError', message: expect.stringContaining(STREAM) });
    expect((error as Error).cause).toMatchObject({ name: 'GcpLoggingError' });
    expect(output.logs('invocation failed')[0]).toMatchObject({
      level: 'ERROR',
      error: { name: 'PullError' },
    });
    expect(output.metric('PullFailures')).toBe(1);
    expect(await checkpoint(STREAM)).toEqual(before);
  });

  it('refuses to start with less time left than the margin', async () => {
    const error = await handler(
      schedulerEvent('trailhound-gcp-pull'),
      lambdaContext({ remainingMs: MARGIN_SECONDS * 1000 - 1000 }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'PullError',
      message: expect.stringContaining('PULL_DEADLINE_MARGIN_SECONDS'),
    });
  });
});

describe('with workload identity federation from the function’s AWS role', () => {
  it('exchanges a GetCallerIdentity request signed with the function’s credentials, and reads no secret', async () => {
    const audience =
      '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider';
    const roleKey = {
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    };
    const project = 'acme-federated-9';
    const entry = {
      ...keyEntry(1, Date.now() - 5 * MINUTE),
      logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`,
    };
    const fake = await startFakeGcpLogging([entry], {
      sts: { audience, awsAccessKeyId: roleKey.accessKeyId },
      acceptToken: () => false,
    });
    servers.push(fake);
    const config = {
      type: 'external_account',
      audience,
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
    const callsBefore = aws.calls.length;
    const handler = await loadFunction<Handler>('gcp-logging-pull', {
      env: {
        PROFILE_TABLE_NAME: TABLE,
        GCP_RESOURCE_NAME: `projects/${project}`,
        GCP_WORKLOAD_IDENTITY_CONFIG: JSON.stringify(config),
      },
      clients: awsClients(roleKey),
      outside: {
        gcpLogging: { apiEndpoint: fake.host, port: fake.port, protocol: 'http' },
        gcpAllowCustomEndpoints: true,
      },
    });
    const report = await handler(schedulerEvent('trailhound-gcp-pull'), lambdaContext());

    expect(report.streams).toEqual([expect.objectContaining({ status: 'complete', delivered: 1 })]);
    expect(fake.tokenExchanges.map((e) => [e.path, e.ok])).toEqual([
      ['/v1/token', true],
      [`generateAccessToken:${READER}`, true],
    ]);
    const subject = JSON.parse(decodeURIComponent(fake.tokenExchanges[0]?.form.subject_token ?? '')) as {
      url: string;
    };
    expect(subject.url).toBe(
      'https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    );
    expect(aws.calls.length).toBe(callsBefore);
  });
});
