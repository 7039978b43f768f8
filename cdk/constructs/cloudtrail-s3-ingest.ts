import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TrailBucketConfig } from '../config.js';
import { acknowledgeWildcardResource } from '../nag.js';
import { trailBucketArn, trailObjectsArn } from '../trail-buckets.js';
import { IngestQueue } from './ingest-queue.js';
import type { MonitoredIngest } from './source-health-alarms.js';
import { type DetectionResources, TrailhoundFunction } from './trailhound-function.js';

export interface CloudTrailS3IngestProps {
  readonly trailBuckets: readonly TrailBucketConfig[];
  readonly detection: DetectionResources;
  readonly idempotencyTable: ITable;
  readonly quarantineBucket: IBucket;
}

const TIMEOUT = Duration.minutes(5);

/**
 * CloudTrail log files from S3: each trail bucket sends an S3 event
 * notification (`s3:ObjectCreated:*`, suffix `.json.gz`) to this construct's
 * queue, and `functions/cloudtrail-s3-ingest.ts` reads the announced objects.
 *
 * The buckets usually belong to someone else (an organization trail's bucket
 * in a log-archive account), so the stack never configures their
 * notifications: the bucket owner does (see `cdk/README.md`). The queue
 * policy takes notifications from exactly the configured buckets, and from
 * their owner account when it is given.
 *
 * Function: one vCPU (1,769 MB) for gunzip and parsing, 5 minutes per batch of
 * up to 10 notifications gathered over at most 10 s; a failed object fails
 * only its own message (partial batch responses).
 */
export class CloudTrailS3Ingest extends Construct implements MonitoredIngest {
  readonly sources = ['cloudtrail-s3'] as const;
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[];
  readonly deadLetterQueues: readonly IQueue[];
  /** Where the bucket owners send their notifications. */
  readonly queue: IQueue;
  readonly handler: TrailhoundFunction;

  constructor(scope: Construct, id: string, props: CloudTrailS3IngestProps) {
    super(scope, id);
    const work = new IngestQueue(this, 'Notifications', {
      encryptionKey: props.detection.encryptionKey,
      consumerTimeout: TIMEOUT,
    });
    this.queue = work.queue;
    this.queues = [work.queue];
    this.deadLetterQueues = [work.deadLetterQueue];

    for (const [index, bucket] of props.trailBuckets.entries())
      work.queue.addToResourcePolicy(
        new PolicyStatement({
          sid: `TrailBucketNotifications${index}`,
          principals: [new ServicePrincipal('s3.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [work.queue.queueArn],
          conditions: {
            ArnEquals: { 'aws:SourceArn': trailBucketArn(bucket) },
            ...(bucket.bucketAccount !== undefined
              ? { StringEquals: { 'aws:SourceAccount': bucket.bucketAccount } }
              : {}),
          },
        }),
      );

    this.handler = new TrailhoundFunction(this, 'Handler', {
      handlerModule: 'cloudtrail-s3-ingest',
      description: 'Trailhound: CloudTrail log files announced by S3 notifications',
      detection: props.detection,
      memorySize: 1769,
      timeout: TIMEOUT,
    });
    this.handler.useIdempotencyTable(props.idempotencyTable);
    this.handler.useQuarantineBucket(props.quarantineBucket);
    this.functions = [this.handler.function];

    for (const bucket of props.trailBuckets) {
      const objects = trailObjectsArn(bucket);
      // GetObjectVersion: a versioned bucket's notification names the exact version to read.
      this.handler.allow(['s3:GetObject', 's3:GetObjectVersion'], [objects]);
      acknowledgeWildcardResource(
        this.handler.role,
        objects,
        `CloudTrail names its log files by account, region, date and time: the function reads any object under the configured prefix of ${bucket.bucketName}, and nothing else of the bucket.`,
      );
      if (bucket.kmsKeyArn !== undefined) this.handler.allow(['kms:Decrypt'], [bucket.kmsKeyArn]);
    }

    this.handler.function.addEventSource(
      new SqsEventSource(work.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(10),
        reportBatchItemFailures: true,
      }),
    );
  }
}
