/**
 * What the scheduled pull functions share: the event EventBridge Scheduler
 * sends them, the time budget of one run, and how a run is reported.
 *
 * A run reads one stream (a GCP resource, an Azure table) from its
 * checkpoint, one page at a time, each page delivered to the pipeline and
 * then committed. It stops at the first page boundary past its deadline (the
 * Lambda deadline less a margin that covers one more page), with
 * `complete: false`; the next scheduled run resumes from the checkpoint.
 * A failure leaves the checkpoint at the last committed page and fails the
 * invocation (Scheduler's retry policy and dead-letter queue take it from
 * there); the next run resumes from that page, and what was delivered but not
 * committed is the same batch again, merged once by the profile store.
 */
import type { Context } from 'aws-lambda';
import { CheckpointConflictError, DynamoCheckpointStore } from '../../adapters/dynamodb/checkpoint-store.js';
import type { PullResult } from '../../adapters/pull/checkpointed-pull.js';
import { type AwsClients, awsClients } from './clients.js';
import type { PullEnv } from './env.js';
import { PullError } from './errors.js';
import {
  type DetectionRuntime,
  detectionRuntimeFor,
  type LambdaPipeline,
  type LambdaRunSummary,
  useSourceDimension,
} from './pipeline.js';
import { logger, MetricUnit, metrics } from './powertools.js';

export interface ScheduledPullRuntime {
  readonly clients: AwsClients;
  readonly detection: DetectionRuntime;
  readonly checkpoints: DynamoCheckpointStore;
}

/** What a pull function builds once per execution environment. */
export async function createScheduledPullRuntime(
  env: PullEnv,
  source: 'gcp-pull' | 'azure-pull',
): Promise<ScheduledPullRuntime> {
  const clients = awsClients();
  useSourceDimension(source);
  return {
    clients,
    detection: await detectionRuntimeFor(env, clients),
    checkpoints: new DynamoCheckpointStore({ client: clients.dynamodb, tableName: env.tableName }),
  };
}

/** The options every page-by-page pull of one run shares: where pages go, the window, the deadline. */
export function pullRunOptions(env: PullEnv, run: LambdaPipeline, now: number, deadline: number) {
  return {
    deliver: (records: readonly Record<string, unknown>[], page: { stream: string; page: number }) =>
      run.deliver(records, `${page.stream}#${page.page}`),
    startTime: new Date(now - env.initialLookbackMs),
    overlapMs: env.overlapMs,
    ...(env.pageSize !== undefined ? { pageSize: env.pageSize } : {}),
    deadline,
  };
}

/**
 * The input a schedule sends. Scheduler passes the target's `Input` as is;
 * the deployment sets it to this template so each run can be traced to its
 * schedule and attempt:
 * `{"scheduleArn": "<aws.scheduler.schedule-arn>", "scheduledTime": "<aws.scheduler.scheduled-time>",
 *   "executionId": "<aws.scheduler.execution-id>", "attemptNumber": "<aws.scheduler.attempt-number>"}`.
 * Nothing in it changes what a run does: the checkpoint says where to start.
 */
export interface ScheduledPullEvent {
  readonly scheduleArn?: string;
  readonly scheduledTime?: string;
  readonly executionId?: string;
  readonly attemptNumber?: string | number;
}

/** The schedule's identifiers, for the run's log lines (only strings, only these fields). */
export function scheduleKeys(event: ScheduledPullEvent | null | undefined): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const field of ['scheduleArn', 'scheduledTime', 'executionId', 'attemptNumber'] as const) {
    const value = event?.[field];
    if (typeof value === 'string' || typeof value === 'number') keys[field] = String(value).slice(0, 300);
  }
  return keys;
}

/**
 * The time after which no page is started: the Lambda deadline less
 * `marginMs`. Throws when the margin leaves no time at all (a timeout shorter
 * than the margin is a deployment mistake, better loud than a silent no-op).
 */
export function pullDeadline(context: Context, marginMs: number, now: number = Date.now()): number {
  const remaining = context.getRemainingTimeInMillis();
  if (remaining <= marginMs)
    throw new PullError(
      context.functionName,
      `only ${remaining} ms left at the start, not more than the ${marginMs} ms margin kept before the Lambda deadline: raise the function's timeout or lower PULL_DEADLINE_MARGIN_SECONDS`,
    );
  return now + remaining - marginMs;
}

export interface StreamReport {
  readonly stream: string;
  readonly status: 'complete' | 'stopped-at-deadline' | 'conflict' | 'failed' | 'not-started';
  readonly from?: string;
  readonly to?: string;
  readonly pages?: number;
  readonly received?: number;
  readonly delivered?: number;
  readonly duplicates?: number;
  readonly commits?: number;
  readonly windowCuts?: number;
  readonly highWater?: string;
}

export interface PullRunReport {
  readonly streams: readonly StreamReport[];
  readonly detection: LambdaRunSummary;
}

const iso = (time: number | undefined) =>
  time !== undefined && Number.isFinite(time) ? new Date(time).toISOString() : undefined;

/** The report of one stream's run, counted in metrics. */
export function streamReport(result: PullResult): StreamReport {
  metrics.addMetric('PullPages', MetricUnit.Count, result.pages);
  metrics.addMetric('PullRecordsDelivered', MetricUnit.Count, result.delivered);
  metrics.addMetric('PullDuplicates', MetricUnit.Count, result.duplicates);
  if (!result.complete) metrics.addMetric('PullStoppedAtDeadline', MetricUnit.Count, 1);
  if (result.windowCuts > 0) metrics.addMetric('PullWindowCuts', MetricUnit.Count, result.windowCuts);
  const highWater = iso(result.checkpoint?.highWater);
  return {
    stream: result.stream,
    status: result.complete ? 'complete' : 'stopped-at-deadline',
    from: iso(result.from) ?? '',
    to: iso(result.to) ?? '',
    pages: result.pages,
    received: result.received,
    delivered: result.delivered,
    duplicates: result.duplicates,
    commits: result.commits,
    windowCuts: result.windowCuts,
    ...(highWater !== undefined ? { highWater } : {}),
  };
}

/**
 * Runs one stream's pull. A checkpoint conflict (another run of the same
 * stream saved first: overlapping schedules) ends this run quietly, since
 * the other run owns the stream; any other failure is a {@link PullError}.
 */
export async function pullStream(
  stream: string,
  pull: () => Promise<PullResult>,
): Promise<{ report: StreamReport; error?: PullError }> {
  try {
    const report = streamReport(await pull());
    logger.info('pull finished', { pull: report });
    return { report };
  } catch (error) {
    if (error instanceof CheckpointConflictError) {
      logger.warn('another run of this stream saved its checkpoint first; this run stops', {
        stream,
        error: error.message,
      });
      metrics.addMetric('PullConflicts', MetricUnit.Count, 1);
      return { report: { stream, status: 'conflict' } };
    }
    metrics.addMetric('PullFailures', MetricUnit.Count, 1);
    return {
      report: { stream, status: 'failed' },
      error: new PullError(stream, 'failed; its checkpoint stays at the last committed page', {
        cause: error,
      }),
    };
  }
}

/** Ends a run: the detection counters, and the first failure (the others are logged). */
export function finishPullRun(
  streams: readonly StreamReport[],
  run: LambdaPipeline,
  errors: readonly PullError[],
) {
  const report: PullRunReport = { streams, detection: run.finish() };
  logger.info('pull run finished', { run: report });
  for (const error of errors.slice(1)) logger.error('another stream failed too', error);
  if (errors[0] !== undefined) throw errors[0];
  return report;
}
