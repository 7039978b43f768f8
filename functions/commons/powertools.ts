/**
 * The Powertools for AWS Lambda singletons every handler shares: one logger,
 * one metrics emitter (namespace `Trailhound`), one tracer, all under one
 * service name, so every function's logs, metrics and traces line up.
 *
 * Powertools reads its own settings from the environment (`POWERTOOLS_LOG_LEVEL`,
 * `POWERTOOLS_TRACE_ENABLED`, `POWERTOOLS_METRICS_DISABLED`…); that is the
 * library's business, set by the deployment, not read by our code (see
 * `env.ts` for what is). Outside Lambda the tracer switches itself off.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const SERVICE_NAME = 'trailhound';
export const METRICS_NAMESPACE = 'Trailhound';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });

export { MetricUnit };
