/**
 * GCP Cloud Audit Logs pulled from Cloud Logging (`entries.list`) on a
 * schedule (EventBridge Scheduler), for organizations that do not push.
 *
 * Each run reads `GCP_RESOURCE_NAME` from its checkpoint in DynamoDB
 * (`adapters/gcp/logging-pull.ts`): pages oldest first, each delivered to the
 * pipeline (profiles, rules, findings) and only then committed; it stops at
 * the first page boundary past the Lambda deadline less
 * `PULL_DEADLINE_MARGIN_SECONDS`, and the next run resumes there. Credentials:
 * workload identity federation from the function's AWS role, or a
 * service-account key from Secrets Manager (`commons/credentials.ts`).
 * Failure semantics: `commons/scheduled-pull.ts`.
 */
import type { Context } from 'aws-lambda';
import { gcpStream, pullGcpAuditLogs } from '../adapters/gcp/logging-pull.js';
import { SecretJsonReader } from '../adapters/secrets/secrets-manager.js';
import { outsideServices } from './commons/clients.js';
import { gcpLoggingSource } from './commons/credentials.js';
import { readGcpPullEnv } from './commons/env.js';
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
  scheduleKeys,
} from './commons/scheduled-pull.js';

const env = readGcpPullEnv();
const { clients, detection: runtime, checkpoints } = await createScheduledPullRuntime(env, 'gcp-pull');
const logging = await gcpLoggingSource({
  projectId: env.projectId,
  workloadIdentityConfig: env.workloadIdentityConfig,
  serviceAccountKeySecretArn: env.serviceAccountKeySecretArn,
  secrets: new SecretJsonReader(clients.secretsManager),
  sts: clients.sts,
  outside: outsideServices(),
});

async function pullHandler(event: ScheduledPullEvent, context: Context): Promise<PullRunReport> {
  logger.appendKeys(scheduleKeys(event));
  const now = Date.now();
  const stream = gcpStream(env.resourceName);
  const deadline = pullDeadline(context, env.deadlineMarginMs, now);
  const run = new LambdaPipeline(runtime);
  const { report, error } = await pullStream(stream, async () =>
    pullGcpAuditLogs({
      logging: await logging(),
      resourceName: env.resourceName,
      ...(env.filter !== undefined ? { filter: env.filter } : {}),
      store: checkpoints,
      ...pullRunOptions(env, run, now, deadline),
      onThrottle: (attempt, waitMs) => logger.warn('Cloud Logging throttled the read', { attempt, waitMs }),
    }),
  );
  return finishPullRun([report], run, error !== undefined ? [error] : []);
}

export const handler = withStandardMiddleware(pullHandler);
