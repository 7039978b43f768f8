/**
 * The Security Hub destination against a local BatchImportFindings server,
 * with the real SDK client.
 */
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SecurityHubDestination,
  SecurityHubDestinationError,
} from '../../../../adapters/securityhub/securityhub-destination.js';
import { changeState, type IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import { ACCOUNT, escalatingFindings, foldAll, makeAlertFinding } from '../../../helpers/alert-findings.js';
import { type FakeSecurityHub, startFakeSecurityHub } from '../../../helpers/fake-securityhub-server.js';
import { fastRetryStrategy } from '../../../helpers/throttling-proxy.js';

let hub: FakeSecurityHub;
let client: SecurityHubClient;
let waits: number[];

beforeAll(async () => {
  hub = await startFakeSecurityHub({ accountId: ACCOUNT, region: 'us-east-1' });
  client = new SecurityHubClient({
    endpoint: hub.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    // No SDK retries: the destination's own retries are under test.
    retryStrategy: fastRetryStrategy(1),
  });
});
afterEach(() => hub.reset());
afterAll(async () => {
  client.destroy();
  await hub.close();
});

function destination(overrides: Partial<ConstructorParameters<typeof SecurityHubDestination>[0]> = {}) {
  waits = [];
  return new SecurityHubDestination({
    client,
    region: 'us-east-1',
    accountId: ACCOUNT,
    runbookBaseUrl: 'https://runbooks.example/rules',
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...overrides,
  });
}

/** One incident per actor: `count` updates, each opening its own incident. */
function manyIncidents(count: number, resourcesEach = 0): IncidentUpdate[] {
  return foldAll(
    Array.from({ length: count }, (_, i) =>
      makeAlertFinding({
        actor: { principal: `arn:aws:iam::${ACCOUNT}:user/user-${i}` },
        resources: Array.from({ length: resourcesEach }, (_, r) => ({
          uid: `arn:aws:s3:::a-rather-long-bucket-name-for-incident-${i}-resource-${r}-${'x'.repeat(120)}`,
        })),
      }),
    ),
  );
}

describe('SecurityHubDestination', () => {
  it('keeps an escalating incident as one finding updated in place, archived when resolved', async () => {
    // Prepare
    const sink = destination();
    const updates = foldAll(escalatingFindings());
    // Act: each update delivered on its own, refs kept between them as the alerter does.
    for (const update of updates) {
      const result = await sink.deliver([update]);
      expect(result.failed).toEqual([]);
    }
    const last = updates[2]!.incident;
    const resolved = changeState(last, 'resolved', 'carol', last.updated_at + 60_000)!;
    const closing = await sink.deliver([resolved]);
    // Assess
    expect(closing).toEqual({
      delivered: [{ key: last.key, revision: 4 }],
      failed: [],
    });
    expect(hub.findings.size).toBe(1);
    const stored = hub.stored(last.key)!;
    expect(stored.versions).toHaveLength(4);
    expect(
      stored.versions.map((v) => (v.FindingProviderFields as { Severity: { Label: string } }).Severity.Label),
    ).toEqual(['LOW', 'HIGH', 'CRITICAL', 'CRITICAL']);
    const times = stored.versions.map((v) => String(v.UpdatedAt));
    expect([...times].sort()).toEqual(times);
    expect(new Set(times).size).toBe(4);
    expect(stored.finding).toMatchObject({
      Id: last.key,
      RecordState: 'ARCHIVED',
      Severity: { Label: 'CRITICAL' },
      CreatedAt: '2025-03-01T10:00:00.000Z',
    });
    // Workflow belongs to the customer after creation: Security Hub keeps NEW, as it would.
    expect(stored.finding.Workflow).toEqual({ Status: 'NEW' });
    expect(stored.finding.Types).toEqual(
      expect.arrayContaining([
        'TTPs/Discovery/T1087.004 Account Discovery: Cloud Account',
        'TTPs/Defense Evasion',
      ]),
    );
  });

  it('ignores a late redrive of an older revision, as Security Hub does', async () => {
    const sink = destination();
    const updates = foldAll(escalatingFindings());
    await sink.deliver([updates[2]!]);
    const late = await sink.deliver([updates[0]!]);
    expect(late.failed).toEqual([]);
    expect(hub.stored(updates[0]!.incident.key)).toMatchObject({ ignored: 1 });
    expect(hub.get(updates[0]!.incident.key)?.ProductFields).toMatchObject({ 'trailhound/revision': '3' });
  });

  it('sends one finding per incident per delivery, at its highest revision', async () => {
    const sink = destination();
    const updates = foldAll(escalatingFindings());
    const result = await sink.deliver([updates[1]!, updates[2]!, updates[0]!]);
    expect(hub.calls).toHaveLength(1);
    expect(hub.calls[0]?.findings).toHaveLength(1);
    expect(hub.calls[0]?.findings[0]?.ProductFields).toMatchObject({ 'trailhound/revision': '3' });
    expect(result.delivered.map((d) => d.revision).sort()).toEqual([1, 2, 3]);
  });

  it('imports 250 incidents in three calls of at most 100', async () => {
    // 6 MB requests: only the count limit splits them.
    const sink = destination({ maxRequestBytes: 6 * 1024 * 1024 });
    const result = await sink.deliver(manyIncidents(250));
    expect(hub.calls.map((c) => c.findings.length)).toEqual([100, 100, 50]);
    expect(result.delivered).toHaveLength(250);
    expect(hub.findings.size).toBe(250);
  });

  it('splits big findings by the 240 KB request limit', async () => {
    const sink = destination();
    const updates = manyIncidents(60, 30);
    const result = await sink.deliver(updates);
    expect(result.failed).toEqual([]);
    expect(hub.calls.length).toBeGreaterThan(1);
    for (const call of hub.calls) expect(call.bodyBytes).toBeLessThanOrEqual(240 * 1024);
    expect(hub.calls.reduce((n, c) => n + c.findings.length, 0)).toBe(60);
    expect(hub.findings.size).toBe(60);
  });

  it('retries only the findings that failed for a passing reason, until they are imported', async () => {
    const sink = destination();
    const updates = manyIncidents(10);
    const flaky = new Set(updates.slice(0, 3).map((u) => u.incident.key));
    hub.failFindings((f, attempt) =>
      flaky.has(String(f.Id)) && attempt < 2
        ? { code: 'InternalFailure', message: 'Internal failure.' }
        : undefined,
    );
    const result = await sink.deliver(updates);
    expect(result.failed).toEqual([]);
    expect(result.delivered).toHaveLength(10);
    expect(hub.calls.map((c) => c.findings.length)).toEqual([10, 3, 3]);
    expect(waits).toHaveLength(2);
    expect(sink.stats).toMatchObject({ findingRetries: 6, imported: 10 });
  });

  it('reports a finding refused for its content without retrying it', async () => {
    const sink = destination();
    const updates = manyIncidents(3);
    const bad = updates[1]!.incident.key;
    hub.failFindings((f) =>
      f.Id === bad ? { code: 'InvalidInput', message: 'Finding does not adhere to ASFF.' } : undefined,
    );
    const result = await sink.deliver(updates);
    expect(hub.calls).toHaveLength(1);
    expect(result.delivered.map((d) => d.key)).toEqual([updates[0]!.incident.key, updates[2]!.incident.key]);
    expect(result.failed).toEqual([
      { key: bad, revision: 1, error: 'InvalidInput: Finding does not adhere to ASFF.', retryable: false },
    ]);
  });

  it('retries a throttled call', async () => {
    const sink = destination();
    hub.failNextRequests(2, 429, 'ThrottlingException', 'Rate exceeded');
    const result = await sink.deliver(manyIncidents(5));
    expect(result.delivered).toHaveLength(5);
    expect(hub.calls.map((c) => c.status)).toEqual([429, 429, 200]);
    expect(waits).toHaveLength(2);
  });

  it('reports every update of a call still failing after its retries, as retryable', async () => {
    const sink = destination({ retry: { retries: 2 } });
    hub.failNextRequests(10, 500, 'InternalException', 'Internal error');
    const result = await sink.deliver(manyIncidents(2));
    expect(hub.calls).toHaveLength(3);
    expect(result.delivered).toEqual([]);
    expect(result.failed).toHaveLength(2);
    expect(result.failed[0]).toMatchObject({
      retryable: true,
      error: expect.stringContaining('InternalException'),
    });
  });

  it('does not retry a call refused as invalid', async () => {
    const sink = destination();
    hub.failNextRequests(1, 400, 'InvalidInputException', 'Findings must contain at most 100 items.');
    const result = await sink.deliver(manyIncidents(2));
    expect(hub.calls).toHaveLength(1);
    expect(result.failed.map((f) => f.retryable)).toEqual([false, false]);
  });

  it('refuses a configuration that cannot work', () => {
    expect(() => destination({ accountId: 'prod' })).toThrow(SecurityHubDestinationError);
    expect(() => destination({ region: 'nowhere' })).toThrow(SecurityHubDestinationError);
  });
});
