import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { pinStatefulResource } from './stateful.js';

export interface IdempotencyTableProps {
  readonly encryptionKey: IKey;
}

/**
 * The table of Powertools for AWS Lambda's idempotency utility, in the
 * layout of its DynamoDB persistence layer defaults: partition key `id`, TTL
 * on `expiration`. The CloudTrail ingest functions record each delivered
 * object or event there, so a redelivery is recognized.
 *
 * Its records expire within hours, but losing the table mid-flight would
 * turn redeliveries into double counts: it gets the same protection as the
 * profiles.
 */
export class IdempotencyTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      deletionProtection: true,
    });
    pinStatefulResource(this.table, 'IdempotencyTable');
  }
}
