/**
 * A local HTTP proxy on 127.0.0.1 in front of an AWS JSON endpoint (dynalite,
 * or any of the local protocol servers) that forwards every request unchanged
 * (method, path, headers including `Host` and the SigV4 `Authorization`, body)
 * and streams the answer back, except the requests it is told to throttle:
 * those it answers itself as DynamoDB does, with HTTP 400,
 * `Content-Type: application/x-amz-json-1.0`, an `x-amz-crc32` of the body and
 *
 * - `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
 *   "message":"The level of configured provisioned throughput for the table was exceeded. …"}`
 *   (the data plane's answer when a table or index is over its capacity), or
 * - `{"__type":"com.amazon.coral.availability#ThrottlingException",
 *   "message":"Rate of requests exceeds the allowed throughput."}` (the control
 *   plane's, and on-demand tables' over their account limits).
 *
 * Requests are told apart by the operation ending their `X-Amz-Target`
 * (`DynamoDB_20120810.PutItem` is `PutItem`). The SDK classifies both errors as
 * throttling and retries them; {@link fastRetryStrategy} keeps those retries
 * quick in tests.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

export type ThrottlingError = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

export interface ProxiedCall {
  /** The request's `X-Amz-Target`, e.g. `DynamoDB_20120810.PutItem`. */
  readonly target: string;
  /** The operation: what follows the last `.` of the target. */
  readonly operation: string;
  readonly throttled: boolean;
}

export interface ThrottlingProxy {
  /** `http://127.0.0.1:<port>`: the client's `endpoint` in place of the target's. */
  readonly endpoint: string;
  readonly calls: ProxiedCall[];
  /** Throttles the next `count` requests (of `operation` only, when given). */
  throttleNext(count: number, operation?: string, error?: ThrottlingError): void;
  /** Throttles every request while on. */
  throttleAll(on: boolean, error?: ThrottlingError): void;
  close(): Promise<void>;
}

const BODIES: Record<ThrottlingError, string> = {
  ProvisionedThroughputExceededException: JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  }),
  ThrottlingException: JSON.stringify({
    __type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  }),
};

export async function startThrottlingProxy(targetEndpoint: string): Promise<ThrottlingProxy> {
  const target = new URL(targetEndpoint);
  const agent = new Agent({ keepAlive: true });
  const calls: ProxiedCall[] = [];
  const planned: Array<{ remaining: number; operation: string | undefined; error: ThrottlingError }> = [];
  let always: ThrottlingError | undefined;

  const server: Server = createServer((req, res) => {
    const targetHeader = String(req.headers['x-amz-target'] ?? '');
    const operation = targetHeader.slice(targetHeader.lastIndexOf('.') + 1);
    const rule = planned.find(
      (p) => p.remaining > 0 && (p.operation === undefined || p.operation === operation),
    );
    if (rule !== undefined) rule.remaining -= 1;
    const error = rule?.error ?? always;
    calls.push({ target: targetHeader, operation, throttled: error !== undefined });
    if (error !== undefined) throttle(req, res, error);
    else forward(req, res);
  });

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`throttling proxy: ${error.message}`);
      }
    });
    req.pipe(upstream);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    throttleNext(count, operation, error = 'ProvisionedThroughputExceededException') {
      planned.push({ remaining: count, operation, error });
    },
    throttleAll(on, error = 'ProvisionedThroughputExceededException') {
      always = on ? error : undefined;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        agent.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Answers as DynamoDB does when it throttles, once the request's body has arrived. */
function throttle(req: IncomingMessage, res: ServerResponse, error: ThrottlingError): void {
  req.resume();
  req.on('end', () => {
    const body = BODIES[error];
    res.writeHead(400, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amz-crc32': String(crc32(body)),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(body);
  });
}

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/**
 * A client `retryStrategy` that retries what the SDK's standard strategy
 * retries (errors the SDK classifies as `THROTTLING` or `TRANSIENT`: throttling
 * codes, 5xx, timeouts), up to `maxAttempts` attempts in all, but waits only
 * `delayMs` between attempts instead of the standard exponential backoff from
 * 1 s for throttling, so that tests of retried throttling through these local
 * servers run in milliseconds.
 */
export function fastRetryStrategy(maxAttempts: number, delayMs = 1) {
  const token = (retries: number): RetryToken => ({
    getRetryCount: () => retries,
    getRetryDelay: () => delayMs,
  });
  return {
    acquireInitialRetryToken: async (): Promise<RetryToken> => token(0),
    async refreshRetryTokenForRetry(
      previous: RetryToken,
      info: { errorType: string; error?: unknown },
    ): Promise<RetryToken> {
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT';
      if (!retryable || previous.getRetryCount() + 1 >= maxAttempts) throw info.error;
      return token(previous.getRetryCount() + 1);
    },
    recordSuccess: (): void => undefined,
  };
}
