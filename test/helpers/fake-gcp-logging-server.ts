/**
 * A local HTTP server on 127.0.0.1 that speaks the parts of Google's APIs the
 * GCP adapters use, over their REST/JSON wire protocol, for tests of the real
 * client libraries (`@google-cloud/logging` on its `fallback: 'rest'`
 * transport, `google-auth-library`):
 *
 * - Cloud Logging `POST /v2/entries:list` (`?$alt=json;enum-encoding=int` as the
 *   client sends it): request `{resourceNames, filter, orderBy, pageSize,
 *   pageToken}`, response `{entries: [LogEntry…], nextPageToken}`. Entries of
 *   the named resources (by `logName` prefix), filtered, ordered by timestamp
 *   (nanosecond precision) then insertId as the service does, paged with
 *   opaque tokens bound to their query. With `enum-encoding=int`, `severity`
 *   is sent as its number, as the service does. The filter language is the
 *   subset the adapter writes: `AND`ed terms `field:"v"`, `field="v"`,
 *   `timestamp >= "…"` (`>`, `<`, `<=` too), optionally parenthesized;
 *   anything else is INVALID_ARGUMENT, as an unparseable filter is there.
 * - Errors as `google.rpc.Status` JSON: `{"error": {"code": 429, "status":
 *   "RESOURCE_EXHAUSTED", "message": …, "details": [RetryInfo]}}`, 401
 *   UNAUTHENTICATED for a bearer token `acceptToken` refuses, 400
 *   INVALID_ARGUMENT for bad requests.
 * - Security Token Service `POST /v1/token` (workload identity federation:
 *   an AWS-signed GetCallerIdentity request exchanged for an access token),
 *   IAM Credentials `POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken`
 *   (impersonation), each issuing tokens the logging endpoint then accepts. A
 *   service-account key needs no token endpoint: the library signs its own JWT
 *   (see {@link checkServiceAccountJwt}).
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson, startLocalServer } from './local-server.js';
import { decodePageToken, encodePageToken } from './page-tokens.js';

export type LogEntry = Record<string, unknown> & { insertId: string; logName: string; timestamp: string };

export interface ListRequest {
  readonly authorization: string | undefined;
  readonly query: string;
  readonly body: {
    resourceNames?: string[];
    filter?: string;
    orderBy?: string;
    pageSize?: number;
    pageToken?: string;
  };
  status: number;
  returned: number;
}

export interface TokenExchange {
  readonly path: string;
  readonly form: Record<string, string>;
  readonly body: unknown;
  readonly authorization: string | undefined;
  /** What the server made of it. */
  readonly ok: boolean;
  readonly note: string;
}

export interface FakeGcpLoggingOptions {
  /** Per entries.list request (0-based): answer 429 RESOURCE_EXHAUSTED instead. */
  readonly throttle?: (index: number, request: ListRequest) => boolean;
  /** RetryInfo delay sent with a 429, e.g. `"0.02s"` (none by default). */
  readonly retryDelay?: string;
  /** Per request: answer with this error instead. */
  readonly fail?: (
    index: number,
    request: ListRequest,
  ) => { code: number; status: string; message: string } | undefined;
  /** Bearer tokens the logging endpoint accepts (default: any). Tokens this server issued are always accepted. */
  readonly acceptToken?: (token: string) => boolean;
  /** Workload identity federation: the audience and AWS access key id STS expects. */
  readonly sts?: { readonly audience: string; readonly awsAccessKeyId: string };
}

export interface FakeGcpLogging {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly requests: ListRequest[];
  readonly tokenExchanges: TokenExchange[];
  /** Tokens issued by STS and impersonation. */
  readonly issuedTokens: Set<string>;
  setEntries(entries: readonly LogEntry[]): void;
  /** Entries that "arrive" later, e.g. late-ingested audit logs. */
  addEntries(entries: readonly LogEntry[]): void;
  close(): Promise<void>;
}

const SEVERITY_NUMBERS: Record<string, number> = {
  DEFAULT: 0,
  DEBUG: 100,
  INFO: 200,
  NOTICE: 300,
  WARNING: 400,
  ERROR: 500,
  CRITICAL: 600,
  ALERT: 700,
  EMERGENCY: 800,
};

export async function startFakeGcpLogging(
  entries: readonly LogEntry[],
  options: FakeGcpLoggingOptions = {},
): Promise<FakeGcpLogging> {
  let served = sortByTime(entries);
  const requests: ListRequest[] = [];
  const tokenExchanges: TokenExchange[] = [];
  const issuedTokens = new Set<string>();
  let lists = 0;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const text = (await readBody(req)).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/v2/entries:list') return list(req, res, url, text);
    if (req.method === 'POST' && url.pathname === '/v1/token') return sts(req, res, text);
    const impersonation = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(
      url.pathname,
    );
    if (req.method === 'POST' && impersonation) return impersonate(req, res, text, impersonation[1] ?? '');
    sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
  }

  function list(req: IncomingMessage, res: ServerResponse, url: URL, text: string) {
    const request: ListRequest = {
      authorization: req.headers.authorization,
      query: url.search,
      body: {},
      status: 200,
      returned: 0,
    };
    requests.push(request);
    const index = lists++;
    const answer = (status: number, grpcStatus: string, message: string, details?: unknown[]) => {
      request.status = status;
      sendError(res, status, grpcStatus, message, details);
    };
    const token = /^Bearer (.+)$/.exec(request.authorization ?? '')?.[1];
    if (token === undefined)
      return answer(401, 'UNAUTHENTICATED', 'Request is missing required authentication');
    if (!issuedTokens.has(token) && options.acceptToken !== undefined && !options.acceptToken(token))
      return answer(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials');
    try {
      Object.assign(request.body, JSON.parse(text || '{}'));
    } catch {
      return answer(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received');
    }
    const failure = options.fail?.(index, request);
    if (failure !== undefined) return answer(failure.code, failure.status, failure.message);
    if (options.throttle?.(index, request) === true)
      return answer(
        429,
        'RESOURCE_EXHAUSTED',
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'",
        options.retryDelay !== undefined
          ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: options.retryDelay }]
          : undefined,
      );
    const body = request.body;
    const resources = body.resourceNames ?? [];
    if (resources.length === 0) return answer(400, 'INVALID_ARGUMENT', 'resourceNames is required');
    const pageSize = body.pageSize ?? 50;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
      return answer(400, 'INVALID_ARGUMENT', `pageSize ${pageSize} is out of range [1, 1000]`);
    const orderBy = body.orderBy ?? 'timestamp asc';
    if (orderBy !== 'timestamp asc' && orderBy !== 'timestamp desc')
      return answer(400, 'INVALID_ARGUMENT', `unsupported orderBy ${orderBy}`);
    let predicate: (entry: LogEntry) => boolean;
    try {
      predicate = compileFilter(body.filter ?? '');
    } catch (error) {
      return answer(400, 'INVALID_ARGUMENT', `Unparseable filter: ${(error as Error).message}`);
    }
    const matching = served.filter(
      (entry) => resources.some((name) => entry.logName.startsWith(`${name}/logs/`)) && predicate(entry),
    );
    if (orderBy === 'timestamp desc') matching.reverse();
    const queryKey = JSON.stringify([resources, body.filter, orderBy]);
    let offset = 0;
    if (body.pageToken !== undefined && body.pageToken !== '') {
      const decoded = decodePageToken(body.pageToken);
      if (decoded === undefined || decoded.query !== queryKey)
        return answer(400, 'INVALID_ARGUMENT', 'The page token is invalid for this request');
      offset = decoded.offset;
    }
    const page = matching.slice(offset, offset + pageSize);
    request.returned = page.length;
    const numericEnums = url.searchParams.get('$alt')?.includes('enum-encoding=int') ?? false;
    const out = page.map((entry) =>
      numericEnums && typeof entry.severity === 'string'
        ? { ...entry, severity: SEVERITY_NUMBERS[entry.severity] ?? 0 }
        : entry,
    );
    const next =
      offset + page.length < matching.length ? encodePageToken(queryKey, offset + page.length) : undefined;
    sendGoogleJson(res, 200, { entries: out, ...(next !== undefined ? { nextPageToken: next } : {}) });
  }

  /** STS token exchange: checks the AWS-signed GetCallerIdentity request it is given. */
  function sts(req: IncomingMessage, res: ServerResponse, text: string) {
    const form = Object.fromEntries(new URLSearchParams(text));
    const record = (ok: boolean, note: string) =>
      tokenExchanges.push({
        path: '/v1/token',
        form,
        body: text,
        authorization: req.headers.authorization,
        ok,
        note,
      });
    const expected = options.sts;
    if (expected === undefined) {
      record(false, 'no STS configured');
      return sendGoogleJson(res, 400, { error: 'invalid_request', error_description: 'STS not configured' });
    }
    let subject: { url?: string; method?: string; headers?: Array<{ key: string; value: string }> };
    try {
      subject = JSON.parse(decodeURIComponent(form.subject_token ?? ''));
    } catch {
      record(false, 'subject token is not URL-encoded JSON');
      return sendGoogleJson(res, 400, { error: 'invalid_grant', error_description: 'bad subject token' });
    }
    const header = (name: string) => subject.headers?.find((h) => h.key.toLowerCase() === name)?.value;
    const problems = [
      form.grant_type === 'urn:ietf:params:oauth:grant-type:token-exchange' ? '' : 'grant_type',
      form.subject_token_type === 'urn:ietf:params:aws:token-type:aws4_request' ? '' : 'subject_token_type',
      form.audience === expected.audience ? '' : 'audience',
      subject.method === 'POST' && /Action=GetCallerIdentity/.test(subject.url ?? '') ? '' : 'request',
      header('authorization')?.startsWith(`AWS4-HMAC-SHA256 Credential=${expected.awsAccessKeyId}/`)
        ? ''
        : 'signature',
      header('x-goog-cloud-target-resource') === expected.audience ? '' : 'target resource',
    ].filter(Boolean);
    if (problems.length > 0) {
      record(false, `wrong ${problems.join(', ')}`);
      return sendGoogleJson(res, 400, { error: 'invalid_grant', error_description: problems.join(', ') });
    }
    const token = `sts-${randomBytes(8).toString('hex')}`;
    issuedTokens.add(token);
    record(true, token);
    sendGoogleJson(res, 200, {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }

  /** IAM Credentials generateAccessToken: needs an STS-issued federated token. */
  function impersonate(req: IncomingMessage, res: ServerResponse, text: string, email: string) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const ok = bearer !== undefined && issuedTokens.has(bearer);
    const token = `sa-${decodeURIComponent(email)}-${randomBytes(6).toString('hex')}`;
    tokenExchanges.push({
      path: `generateAccessToken:${decodeURIComponent(email)}`,
      form: {},
      body: text,
      authorization: req.headers.authorization,
      ok,
      note: ok ? token : 'federated token not issued here',
    });
    if (!ok) return sendError(res, 401, 'UNAUTHENTICATED', 'invalid federated token');
    issuedTokens.add(token);
    sendGoogleJson(res, 200, {
      accessToken: token,
      expireTime: new Date(Date.now() + 3_600_000).toISOString(),
    });
  }

  const local = await startLocalServer(handle, {
    onError: (error, _req, res) => sendError(res, 500, 'INTERNAL', String(error)),
  });
  return {
    url: local.endpoint,
    host: '127.0.0.1',
    port: local.port,
    requests,
    tokenExchanges,
    issuedTokens,
    setEntries(next) {
      served = sortByTime(next);
    },
    addEntries(more) {
      served = sortByTime([...served, ...more]);
    },
    close: local.close,
  };
}

/**
 * Verifies a JWT signed (RS256) by one of `keys` (client email → public key
 * PEM): the self-signed JWT google-auth-library sends as the access token of a
 * service-account key (no token endpoint involved), for `acceptToken`.
 */
export function checkServiceAccountJwt(
  jwt: string,
  keys: Readonly<Record<string, string>>,
): { ok: boolean; note: string; claims?: Record<string, unknown> } {
  const [header, payload, signature] = jwt.split('.');
  if (header === undefined || payload === undefined || signature === undefined)
    return { ok: false, note: 'not a JWT' };
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, note: 'payload is not JSON' };
  }
  const pem = keys[String(claims.iss)];
  if (pem === undefined) return { ok: false, note: `unknown issuer ${String(claims.iss)}` };
  const valid = verify(
    'RSA-SHA256',
    Buffer.from(`${header}.${payload}`),
    createPublicKey(pem),
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) return { ok: false, note: 'bad signature' };
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return { ok: false, note: 'expired' };
  return { ok: true, note: `signed by ${String(claims.iss)}`, claims };
}

/** Nanosecond-precision sort key of an RFC 3339 timestamp: ISO seconds + 9 fraction digits. */
function timeKey(timestamp: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (match === null) throw new Error(`timestamp ${timestamp} is not RFC 3339 UTC`);
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}`;
}

function sortByTime(entries: readonly LogEntry[]): LogEntry[] {
  return [...entries].sort((a, b) => {
    const ka = timeKey(a.timestamp);
    const kb = timeKey(b.timestamp);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return a.insertId < b.insertId ? -1 : a.insertId > b.insertId ? 1 : 0;
  });
}

/** The filter subset the adapter writes; throws on anything else. */
function compileFilter(filter: string): (entry: LogEntry) => boolean {
  const terms = filter
    .split(/\s+AND\s+/)
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .map((term) => term.replace(/^\((.*)\)$/, '$1').trim());
  const tests = terms.map((term) => {
    const match = /^([A-Za-z_][\w.]*)\s*(:|=|>=|<=|>|<)\s*"([^"]*)"$/.exec(term);
    if (match === null) throw new Error(`cannot parse "${term}"`);
    const [, field = '', op, value = ''] = match;
    if (field === 'timestamp') {
      if (Number.isNaN(Date.parse(value))) throw new Error(`bad timestamp ${value}`);
      const bound = timeKey(/Z$/.test(value) ? value : new Date(Date.parse(value)).toISOString());
      return (entry: LogEntry) => {
        const key = timeKey(entry.timestamp);
        switch (op) {
          case '>=':
            return key >= bound;
          case '>':
            return key > bound;
          case '<':
            return key < bound;
          case '<=':
            return key <= bound;
          default:
            return key === bound;
        }
      };
    }
    if (op !== ':' && op !== '=') throw new Error(`operator ${op} is only supported on timestamp here`);
    return (entry: LogEntry) => {
      const actual = field
        .split('.')
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], entry);
      if (typeof actual !== 'string') return false;
      return op === '=' ? actual === value : actual.toLowerCase().includes(value.toLowerCase());
    };
  });
  return (entry) => tests.every((test) => test(entry));
}

function sendGoogleJson(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { contentType: 'application/json; charset=UTF-8' });
}

function sendError(
  res: ServerResponse,
  status: number,
  grpcStatus: string,
  message: string,
  details?: unknown[],
): void {
  sendGoogleJson(res, status, {
    error: { code: status, message, status: grpcStatus, ...(details ? { details } : {}) },
  });
}
