/**
 * Lambda's side of an invocation, as the runtime hands it to a handler: the
 * context object, and the event shapes our functions receive (a function URL
 * request, payload version 2.0; an EventBridge Scheduler input).
 */
import { randomUUID } from 'node:crypto';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { vi } from 'vitest';
import type { AwsClients, OutsideServices } from '../../functions/commons/clients.js';

/** A context whose deadline is `remainingMs` from now (default 60 s). */
export function lambdaContext(options: { functionName?: string; remainingMs?: number } = {}): Context {
  const functionName = options.functionName ?? 'trailhound-test';
  const deadline = Date.now() + (options.remainingMs ?? 60_000);
  const fail = () => {
    throw new Error('callback-style completion is not used by async handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/05/04/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}

export const FUNCTION_URL_DOMAIN = 'a1b2c3d4e5f6g7h8i9j0klmnopqrstuv.lambda-url.eu-west-1.on.aws';

/**
 * A function URL request (payload format 2.0) as Lambda builds it: lower-cased
 * headers, the body as text, or base64 with `isBase64Encoded` for a binary
 * content type.
 */
export function functionUrlEvent(options: {
  body?: string;
  headers?: Record<string, string>;
  method?: string;
  base64?: boolean;
  sourceIp?: string;
}): LambdaFunctionURLEvent {
  const now = new Date();
  const userAgent = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';
  const body = options.body;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      host: FUNCTION_URL_DOMAIN,
      'user-agent': userAgent,
      from: 'noreply@google.com',
      'accept-encoding': 'gzip, deflate, br',
      'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '443',
      'x-forwarded-for': options.sourceIp ?? '66.102.6.100',
      ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
      ...options.headers,
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: FUNCTION_URL_DOMAIN.split('.')[0] as string,
      domainName: FUNCTION_URL_DOMAIN,
      domainPrefix: FUNCTION_URL_DOMAIN.split('.')[0] as string,
      http: {
        method: options.method ?? 'POST',
        path: '/',
        protocol: 'HTTP/1.1',
        sourceIp: options.sourceIp ?? '66.102.6.100',
        userAgent,
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body !== undefined
      ? {
          body: options.base64 ? Buffer.from(body).toString('base64') : body,
          isBase64Encoded: options.base64 === true,
        }
      : { isBase64Encoded: false }),
  };
}

/**
 * What an EventBridge Scheduler schedule sends with the input template the
 * deployment sets (see functions/commons/scheduled-pull.ts), placeholders filled.
 */
export function schedulerEvent(schedule: string, attempt = 1): Record<string, string> {
  return {
    scheduleArn: `arn:aws:scheduler:eu-west-1:111122223333:schedule/default/${schedule}`,
    scheduledTime: new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString().replace('.000Z', 'Z'),
    executionId: randomUUID(),
    attemptNumber: String(attempt),
  };
}

/** What a test hands a function before its module runs its init. */
export interface FunctionSetup {
  readonly env: Readonly<Record<string, string>>;
  readonly clients?: Partial<AwsClients>;
  readonly outside?: OutsideServices;
}

/**
 * Imports `functions/<name>.ts` afresh (a new module registry, so its init
 * runs again) with the environment and clients of `setup` injected through
 * the commons' seams, and returns its exported `handler`.
 */
export async function loadFunction<THandler>(name: string, setup: FunctionSetup): Promise<THandler> {
  vi.resetModules();
  const env = await import('../../functions/commons/env.js');
  const clients = await import('../../functions/commons/clients.js');
  env.setEnvSource(setup.env);
  clients.setClients(setup.clients ?? {});
  clients.setOutsideServices(setup.outside ?? {});
  const module = (await import(`../../functions/${name}.ts`)) as { handler: THandler };
  return module.handler;
}
