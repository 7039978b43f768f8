import { Duration, Names } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Metric,
  type MetricOptions,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { EVENTS_IN_METRIC, type IngestSource, METRICS_NAMESPACE, SERVICE_NAME } from '../telemetry.js';

/** What an ingest construct shows the alarms: its sources, functions and queues. */
export interface MonitoredIngest {
  readonly sources: readonly IngestSource[];
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[];
  readonly deadLetterQueues: readonly IQueue[];
}

export interface SourceHealthAlarmsProps {
  readonly encryptionKey: IKey;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
  /** Per source: how long without a single event before its dead-man alarm fires. */
  readonly deadManMinutes: Readonly<Record<IngestSource, number>>;
}

/** A backlog older than this means the consumer is failing or far too slow. */
const MAX_MESSAGE_AGE = Duration.minutes(15);
const WINDOW = Duration.minutes(5);

/**
 * Tells operators when detection has gone blind, on one SNS topic (KMS):
 *
 * - a queue's oldest message is older than 15 minutes (stuck or slow consumer);
 * - a dead-letter queue holds anything (input that failed every retry);
 * - a function errored or was throttled in the last 5 minutes;
 * - **dead man**: a source delivered no event at all for its configured
 *   minutes. Missing data counts as breaching, because a source that stopped
 *   reporting is exactly what this alarm is for.
 *
 * The other alarms treat missing data as fine: an idle queue or function
 * reports nothing.
 */
export class SourceHealthAlarms extends Construct {
  readonly topic: Topic;
  private readonly deadManMinutes: Readonly<Record<IngestSource, number>>;

  constructor(scope: Construct, id: string, props: SourceHealthAlarmsProps) {
    super(scope, id);
    this.deadManMinutes = props.deadManMinutes;
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Trailhound source health',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
  }

  /** Alarms on everything `ingest` runs and on each of its sources going silent. */
  watch(ingest: MonitoredIngest): void {
    for (const fn of ingest.functions) {
      this.alarm(fn, 'Errors', fn.metricErrors(this.window(Stats.SUM)), {
        threshold: 0,
        description: `${fn.functionName} failed: see its log group for the error.`,
      });
      this.alarm(fn, 'Throttles', fn.metricThrottles(this.window(Stats.SUM)), {
        threshold: 0,
        description: `${fn.functionName} was throttled: its runs overlap, or it needs more concurrency.`,
      });
    }
    for (const queue of ingest.queues)
      this.watchMessageAge(queue, MAX_MESSAGE_AGE, 'its consumer is failing or behind');
    for (const queue of ingest.deadLetterQueues)
      this.alarm(
        queue,
        'DeadLetters',
        queue.metricApproximateNumberOfMessagesVisible(this.window(Stats.MAXIMUM)),
        {
          threshold: 0,
          description: `${queue.queueName} holds input that failed every attempt: inspect it, fix the cause, redrive it.`,
        },
      );
    for (const source of ingest.sources) this.deadMan(source);
  }

  /**
   * Alarms when the oldest message of `queue` is older than `maxAge`;
   * `meaning` says what that tells the operator. `watch` does this for every
   * work queue with 15 minutes; a queue that may hold messages for a while by
   * design (the undelivered alert updates) gets its own limit.
   */
  watchMessageAge(queue: IQueue, maxAge: Duration, meaning: string): void {
    this.alarm(
      queue,
      'OldestMessageAge',
      queue.metricApproximateAgeOfOldestMessage(this.window(Stats.MAXIMUM)),
      {
        threshold: maxAge.toSeconds(),
        description: `${queue.queueName} has a message older than ${maxAge.toMinutes()} minutes: ${meaning}.`,
      },
    );
  }

  private deadMan(source: IngestSource): void {
    const minutes = this.deadManMinutes[source];
    const metric = new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: EVENTS_IN_METRIC,
      dimensionsMap: { service: SERVICE_NAME, source },
      statistic: Stats.SUM,
      period: Duration.minutes(minutes),
    });
    this.add(
      new Alarm(this, `DeadMan-${source}`, {
        metric,
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.BREACHING,
        alarmDescription: `No ${source} event in ${minutes} minutes: the source, its delivery or its ingest has stopped, and detection is blind to it.`,
      }),
    );
  }

  private window(statistic: string): MetricOptions {
    return { statistic, period: WINDOW };
  }

  private alarm(
    watched: IConstruct,
    what: string,
    metric: Metric,
    options: { threshold: number; description: string },
  ): void {
    this.add(
      new Alarm(this, `${Names.nodeUniqueId(watched.node)}${what}`, {
        metric,
        threshold: options.threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: options.description,
      }),
    );
  }

  private add(alarm: Alarm): void {
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}
