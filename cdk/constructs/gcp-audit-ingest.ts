import { Duration } from 'aws-cdk-lib';
import { FunctionUrlAuthType, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GcpConfig } from '../config.js';
import type { IngestSource } from '../telemetry.js';
import { PULL_PERIOD, ScheduledPull } from './scheduled-pull.js';
import type { MonitoredIngest } from './source-health-alarms.js';
import { type DetectionResources, TrailhoundFunction } from './trailhound-function.js';

export interface GcpAuditIngestProps {
  readonly gcp: GcpConfig;
  readonly detection: DetectionResources;
}

/**
 * A cap on concurrent push requests: the URL is public, so this bounds what a
 * flood of unauthenticated requests (each refused with a 401) can cost and
 * how hard pushes can hit the profile table.
 */
const PUSH_CONCURRENCY = 10;

/**
 * GCP Cloud Audit Logs, in either or both of two ways:
 *
 * - **push**: a Pub/Sub push subscription (fed by a Cloud Logging sink) POSTs
 *   each entry to a Lambda function URL, `functions/gcp-pubsub-push.ts`.
 *   The URL has auth type NONE because Google cannot sign AWS requests; the
 *   handler authenticates every request itself by verifying Google's OIDC
 *   token (signature, issuer, audience, and the one service account allowed)
 *   before reading the body.
 * - **pull**: `functions/gcp-logging-pull.ts` reads Cloud Logging every five
 *   minutes from its checkpoint, with workload identity federation from its
 *   own role (no grant needed: Google's STS verifies a signed
 *   `GetCallerIdentity`) or a service-account key from Secrets Manager.
 */
export class GcpAuditIngest extends Construct implements MonitoredIngest {
  readonly sources: readonly IngestSource[];
  readonly functions: readonly IFunction[];
  readonly queues: readonly IQueue[] = [];
  readonly deadLetterQueues: readonly IQueue[];
  /** The push endpoint to give the Pub/Sub subscription; only with push. */
  readonly pushUrl?: string;

  constructor(scope: Construct, id: string, props: GcpAuditIngestProps) {
    super(scope, id);
    const { push, pull } = props.gcp;
    const sources: IngestSource[] = [];
    const functions: IFunction[] = [];
    const deadLetterQueues: IQueue[] = [];

    if (push !== undefined) {
      const handler = new TrailhoundFunction(this, 'Push', {
        handlerModule: 'gcp-pubsub-push',
        description: 'Trailhound: GCP audit log entries pushed by Pub/Sub',
        detection: props.detection,
        memorySize: 1024,
        timeout: Duration.seconds(30),
        reservedConcurrentExecutions: PUSH_CONCURRENCY,
        environment: {
          GCP_PUSH_AUDIENCE: push.audience,
          GCP_PUSH_SERVICE_ACCOUNT: push.serviceAccountEmail,
        },
      });
      this.pushUrl = handler.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE }).url;
      sources.push('gcp-push');
      functions.push(handler.function);
    }

    if (pull !== undefined) {
      const handler = new TrailhoundFunction(this, 'Pull', {
        handlerModule: 'gcp-logging-pull',
        description: 'Trailhound: GCP audit logs pulled from Cloud Logging',
        detection: props.detection,
        memorySize: 1024,
        // Below the schedule's period, so one run ends before the next begins.
        timeout: PULL_PERIOD.minus(Duration.minutes(1)),
        reservedConcurrentExecutions: 1,
        environment: {
          GCP_RESOURCE_NAME: pull.resourceName,
          ...(pull.projectId !== undefined ? { GCP_PROJECT_ID: pull.projectId } : {}),
          ...(pull.logFilter !== undefined ? { GCP_LOG_FILTER: pull.logFilter } : {}),
          ...(pull.workloadIdentityConfig !== undefined
            ? { GCP_WORKLOAD_IDENTITY_CONFIG: JSON.stringify(pull.workloadIdentityConfig) }
            : {}),
        },
      });
      if (pull.serviceAccountKeySecretArn !== undefined)
        handler.readSecret('GCP_SA_KEY_SECRET_ARN', pull.serviceAccountKeySecretArn);
      const schedule = new ScheduledPull(this, 'Schedule', {
        handler,
        encryptionKey: props.detection.encryptionKey,
        description: `GCP audit log pull of ${pull.resourceName}`,
      });
      sources.push('gcp-pull');
      functions.push(handler.function);
      deadLetterQueues.push(schedule.deadLetterQueue);
    }

    this.sources = sources;
    this.functions = functions;
    this.deadLetterQueues = deadLetterQueues;
  }
}
