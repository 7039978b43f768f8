/**
 * S3. Its records differ from the rest: a 16-character request id, the
 * `Host` header among the request parameters, transfer sizes and the
 * `x-amz-id-2` host id in `additionalEventData`, and object calls as data events.
 */
import type { Random } from '../random.js';
import type { ApiCall, CallError, JsonObject } from '../record.js';
import { apiCall, resource } from './call.js';

const bucketHost = (bucket: string, region: string): string => `${bucket}.s3.${region}.amazonaws.com`;

function transfer(rng: Random, bytesIn: number, bytesOut: number): JsonObject {
  return {
    SignatureVersion: 'SigV4',
    CipherSuite: 'TLS_AES_128_GCM_SHA256',
    bytesTransferredIn: bytesIn,
    AuthenticationMethod: 'AuthHeader',
    'x-amz-id-2': `${rng.mixedAlnum(74)}=`,
    bytesTransferredOut: bytesOut,
  };
}

const bucketResource = (bucket: string, account: string) =>
  resource('AWS::S3::Bucket', `arn:aws:s3:::${bucket}`, account);

/**
 * A bucket-level call. `subresource` is the query-string flag S3 logs as an
 * empty parameter (`policy`, `acl`, `publicAccessBlock`…).
 */
export function bucketCall(
  rng: Random,
  operation: string,
  bucket: string,
  region: string,
  account: string,
  subresource: string,
  extra: JsonObject = {},
): ApiCall {
  const host = bucketHost(bucket, region);
  return apiCall(
    's3',
    operation,
    region,
    { ...extra, bucketName: bucket, Host: host, [subresource]: '' },
    {
      additionalEventData: transfer(rng, 0, operation.startsWith('Get') ? rng.int(200, 1400) : 0),
      requestId: rng.upperAlnum(16),
      resources: [bucketResource(bucket, account)],
      host,
    },
  );
}

export function listBuckets(rng: Random): ApiCall {
  return apiCall(
    's3',
    'ListBuckets',
    'us-east-1',
    { Host: 's3.amazonaws.com' },
    {
      additionalEventData: transfer(rng, 0, rng.int(900, 4000)),
      requestId: rng.upperAlnum(16),
      host: 's3.amazonaws.com',
    },
  );
}

export const getBucketPolicy = (rng: Random, bucket: string, region: string, account: string): ApiCall =>
  bucketCall(rng, 'GetBucketPolicy', bucket, region, account, 'policy');
export const getBucketAcl = (rng: Random, bucket: string, region: string, account: string): ApiCall =>
  bucketCall(rng, 'GetBucketAcl', bucket, region, account, 'acl');
export const getBucketPublicAccessBlock = (
  rng: Random,
  bucket: string,
  region: string,
  account: string,
): ApiCall => bucketCall(rng, 'GetBucketPublicAccessBlock', bucket, region, account, 'publicAccessBlock');
export const getBucketLocation = (rng: Random, bucket: string, region: string, account: string): ApiCall =>
  bucketCall(rng, 'GetBucketLocation', bucket, region, account, 'location');
export const getBucketEncryption = (rng: Random, bucket: string, region: string, account: string): ApiCall =>
  bucketCall(rng, 'GetBucketEncryption', bucket, region, account, 'encryption');
export const getBucketVersioning = (rng: Random, bucket: string, region: string, account: string): ApiCall =>
  bucketCall(rng, 'GetBucketVersioning', bucket, region, account, 'versioning');

export const putBucketPolicy = (
  rng: Random,
  bucket: string,
  region: string,
  account: string,
  policy: JsonObject,
): ApiCall => bucketCall(rng, 'PutBucketPolicy', bucket, region, account, 'policy', { bucketPolicy: policy });

export const deleteBucketPublicAccessBlock = (
  rng: Random,
  bucket: string,
  region: string,
  account: string,
): ApiCall => bucketCall(rng, 'DeleteBucketPublicAccessBlock', bucket, region, account, 'publicAccessBlock');

/** The "not configured" answers S3 gives to routine reads, which Config and consoles hit all day. */
export const S3_NOT_CONFIGURED: Record<string, CallError> = {
  GetBucketPolicy: { code: 'NoSuchBucketPolicy', message: 'The bucket policy does not exist' },
  GetBucketPublicAccessBlock: {
    code: 'NoSuchPublicAccessBlockConfiguration',
    message: 'The public access block configuration was not found',
  },
};

function objectCall(
  rng: Random,
  operation: 'GetObject' | 'PutObject',
  bucket: string,
  key: string,
  region: string,
  account: string,
  bytes: number,
  encryption?: { kmsKeyArn: string },
): ApiCall {
  const host = bucketHost(bucket, region);
  const request: JsonObject = { bucketName: bucket, Host: host, key };
  let response: JsonObject | null = null;
  if (operation === 'PutObject') {
    response = encryption
      ? {
          'x-amz-server-side-encryption-aws-kms-key-id': encryption.kmsKeyArn,
          'x-amz-server-side-encryption': 'aws:kms',
        }
      : { 'x-amz-server-side-encryption': 'AES256' };
  }
  return apiCall('s3', operation, region, request, {
    response,
    additionalEventData: transfer(
      rng,
      operation === 'PutObject' ? bytes : 0,
      operation === 'GetObject' ? bytes : 0,
    ),
    requestId: rng.upperAlnum(16),
    resources: [
      resource('AWS::S3::Object', `arn:aws:s3:::${bucket}/${key}`),
      bucketResource(bucket, account),
    ],
    data: true,
    host,
  });
}

export const getObject = (
  rng: Random,
  bucket: string,
  key: string,
  region: string,
  account: string,
  bytes: number,
) => objectCall(rng, 'GetObject', bucket, key, region, account, bytes);

export const putObject = (
  rng: Random,
  bucket: string,
  key: string,
  region: string,
  account: string,
  bytes: number,
  encryption?: { kmsKeyArn: string },
) => objectCall(rng, 'PutObject', bucket, key, region, account, bytes, encryption);
