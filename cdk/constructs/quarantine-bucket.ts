import { Duration, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { pinStatefulResource } from './stateful.js';

/** The key prefix the ingest functions write quarantined input under; their write permission stops there. */
export const QUARANTINE_PREFIX = 'quarantine/';

/**
 * The quarantine bucket's name, `<prefix>-quarantine-<account>-<region>`
 * (63 characters at most with a 24-character prefix). It is fixed rather than
 * generated so the detection stack can name the bucket in its IAM policies
 * without a cross-stack reference, whose rendering in the synthesized template
 * differs from the one seen while constructing (and cdk-nag acknowledgements
 * must match the latter exactly). A retained bucket of that name also makes a
 * redeployment after `cdk destroy` stop and ask, rather than start a second
 * quarantine beside the first.
 */
export function quarantineBucketName(scope: IConstruct, prefix: string): string {
  const { account, region } = Stack.of(scope);
  return `${prefix}-quarantine-${account}-${region}`;
}

export interface QuarantineBucketProps {
  readonly prefix: string;
  readonly encryptionKey: IKey;
  /** How long a quarantined object (and each older version of it) is kept. */
  readonly expiration: Duration;
  /** How long the bucket's server access logs are kept. */
  readonly accessLogExpiration: Duration;
}

/**
 * Where the ingest functions put input they could not use (a truncated
 * `.json.gz`, a record no normalizer reads), so it can be examined and
 * replayed instead of silently dropped. Quarantined input is attacker-
 * influenced evidence: the bucket is KMS-encrypted, TLS-only, never public,
 * versioned (an overwrite keeps the original), access-logged, and expires
 * objects after the configured days.
 */
export class QuarantineBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: QuarantineBucketProps) {
    super(scope, id);
    // S3 server access logs can only be delivered to a bucket encrypted with
    // S3-managed keys, not KMS: this one holds only request metadata. (It logs
    // nothing itself: its only writer is S3's log delivery.)
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: props.accessLogExpiration }],
    });
    pinStatefulResource(this.accessLogs, 'QuarantineAccessLogsBucket');

    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: quarantineBucketName(this, props.prefix),
      encryption: BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      // One data key per bucket and period rather than per object: far fewer KMS calls.
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'quarantine-bucket/',
      lifecycleRules: [
        {
          expiration: props.expiration,
          noncurrentVersionExpiration: props.expiration,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    pinStatefulResource(this.bucket, 'QuarantineBucket');
  }
}
