/**
 * The GCP audit-log pull with the real `@google-cloud/logging` client (JSON
 * transport) against a local server speaking the Cloud Logging REST protocol,
 * checkpoints in dynalite.
 */
import { randomUUID } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoCheckpointStore,
  MemoryCheckpointStore,
} from '../../../../adapters/dynamodb/checkpoint-store.js';
import { type LocalDynamo, startLocalDynalite } from '../../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../../adapters/dynamodb/profile-store.js';
import { GcpLoggingError, GcpThrottledError } from '../../../../adapters/gcp/errors.js';
import { createLoggingClient } from '../../../../adapters/gcp/logging-client.js';
import {
  type GcpAuditPullOptions,
  gcpStream,
  pullGcpAuditLogs,
} from '../../../../adapters/gcp/logging-pull.js';
import { PullDeliveryError } from '../../../../adapters/pull/checkpointed-pull.js';
import {
  type FakeGcpLogging,
  type FakeGcpLoggingOptions,
  type LogEntry,
  startFakeGcpLogging,
} from '../../../helpers/fake-gcp-logging-server.js';

const PROJECT = 'trailhound-test-1';
const RESOURCE = `projects/${PROJECT}`;
const T0 = Date.parse('2026-05-04T10:00:00Z');
const MINUTE = 60_000;
const TOKEN = 'test-access-token';

/** A Cloud Audit Logs entry as Cloud Logging returns it (Admin Activity, IAM). */
function auditEntry(n: number, time: number, extra: { nanos?: string; method?: string } = {}): LogEntry {
  const timestamp =
    extra.nanos !== undefined
      ? `${new Date(time).toISOString().slice(0, 19)}.${extra.nanos}Z`
      : rfc3339(time);
  return {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: {
        principalEmail: 'alice@example.com',
        principalSubject: 'user:alice@example.com',
      },
      requestMetadata: {
        callerIp: '203.0.113.7',
        callerSuppliedUserAgent:
          'google-cloud-sdk gcloud/470.0.0 command/gcloud.iam.service-accounts.keys.create',
        requestAttributes: { time: timestamp, auth: {} },
        destinationAttributes: {},
      },
      serviceName: 'iam.googleapis.com',
      methodName: extra.method ?? 'google.iam.admin.v1.CreateServiceAccountKey',
      authorizationInfo: [
        {
          resource: `projects/-/serviceAccounts/10${n}`,
          permission: 'iam.serviceAccountKeys.create',
          granted: true,
          resourceAttributes: {},
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
        valid_after_time: { seconds: Math.floor(time / 1000) },
        key_origin: 2,
        key_type: 1,
        disabled: false,
      },
      // Older audit logs nest a second Any the client has no descriptor for either.
      serviceData: { '@type': 'type.googleapis.com/google.iam.v1.logging.AuditData', policyDelta: {} },
    },
    insertId: `1f${String(n).padStart(6, '0')}e1abc`,
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
    logName: `${RESOURCE}/logs/cloudaudit.googleapis.com%2Factivity`,
    receiveTimestamp: rfc3339(time + 1500),
  };
}

/** As the API writes times: no fraction for whole seconds, else 3, 6 or 9 digits. */
function rfc3339(time: number): string {
  const iso = new Date(time).toISOString();
  return time % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}

/** Entries one minute apart from T0. */
function entries(count: number, first = 0): LogEntry[] {
  return Array.from({ length: count }, (_, i) => auditEntry(first + i, T0 + (first + i) * MINUTE));
}

function fixedTokenClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: TOKEN, expiry_date: Date.now() + 3_600_000 });
  return client;
}

let dynamo: LocalDynamo;
let store: DynamoCheckpointStore;
const servers: FakeGcpLogging[] = [];

beforeAll(async () => {
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, 'trailhound-profiles');
  store = new DynamoCheckpointStore({ client: dynamo.client, tableName: 'trailhound-profiles' });
});

afterAll(async () => {
  await dynamo.close();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(served: LogEntry[], options: FakeGcpLoggingOptions = {}): Promise<FakeGcpLogging> {
  const started = await startFakeGcpLogging(served, { acceptToken: (token) => token === TOKEN, ...options });
  servers.push(started);
  return started;
}

/** A pull of its own resource name per test (a fresh checkpoint), delivering into `delivered`. */
function pullOptions(
  fake: FakeGcpLogging,
  delivered: Record<string, unknown>[][],
  overrides: Partial<GcpAuditPullOptions> = {},
): GcpAuditPullOptions {
  return {
    logging: createLoggingClient({
      projectId: PROJECT,
      authClient: fixedTokenClient(),
      apiEndpoint: fake.host,
      port: fake.port,
      protocol: 'http',
    }),
    resourceName: RESOURCE,
    store,
    deliver: async (records) => {
      delivered.push(records);
    },
    startTime: new Date(T0 - MINUTE),
    endTime: new Date(T0 + 24 * 60 * MINUTE),
    pageSize: 10,
    minRequestIntervalMs: 0,
    ...overrides,
  };
}

describe('pullGcpAuditLogs', () => {
  it('reads every page in time order and hands over the LogEntry JSON the API sent', async () => {
    const served = entries(25);
    // One entry with nanosecond precision: kept to the nanosecond.
    served[3] = auditEntry(3, T0 + 3 * MINUTE, { nanos: '123456789' });
    const fake = await server(served);
    const delivered: Record<string, unknown>[][] = [];
    const checkpoints = new MemoryCheckpointStore();
    const result = await pullGcpAuditLogs({ ...pullOptions(fake, delivered), store: checkpoints });

    expect(delivered.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(delivered.flat()).toEqual(served);
    expect(result).toMatchObject({
      pages: 3,
      received: 25,
      delivered: 25,
      duplicates: 0,
      commits: 3,
      complete: true,
    });

    const [first, second] = fake.requests;
    expect(first?.authorization).toBe(`Bearer ${TOKEN}`);
    // The client asks for numeric enums on the JSON transport; the server answered severity 300.
    expect(first?.query).toContain('enum-encoding=int');
    expect(first?.body).toEqual({
      resourceNames: [RESOURCE],
      filter: `logName:"cloudaudit.googleapis.com" AND timestamp >= "${new Date(T0 - MINUTE).toISOString()}" AND timestamp < "${new Date(T0 + 24 * 60 * MINUTE).toISOString()}"`,
      orderBy: 'timestamp asc',
      pageSize: 10,
    });
    expect(second?.body.pageToken).toEqual(expect.any(String));

    const checkpoint = await checkpoints.load(gcpStream(RESOURCE));
    expect(checkpoint?.highWater).toBe(T0 + 24 * MINUTE);
    expect(checkpoint?.windowStart).toBe(T0 + 14 * MINUTE);
    // Ids delivered in the 10 minutes below the high-water mark: the overlap.
    expect(checkpoint?.seen.flatMap(([, ids]) => ids)).toHaveLength(11);
  });

  it('rebuilds every LogEntry field the API sends, by the proto3 JSON mapping', async () => {
    const full: LogEntry = {
      insertId: 'full-1',
      logName: `${RESOURCE}/logs/cloudaudit.googleapis.com%2Fdata_access`,
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        methodName: 'storage.objects.get',
      },
      resource: { type: 'gcs_bucket', labels: { project_id: PROJECT, bucket_name: 'b', location: '' } },
      timestamp: '2026-05-04T10:00:00.000001Z',
      receiveTimestamp: '2026-05-04T10:00:00.500Z',
      severity: 'INFO',
      labels: { 'authorization.k8s.io/decision': 'allow', empty: '' },
      operation: { id: 'op-1', producer: 'storage.googleapis.com', first: true },
      httpRequest: {
        requestMethod: 'GET',
        status: 200,
        responseSize: '1234',
        latency: '0.120s',
        remoteIp: '203.0.113.7',
      },
      trace: `projects/${PROJECT}/traces/0af7651916cd43dd8448eb211c80319c`,
      spanId: '000000000000004a',
      traceSampled: true,
      sourceLocation: { file: 'main.go', line: '42', function: 'main.handler' },
      split: { uid: 'split-1', index: 1, totalSplits: 3 },
    };
    const json = {
      ...full,
      insertId: 'full-2',
      protoPayload: undefined,
      jsonPayload: { a: [1, 'x', null, { b: false }] },
    };
    delete json.protoPayload;
    const fake = await server([full, json as LogEntry]);
    const delivered: Record<string, unknown>[][] = [];
    await pullGcpAuditLogs({ ...pullOptions(fake, delivered), store: new MemoryCheckpointStore() });
    expect(delivered.flat()).toEqual([full, json]);
  });

  it('retries a throttled request (429 RESOURCE_EXHAUSTED) after the RetryInfo delay, then goes on', async () => {
    const fake = await server(entries(12), {
      throttle: (index) => index === 0 || index === 1 || index === 3,
      retryDelay: '0.020s',
    });
    const delivered: Record<string, unknown>[][] = [];
    const waits: number[] = [];
    const result = await pullGcpAuditLogs({
      ...pullOptions(fake, delivered),
      store: new MemoryCheckpointStore(),
      onThrottle: (_attempt, wait) => waits.push(wait),
    });
    expect(result.delivered).toBe(12);
    expect(delivered.flat().map((e) => e.insertId)).toEqual(entries(12).map((e) => e.insertId));
    expect(fake.requests.map((r) => r.status)).toEqual([429, 429, 200, 429, 200]);
    expect(waits).toEqual([20, 20, 20]);
  });

  it('gives up with GcpThrottledError when throttling outlasts the retries, keeping the committed pages', async () => {
    const fake = await server(entries(30), { throttle: (index) => index >= 1 });
    const delivered: Record<string, unknown>[][] = [];
    const checkpoints = new MemoryCheckpointStore();
    const error = await pullGcpAuditLogs({
      ...pullOptions(fake, delivered),
      store: checkpoints,
      throttle: { retries: 2, baseMs: 1, maxMs: 5 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GcpThrottledError);
    expect((error as GcpThrottledError).attempts).toBe(3);
    expect((error as GcpThrottledError).details.code).toBe(8);
    expect((error as GcpThrottledError).cause).toBeInstanceOf(Error);
    expect(delivered.flat()).toHaveLength(10);
    expect((await checkpoints.load(gcpStream(RESOURCE)))?.highWater).toBe(T0 + 9 * MINUTE);
  });

  it('resumes after a crash mid-run from the last committed page: nothing lost, nothing delivered twice', async () => {
    const served = entries(45);
    const fake = await server(served);
    const resourceName = `projects/crash-${randomUUID().slice(0, 8)}`;
    const moved = served.map((e) => ({ ...e, logName: e.logName.replace(RESOURCE, resourceName) }));
    fake.setEntries(moved);
    const delivered: Record<string, unknown>[][] = [];
    let pages = 0;
    // The pipeline dies on the third page: pages 1 and 2 are in, page 3 is not.
    const crashing = pullOptions(fake, delivered, {
      resourceName,
      deliver: async (records) => {
        pages += 1;
        if (pages === 3) throw new Error('pipeline crashed');
        delivered.push(records);
      },
    });
    const error = await pullGcpAuditLogs(crashing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PullDeliveryError);
    expect((error as PullDeliveryError).page).toBe(2);
    expect((await store.load(gcpStream(resourceName)))?.highWater).toBe(T0 + 19 * MINUTE);

    // The next run starts 10 minutes below the mark, passes over what it had, and finishes.
    const resumed = await pullGcpAuditLogs(pullOptions(fake, delivered, { resourceName }));
    const ids = delivered.flat().map((e) => e.insertId);
    expect(ids).toEqual(moved.map((e) => e.insertId));
    expect(new Set(ids).size).toBe(45);
    expect(resumed.from).toBe(T0 + 9 * MINUTE);
    expect(resumed.duplicates).toBe(11);
    expect(resumed.delivered).toBe(25);

    // A failure of the API itself (not retried: PERMISSION_DENIED) stops the same way.
    const later = entries(5, 45).map((e) => ({ ...e, logName: e.logName.replace(RESOURCE, resourceName) }));
    fake.addEntries(later);
    const failing = await server([...moved, ...later], {
      fail: (index) =>
        index === 0
          ? { code: 403, status: 'PERMISSION_DENIED', message: 'logging.logEntries.list denied' }
          : undefined,
    });
    const denied = await pullGcpAuditLogs(pullOptions(failing, delivered, { resourceName })).catch(
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(GcpLoggingError);
    expect((denied as GcpLoggingError).details.code).toBe(7);
    await pullGcpAuditLogs(pullOptions(failing, delivered, { resourceName }));
    expect(delivered.flat().map((e) => e.insertId)).toEqual([...moved, ...later].map((e) => e.insertId));
  });

  it('re-reads the overlap window for late entries and drops what it already delivered', async () => {
    const resourceName = `projects/late-${randomUUID().slice(0, 8)}`;
    const rename = (list: LogEntry[]) =>
      list.map((e) => ({ ...e, logName: e.logName.replace(RESOURCE, resourceName) }));
    const first = rename(entries(20));
    const fake = await server(first);
    const delivered: Record<string, unknown>[][] = [];
    const run1 = await pullGcpAuditLogs(pullOptions(fake, delivered, { resourceName }));
    expect(run1.delivered).toBe(20);

    // Late: an entry stamped 5 minutes before the mark shows up only now, with new ones after it.
    const late = rename([auditEntry(900, T0 + 14 * MINUTE + 30_000, { method: 'SetIamPolicy' })]);
    const fresh = rename(entries(3, 20));
    fake.addEntries([...late, ...fresh]);
    const run2 = await pullGcpAuditLogs(pullOptions(fake, delivered, { resourceName }));
    expect(run2.from).toBe(T0 + 9 * MINUTE);
    expect(run2.duplicates).toBe(11);
    expect(delivered.slice(-run2.pages).flat()).toEqual([...late, ...fresh]);

    // A third run with nothing new delivers nothing and writes nothing.
    const run3 = await pullGcpAuditLogs(pullOptions(fake, delivered, { resourceName }));
    expect(run3).toMatchObject({ delivered: 0, commits: 0 });
    expect(run3.duplicates).toBeGreaterThan(0);
  });

  it('keeps the store consistent with the runs: a second writer of the same stream is refused', async () => {
    const stream = gcpStream(`projects/conflict-${randomUUID().slice(0, 6)}`);
    const state = { stream, highWater: T0, windowStart: T0 - 10 * MINUTE, seen: [[T0, ['abc']]] as const };
    const saved = await store.save({ ...state, seen: [[T0, ['abc']]] }, 0);
    expect(saved.version).toBe(1);
    await expect(store.save({ ...state, seen: [] }, 0)).rejects.toThrow(/another run/);
    expect((await store.load(stream))?.seen).toEqual([[T0, ['abc']]]);
  });
});
