/** ARNs of the configured trail buckets, which may live in other accounts (hence built, never looked up). */
import { Aws } from 'aws-cdk-lib';
import type { TrailBucketConfig } from './config.js';

export function trailBucketArn(bucket: TrailBucketConfig): string {
  return `arn:${Aws.PARTITION}:s3:::${bucket.bucketName}`;
}

/** The objects the ingest may read: everything under the configured prefix (the whole bucket without one). */
export function trailObjectsArn(bucket: TrailBucketConfig): string {
  return `${trailBucketArn(bucket)}/${bucket.prefix ?? ''}*`;
}
