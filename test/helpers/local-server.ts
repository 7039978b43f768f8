/**
 * What the local protocol servers (`fake-*-server.ts`) share: a server on
 * 127.0.0.1 at an ephemeral port, reading a request's body, answering with a
 * body of known length, the SigV4 access key id of a request, and failures
 * planned for the next N requests. Each server keeps its own wire details
 * (content types, request-id headers, error bodies) and passes them in.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** Answers one request; a rejection goes to {@link LocalServerOptions.onError}. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface LocalServerOptions {
  /** Answers a request whose handler failed, with what it threw. */
  readonly onError: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Serves HTTPS with this certificate and key (PEM) instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface LocalServer {
  readonly server: Server | TlsServer;
  readonly port: number;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`). */
  readonly endpoint: string;
  /** Drops open connections (keep-alive ones too) and stops listening. */
  close(): Promise<void>;
}

/** Starts `handler` listening on 127.0.0.1 at a port the system chooses. */
export async function startLocalServer(
  handler: RequestHandler,
  options: LocalServerOptions,
): Promise<LocalServer> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    void handler(req, res).catch((error: unknown) => options.onError(error, req, res));
  };
  const server =
    options.tls === undefined
      ? createServer(listener)
      : createTlsServer({ cert: options.tls.cert, key: options.tls.key }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    endpoint: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The whole body of a request. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The access key id of a request's SigV4 `Authorization` header, undefined when it has none. */
export function sigV4AccessKeyId(req: IncomingMessage): string | undefined {
  return /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
}

export interface SendOptions {
  /** `Content-Type` (default `application/json`). */
  readonly contentType?: string;
  /** A header given a fresh UUID on every answer (e.g. `x-amzn-requestid`). */
  readonly requestIdHeader?: string;
  /** More headers, after `Content-Type`, `Content-Length` and the request id. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Answers `text` with its `Content-Length`, then the headers `options` names, in that order. */
export function sendText(res: ServerResponse, status: number, text: string, options: SendOptions = {}): void {
  res.writeHead(status, {
    'content-type': options.contentType ?? 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(options.requestIdHeader !== undefined ? { [options.requestIdHeader]: randomUUID() } : {}),
    ...options.headers,
  });
  res.end(text);
}

/** Answers `body` as JSON, as {@link sendText} does. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  options: SendOptions = {},
): void {
  sendText(res, status, JSON.stringify(body), options);
}

/** A request-level error as the AWS fakes inject it: answered instead of the request's result. */
export interface RequestFailure {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

/**
 * Failures planned for the next requests: each plan answers `count` requests
 * (those it applies to) with its failure, in the order the plans were made.
 */
export class FailurePlan<TFailure> {
  private readonly plans: { remaining: number; readonly failure: TFailure }[] = [];

  /** Answers the next `count` requests with `failure`, after the failures already planned. */
  add(count: number, failure: TFailure): void {
    this.plans.push({ remaining: count, failure });
  }

  /** Answers the next `count` requests with `failure`, forgetting what was planned before. */
  replace(count: number, failure: TFailure): void {
    this.clear();
    this.add(count, failure);
  }

  /** Forgets the failures not yet used. */
  clear(): void {
    this.plans.length = 0;
  }

  /** The failure for this request, counted as used; undefined when none is planned (that `applies`). */
  take(applies: (failure: TFailure) => boolean = () => true): TFailure | undefined {
    const plan = this.plans.find((p) => p.remaining > 0 && applies(p.failure));
    if (plan === undefined) return undefined;
    plan.remaining -= 1;
    return plan.failure;
  }
}
