import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { TrailhoundConfig } from '../config.js';
import { BaselinesTable } from '../constructs/baselines-table.js';
import { IdempotencyTable } from '../constructs/idempotency-table.js';
import { QuarantineBucket } from '../constructs/quarantine-bucket.js';
import { TrailhoundKey } from '../constructs/trailhound-key.js';
import { trailBucketArn } from '../trail-buckets.js';

export interface StorageStackProps extends StackProps {
  readonly config: TrailhoundConfig;
}

/**
 * What Trailhound keeps: the key, the profiles, the idempotency records and
 * the quarantine. Everything here is retained on deletion and has a pinned
 * logical id, and the stack has termination protection: it changes rarely
 * and on purpose, while the detection stack is redeployed with every
 * release. (The findings archive is stateful too, but it belongs to its bus
 * in the detection stack: see `FindingsBus`.)
 */
export class StorageStack extends Stack {
  readonly encryptionKey: IKey;
  readonly profileTable: ITable;
  readonly idempotencyTable: ITable;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    const { config } = props;

    this.encryptionKey = new TrailhoundKey(this, 'EncryptionKey', {
      prefix: config.prefix,
      notifyingBucketArns: config.trailBuckets.map(trailBucketArn),
    }).key;
    this.profileTable = new BaselinesTable(this, 'Baselines', { encryptionKey: this.encryptionKey }).table;
    this.idempotencyTable = new IdempotencyTable(this, 'Idempotency', {
      encryptionKey: this.encryptionKey,
    }).table;
    new QuarantineBucket(this, 'Quarantine', {
      prefix: config.prefix,
      encryptionKey: this.encryptionKey,
      expiration: Duration.days(config.quarantineExpirationDays),
      accessLogExpiration: Duration.days(config.logRetentionDays),
    });
  }
}
