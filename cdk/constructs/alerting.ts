import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlertingConfig } from '../../detectors/alerting/config.js';
import type { AlertingDirConfig } from '../config.js';
import { AlertingConfigLayer } from './data-layer.js';
import type { Destinations } from './destinations.js';
import { IngestQueue } from './ingest-queue.js';
import { PULL_PERIOD, ScheduledPull } from './scheduled-pull.js';
import type { MonitoredIngest } from './source-health-alarms.js';
import { type DetectionResources, TrailhoundFunction } from './trailhound-function.js';

export interface AlertingProps {
  /** The alerting folder, validated and parsed by the configuration. */
  readonly alerting: AlertingDirConfig;
  readonly detection: DetectionResources;
  /** Findings reach the dispatch queue through a route of these destinations. */
  readonly destinations: Destinations;
}

/** The dispatcher's time budget: a batch of findings, each destination with its own retries. */
const DISPATCH_TIMEOUT = Duration.minutes(2);
/** Findings per invocation: enough to group a burst into few incident writes, few enough to finish in time. */
export const DISPATCH_BATCH_SIZE = 25;
/**
 * Dispatchers running at once, at most. Incidents are written with optimistic
 * concurrency, so parallel dispatchers are correct, but each conflict costs a
 * re-read: a small cap keeps an attack's burst of findings for one actor
 * from turning into a retry storm. (SQS's minimum for a cap is 2.)
 */
export const DISPATCH_CONCURRENCY = 2;
/** Below the schedule's period, so one housekeeping run ends before the next begins. */
const HOUSEKEEPING_TIMEOUT = PULL_PERIOD.minus(Duration.minutes(1));
/** An update still undelivered after this long means a destination has been failing for a while. */
export const UNDELIVERED_MAX_AGE = Duration.hours(1);

/**
 * The secrets the configured Slack and PagerDuty destinations name, as IAM
 * resources: an ARN as given; a name as the ARN of that name in this account
 * and region, with `-??????` for the six characters Secrets Manager appends
 * (`?` matches exactly one character: `trailhound/slack` does not match
 * `trailhound/slack-soc`).
 */
export function secretResources(scope: Construct, settings: AlertingConfig): string[] {
  const stack = Stack.of(scope);
  const refs = settings.destinations.flatMap((d) =>
    d.kind === 'slack' || d.kind === 'pagerduty' ? [d.secret] : [],
  );
  return [...new Set(refs)].map((ref) =>
    ref.startsWith('arn:')
      ? ref
      : stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${ref}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
  );
}

/**
 * The Security Hub product ARNs the configured `securityhub` destinations
 * import into: this account's default integration, in the destination's
 * region or the deployment's.
 */
export function securityHubProductArns(scope: Construct, settings: AlertingConfig): string[] {
  const stack = Stack.of(scope);
  const regions = settings.destinations.flatMap((d) => (d.kind === 'securityhub' ? [d.region] : []));
  return [
    ...new Set(
      regions.map((region) =>
        stack.formatArn({
          service: 'securityhub',
          ...(region !== undefined ? { region } : {}),
          resource: 'product',
          resourceName: `${stack.account}/default`,
        }),
      ),
    ),
  ];
}

/**
 * The event buses the configured `eventbridge` destinations put incidents on,
 * as IAM resources: an ARN as given (a bus of another account also needs its
 * own resource policy to let this account in); a name as the ARN of that bus
 * in this account and region.
 */
export function incidentBusArns(scope: Construct, settings: AlertingConfig): string[] {
  const stack = Stack.of(scope);
  const buses = settings.destinations.flatMap((d) => (d.kind === 'eventbridge' ? [d.bus] : []));
  return [
    ...new Set(
      buses.map((bus) =>
        bus.startsWith('arn:')
          ? bus
          : stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: bus }),
      ),
    ),
  ];
}

/**
 * Findings to people (`functions/alert-dispatch.ts`, `functions/alert-housekeeping.ts`):
 *
 * - a route of the {@link Destinations} puts every finding event on a queue
 *   (CMK, TLS only, dead-lettered after 5 receives), and the dispatcher takes
 *   up to {@link DISPATCH_BATCH_SIZE} at a time, at most
 *   {@link DISPATCH_CONCURRENCY} batches at once, reporting partial failures.
 *   It folds them into incidents in the profile table and delivers the
 *   updates to Slack, PagerDuty and Security Hub as `alerting.yml` routes them.
 * - updates a destination could not take go to the **undelivered** queue
 *   (`DEAD_LETTER_QUEUE_URL`; CMK, 14 days); the housekeeping function, every
 *   5 minutes, re-drives it, resolves quiet incidents and reports expired
 *   suppressions.
 * - both functions carry the alerting folder in a layer of its own
 *   ({@link AlertingConfigLayer}), and may read exactly the secrets it names
 *   import into Security Hub only when it configures Security Hub, and put
 *   events only on the buses its `eventbridge` destinations name.
 */
export class Alerting extends Construct implements MonitoredIngest {
  /** No audit-log source: the dead-man alarms watch the ingests that feed the findings. */
  readonly sources = [] as const;
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[];
  readonly deadLetterQueues: readonly IQueue[];
  readonly dispatcher: TrailhoundFunction;
  readonly housekeeping: TrailhoundFunction;
  /** Updates a destination could not take, waiting for the housekeeping's redrive. */
  readonly undeliveredQueue: Queue;
  readonly findingsRule: Rule;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const { detection } = props;
    const { settings } = props.alerting;
    const alertingConfigLayer = new AlertingConfigLayer(this, 'Config', {
      alertingDir: props.alerting.path,
    }).layer;

    const work = new IngestQueue(this, 'Findings', {
      encryptionKey: detection.encryptionKey,
      consumerTimeout: DISPATCH_TIMEOUT,
    });
    this.findingsRule = props.destinations.route(
      'FindingsToAlerting',
      new SqsQueue(work.queue, { deadLetterQueue: work.deadLetterQueue }),
      // Every finding: suppressions count the ones they hide, incidents fold all, alerting.yml routes by severity.
      'info',
    );

    this.undeliveredQueue = new Queue(this, 'Undelivered', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: detection.encryptionKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // A letter received by a redrive stays hidden for the rest of that run.
      visibilityTimeout: HOUSEKEEPING_TIMEOUT,
    });
    Validations.of(this.undeliveredQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: of incident updates a destination could not take. A letter that keeps failing stays here for the next redrive (and the age alarm) until its 14 days run out; moving it to yet another queue would only hide it.',
    });

    const environment = {
      DEAD_LETTER_QUEUE_URL: this.undeliveredQueue.queueUrl,
      DEPLOYMENT_ACCOUNT_ID: Stack.of(this).account,
    };
    this.dispatcher = new TrailhoundFunction(this, 'Dispatch', {
      handlerModule: 'alert-dispatch',
      description: 'Trailhound: findings to incidents, Slack, PagerDuty and Security Hub',
      detection,
      alertingConfigLayer,
      memorySize: 512,
      timeout: DISPATCH_TIMEOUT,
      // Equal to the event source's cap, so the cap never throttles (a throttle would count a receive).
      reservedConcurrentExecutions: DISPATCH_CONCURRENCY,
      environment,
    });
    this.dispatcher.function.addEventSource(
      new SqsEventSource(work.queue, {
        batchSize: DISPATCH_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(2),
        maxConcurrency: DISPATCH_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    this.dispatcher.allow(['sqs:SendMessage'], [this.undeliveredQueue.queueArn]);

    this.housekeeping = new TrailhoundFunction(this, 'Housekeeping', {
      handlerModule: 'alert-housekeeping',
      description: 'Trailhound: alert redrive, quiet incidents resolved, expired suppressions reported',
      detection,
      alertingConfigLayer,
      memorySize: 512,
      timeout: HOUSEKEEPING_TIMEOUT,
      reservedConcurrentExecutions: 1,
      environment,
    });
    // Redelivery can fail again, and resolving incidents can dead-letter too: it sends as well.
    this.housekeeping.allow(
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage'],
      [this.undeliveredQueue.queueArn],
    );
    const schedule = new ScheduledPull(this, 'Schedule', {
      handler: this.housekeeping,
      encryptionKey: detection.encryptionKey,
      description: 'Alerting housekeeping: redrive, resolve quiet incidents, report expired suppressions',
    });

    const secrets = secretResources(this, settings);
    const productArns = securityHubProductArns(this, settings);
    const busArns = incidentBusArns(this, settings);
    for (const fn of [this.dispatcher, this.housekeeping]) {
      // Secrets under the default aws/secretsmanager key need no KMS grant; see cdk/README.md for a key of your own.
      if (secrets.length > 0) fn.allow(['secretsmanager:GetSecretValue'], secrets);
      if (productArns.length > 0) fn.allow(['securityhub:BatchImportFindings'], productArns);
      if (busArns.length > 0) fn.allow(['events:PutEvents'], busArns);
    }

    this.functions = [this.dispatcher.function, this.housekeeping.function];
    this.queues = [work.queue];
    this.deadLetterQueues = [work.deadLetterQueue, schedule.deadLetterQueue];
  }
}
