/**
 * The fake Security Hub refuses what the service refuses, through the real SDK client.
 */
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAsffFinding } from '../../../detectors/alerting/format/asff.js';
import { ACCOUNT, foldAll, makeAlertFinding } from '../../helpers/alert-findings.js';
import {
  type FakeSecurityHub,
  startFakeSecurityHub,
  timestampNanos,
} from '../../helpers/fake-securityhub-server.js';
import { fastRetryStrategy } from '../../helpers/throttling-proxy.js';

let hub: FakeSecurityHub;
let client: SecurityHubClient;
beforeAll(async () => {
  hub = await startFakeSecurityHub({ accountId: ACCOUNT });
  client = new SecurityHubClient({
    endpoint: hub.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    retryStrategy: fastRetryStrategy(1),
  });
});
afterAll(async () => {
  client.destroy();
  await hub.close();
});

const valid = () =>
  toAsffFinding(foldAll([makeAlertFinding()])[0]!, {
    region: 'us-east-1',
    accountId: ACCOUNT,
  }) as unknown as Record<string, unknown>;

describe('the fake Security Hub', () => {
  it('imports a valid finding and refuses invalid or foreign ones per finding', async () => {
    const good = valid();
    const untitled = { ...valid(), Id: 'untitled', Title: undefined };
    const foreign = { ...valid(), Id: 'foreign', AwsAccountId: '999988887777' };
    const badType = { ...valid(), Id: 'bad-type', Types: ['Tactics/Discovery'] };
    const response = await client.send(
      new BatchImportFindingsCommand({ Findings: [good, untitled, foreign, badType] as never }),
    );
    expect(response.SuccessCount).toBe(1);
    expect(response.FailedFindings?.map((f) => [f.Id, f.ErrorCode])).toEqual([
      ['untitled', 'InvalidInput'],
      ['foreign', 'InvalidAccess'],
      ['bad-type', 'InvalidInput'],
    ]);
  });

  it('refuses more than 100 findings in one call', async () => {
    const findings = Array.from({ length: 101 }, (_, i) => ({ ...valid(), Id: `f-${i}` }));
    await expect(
      client.send(new BatchImportFindingsCommand({ Findings: findings as never })),
    ).rejects.toMatchObject({
      name: 'InvalidInputException',
    });
  });

  it('orders UpdatedAt to the nanosecond', () => {
    expect(timestampNanos('2025-03-01T10:00:00.000000002Z')).toBeGreaterThan(
      timestampNanos('2025-03-01T10:00:00.000000001Z'),
    );
    expect(timestampNanos('2025-03-01T10:00:00Z')).toBe(timestampNanos('2025-03-01T10:00:00.000Z'));
  });
});
