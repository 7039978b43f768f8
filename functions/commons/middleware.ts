/**
 * The one middy stack every handler uses, so they all log, measure and trace
 * alike:
 *
 * 1. `captureLambdaHandler` (tracer): a segment per invocation; the response
 *    is not recorded (it may carry what a caller sent).
 * 2. `injectLambdaContext` (logger): request id, function name, cold start on
 *    every line. `logEvent: false` whatever `POWERTOOLS_LOGGER_LOG_EVENT`
 *    says: a push request carries a bearer token in its headers, and no event
 *    is ever logged whole.
 * 3. `logMetrics` (metrics): the invocation's metrics flushed as one EMF
 *    record, with a ColdStart metric.
 * 4. {@link logUnhandledError}: an error a handler lets through is logged once,
 *    with its cause chain, then rethrown (the invocation fails: a scheduled
 *    pull is retried by its schedule; a function URL answers 502).
 *
 * Middlewares' `before` run in this order and `after`/`onError` in reverse.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, MetricUnit, metrics, tracer } from './powertools.js';

/** A handler as our functions write it: an event and the Lambda context in, a result out. */
export type FunctionHandler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

/** Logs an error the handler did not handle, counts it, and lets it fail the invocation. */
export function logUnhandledError(): MiddlewareObj {
  return {
    name: 'logUnhandledError',
    onError: (request) => {
      logger.error('invocation failed', request.error as Error);
      metrics.addMetric('UnhandledErrors', MetricUnit.Count, 1);
    },
  };
}

/**
 * Wraps a handler in the house stack.
 *
 * @example
 * export const handler = withStandardMiddleware(async (event: ScheduledPullEvent, context) => {
 *   …
 * });
 */
export function withStandardMiddleware<TEvent, TResult>(handler: FunctionHandler<TEvent, TResult>) {
  return middy<TEvent, TResult>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(logUnhandledError())
    .handler(handler);
}
