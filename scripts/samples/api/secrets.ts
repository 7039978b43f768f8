/** Secrets Manager and KMS. Secret values never reach CloudTrail; only names and versions do. */
import { DAY, javaDate } from '../clock.js';
import type { KmsKey, Secret } from '../estate.js';
import type { Random } from '../random.js';
import type { ApiCall, JsonObject } from '../record.js';
import { apiCall, resource } from './call.js';

export const listSecrets = (region: string): ApiCall =>
  apiCall('secretsmanager', 'ListSecrets', region, null);
export const describeSecret = (region: string, secret: Secret): ApiCall =>
  apiCall('secretsmanager', 'DescribeSecret', region, { secretId: secret.arn });

/** Workloads pass the full ARN; people and intruders often pass the name. */
export const getSecretValue = (region: string, secretId: string, versionStage?: string): ApiCall =>
  apiCall(
    'secretsmanager',
    'GetSecretValue',
    region,
    versionStage ? { secretId, versionStage } : { secretId },
  );

export function putSecretValue(rng: Random, region: string, secret: Secret, versionId: string): ApiCall {
  return apiCall(
    'secretsmanager',
    'PutSecretValue',
    region,
    { secretId: secret.arn, clientRequestToken: versionId, versionStages: ['AWSPENDING'] },
    {
      response: { arn: secret.arn, name: secret.name, versionId, versionStages: ['AWSPENDING'] },
      requestId: rng.uuid(),
    },
  );
}

export function updateSecretVersionStage(
  region: string,
  secret: Secret,
  newVersion: string,
  oldVersion: string,
) {
  return apiCall(
    'secretsmanager',
    'UpdateSecretVersionStage',
    region,
    {
      secretId: secret.arn,
      versionStage: 'AWSCURRENT',
      moveToVersionId: newVersion,
      removeFromVersionId: oldVersion,
    },
    { response: { arn: secret.arn, name: secret.name } },
  );
}

/** Rotation progress is logged by Secrets Manager itself, as service events. */
export function rotationEvent(
  region: string,
  account: string,
  secret: Secret,
  stage: 'RotationStarted' | 'RotationSucceeded',
): ApiCall {
  return apiCall('secretsmanager', stage, region, null, {
    additionalEventData: { SecretId: secret.arn },
    eventType: 'AwsServiceEvent',
    readOnly: false,
    recipientAccountId: account,
  });
}

const keyResource = (key: KmsKey, account: string) => resource('AWS::KMS::Key', key.arn, account);

export const listKeys = (region: string): ApiCall => apiCall('kms', 'ListKeys', region, { limit: 1000 });
export const listAliases = (region: string): ApiCall => apiCall('kms', 'ListAliases', region, { limit: 100 });
export const describeKey = (region: string, key: KmsKey, account: string): ApiCall =>
  apiCall('kms', 'DescribeKey', region, { keyId: key.id }, { resources: [keyResource(key, account)] });
export const getKeyRotationStatus = (region: string, key: KmsKey, account: string): ApiCall =>
  apiCall(
    'kms',
    'GetKeyRotationStatus',
    region,
    { keyId: key.id },
    { resources: [keyResource(key, account)] },
  );

export function scheduleKeyDeletion(
  region: string,
  key: KmsKey,
  account: string,
  at: number,
  pendingWindowInDays = 7,
): ApiCall {
  return apiCall(
    'kms',
    'ScheduleKeyDeletion',
    region,
    { keyId: key.id, pendingWindowInDays },
    {
      response: {
        keyId: key.arn,
        deletionDate: javaDate(at + pendingWindowInDays * DAY),
        keyState: 'PendingDeletion',
        pendingWindowInDays,
      },
      resources: [keyResource(key, account)],
    },
  );
}

/** KMS data keys, e.g. the one CloudTrail asks for to encrypt each log file it delivers. */
export function generateDataKey(region: string, key: KmsKey, account: string, encryptionContext: JsonObject) {
  return apiCall(
    'kms',
    'GenerateDataKey',
    region,
    { keyId: key.arn, encryptionContext, keySpec: 'AES_256' },
    { resources: [keyResource(key, account)] },
  );
}
