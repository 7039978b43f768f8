import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { findingsBusName } from './findings-bus.js';
import { pinStatefulResource } from './stateful.js';

export interface TrailhoundKeyProps {
  readonly prefix: string;
  /**
   * ARNs of the trail buckets whose S3 event notifications go to the
   * (encrypted) ingest queue: S3 must be able to encrypt those messages.
   */
  readonly notifyingBucketArns: readonly string[];
}

/**
 * The one customer managed key of a deployment: it encrypts the tables, the
 * quarantine bucket, the queues, the log groups, the SNS topics and the
 * findings archive, with yearly rotation.
 *
 * Its key policy is complete here, in the storage stack: besides the
 * account's IAM delegation, it lets exactly the AWS services that write
 * encrypted data on our behalf use it, each limited to this account (or, for
 * S3, to the trail buckets). The detection stack imports the key by ARN, so
 * its constructs grant through their roles' policies and can never widen
 * this policy as a side effect.
 */
export class TrailhoundKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: TrailhoundKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new Key(this, 'Key', {
      description: `Trailhound (${props.prefix}): profiles, quarantine, queues, logs, topics, findings archive`,
      alias: `alias/${props.prefix}`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
    });
    pinStatefulResource(this.key, 'TrailhoundKey');

    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogsEncryptsThisAccountsLogGroups',
        principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    // EventBridge encrypts what its rules deliver to the ingest queue and the findings topic…
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeDeliversToEncryptedQueuesAndTopics',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    // …and what it keeps in the findings archive, under the findings bus's encryption context.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeArchivesFindings',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:ReEncrypt*'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:EncryptionContext:aws:events:event-bus:arn': stack.formatArn({
              service: 'events',
              resource: 'event-bus',
              resourceName: findingsBusName(props.prefix),
            }),
          },
        },
      }),
    );
    // Metadata only; EventBridge reads it, without an encryption context, when the archive is created.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeDescribesKey',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.notifyingBucketArns.length > 0)
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: 'TrailBucketNotificationsToEncryptedQueue',
          principals: [new ServicePrincipal('s3.amazonaws.com')],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { ArnEquals: { 'aws:SourceArn': [...props.notifyingBucketArns] } },
        }),
      );
  }
}
