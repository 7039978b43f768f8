/**
 * A local HTTPS server on 127.0.0.1 that speaks the Log Analytics query API
 * (`api.loganalytics.io/v1`), for tests of the real `@azure/monitor-query-logs`
 * client. HTTPS because the Azure SDK refuses to send a bearer token over
 * plain HTTP; the certificate is self-signed here at start (no openssl, no
 * fixture key), and the client trusts it through its `tlsOptions.ca`.
 *
 * - `POST /v1/workspaces/{id}/query` with `{query, timespan}` →
 *   `{tables: [{name: "PrimaryResult", columns: [{name, type}], rows: [[…]]}]}`,
 *   the real response shape: datetimes as ISO 8601 strings with 7 fraction
 *   digits, dynamic columns as JSON strings. `timespan` (`start/end`) limits
 *   `TimeGenerated` as the service does.
 * - The query runs on a small KQL engine that knows what the adapter writes:
 *   `T | where … | extend a = …, … | order by a asc, … | take N` (and
 *   `project-away`), expressions with `and`/`or`, comparisons, `datetime(…)`,
 *   string and verbatim (`@"…"`) literals, `iff`, `isnotempty`, `isempty`,
 *   `strcat`, `strcmp`, `bin` (datetime by timespan), `tostring`. Anything else
 *   is a 400 `BadArgumentError` as a syntax error is there.
 * - Throttling: 429 `ThrottledError` with `Retry-After` (seconds).
 * - The result-size limit: a result over `maxRows` rows comes back cut, with
 *   a `PartialError` beside the tables, as the service answers past its limits.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson, startLocalServer } from './local-server.js';

export type ColumnType = 'string' | 'datetime' | 'dynamic' | 'long' | 'int' | 'real' | 'bool' | 'guid';
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}
/** A row by column name: datetimes as ISO 8601 strings, dynamic values as objects. */
export type Row = Record<string, unknown>;

const s = (name: string): Column => ({ name, type: 'string' });
const dt = (name: string): Column => ({ name, type: 'datetime' });
const dyn = (name: string): Column => ({ name, type: 'dynamic' });

/** The columns of the three tables (the ones the adapters and normalizers care about, real names and types). */
export const TABLE_SCHEMAS: Readonly<Record<string, readonly Column[]>> = {
  AzureActivity: [
    s('TenantId'),
    s('SourceSystem'),
    s('CallerIpAddress'),
    s('CategoryValue'),
    s('CorrelationId'),
    s('Authorization'),
    dyn('Authorization_d'),
    s('Claims'),
    dyn('Claims_d'),
    s('Level'),
    s('OperationNameValue'),
    s('Properties'),
    dyn('Properties_d'),
    s('Caller'),
    s('EventDataId'),
    dt('EventSubmissionTimestamp'),
    s('HTTPRequest'),
    s('OperationId'),
    s('ResourceGroup'),
    s('ResourceProviderValue'),
    s('ActivityStatusValue'),
    s('ActivitySubstatusValue'),
    s('Hierarchy'),
    dt('TimeGenerated'),
    s('SubscriptionId'),
    s('ResourceId'),
    s('Type'),
    s('_ResourceId'),
  ],
  AuditLogs: [
    s('TenantId'),
    s('SourceSystem'),
    dt('TimeGenerated'),
    s('OperationName'),
    s('Category'),
    s('ResultDescription'),
    { name: 'DurationMs', type: 'long' },
    s('CorrelationId'),
    s('Identity'),
    s('Level'),
    dyn('AdditionalDetails'),
    s('Id'),
    dyn('InitiatedBy'),
    s('LoggedByService'),
    s('Result'),
    s('ResultReason'),
    dyn('TargetResources'),
    s('AADTenantId'),
    s('ActivityDisplayName'),
    dt('ActivityDateTime'),
    s('AADOperationType'),
    s('Type'),
  ],
  SigninLogs: [
    s('TenantId'),
    s('SourceSystem'),
    dt('TimeGenerated'),
    s('OperationName'),
    s('Category'),
    s('ResultType'),
    s('ResultDescription'),
    s('CorrelationId'),
    s('Identity'),
    s('Level'),
    s('Location'),
    s('AppDisplayName'),
    s('AppId'),
    s('ClientAppUsed'),
    s('ConditionalAccessStatus'),
    dt('CreatedDateTime'),
    dyn('DeviceDetail'),
    { name: 'IsInteractive', type: 'bool' },
    s('Id'),
    s('IPAddress'),
    dyn('LocationDetails'),
    s('RiskLevelDuringSignIn'),
    s('RiskState'),
    dyn('Status'),
    s('UserAgent'),
    s('UserDisplayName'),
    s('UserPrincipalName'),
    s('Type'),
  ],
};

export interface QueryRequest {
  readonly workspaceId: string;
  readonly authorization: string | undefined;
  readonly prefer: string | undefined;
  readonly body: { query?: string; timespan?: string };
  status: number;
  returned: number;
}

export interface FakeLogAnalyticsOptions {
  /** Bearer tokens accepted (default: any). */
  readonly acceptToken?: (token: string) => boolean;
  /** Per query (0-based): answer 429 with this many seconds of Retry-After. */
  readonly throttle?: (index: number, request: QueryRequest) => number | undefined;
  /** Results over this many rows come back cut, with a PartialError. */
  readonly maxRows?: number;
  /** Workspaces that exist (default: any). */
  readonly workspaces?: readonly string[];
}

export interface FakeLogAnalytics {
  /** `https://127.0.0.1:<port>/v1`: the client's `endpoint`. */
  readonly endpoint: string;
  /** The server's certificate (PEM), for the client's `tlsOptions.ca`. */
  readonly certificate: string;
  readonly requests: QueryRequest[];
  setRows(table: string, rows: readonly Row[]): void;
  addRows(table: string, rows: readonly Row[]): void;
  close(): Promise<void>;
}

export async function startFakeLogAnalytics(
  tables: Readonly<Record<string, readonly Row[]>>,
  options: FakeLogAnalyticsOptions = {},
): Promise<FakeLogAnalytics> {
  const data = new Map<string, Row[]>();
  for (const [name, rows] of Object.entries(tables)) data.set(name, [...rows]);
  const requests: QueryRequest[] = [];
  const { certificate, key } = selfSignedCertificate();
  let queries = 0;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const match = /^\/v1\/workspaces\/([^/]+)\/query$/.exec(url.pathname);
    if (req.method !== 'POST' || match === null)
      return sendError(res, 404, 'PathNotFoundError', `The requested path does not exist: ${url.pathname}`);
    const request: QueryRequest = {
      workspaceId: decodeURIComponent(match[1] ?? ''),
      authorization: req.headers.authorization,
      prefer: req.headers.prefer as string | undefined,
      body: {},
      status: 200,
      returned: 0,
    };
    requests.push(request);
    const index = queries++;
    const fail = (status: number, code: string, message: string, inner?: string) => {
      request.status = status;
      sendError(res, status, code, message, inner);
    };
    const token = /^Bearer (.+)$/.exec(request.authorization ?? '')?.[1];
    if (token === undefined || (options.acceptToken !== undefined && !options.acceptToken(token)))
      return fail(401, 'AuthorizationRequiredError', 'Valid authentication was not provided');
    if (options.workspaces !== undefined && !options.workspaces.includes(request.workspaceId))
      return fail(404, 'WorkspaceNotFoundError', `Workspace ${request.workspaceId} not found`);
    try {
      Object.assign(request.body, JSON.parse(raw.toString('utf8')));
    } catch {
      return fail(400, 'BadArgumentError', 'The request body is not JSON');
    }
    const retryAfter = options.throttle?.(index, request);
    if (retryAfter !== undefined) {
      request.status = 429;
      return sendJson(
        res,
        429,
        errorBody('ThrottledError', 'Your request was throttled. Please wait and try again.'),
        { ...AZURE_JSON, headers: { 'retry-after': String(retryAfter) } },
      );
    }
    let result: { columns: Column[]; rows: Row[] };
    try {
      result = runQuery(request.body.query ?? '', request.body.timespan, data);
    } catch (error) {
      return fail(
        400,
        'BadArgumentError',
        'The request had some invalid properties',
        `SyntaxError: ${(error as Error).message}`,
      );
    }
    let rows = result.rows;
    let partial: unknown;
    if (options.maxRows !== undefined && rows.length > options.maxRows) {
      rows = rows.slice(0, options.maxRows);
      partial = {
        code: 'PartialError',
        message: 'There were some errors when processing your query.',
        details: [
          {
            code: 'EngineError',
            message: 'Something went wrong processing your query on the server.',
            innererror: {
              code: '-2133196797',
              message: 'Query result set has exceeded the internal record count limit.',
              severity: 2,
              severityName: 'Error',
            },
          },
        ],
      };
    }
    request.returned = rows.length;
    sendJson(
      res,
      200,
      {
        tables: [
          {
            name: 'PrimaryResult',
            columns: result.columns,
            rows: rows.map((row) => result.columns.map((column) => wireValue(column.type, row[column.name]))),
          },
        ],
        ...(partial !== undefined ? { error: partial } : {}),
      },
      AZURE_JSON,
    );
  }

  const local = await startLocalServer(handle, {
    tls: { cert: certificate, key },
    onError: (error, _req, res) =>
      sendError(res, 500, 'InternalServerError', String(error), 'InternalServerError'),
  });
  return {
    endpoint: `${local.endpoint}/v1`,
    certificate,
    requests,
    setRows(table, rows) {
      data.set(table, [...rows]);
    },
    addRows(table, rows) {
      data.set(table, [...(data.get(table) ?? []), ...rows]);
    },
    close: local.close,
  };
}

// --- the query engine -------------------------------------------------------

/** A datetime inside the engine: 100-ns ticks since the epoch, KQL's precision. */
interface Ticks {
  readonly ticks: bigint;
}
type Value = string | number | boolean | null | Ticks | Record<string, unknown> | unknown[];

const isTicks = (value: unknown): value is Ticks =>
  typeof value === 'object' && value !== null && typeof (value as Ticks).ticks === 'bigint';

function parseDatetime(text: string): Ticks {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,7})\d*)?Z?$/.exec(text.trim());
  if (match === null) throw new Error(`bad datetime ${text}`);
  const seconds = Date.parse(`${match[1]}T${match[2]}Z`);
  return { ticks: BigInt(seconds) * 10_000n + BigInt((match[3] ?? '').padEnd(7, '0')) };
}

function formatDatetime(value: Ticks): string {
  const ms = value.ticks / 10_000n;
  const fraction = (value.ticks % 10_000_000n).toString().padStart(7, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${fraction}Z`;
}

const TIMESPAN_UNITS: Record<string, bigint> = {
  tick: 1n,
  microsecond: 10n,
  ms: 10_000n,
  s: 10_000_000n,
  m: 600_000_000n,
  h: 36_000_000_000n,
  d: 864_000_000_000n,
};

type Token =
  | { kind: 'ident'; value: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'timespan'; value: bigint }
  | { kind: 'datetime'; value: Ticks }
  | { kind: 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const date = /^datetime\(([^)]*)\)/.exec(rest);
    if (date) {
      tokens.push({ kind: 'datetime', value: parseDatetime(date[1] ?? '') });
      i += date[0].length;
      continue;
    }
    if (rest.startsWith('@"')) {
      let j = 2;
      let value = '';
      for (;;) {
        if (j >= rest.length) throw new Error('unterminated string');
        if (rest[j] === '"') {
          if (rest[j + 1] === '"') {
            value += '"';
            j += 2;
            continue;
          }
          break;
        }
        value += rest[j];
        j += 1;
      }
      tokens.push({ kind: 'string', value });
      i += j + 1;
      continue;
    }
    if (rest[0] === '"') {
      let j = 1;
      let value = '';
      const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', "'": "'" };
      for (;;) {
        if (j >= rest.length) throw new Error('unterminated string');
        const c = rest[j] as string;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = escapes[rest[j + 1] ?? ''];
          if (escaped === undefined) throw new Error(`unknown escape \\${rest[j + 1]}`);
          value += escaped;
          j += 2;
          continue;
        }
        value += c;
        j += 1;
      }
      tokens.push({ kind: 'string', value });
      i += j + 1;
      continue;
    }
    const number = /^(\d+(?:\.\d+)?)(tick|microsecond|ms|s|m|h|d)?\b/.exec(rest);
    if (number) {
      const unit = number[2];
      if (unit !== undefined)
        tokens.push({
          kind: 'timespan',
          value: BigInt(Math.round(Number(number[1]))) * (TIMESPAN_UNITS[unit] ?? 0n),
        });
      else tokens.push({ kind: 'number', value: Number(number[1]) });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', value: ident[0] });
      i += ident[0].length;
      continue;
    }
    const op = /^(>=|<=|==|!=|>|<|=|\(|\)|,|\||-)/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', value: op[0] });
      i += op[0].length;
      continue;
    }
    throw new Error(`unexpected character ${JSON.stringify(rest[0])} at ${i}`);
  }
  return tokens;
}

type Expr = (row: Row) => Value;

/** Recursive descent over one pipeline segment's tokens. */
class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  done(): boolean {
    return this.at >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.at];
  }
  next(): Token {
    const token = this.tokens[this.at++];
    if (token === undefined) throw new Error('unexpected end of query');
    return token;
  }
  accept(kind: Token['kind'], value?: string): boolean {
    const token = this.peek();
    if (token?.kind === kind && (value === undefined || token.value === value)) {
      this.at += 1;
      return true;
    }
    return false;
  }
  expect(kind: Token['kind'], value?: string): Token {
    const token = this.next();
    if (token.kind !== kind || (value !== undefined && token.value !== value))
      throw new Error(`expected ${value ?? kind}, got ${String(token.value)}`);
    return token;
  }
  ident(): string {
    return this.expect('ident').value as string;
  }

  expression(): Expr {
    let left = this.conjunction();
    while (this.accept('ident', 'or')) {
      const [a, b] = [left, this.conjunction()];
      left = (row) => a(row) === true || b(row) === true;
    }
    return left;
  }
  private conjunction(): Expr {
    let left = this.comparison();
    while (this.accept('ident', 'and')) {
      const [a, b] = [left, this.comparison()];
      left = (row) => a(row) === true && b(row) === true;
    }
    return left;
  }
  private comparison(): Expr {
    const left = this.primary();
    const token = this.peek();
    if (token?.kind !== 'op' || !['>=', '<=', '==', '!=', '>', '<'].includes(token.value)) return left;
    this.at += 1;
    const right = this.primary();
    const op = token.value;
    return (row) => {
      const order = compare(left(row), right(row));
      if (order === undefined) return op === '!=';
      return {
        '>=': order >= 0,
        '<=': order <= 0,
        '==': order === 0,
        '!=': order !== 0,
        '>': order > 0,
        '<': order < 0,
      }[op] as boolean;
    };
  }
  private primary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case 'string':
      case 'number':
      case 'datetime': {
        const value = token.value;
        return () => value;
      }
      case 'timespan': {
        const value = token.value;
        return () => ({ ticks: value });
      }
      case 'op':
        if (token.value === '(') {
          const inner = this.expression();
          this.expect('op', ')');
          return inner;
        }
        throw new Error(`unexpected ${token.value}`);
      case 'ident': {
        if (!this.accept('op', '(')) {
          const name = token.value;
          return (row) => (row[name] ?? null) as Value;
        }
        const args: Expr[] = [];
        if (!this.accept('op', ')')) {
          do args.push(this.expression());
          while (this.accept('op', ','));
          this.expect('op', ')');
        }
        return call(token.value, args);
      }
    }
  }
}

function call(name: string, args: Expr[]): Expr {
  const arity = (n: number) => {
    if (args.length !== n) throw new Error(`${name}() takes ${n} arguments`);
  };
  const [a, b, c] = args as [Expr, Expr, Expr];
  switch (name) {
    case 'iff':
      arity(3);
      return (row) => (a(row) === true ? b(row) : c(row));
    case 'isnotempty':
      arity(1);
      return (row) => !isEmpty(a(row));
    case 'isempty':
      arity(1);
      return (row) => isEmpty(a(row));
    case 'strcat':
      return (row) => args.map((arg) => text(arg(row))).join('');
    case 'tostring':
      arity(1);
      return (row) => text(a(row));
    case 'strcmp':
      arity(2);
      return (row) => {
        const [x, y] = [text(a(row)), text(b(row))];
        return x < y ? -1 : x > y ? 1 : 0;
      };
    case 'bin':
      arity(2);
      return (row) => {
        const [value, size] = [a(row), b(row)];
        if (!isTicks(value) || !isTicks(size)) return null;
        return { ticks: value.ticks - (value.ticks % size.ticks) };
      };
    default:
      throw new Error(`unknown function ${name}()`);
  }
}

function isEmpty(value: Value): boolean {
  return value === null || value === '';
}

function text(value: Value): string {
  if (value === null) return '';
  if (isTicks(value)) return formatDatetime(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Ordinal for strings, by value for numbers and datetimes; undefined when not comparable (nulls). */
function compare(x: Value, y: Value): number | undefined {
  if (x === null || y === null) return undefined;
  if (isTicks(x) && isTicks(y)) return x.ticks < y.ticks ? -1 : x.ticks > y.ticks ? 1 : 0;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'boolean' && typeof y === 'boolean') return Number(x) - Number(y);
  throw new Error(`cannot compare ${typeof x} with ${typeof y}`);
}

/** Splits on `|` outside strings and parentheses, keeping the tokens. */
function segments(tokens: Token[]): Token[][] {
  const out: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === 'op' && token.value === '(') depth += 1;
    if (token.kind === 'op' && token.value === ')') depth -= 1;
    if (token.kind === 'op' && token.value === '|' && depth === 0) out.push([]);
    else out.at(-1)?.push(token);
  }
  return out;
}

function runQuery(
  query: string,
  timespan: string | undefined,
  data: ReadonlyMap<string, Row[]>,
): { columns: Column[]; rows: Row[] } {
  const [source, ...stages] = segments(tokenize(query));
  const tableName = source?.length === 1 && source[0]?.kind === 'ident' ? source[0].value : undefined;
  if (tableName === undefined) throw new Error('a query starts with a table name');
  const schema = TABLE_SCHEMAS[tableName];
  if (schema === undefined) throw new Error(`'${tableName}' could not be resolved to a table`);
  let columns: Column[] = [...schema];
  let rows: Row[] = (data.get(tableName) ?? []).map((row) => {
    const typed: Row = {};
    for (const column of schema) {
      const value = row[column.name];
      typed[column.name] =
        column.type === 'datetime' && typeof value === 'string' ? parseDatetime(value) : (value ?? null);
    }
    typed.Type = tableName;
    return typed;
  });
  if (timespan !== undefined) {
    const [start, end] = timespan.split('/').map((part) => parseDatetime(part));
    if (start === undefined || end === undefined) throw new Error(`unsupported timespan ${timespan}`);
    rows = rows.filter((row) => {
      const time = row.TimeGenerated;
      return isTicks(time) && time.ticks >= start.ticks && time.ticks < end.ticks;
    });
  }
  for (const stage of stages) {
    const parser = new Parser(stage);
    const operator = parser.ident();
    if (operator === 'where') {
      const predicate = parser.expression();
      rows = rows.filter((row) => predicate(row) === true);
    } else if (operator === 'extend') {
      do {
        const name = parser.ident();
        parser.expect('op', '=');
        const expression = parser.expression();
        rows = rows.map((row) => ({ ...row, [name]: expression(row) }));
        const sample = rows.find((row) => row[name] !== null)?.[name];
        const type: ColumnType = isTicks(sample)
          ? 'datetime'
          : typeof sample === 'number'
            ? 'long'
            : 'string';
        columns = [...columns.filter((column) => column.name !== name), { name, type }];
      } while (parser.accept('op', ','));
    } else if (operator === 'order' || operator === 'sort') {
      parser.expect('ident', 'by');
      const keys: Array<{ name: string; direction: number }> = [];
      do {
        const name = parser.ident();
        // KQL sorts descending unless told otherwise.
        let direction = -1;
        if (parser.accept('ident', 'asc')) direction = 1;
        else parser.accept('ident', 'desc');
        keys.push({ name, direction });
      } while (parser.accept('op', ','));
      rows = [...rows].sort((x, y) => {
        for (const { name, direction } of keys) {
          const order = compare((x[name] ?? null) as Value, (y[name] ?? null) as Value);
          // Nulls first ascending, last descending, as KQL sorts them.
          const value = order ?? (x[name] == null ? (y[name] == null ? 0 : -1) : 1);
          if (value !== 0) return value * direction;
        }
        return 0;
      });
    } else if (operator === 'take' || operator === 'limit') {
      const count = parser.expect('number').value as number;
      rows = rows.slice(0, count);
    } else if (operator === 'project') {
      parser.expect('op', '-');
      parser.expect('ident', 'away');
      const away = new Set<string>();
      do away.add(parser.ident());
      while (parser.accept('op', ','));
      columns = columns.filter((column) => !away.has(column.name));
    } else throw new Error(`unsupported operator ${operator}`);
    if (!parser.done()) throw new Error(`unexpected ${String(parser.peek()?.value)} after ${operator}`);
  }
  return { columns, rows };
}

function wireValue(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return type === 'string' ? '' : null;
  if (isTicks(value)) return formatDatetime(value);
  if (type === 'dynamic') return typeof value === 'string' ? value : JSON.stringify(value);
  return value;
}

// --- HTTP and TLS -------------------------------------------------------------

function errorBody(code: string, message: string, inner?: string): unknown {
  return {
    error: {
      message,
      code,
      correlationId: randomUUID(),
      ...(inner !== undefined
        ? { innererror: { code: inner.split(':')[0], message: inner.split(': ').slice(1).join(': ') } }
        : {}),
    },
  };
}

function sendError(res: ServerResponse, status: number, code: string, message: string, inner?: string): void {
  sendJson(res, status, errorBody(code, message, inner), AZURE_JSON);
}

const AZURE_JSON = { contentType: 'application/json; charset=utf-8', requestIdHeader: 'x-ms-request-id' };

/**
 * A self-signed X.509 v3 certificate for 127.0.0.1 and localhost (RSA 2048,
 * SHA-256, valid one day either side of now), DER-encoded by hand: node:crypto
 * signs but has no certificate builder.
 */
export function selfSignedCertificate(): { certificate: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const name = seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from('trailhound-test')))));
  const now = Date.now();
  const serial = createHash('sha256').update(randomUUID()).digest().subarray(0, 16);
  // Positive and without a leading zero byte: DER allows no padding in an INTEGER.
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  const altNames = seq(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x82, Buffer.from('localhost')));
  const extensions = der(
    0xa3,
    seq(
      seq(oid('2.5.29.17'), der(0x04, altNames)),
      seq(oid('2.5.29.19'), Buffer.from([0x01, 0x01, 0xff]), der(0x04, seq(Buffer.from([0x01, 0x01, 0xff])))),
    ),
  );
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    sha256WithRsa,
    name,
    seq(utcTime(now - 86_400_000), utcTime(now + 86_400_000)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey as KeyObject);
  const certificate = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const base64 = certificate.toString('base64').replace(/(.{64})/g, '$1\n');
  return {
    certificate: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  if (length < 0x80) return Buffer.concat([Buffer.from([tag, length]), content]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | bytes.length, ...bytes]), content]);
}

const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let n = arc >> 7; n > 0; n >>= 7) chunk.unshift((n & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function utcTime(ms: number): Buffer {
  const iso = new Date(ms).toISOString();
  return der(
    0x17,
    Buffer.from(
      `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`,
    ),
  );
}
