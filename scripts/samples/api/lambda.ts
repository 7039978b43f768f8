/** Lambda. CloudTrail names its operations with the API version: `UpdateFunctionCode20150331v2`. */

import type { LambdaFunction } from '../estate.js';
import { PRIMARY_REGION } from '../estate.js';
import type { Random } from '../random.js';
import type { ApiCall, JsonObject } from '../record.js';
import { apiCall } from './call.js';

const lambda = (
  operation: string,
  region: string,
  request: JsonObject | null,
  response?: JsonObject,
): ApiCall => apiCall('lambda', operation, region, request, response === undefined ? {} : { response });

export const listFunctions = (region: string): ApiCall => lambda('ListFunctions20150331', region, null);
export const getFunction = (fn: LambdaFunction): ApiCall =>
  lambda('GetFunction20150331v2', PRIMARY_REGION, { functionName: fn.name });
export const getFunctionConfiguration = (fn: LambdaFunction): ApiCall =>
  lambda('GetFunctionConfiguration20150331v2', PRIMARY_REGION, { functionName: fn.name });
export const getPolicy = (fn: LambdaFunction): ApiCall =>
  lambda('GetPolicy20150331v2', PRIMARY_REGION, { functionName: fn.name });
export const deleteFunction = (region: string, functionName: string): ApiCall =>
  lambda('DeleteFunction20150331', region, { functionName });
export const listEventSourceMappings = (region: string): ApiCall =>
  lambda('ListEventSourceMappings20150331', region, null);

/** A Lambda timestamp: `2026-03-02T14:05:09.123+0000`. */
const lambdaTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}+0000`;

function configuration(rng: Random, fn: LambdaFunction, at: number, version = '$LATEST'): JsonObject {
  return {
    functionName: fn.name,
    functionArn: version === '$LATEST' ? fn.arn : `${fn.arn}:${version}`,
    runtime: fn.runtime,
    role: fn.role.arn,
    handler: fn.runtime.startsWith('python') ? 'app.handler' : 'index.handler',
    codeSize: rng.int(180_000, 4_800_000),
    description: '',
    timeout: 30,
    memorySize: 512,
    lastModified: lambdaTime(at),
    codeSha256: `${rng.mixedAlnum(43)}=`,
    version,
    tracingConfig: { mode: 'Active' },
    revisionId: rng.uuid(),
    state: 'Active',
    lastUpdateStatus: version === '$LATEST' ? 'InProgress' : 'Successful',
    packageType: 'Zip',
    architectures: ['arm64'],
    ephemeralStorage: { size: 512 },
  };
}

/** New code from an S3 artifact. */
export function updateFunctionCode(
  rng: Random,
  fn: LambdaFunction,
  artifact: { bucket: string; key: string },
  at: number,
): ApiCall {
  return lambda(
    'UpdateFunctionCode20150331v2',
    PRIMARY_REGION,
    { functionName: fn.name, s3Bucket: artifact.bucket, s3Key: artifact.key, publish: false, dryRun: false },
    configuration(rng, fn, at),
  );
}

/** Passing `role` here is where `iam:PassRole` is exercised: CloudTrail logs the call that passes it. */
export function updateFunctionConfiguration(rng: Random, fn: LambdaFunction, at: number): ApiCall {
  return lambda(
    'UpdateFunctionConfiguration20150331v2',
    PRIMARY_REGION,
    { functionName: fn.name, role: fn.role.arn, timeout: 30, memorySize: 512 },
    configuration(rng, fn, at),
  );
}

export function publishVersion(rng: Random, fn: LambdaFunction, version: number, at: number): ApiCall {
  return lambda(
    'PublishVersion20150331',
    PRIMARY_REGION,
    { functionName: fn.name },
    configuration(rng, fn, at, String(version)),
  );
}

export function updateAlias(rng: Random, fn: LambdaFunction, alias: string, version: number): ApiCall {
  return lambda(
    'UpdateAlias20150331',
    PRIMARY_REGION,
    { functionName: fn.name, name: alias, functionVersion: String(version) },
    {
      aliasArn: `${fn.arn}:${alias}`,
      name: alias,
      functionVersion: String(version),
      description: '',
      revisionId: rng.uuid(),
    },
  );
}
