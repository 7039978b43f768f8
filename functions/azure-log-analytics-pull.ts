/**
 * Azure Activity and Entra ID audit / sign-in logs pulled from a Log
 * Analytics workspace on a schedule (EventBridge Scheduler).
 *
 * Each run reads the tables of `AZURE_TABLES` one after the other, each its
 * own checkpointed stream (`adapters/azure/log-analytics-pull.ts`): pages
 * oldest first, each delivered to the pipeline and only then committed. A
 * table is not started once the deadline (the Lambda deadline less
 * `PULL_DEADLINE_MARGIN_SECONDS`) has passed, and a started one stops at its
 * first page boundary past it; the next run resumes from the checkpoints. A
 * table that fails does not keep the others from running; the invocation
 * fails at the end. Credentials: Entra ID workload identity federation with
 * the function's STS web identity token, settings from Secrets Manager
 * (`commons/credentials.ts`). Failure semantics: `commons/scheduled-pull.ts`.
 */
import type { Context } from 'aws-lambda';
import { azureStream, pullLogAnalyticsTable } from '../adapters/azure/log-analytics-pull.js';
import { SecretJsonReader } from '../adapters/secrets/secrets-manager.js';
import { outsideServices } from './commons/clients.js';
import { azureLogsSource } from './commons/credentials.js';
import { readAzurePullEnv } from './commons/env.js';
import type { PullError } from './commons/errors.js';
import { withStandardMiddleware } from './commons/middleware.js';
import { LambdaPipeline } from './commons/pipeline.js';
import { logger } from './commons/powertools.js';
import {
  createScheduledPullRuntime,
  finishPullRun,
  type PullRunReport,
  pullDeadline,
  pullRunOptions,
  pullStream,
  type ScheduledPullEvent,
  type StreamReport,
  scheduleKeys,
} from './commons/scheduled-pull.js';

const env = readAzurePullEnv();
const { clients, detection: runtime, checkpoints } = await createScheduledPullRuntime(env, 'azure-pull');
const logsClient = azureLogsSource({
  settingsSecretArn: env.settingsSecretArn,
  secrets: new SecretJsonReader(clients.secretsManager),
  sts: clients.sts,
  outside: outsideServices(),
});

async function pullHandler(event: ScheduledPullEvent, context: Context): Promise<PullRunReport> {
  logger.appendKeys(scheduleKeys(event));
  const now = Date.now();
  const deadline = pullDeadline(context, env.deadlineMarginMs, now);
  const run = new LambdaPipeline(runtime);
  const reports: StreamReport[] = [];
  const errors: PullError[] = [];
  for (const table of env.tables) {
    const stream = azureStream(env.workspaceId, table);
    if (Date.now() >= deadline) {
      reports.push({ stream, status: 'not-started' });
      continue;
    }
    const { report, error } = await pullStream(stream, async () =>
      pullLogAnalyticsTable({
        client: await logsClient(),
        workspaceId: env.workspaceId,
        table,
        store: checkpoints,
        ...pullRunOptions(env, run, now, deadline),
        onThrottle: (attempt, waitMs) =>
          logger.warn('Log Analytics throttled the query', { table, attempt, waitMs }),
      }),
    );
    reports.push(report);
    if (error !== undefined) errors.push(error);
  }
  return finishPullRun(reports, run, errors);
}

export const handler = withStandardMiddleware(pullHandler);
