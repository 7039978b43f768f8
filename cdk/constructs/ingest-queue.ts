import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface IngestQueueProps {
  readonly encryptionKey: IKey;
  /** The consuming function's timeout: a message stays invisible for six of them (AWS's advice for Lambda consumers). */
  readonly consumerTimeout: Duration;
}

/** Deliveries before a message is dead-lettered: enough to ride out throttling and a bad deploy. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * A work queue and its dead-letter queue, as every ingest uses them: both
 * encrypted with the deployment's key and TLS-only, 14 days of retention
 * (the most SQS allows, so a long outage loses nothing), and redrive to the
 * dead-letter queue after {@link MAX_RECEIVE_COUNT} receives.
 */
export class IngestQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: IngestQueueProps) {
    super(scope, id);
    const common = {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      // SQS caches the data key this long: fewer KMS calls on a busy queue.
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', common);
    this.queue = new Queue(this, 'Queue', {
      ...common,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }
}
