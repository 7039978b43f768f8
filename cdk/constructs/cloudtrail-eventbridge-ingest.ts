import { Duration } from 'aws-cdk-lib';
import { EventBus, type EventPattern, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IngestQueue } from './ingest-queue.js';
import type { MonitoredIngest } from './source-health-alarms.js';
import { type DetectionResources, TrailhoundFunction } from './trailhound-function.js';

export interface CloudTrailEventBridgeIngestProps {
  readonly prefix: string;
  /** When set, a central ingest bus takes the same events from every account of this organization. */
  readonly organizationId?: string;
  readonly detection: DetectionResources;
  readonly quarantineBucket: IBucket;
}

/** The CloudTrail events EventBridge carries: management API calls and console sign-ins. */
const CLOUDTRAIL_EVENT_PATTERN: EventPattern = {
  detailType: ['AWS API Call via CloudTrail', 'AWS Console Sign In via CloudTrail'],
};

const TIMEOUT = Duration.minutes(2);

/**
 * CloudTrail events from EventBridge, seconds after the call instead of the
 * minutes a trail's log file takes: a rule on this account's default bus
 * (and, with an organization, on a central `<prefix>-cloudtrail-ingest` bus
 * that member accounts forward to) puts them on a queue, and
 * `functions/cloudtrail-eventbridge-ingest.ts` takes up to 100 at a time.
 *
 * The queue sits between the rule and the function so a slow or failing
 * function never loses events: the rule's delivery failures and the
 * function's exhausted retries both end in the one dead-letter queue. (No
 * idempotency table: a redelivered batch is made harmless by the seen-event
 * ledger and the profile store's batch ledger, see the handler.)
 */
export class CloudTrailEventBridgeIngest extends Construct implements MonitoredIngest {
  readonly sources = ['cloudtrail-eventbridge'] as const;
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[];
  readonly deadLetterQueues: readonly IQueue[];
  /** The central bus member accounts forward to; only with an organization. */
  readonly ingestBus?: IEventBus;
  readonly handler: TrailhoundFunction;

  constructor(scope: Construct, id: string, props: CloudTrailEventBridgeIngestProps) {
    super(scope, id);
    const work = new IngestQueue(this, 'Events', {
      encryptionKey: props.detection.encryptionKey,
      consumerTimeout: TIMEOUT,
    });
    this.queues = [work.queue];
    this.deadLetterQueues = [work.deadLetterQueue];
    const target = new SqsQueue(work.queue, { deadLetterQueue: work.deadLetterQueue });

    new Rule(this, 'DefaultBusRule', {
      description: "CloudTrail events of this account's default bus to Trailhound",
      eventPattern: CLOUDTRAIL_EVENT_PATTERN,
      targets: [target],
    });

    if (props.organizationId !== undefined) {
      const bus = new EventBus(this, 'IngestBus', {
        eventBusName: `${props.prefix}-cloudtrail-ingest`,
        description: 'CloudTrail events forwarded by the accounts of the organization',
      });
      bus.addToResourcePolicy(
        new PolicyStatement({
          sid: 'OrganizationAccountsPutEvents',
          principals: [new AnyPrincipal()],
          actions: ['events:PutEvents'],
          resources: [bus.eventBusArn],
          conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
        }),
      );
      new Rule(this, 'IngestBusRule', {
        description: 'CloudTrail events forwarded by member accounts to Trailhound',
        eventBus: bus,
        eventPattern: CLOUDTRAIL_EVENT_PATTERN,
        targets: [target],
      });
      this.ingestBus = bus;
    }

    this.handler = new TrailhoundFunction(this, 'Handler', {
      handlerModule: 'cloudtrail-eventbridge-ingest',
      description: 'Trailhound: CloudTrail events from EventBridge',
      detection: props.detection,
      memorySize: 1024,
      timeout: TIMEOUT,
    });
    this.handler.useQuarantineBucket(props.quarantineBucket);
    this.functions = [this.handler.function];

    this.handler.function.addEventSource(
      new SqsEventSource(work.queue, {
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(2),
        reportBatchItemFailures: true,
      }),
    );
  }
}
