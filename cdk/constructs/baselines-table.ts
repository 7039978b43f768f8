import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PROFILE_TABLE_SCHEMA } from '../../adapters/dynamodb/profile-store.js';
import { pinStatefulResource } from './stateful.js';

export interface BaselinesTableProps {
  readonly encryptionKey: IKey;
}

/**
 * The behavioural profiles table, exactly as `adapters/dynamodb/README.md`
 * documents it (the key schema and TTL attribute come from the adapter's own
 * `PROFILE_TABLE_SCHEMA`): on-demand, `pk` + `sk` strings, TTL on
 * `expiresAt`. The same table holds the batch ledger, the pull checkpoints
 * and the seen-event sets, each under its own `pk` prefix.
 *
 * Months of learned behaviour live here, so it has point-in-time recovery,
 * deletion protection, and a pinned, retained logical id.
 */
export class BaselinesTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: BaselinesTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: PROFILE_TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: PROFILE_TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: PROFILE_TABLE_SCHEMA.ttlAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      deletionProtection: true,
    });
    pinStatefulResource(this.table, 'BaselinesTable');
  }
}
