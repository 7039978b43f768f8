/**
 * The scheduled Log Analytics pull, as Lambda runs it: the exported handler on
 * EventBridge Scheduler inputs, the real `@azure/monitor-query-logs` client
 * over HTTPS to the local Log Analytics server, settings from a Secrets
 * Manager and the client assertion from an STS served locally, checkpoints
 * and profiles in dynalite. Only Entra ID's token endpoint is stood in for
 * (`azureTokenExchange`): it sees the assertion the function would present.
 */
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkpointKey } from '../../../adapters/dynamodb/checkpoint-store.js';
import {
  LOCAL_CREDENTIALS,
  type LocalDynamo,
  startLocalDynalite,
} from '../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../adapters/dynamodb/profile-store.js';
import type { OutsideServices } from '../../../functions/commons/clients.js';
import type { PullRunReport } from '../../../functions/commons/scheduled-pull.js';
import { type CapturedOutput, captureOutput } from '../../helpers/captured-output.js';
import { type FakeAws, startFakeAws } from '../../helpers/fake-aws-server.js';
import {
  type FakeLogAnalytics,
  type FakeLogAnalyticsOptions,
  type Row,
  startFakeLogAnalytics,
} from '../../helpers/fake-log-analytics-server.js';
import { lambdaContext, loadFunction, schedulerEvent } from '../../helpers/lambda.js';

const TABLE = 'trailhound-profiles';
const WORKSPACE = '3c9f2a1b-7d4e-4f5a-8b6c-0d1e2f3a4b5c';
const TENANT = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const CLIENT = '0f6a2c4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b';
const SUBSCRIPTION = '5c1f0b2e-8d3a-4e6f-9a7b-2c4d6e8f0a1b';
const SETTINGS = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/azure-settings-QwErTy';
const MARGIN_SECONDS = 5;
const MINUTE = 60_000;

type Handler = (event: unknown, context: unknown) => Promise<PullRunReport>;

let dynamo: LocalDynamo;
let aws: FakeAws;
let output: CapturedOutput;
/** What Entra ID's token endpoint was shown. */
const exchanges: Array<{ assertion: string; scopes: readonly string[] }> = [];

const outside: OutsideServices = {
  azureTokenExchange: async (assertion, scopes) => {
    exchanges.push({ assertion, scopes });
    return { token: `entra-token-for-${assertion}`, expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

beforeAll(async () => {
  output = captureOutput();
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, TABLE);
  aws = await startFakeAws({
    issueToken: (params) => `sts-jwt.${params['Audience.member.1']}.${params.SigningAlgorithm}`,
  });
});

afterAll(async () => {
  output.restore();
  await aws.close();
  await dynamo.close();
});

beforeEach(() => output.clear());

/**
 * The one Log Analytics server of this file (one: every fake certificate names
 * the same subject, and a trust store holding two would pick either), trusted
 * by the process as a default CA certificate of every later TLS connection.
 */
async function logAnalytics(
  tables: Record<string, Row[]>,
  options: FakeLogAnalyticsOptions,
): Promise<FakeLogAnalytics> {
  const fake = await startFakeLogAnalytics(tables, {
    acceptToken: (token) => token.startsWith('entra-token-for-sts-jwt.'),
    workspaces: [WORKSPACE],
    ...options,
  });
  setDefaultCACertificates([...getCACertificates('default'), fake.certificate]);
  return fake;
}

function clients() {
  const common = { endpoint: aws.endpoint, region: 'eu-west-1', credentials: LOCAL_CREDENTIALS };
  return {
    dynamodb: dynamo.client,
    secretsManager: new SecretsManagerClient(common),
    sts: new STSClient(common),
  };
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PROFILE_TABLE_NAME: TABLE,
    AZURE_WORKSPACE_ID: WORKSPACE,
    AZURE_SETTINGS_SECRET_ARN: SETTINGS,
    PULL_INITIAL_LOOKBACK_MINUTES: '90',
    PULL_DEADLINE_MARGIN_SECONDS: String(MARGIN_SECONDS),
    ...extra,
  };
}

/** Log Analytics datetimes: 100-ns ticks. */
const ticks = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}0000Z`;
const guid = (n: number, prefix: string) =>
  `${prefix}${String(n).padStart(4, '0')}-7c1a-4b2e-9d3f-${String(n).padStart(12, '0')}`;

/** Someone removes the subscription's delete lock (an AzureActivity row). */
function lockDeletedRow(n: number, time: number): Row {
  const scope = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/locks/guard-${n}`;
  const authorization = { scope, action: 'Microsoft.Authorization/locks/delete' };
  const claims = {
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': 'eve.martin@contoso.onmicrosoft.com',
    ipaddr: '203.0.113.45',
  };
  const properties = { statusCode: 'OK', entity: scope, message: 'Microsoft.Authorization/locks/delete' };
  return {
    TenantId: TENANT,
    SourceSystem: 'Azure',
    CallerIpAddress: '203.0.113.45',
    CategoryValue: 'Administrative',
    CorrelationId: guid(n, 'c0a1'),
    Authorization: JSON.stringify(authorization),
    Authorization_d: authorization,
    Claims: JSON.stringify(claims),
    Claims_d: claims,
    Level: 'Informational',
    OperationNameValue: 'MICROSOFT.AUTHORIZATION/LOCKS/DELETE',
    Properties: JSON.stringify(properties),
    Properties_d: properties,
    Caller: 'eve.martin@contoso.onmicrosoft.com',
    EventDataId: guid(n, 'e7d1'),
    EventSubmissionTimestamp: ticks(time),
    HTTPRequest: '{"clientRequestId":"1","clientIpAddress":"203.0.113.45","method":"DELETE"}',
    OperationId: guid(n, '0b0b'),
    ResourceGroup: '',
    ResourceProviderValue: 'MICROSOFT.AUTHORIZATION',
    ActivityStatusValue: 'Success',
    ActivitySubstatusValue: 'OK',
    Hierarchy: `${TENANT}/${SUBSCRIPTION}`,
    TimeGenerated: ticks(time),
    SubscriptionId: SUBSCRIPTION,
    ResourceId: scope,
    _ResourceId: scope.toLowerCase(),
  };
}

function signinRow(n: number, time: number): Row {
  return {
    TenantId: TENANT,
    SourceSystem: 'Azure AD',
    TimeGenerated: ticks(time),
    OperationName: 'Sign-in activity',
    Category: 'SignInLogs',
    ResultType: '0',
    ResultDescription: '',
    CorrelationId: guid(n, 'c0b2'),
    Identity: 'Bob',
    Level: '4',
    Location: 'NL',
    AppDisplayName: 'Azure Portal',
    AppId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
    ClientAppUsed: 'Browser',
    ConditionalAccessStatus: 'success',
    CreatedDateTime: ticks(time),
    DeviceDetail: { operatingSystem: 'Linux', browser: 'Firefox 128.0' },
    IsInteractive: true,
    Id: guid(n, '5151'),
    IPAddress: '198.51.100.23',
    LocationDetails: { city: 'Amsterdam', countryOrRegion: 'NL' },
    RiskLevelDuringSignIn: 'none',
    RiskState: 'none',
    Status: { errorCode: 0 },
    UserAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    UserDisplayName: 'Bob',
    UserPrincipalName: 'bob@contoso.com',
  };
}

async function highWater(table: string): Promise<number | undefined> {
  const item = (
    await dynamo.client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: checkpointKey(`azure:${WORKSPACE}:${table}`),
        ConsistentRead: true,
      }),
    )
  ).Item;
  return item === undefined ? undefined : Number(item.highWater?.N);
}

describe('the Log Analytics pull function', () => {
  const start = Date.now() - 80 * MINUTE;
  const activity = Array.from({ length: 6 }, (_, n) => lockDeletedRow(n, start + n * 10 * MINUTE));
  const signins = Array.from({ length: 3 }, (_, n) => signinRow(n, start + n * 20 * MINUTE));
  let fake: FakeLogAnalytics;
  /** While set, every AuditLogs query is throttled (HTTP 429) until the retries run out. */
  let throttleAuditLogs = false;
  let handler: Handler;

  beforeAll(async () => {
    fake = await logAnalytics(
      { AzureActivity: activity, AuditLogs: [], SigninLogs: signins },
      {
        throttle: (_index, request) =>
          throttleAuditLogs && request.body.query?.startsWith('AuditLogs') ? 0 : undefined,
      },
    );
    aws.putSecret(
      SETTINGS,
      JSON.stringify({ tenantId: TENANT, clientId: CLIENT, logAnalyticsEndpoint: fake.endpoint }),
    );
    handler = await loadFunction<Handler>('azure-log-analytics-pull', {
      env: env({ PULL_PAGE_SIZE: '4' }),
      clients: clients(),
      outside,
    });
  });

  afterAll(() => fake.close());

  it('stops before the deadline, leaving the other tables for the next run, which resumes from the checkpoints', async () => {
    const remainingMs = MARGIN_SECONDS * 1000 + 20;
    const started = Date.now();
    const first = await handler(schedulerEvent('trailhound-azure-pull'), lambdaContext({ remainingMs }));
    expect(Date.now() - started).toBeLessThan(remainingMs);
    expect(first.streams).toEqual([
      expect.objectContaining({
        stream: `azure:${WORKSPACE}:AzureActivity`,
        status: 'stopped-at-deadline',
        delivered: 4,
      }),
      { stream: `azure:${WORKSPACE}:AuditLogs`, status: 'not-started' },
      { stream: `azure:${WORKSPACE}:SigninLogs`, status: 'not-started' },
    ]);
    expect(await highWater('AzureActivity')).toBe(start + 3 * 10 * MINUTE);
    expect(await highWater('SigninLogs')).toBeUndefined();

    // The credential: settings from the secret, the client assertion an STS web identity token of the
    // function's role for Entra ID's audience, exchanged for a Log Analytics token.
    const sts = aws.calls.filter((call) => call.service === 'sts');
    expect(sts).toEqual([
      expect.objectContaining({
        action: 'GetWebIdentityToken',
        accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
        params: expect.objectContaining({
          'Audience.member.1': 'api://AzureADTokenExchange',
          SigningAlgorithm: 'RS256',
        }),
      }),
    ]);
    expect(exchanges).toEqual([
      {
        assertion: 'sts-jwt.api://AzureADTokenExchange.RS256',
        scopes: ['https://api.loganalytics.io/.default'],
      },
    ]);
    expect(
      fake.requests.every(
        (r) => r.authorization === 'Bearer entra-token-for-sts-jwt.api://AzureADTokenExchange.RS256',
      ),
    ).toBe(true);

    output.clear();
    const second = await handler(
      schedulerEvent('trailhound-azure-pull'),
      lambdaContext({ remainingMs: 60_000 }),
    );
    expect(second.streams.map((s) => [s.stream.split(':').at(-1), s.status, s.delivered])).toEqual([
      ['AzureActivity', 'complete', 2],
      ['AuditLogs', 'complete', 0],
      ['SigninLogs', 'complete', 3],
    ]);
    expect(second.detection).toMatchObject({ records: 5, events: 5, quarantined: 0 });
    expect(await highWater('AzureActivity')).toBe(start + 5 * 10 * MINUTE);
    expect(await highWater('SigninLogs')).toBe(start + 2 * 20 * MINUTE);
    // The client (and its token) are kept between invocations: no second assertion.
    expect(aws.calls.filter((call) => call.service === 'sts')).toHaveLength(1);
    expect(
      output.logs('finding').map((line) => (line.finding as { rule: { uid: string } }).rule.uid),
    ).toContain('azure.defense-evasion.resource-lock-deleted');
  });

  it('runs the other tables when one fails, then fails the invocation', async () => {
    throttleAuditLogs = true;
    const failing = await loadFunction<Handler>('azure-log-analytics-pull', {
      env: env({ PULL_OVERLAP_MINUTES: '0' }),
      clients: clients(),
      outside,
    });
    output.clear();
    const error = await failing(schedulerEvent('trailhound-azure-pull'), lambdaContext()).catch(
      (e: unknown) => e,
    );
    expect(error, String((error as Error).cause)).toMatchObject({
      name: 'PullError',
      message: expect.stringContaining('AuditLogs'),
    });
    const finished = output.logs('pull run finished')[0]?.run as PullRunReport;
    expect(finished.streams.map((s) => [s.stream.split(':').at(-1), s.status])).toEqual([
      ['AzureActivity', 'complete'],
      ['AuditLogs', 'failed'],
      ['SigninLogs', 'complete'],
    ]);
    expect(output.metric('PullFailures')).toBe(1);
    throttleAuditLogs = false;
  });

  it('fails with a SecretError that names the secret, not its content, when the settings are wrong', async () => {
    aws.putSecret(SETTINGS, JSON.stringify({ tenantId: 42, clientId: 'top-secret-client-value' }));
    const failing = await loadFunction<Handler>('azure-log-analytics-pull', {
      env: env(),
      clients: clients(),
      outside,
    });
    output.clear();
    const error = await failing(schedulerEvent('trailhound-azure-pull'), lambdaContext()).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'PullError' });
    const cause = (error as Error).cause as Error;
    expect(cause).toMatchObject({ name: 'SecretError', secretArn: SETTINGS });
    expect(cause.message).toContain('tenantId');
    expect(JSON.stringify(output.records)).not.toContain('top-secret-client-value');
  });
});
