import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { AccountRootPrincipal, AnyPrincipal, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_RECEIVE_COUNT } from './ingest-queue.js';
import type { MonitoredIngest } from './source-health-alarms.js';
import { type DetectionResources, TrailhoundFunction } from './trailhound-function.js';

export interface RuntimeIngestProps {
  readonly prefix: string;
  /** When set, the functions of every account of this organization may send records; else this account's only. */
  readonly organizationId?: string;
  readonly detection: DetectionResources;
  readonly quarantineBucket: IBucket;
}

/** The subscription filter pattern that selects the collector's lines in a function's log group. */
export const RUNTIME_SUBSCRIPTION_FILTER_PATTERN = '{ $.trailhound_runtime = 1 }';

/** What the stack's outputs say about the two ways in. */
export const RUNTIME_INGEST_OUTPUTS = {
  queueUrl:
    'Collected functions ship runtime records here: set TRAILHOUND_SQS_URL to it and allow their role sqs:SendMessage on the queue',
  functionArn: `Or subscribe a collected function's log group (same account) to this function, filter pattern ${RUNTIME_SUBSCRIPTION_FILTER_PATTERN}`,
} as const;

const TIMEOUT = Duration.minutes(2);

/**
 * Runtime records of the Lambda runtime collector (`lambda-layer/`) into
 * `functions/runtime-ingest.ts`, by either of the extension's two ways:
 *
 * - **SQS**: the queue `<prefix>-runtime-records` (a fixed name, so the URL
 *   customers set as `TRAILHOUND_SQS_URL` survives a rebuild of this stack),
 *   whose policy lets the organization's accounts send (`aws:PrincipalOrgID`)
 *   or, without an organization, this account's principals. Taken by the
 *   function in batches of up to 1,000 records.
 * - **CloudWatch Logs**: a subscription filter on a collected function's log
 *   group invokes the function directly; `logs.amazonaws.com` may invoke it
 *   for log groups of this account only (`SourceAccount`, `SourceArn`).
 *   Other accounts subscribe through their own means (a CloudWatch Logs
 *   destination), or ship by SQS.
 *
 * **Encryption of the work queue: SSE-SQS, not the deployment's key.** The
 * senders are customers' functions, in any account of the organization. With
 * a customer managed key each sender's role would also need
 * `kms:GenerateDataKey` on that key, granted by the key policy (written
 * completely in the storage stack, see `TrailhoundKey`, for this account's
 * services only) *and* by an identity policy in every sending account.
 * SQS-managed encryption keeps the records encrypted at rest with nothing to
 * grant but `sqs:SendMessage`, which is what the collector's documentation
 * asks for. The dead-letter queue has no outside sender and uses the
 * deployment's key like every other queue.
 *
 * **Failures.** SQS redelivers a failed batch, and dead-letters it after
 * {@link MAX_RECEIVE_COUNT} receives. A failed asynchronous invocation (a
 * subscription) is retried twice by Lambda and then sent, as Lambda's
 * on-failure record, to the same dead-letter queue. Redriving that queue to the
 * work queue replays both: the handler reads a subscription event in an SQS
 * message too, and the seen-event ledger makes a replay add nothing.
 */
export class RuntimeIngest extends Construct implements MonitoredIngest {
  /**
   * No dead-man alarm: a collected function that is not invoked ships
   * nothing, so silence on this path is normal. Errors, throttles, the
   * queue's age and the dead letters are watched.
   */
  readonly sources = [] as const;
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[];
  readonly deadLetterQueues: readonly IQueue[];
  /** Where collected functions send records (`TRAILHOUND_SQS_URL`). */
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly handler: TrailhoundFunction;

  constructor(scope: Construct, id: string, props: RuntimeIngestProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const retention = Duration.days(14);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.detection.encryptionKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: retention,
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: `${props.prefix}-runtime-records`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: retention,
      visibilityTimeout: Duration.seconds(TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CollectedFunctionsSendRuntimeRecords',
        principals: [props.organizationId !== undefined ? new AnyPrincipal() : new AccountRootPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        ...(props.organizationId !== undefined
          ? { conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } } }
          : {}),
      }),
    );
    this.queues = [this.queue];
    this.deadLetterQueues = [this.deadLetterQueue];

    this.handler = new TrailhoundFunction(this, 'Handler', {
      handlerModule: 'runtime-ingest',
      description: 'Trailhound: Lambda runtime collector records (CloudWatch Logs subscriptions, SQS)',
      detection: props.detection,
      memorySize: 1024,
      timeout: TIMEOUT,
    });
    this.handler.useQuarantineBucket(props.quarantineBucket);
    const fn = this.handler.function;
    this.functions = [fn];

    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1000,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
      }),
    );

    fn.addPermission('CloudWatchLogsInvoke', {
      principal: new ServicePrincipal('logs.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: stack.account,
      sourceArn: stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    });
    // A subscription invokes asynchronously: two retries, then Lambda's on-failure record to the dead letters.
    fn.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: { bind: () => ({ destination: this.deadLetterQueue.queueArn }) },
    });
    // The role encrypts with the deployment's key already (TrailhoundFunction).
    this.handler.allow(['sqs:SendMessage'], [this.deadLetterQueue.queueArn]);
  }
}
