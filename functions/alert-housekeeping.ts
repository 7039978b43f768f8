/**
 * Alerting's scheduled chores, every few minutes (EventBridge Scheduler):
 *
 * 1. Re-drive the dead-letter queue: updates a destination could not take
 *    are delivered again, each brought up to date with its incident first
 *    (`Alerter.redeliver`); what is delivered leaves the queue, what still
 *    fails stays for the next run (and the queue's age alarm).
 * 2. Resolve incidents quiet for `grouping.resolve_after`, which resolves
 *    their pages and archives their Security Hub findings.
 * 3. Report suppressions past their expiry (a metric and a warning naming
 *    them), so their owners renew or remove them.
 *
 * Each chore runs even if another failed; the run fails at the end if any did,
 * so the errors alarm sees it.
 */
import type { Context } from 'aws-lambda';
import { redriveDeadLetters } from '../adapters/sqs/dead-letter-queue.js';
import { recordAlertSummary } from './commons/alert-metrics.js';
import { createAlertingRuntime } from './commons/alerting.js';
import { awsClients } from './commons/clients.js';
import { readAlertingEnv } from './commons/env.js';
import { FunctionError } from './commons/errors.js';
import { withStandardMiddleware } from './commons/middleware.js';
import { logger, MetricUnit, metrics } from './commons/powertools.js';

/** Dead letters re-driven per run at most; the rest wait for the next run. */
const REDRIVE_PER_RUN = 200;

const env = readAlertingEnv();
const clients = awsClients();
const { alerter, config, destinations } = createAlertingRuntime(env, clients);

export interface HousekeepingReport {
  readonly redriven: number;
  readonly stillUndelivered: number;
  readonly resolved: number;
  readonly expiredSuppressions: readonly string[];
}

async function housekeepingHandler(_event: unknown, _context: Context): Promise<HousekeepingReport> {
  const failures: Error[] = [];
  let redriven = 0;
  let stillUndelivered = 0;
  try {
    const redrive = await redriveDeadLetters({
      client: clients.sqs,
      queueUrl: env.deadLetterQueueUrl,
      destinations: new Map(destinations.map((d) => [d.name, d])),
      maxMessages: REDRIVE_PER_RUN,
      redeliver: alerter.redeliver,
    });
    redriven = redrive.delivered;
    stillUndelivered = redrive.failed + redrive.unknownDestination + redrive.unreadable;
    metrics.addMetric('DeadLettersRedriven', MetricUnit.Count, redriven);
    metrics.addMetric('DeadLettersRemaining', MetricUnit.Count, stillUndelivered);
  } catch (error) {
    failures.push(error as Error);
    logger.error('dead-letter redrive failed', error as Error);
  }
  let resolved = 0;
  let expired: readonly string[] = [];
  try {
    const summary = await alerter.resolveQuiet(config.resolveAfterMs);
    resolved = summary.incidentsUpdated;
    expired = summary.expiredSuppressions;
    recordAlertSummary(summary);
  } catch (error) {
    failures.push(error as Error);
    logger.error('resolving quiet incidents failed', error as Error);
  }
  const report = { redriven, stillUndelivered, resolved, expiredSuppressions: expired };
  logger.info('alerting housekeeping done', { ...report });
  if (failures.length > 0)
    throw new FunctionError(`${failures.length} housekeeping chore(s) failed`, {
      cause: new AggregateError(failures),
    });
  return report;
}

export const handler = withStandardMiddleware(housekeepingHandler);
