/**
 * The Azure Log Analytics pull with the real `@azure/monitor-query-logs`
 * client, over HTTPS to a local server that speaks the query API and runs the
 * adapter's KQL; checkpoints in dynalite.
 */
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { LogsQueryClient } from '@azure/monitor-query-logs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  LogAnalyticsError,
  LogAnalyticsPartialResultError,
  LogAnalyticsThrottledError,
} from '../../../../adapters/azure/errors.js';
import { pageQuery } from '../../../../adapters/azure/kql.js';
import {
  type AzureTable,
  azureStream,
  type LogAnalyticsPullOptions,
  pullLogAnalytics,
  pullLogAnalyticsTable,
} from '../../../../adapters/azure/log-analytics-pull.js';
import {
  DynamoCheckpointStore,
  MemoryCheckpointStore,
} from '../../../../adapters/dynamodb/checkpoint-store.js';
import { type LocalDynamo, startLocalDynalite } from '../../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../../adapters/dynamodb/profile-store.js';
import { PullDeliveryError } from '../../../../adapters/pull/checkpointed-pull.js';
import {
  type FakeLogAnalytics,
  type FakeLogAnalyticsOptions,
  type Row,
  startFakeLogAnalytics,
  TABLE_SCHEMAS,
} from '../../../helpers/fake-log-analytics-server.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SUBSCRIPTION = 'a1b2c3d4-0000-4000-8000-000000000001';
const T0 = Date.parse('2026-05-04T10:00:00Z');
const MINUTE = 60_000;
const TOKEN = 'fixed-azure-token';

const credential: TokenCredential = {
  getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const guid = (n: number, prefix = '0000') =>
  `${prefix}${String(n).padStart(4, '0')}-aaaa-4bbb-8ccc-${String(n).padStart(12, '0')}`;

/** A datetime as Log Analytics stores it: 100-ns precision. */
function ticks(ms: number, extra = 0): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(extra).padStart(4, '0')}Z`;
}

function activityRow(n: number, time: string, overrides: Row = {}): Row {
  const authorization = {
    action: 'Microsoft.Authorization/roleAssignments/write',
    scope: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-prod/providers/Microsoft.Authorization/roleAssignments/${guid(n)}`,
  };
  const claims = {
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': 'alice@contoso.com',
    ipaddr: '203.0.113.9',
  };
  const properties = {
    requestbody:
      '{"Id":"x","Properties":{"RoleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/8e3af657"}}',
    statusCode: 'Created',
  };
  return {
    TenantId: TENANT,
    SourceSystem: 'Azure',
    CallerIpAddress: '203.0.113.9',
    CategoryValue: 'Administrative',
    CorrelationId: guid(n, 'c0ff'),
    Authorization: JSON.stringify(authorization),
    Authorization_d: authorization,
    Claims: JSON.stringify(claims),
    Claims_d: claims,
    Level: 'Informational',
    OperationNameValue: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
    Properties: JSON.stringify(properties),
    Properties_d: properties,
    Caller: 'alice@contoso.com',
    EventDataId: guid(n, 'e7e7'),
    EventSubmissionTimestamp: time,
    HTTPRequest: '{"clientRequestId":"1","clientIpAddress":"203.0.113.9","method":"PUT"}',
    OperationId: guid(n, '0b0b'),
    ResourceGroup: 'rg-prod',
    ResourceProviderValue: 'MICROSOFT.AUTHORIZATION',
    ActivityStatusValue: 'Success',
    ActivitySubstatusValue: 'Created',
    Hierarchy: `${TENANT}/${SUBSCRIPTION}`,
    TimeGenerated: time,
    SubscriptionId: SUBSCRIPTION,
    ResourceId: authorization.scope,
    _ResourceId: authorization.scope.toLowerCase(),
    ...overrides,
  };
}

function auditRow(n: number, time: string): Row {
  return {
    TenantId: TENANT,
    SourceSystem: 'Azure AD',
    TimeGenerated: time,
    OperationName: 'Add member to role',
    Category: 'RoleManagement',
    ResultDescription: '',
    DurationMs: 0,
    CorrelationId: guid(n, 'c0a1'),
    Identity: 'MS-PIM',
    Level: '4',
    AdditionalDetails: [],
    Id: `Directory_${guid(n, 'd1d1')}`,
    InitiatedBy: { user: { userPrincipalName: 'mallory@contoso.com', ipAddress: '198.51.100.4' } },
    LoggedByService: 'Core Directory',
    Result: 'success',
    ResultReason: '',
    TargetResources: [{ userPrincipalName: 'mallory@contoso.com', type: 'User', modifiedProperties: [] }],
    AADTenantId: TENANT,
    ActivityDisplayName: 'Add member to role',
    ActivityDateTime: time,
    AADOperationType: 'Assign',
  };
}

function signinRow(n: number, time: string): Row {
  return {
    TenantId: TENANT,
    SourceSystem: 'Azure AD',
    TimeGenerated: time,
    OperationName: 'Sign-in activity',
    Category: 'SignInLogs',
    ResultType: '50126',
    ResultDescription: 'Error validating credentials due to invalid username or password.',
    CorrelationId: guid(n, 'c0b2'),
    Identity: 'Bob',
    Level: '4',
    Location: 'NL',
    AppDisplayName: 'Azure Portal',
    AppId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',
    ClientAppUsed: 'Browser',
    ConditionalAccessStatus: 'notApplied',
    CreatedDateTime: time,
    DeviceDetail: { operatingSystem: 'Linux', browser: 'Firefox 128.0' },
    IsInteractive: true,
    Id: guid(n, '5151'),
    IPAddress: '198.51.100.23',
    LocationDetails: { city: 'Amsterdam', countryOrRegion: 'NL' },
    RiskLevelDuringSignIn: 'none',
    RiskState: 'none',
    Status: { errorCode: 50126, failureReason: 'Invalid username or password.' },
    UserAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    UserDisplayName: 'Bob',
    UserPrincipalName: 'bob@contoso.com',
  };
}

/** What the pull hands over for a row: the export shape, datetimes to the millisecond as the SDK reads them. */
function exported(table: AzureTable, row: Row): Record<string, unknown> {
  const record: Record<string, unknown> = { Type: table };
  for (const column of TABLE_SCHEMAS[table] ?? []) {
    if (column.name === 'Type') continue;
    const value = row[column.name];
    record[column.name] =
      column.type === 'datetime' && typeof value === 'string'
        ? new Date(Date.parse(value)).toISOString()
        : (value ?? (column.type === 'string' ? '' : null));
  }
  return record;
}

let dynamo: LocalDynamo;
let store: DynamoCheckpointStore;
const servers: FakeLogAnalytics[] = [];

beforeAll(async () => {
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, 'trailhound-profiles');
  store = new DynamoCheckpointStore({ client: dynamo.client, tableName: 'trailhound-profiles' });
});
afterAll(() => dynamo.close());
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(tables: Record<string, Row[]>, options: FakeLogAnalyticsOptions = {}) {
  const fake = await startFakeLogAnalytics(tables, { acceptToken: (token) => token === TOKEN, ...options });
  servers.push(fake);
  return fake;
}

function client(fake: FakeLogAnalytics, maxRetries = 3): LogsQueryClient {
  return new LogsQueryClient(credential, {
    endpoint: fake.endpoint,
    tlsOptions: { ca: fake.certificate },
    retryOptions: { maxRetries, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
  });
}

function options(
  fake: FakeLogAnalytics,
  delivered: Record<string, unknown>[][],
  overrides: Partial<LogAnalyticsPullOptions> = {},
): LogAnalyticsPullOptions {
  return {
    client: client(fake),
    workspaceId: randomUUID(),
    store,
    deliver: async (records) => {
      delivered.push(records);
    },
    startTime: new Date(T0 - MINUTE),
    endTime: new Date(T0 + 6 * 60 * MINUTE),
    pageSize: 4,
    minRequestIntervalMs: 0,
    ...overrides,
  };
}

describe('pullLogAnalytics', () => {
  it('reads the three tables page by page, ties on a timestamp included, into export records', async () => {
    // 22 rows; every group of three shares one millisecond (two of them the very same tick).
    const activity = Array.from({ length: 22 }, (_, i) =>
      activityRow(i, ticks(T0 + Math.floor(i / 3) * 17 * MINUTE + 250, i % 3 === 2 ? 4321 : 0)),
    );
    const audit = Array.from({ length: 5 }, (_, i) => auditRow(i, ticks(T0 + i * MINUTE, 1)));
    const signins = Array.from({ length: 3 }, (_, i) => signinRow(i, ticks(T0 + i * 90 * MINUTE)));
    const fake = await server({ AzureActivity: activity, AuditLogs: audit, SigninLogs: signins });
    const delivered: Record<string, unknown>[][] = [];
    const results = await pullLogAnalytics(options(fake, delivered, { sliceMs: 60 * MINUTE }));

    const byKey = (a: Row, b: Row) => (String(a.EventDataId) < String(b.EventDataId) ? -1 : 1);
    const expectedActivity = [...activity]
      .sort(
        (a, b) => Date.parse(String(a.TimeGenerated)) - Date.parse(String(b.TimeGenerated)) || byKey(a, b),
      )
      .map((row) => exported('AzureActivity', row));
    const records = delivered.flat();
    expect(records.filter((r) => r.Type === 'AzureActivity')).toEqual(expectedActivity);
    expect(records.filter((r) => r.Type === 'AuditLogs')).toEqual(
      audit.map((row) => exported('AuditLogs', row)),
    );
    expect(records.filter((r) => r.Type === 'SigninLogs')).toEqual(
      signins.map((row) => exported('SigninLogs', row)),
    );
    expect(results.map((r) => [r.stream.split(':').at(-1), r.delivered, r.duplicates])).toEqual([
      ['AzureActivity', 22, 0],
      ['AuditLogs', 5, 0],
      ['SigninLogs', 3, 0],
    ]);
    // Every page of the first slice is a query of its own: keyset pages, then the next slice.
    const activityQueries = fake.requests.filter((r) => r.body.query?.startsWith('AzureActivity'));
    expect(activityQueries.length).toBeGreaterThan(7);
    expect(fake.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(fake.requests[0]?.body).toEqual({
      query: pageQuery({ table: 'AzureActivity', from: T0 - MINUTE, to: T0 + 59 * MINUTE, take: 4 }),
      timespan: `${new Date(T0 - MINUTE).toISOString()}/${new Date(T0 + 59 * MINUTE).toISOString()}`,
    });
    expect(fake.requests[1]?.body.query).toContain(
      `| where TrailhoundMs > datetime(2026-05-04T10:17:00.250Z) or (TrailhoundMs == datetime(2026-05-04T10:17:00.250Z) and strcmp(TrailhoundKey, @"e7e70003-aaaa-4bbb-8ccc-000000000003") > 0)`,
    );
  });

  it('keys AzureActivity rows without EventDataId by CorrelationId:OperationNameValue:ActivityStatusValue', async () => {
    const time = ticks(T0);
    const started = activityRow(1, time, { EventDataId: '', ActivityStatusValue: 'Start' });
    const succeeded = activityRow(1, time, { EventDataId: '', ActivityStatusValue: 'Success' });
    const fake = await server({ AzureActivity: [started, succeeded] });
    const delivered: Record<string, unknown>[][] = [];
    const opts = options(fake, delivered, { store: new MemoryCheckpointStore() });
    await pullLogAnalyticsTable({ ...opts, table: 'AzureActivity' });
    expect(delivered.flat().map((r) => r.ActivityStatusValue)).toEqual(['Start', 'Success']);
    // Read again: both are known by that key and passed over.
    const again = await pullLogAnalyticsTable({ ...opts, table: 'AzureActivity' });
    expect(again).toMatchObject({ delivered: 0, duplicates: 2 });
  });

  it('waits out throttling: the SDK as Retry-After says, then this adapter when the SDK gives up', async () => {
    const rows = Array.from({ length: 6 }, (_, i) => activityRow(i, ticks(T0 + i * MINUTE)));
    // The SDK's own retries (Retry-After: 1 s, honoured by its throttling policy).
    const sdk = await server({ AzureActivity: rows }, { throttle: (i) => (i === 0 ? 1 : undefined) });
    const delivered: Record<string, unknown>[][] = [];
    const started = Date.now();
    const tenMinutes = { endTime: new Date(T0 + 10 * MINUTE) };
    await pullLogAnalyticsTable({ ...options(sdk, delivered, tenMinutes), table: 'AzureActivity' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(sdk.requests.map((r) => r.status)).toEqual([429, 200, 200]);
    expect(delivered.flat()).toHaveLength(6);

    // A client without retries: the adapter waits what Retry-After says and asks again.
    const ours = await server({ AzureActivity: rows }, { throttle: (i) => (i < 2 ? 7 : undefined) });
    const waits: number[] = [];
    const result = await pullLogAnalyticsTable({
      ...options(ours, [], {
        ...tenMinutes,
        client: client(ours, 0),
        sleep: async (ms) => void waits.push(ms),
      }),
      onThrottle: () => undefined,
      table: 'AzureActivity',
    });
    expect(result.delivered).toBe(6);
    expect(waits).toEqual([7_000, 7_000]);

    // And gives up, typed, when it does not end.
    const endless = await server({ AzureActivity: rows }, { throttle: () => 1 });
    const error = await pullLogAnalyticsTable({
      ...options(endless, [], {
        client: client(endless, 0),
        sleep: async () => undefined,
        throttle: { retries: 2 },
      }),
      table: 'AzureActivity',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogAnalyticsThrottledError);
    expect((error as LogAnalyticsThrottledError).attempts).toBe(3);
  });

  it('resumes after a crash mid-run: nothing lost, nothing delivered twice', async () => {
    const rows = Array.from({ length: 18 }, (_, i) => activityRow(i, ticks(T0 + i * MINUTE, i)));
    const fake = await server({ AzureActivity: rows });
    const delivered: Record<string, unknown>[][] = [];
    const workspaceId = randomUUID();
    let pages = 0;
    const crash = await pullLogAnalyticsTable({
      ...options(fake, delivered, {
        workspaceId,
        deliver: async (records) => {
          pages += 1;
          if (pages === 3) throw new Error('pipeline crashed');
          delivered.push(records);
        },
      }),
      table: 'AzureActivity',
    }).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(PullDeliveryError);
    const checkpoint = await store.load(azureStream(workspaceId, 'AzureActivity'));
    expect(checkpoint?.highWater).toBe(T0 + 7 * MINUTE);

    const resumed = await pullLogAnalyticsTable({
      ...options(fake, delivered, { workspaceId }),
      table: 'AzureActivity',
    });
    const ids = delivered.flat().map((r) => r.EventDataId);
    expect(ids).toEqual(rows.map((r) => r.EventDataId));
    expect(resumed.from).toBe(T0 - MINUTE);
    expect(resumed.duplicates).toBe(8);
  });

  it('re-reads the overlap window for rows ingested late and drops the ones it had', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => activityRow(i, ticks(T0 + i * MINUTE)));
    const fake = await server({ AzureActivity: rows });
    const delivered: Record<string, unknown>[][] = [];
    const workspaceId = randomUUID();
    const run = (end: number) =>
      pullLogAnalyticsTable({
        ...options(fake, delivered, { workspaceId, endTime: new Date(end), pageSize: 50 }),
        table: 'AzureActivity',
      });
    expect((await run(T0 + 30 * MINUTE)).delivered).toBe(20);
    // Ingested late: stamped 4 minutes before the high-water mark, visible only now.
    const late = activityRow(500, ticks(T0 + 15 * MINUTE + 1));
    const next = activityRow(501, ticks(T0 + 31 * MINUTE));
    fake.addRows('AzureActivity', [late, next]);
    const second = await run(T0 + 40 * MINUTE);
    expect(second.from).toBe(T0 + 9 * MINUTE);
    expect(second.duplicates).toBe(11);
    expect(delivered.at(-1)?.map((r) => r.EventDataId)).toEqual([late.EventDataId, next.EventDataId]);
  });

  it('never delivers a partial result: asks for fewer rows, and stops typed if that does not help', async () => {
    const rows = Array.from({ length: 230 }, (_, i) => activityRow(i, ticks(T0 + i * 1000)));
    const fake = await server({ AzureActivity: rows }, { maxRows: 150 });
    const delivered: Record<string, unknown>[][] = [];
    const result = await pullLogAnalyticsTable({
      ...options(fake, delivered, {
        pageSize: 400,
        store: new MemoryCheckpointStore(),
        endTime: new Date(T0 + 10 * MINUTE),
      }),
      table: 'AzureActivity',
    });
    expect(result.delivered).toBe(230);
    expect(delivered.map((page) => page.length)).toEqual([100, 100, 30]);
    expect(fake.requests.map((r) => /take (\d+)/.exec(r.body.query ?? '')?.[1])).toEqual([
      '400',
      '200',
      '100',
      '100',
      '100',
    ]);

    const tiny = await server({ AzureActivity: rows }, { maxRows: 50 });
    const error = await pullLogAnalyticsTable({
      ...options(tiny, [], { pageSize: 100, store: new MemoryCheckpointStore() }),
      table: 'AzureActivity',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogAnalyticsPartialResultError);
    expect((error as LogAnalyticsPartialResultError).details.code).toBe('PartialError');
  });

  it('reports what the service refused, with its code', async () => {
    const fake = await server({ AzureActivity: [] }, { acceptToken: () => false });
    const error = await pullLogAnalyticsTable({
      ...options(fake, [], { store: new MemoryCheckpointStore() }),
      table: 'AzureActivity',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogAnalyticsError);
    expect((error as LogAnalyticsError).details).toMatchObject({
      status: 401,
      code: 'AuthorizationRequiredError',
    });
    expect((error as LogAnalyticsError).cause).toBeInstanceOf(Error);
  });
});
