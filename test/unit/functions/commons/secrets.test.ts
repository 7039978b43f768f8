/**
 * Secrets from Secrets Manager (a local server speaking its protocol to the
 * real SDK client): parsed, cached for their TTL, and never quoted in errors.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../../adapters/dynamodb/local-dynalite.js';
import { SecretJsonReader } from '../../../../adapters/secrets/secrets-manager.js';
import { SecretError } from '../../../../functions/commons/errors.js';
import { type FakeAws, startFakeAws } from '../../../helpers/fake-aws-server.js';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/test-AbCdEf';

let aws: FakeAws;
let client: SecretsManagerClient;

beforeAll(async () => {
  aws = await startFakeAws();
  client = new SecretsManagerClient({
    endpoint: aws.endpoint,
    region: 'eu-west-1',
    credentials: LOCAL_CREDENTIALS,
  });
});
afterAll(async () => {
  client.destroy();
  await aws.close();
});

describe('SecretJsonReader', () => {
  it('reads a JSON secret once per TTL, and again after a rotation once the TTL is over', async () => {
    let now = 1_000_000;
    const reader = new SecretJsonReader(client, { ttlMs: 60_000, clock: () => now });
    aws.putSecret(ARN, '{"tenantId": "t1"}');
    const first = await reader.read(ARN);
    expect(first.json).toEqual({ tenantId: 't1' });
    aws.putSecret(ARN, '{"tenantId": "t2"}');
    expect((await reader.read(ARN)).json).toEqual({ tenantId: 't1' });
    now += 60_000;
    const rotated = await reader.read(ARN);
    expect(rotated.json).toEqual({ tenantId: 't2' });
    expect(rotated.versionId).not.toBe(first.versionId);
    expect(aws.calls.filter((c) => c.action === 'GetSecretValue')).toHaveLength(2);
  });

  it('says what is wrong without quoting the value', async () => {
    const reader = new SecretJsonReader(client);
    aws.putSecret(ARN, '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    const notJson = (await reader.read(ARN).catch((e: unknown) => e)) as SecretError;
    expect(notJson).toBeInstanceOf(SecretError);
    expect(notJson.message).toBe(`secret ${ARN}: is not JSON`);
    expect(notJson.cause).toBeUndefined();

    const missing = (await reader.read(`${ARN}-gone`).catch((e: unknown) => e)) as SecretError;
    expect(missing.message).toBe(`secret ${ARN}-gone: could not be read: ResourceNotFoundException`);
    expect((missing.cause as Error).name).toBe('ResourceNotFoundException');
  });
});
