/**
 * A local HTTP server on 127.0.0.1 that speaks the Amazon S3 REST-XML API for
 * the object operations the functions use, for tests of the real SDK client
 * (`new S3Client({ endpoint, forcePathStyle: true, … })`). Path-style only:
 * `/{bucket}` and `/{bucket}/{key}`, the key percent-decoded from the path
 * (so `/`, `=`, `:` and spaces in CloudTrail's keys arrive as written). The SDK's
 * `?x-id=…` query parameter is ignored.
 *
 * - `PutObject` (`PUT /{bucket}/{key}`): stores the body, `Content-Type`
 *   (`binary/octet-stream` when absent, as S3 does), `Content-Encoding` and
 *   the `x-amz-meta-*` headers; answers `ETag` (the body's quoted MD5). The
 *   payload may come as is (`x-amz-content-sha256` the body's SHA-256, checked,
 *   or `UNSIGNED-PAYLOAD`) or `aws-chunked` (`x-amz-content-sha256:
 *   STREAMING-…`, `Content-Encoding: aws-chunked`): chunks
 *   `hex-size[;chunk-signature=…]\r\n<bytes>\r\n` ending with a 0-size chunk
 *   and optional trailer lines such as `x-amz-checksum-crc32:…`; the decoded
 *   size must equal `x-amz-decoded-content-length` (else `IncompleteBody`).
 *   Flexible checksums (`x-amz-checksum-{crc32,sha1,sha256}`, as a header or a
 *   trailer) and `Content-MD5` are checked (else `BadDigest`); CRC32C and
 *   CRC64NVME ones are stored unchecked (Node has no implementation).
 * - `GetObject` / `HeadObject` (`GET`/`HEAD /{bucket}/{key}`): `Content-Length`,
 *   `Content-Type`, `Content-Encoding`, `ETag`, `Last-Modified`, `Accept-Ranges`,
 *   `x-amz-meta-*`, and with `x-amz-checksum-mode: ENABLED` the stored
 *   checksums (a CRC32 for objects stored without one), which the SDK then
 *   validates. A single `Range: bytes=a-b | a- | -n` answers 206 with
 *   `Content-Range`, or 416 `InvalidRange` past the end; other range syntax is
 *   ignored, as S3 does.
 * - `CopyObject` (`PUT` with `x-amz-copy-source: [/]{bucket}/{key}`,
 *   URL-encoded; `?versionId=` is not implemented): `x-amz-metadata-directive` `COPY` (default: the source's
 *   metadata and content headers) or `REPLACE` (the request's); copying an
 *   object onto itself without `REPLACE` is refused as S3 does. Answers
 *   `<CopyObjectResult>`.
 * - `DeleteObject` (`DELETE /{bucket}/{key}`): 204, whether or not the key exists.
 * - `ListObjectsV2` (`GET /{bucket}?list-type=2`): `prefix`, `delimiter`
 *   (`CommonPrefixes`), `max-keys` (≤ 1000), `start-after` and
 *   `continuation-token`, keys in UTF-8 binary order.
 * - `CreateBucket` (`PUT /{bucket}`). Buckets are also created implicitly by
 *   any object write (S3 would answer `NoSuchBucket`); reads, lists and deletes
 *   in an unknown bucket answer `NoSuchBucket`.
 *
 * Errors are S3's XML `<Error><Code/><Message/>…</Error>` with its status
 * (`NoSuchKey` and `NoSuchBucket` 404, …); `HEAD` errors carry no body, as on
 * S3 (the SDK then names them by status: `NotFound`). Anything else (other
 * subresources such as `?acl` or `?uploads`, `POST`, conditional headers,
 * `encoding-type`, ListObjects v1) answers 501 `NotImplemented` rather than
 * being misread.
 *
 * Every request must carry a SigV4 `Authorization` header (else 403
 * `AccessDenied`) and `x-amz-content-sha256`; the access key id is recorded.
 * Failures can be injected per operation ({@link FakeS3.failNext}), and
 * `GetObject` bodies cut short ({@link FakeS3.truncateNext}).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { FailurePlan, readBody, sendText, sigV4AccessKeyId, startLocalServer } from './local-server.js';

export type S3Operation =
  | 'CreateBucket'
  | 'ListObjectsV2'
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'DeleteObject';

export interface S3Call {
  /** `NotImplemented` for requests this server does not implement. */
  readonly operation: S3Operation | 'NotImplemented';
  readonly method: string;
  readonly bucket: string;
  /** The decoded key; undefined for bucket requests. */
  readonly key: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** The status answered (0 until answered). */
  status: number;
}

export interface S3Object {
  readonly body: Buffer;
  /** `x-amz-meta-*` values by their lower-case name without the prefix. */
  readonly metadata: Record<string, string>;
  readonly contentType: string;
  readonly contentEncoding: string | undefined;
  /** Quoted MD5 of the body, as S3 answers it. */
  readonly etag: string;
  /** Whole seconds, as `Last-Modified` carries it. */
  readonly lastModified: Date;
  /** Base64 checksums by header name (`x-amz-checksum-crc32`, …). */
  readonly checksums: Record<string, string>;
}

export interface PutObjectOptions {
  readonly metadata?: Record<string, string>;
  readonly contentType?: string;
  readonly contentEncoding?: string;
}

export interface FakeS3Options {
  /** Buckets that exist from the start. */
  readonly buckets?: readonly string[];
}

export interface FakeS3 {
  /** `http://127.0.0.1:<port>`: the client's `endpoint` (with `forcePathStyle: true`). */
  readonly endpoint: string;
  readonly calls: S3Call[];
  createBucket(bucket: string): void;
  /** Stores an object directly (creating the bucket), as a PutObject would. */
  putObject(bucket: string, key: string, body: Buffer | string, options?: PutObjectOptions): void;
  getObject(bucket: string, key: string): S3Object | undefined;
  /** The bucket's keys starting with `prefix`, in S3's listing order. */
  listKeys(bucket: string, prefix?: string): string[];
  /** Answers the next `count` requests of `operation` with this S3 error instead (e.g. 503 `SlowDown`). */
  failNext(operation: S3Operation, count: number, status: number, code: string, message?: string): void;
  /**
   * Cuts the next `count` GetObject bodies short: the headers promise the whole
   * body (`Content-Length`), `afterBytes` bytes are sent, then the connection is destroyed.
   */
  truncateNext(count: number, afterBytes: number): void;
  close(): Promise<void>;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const CHECKSUM_HEADERS = [
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
] as const;
const LIST_PARAMETERS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'start-after',
  'continuation-token',
  'x-id',
]);
const CONDITIONAL_HEADERS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];
const DEFAULT_MESSAGES: Record<string, string> = {
  SlowDown: 'Please reduce your request rate.',
  ServiceUnavailable: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  AccessDenied: 'Access Denied',
};

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const buckets = new Map<string, Map<string, S3Object>>();
  const calls: S3Call[] = [];
  const failures = new FailurePlan<{ operation: S3Operation; error: S3Error }>();
  /** How many bytes of the next GetObject bodies to send. */
  const truncations = new FailurePlan<number>();
  for (const bucket of options.buckets ?? []) createBucket(bucket);

  function createBucket(bucket: string): Map<string, S3Object> {
    let objects = buckets.get(bucket);
    if (objects === undefined) {
      objects = new Map();
      buckets.set(bucket, objects);
    }
    return objects;
  }

  function existingBucket(bucket: string): Map<string, S3Object> {
    const objects = buckets.get(bucket);
    if (objects === undefined)
      throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    return objects;
  }

  function existingObject(bucket: string, key: string): S3Object {
    const object = existingBucket(bucket).get(key);
    if (object === undefined)
      throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    return object;
  }

  function store(bucket: string, key: string, object: Omit<S3Object, 'etag' | 'lastModified'>): S3Object {
    const stored: S3Object = {
      ...object,
      checksums:
        Object.keys(object.checksums).length > 0
          ? object.checksums
          : { 'x-amz-checksum-crc32': crc32Of(object.body) },
      etag: `"${createHash('md5').update(object.body).digest('hex')}"`,
      lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
    };
    createBucket(bucket).set(key, stored);
    return stored;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
    const slash = path.indexOf('/', 1);
    const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
    const key =
      slash < 0 || slash === path.length - 1 ? undefined : decodeURIComponent(path.slice(slash + 1));
    const operation = operationOf(req, key, query);
    const accessKeyId = sigV4AccessKeyId(req);
    const call: S3Call = {
      operation,
      method: req.method ?? '',
      bucket,
      key,
      accessKeyId,
      headers: req.headers,
      status: 0,
    };
    calls.push(call);
    res.on('close', () => {
      call.status = res.statusCode;
    });

    if (accessKeyId === undefined) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    if (req.headers['x-amz-content-sha256'] === undefined)
      throw new S3Error(
        400,
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      );
    if (operation === 'NotImplemented')
      throw new S3Error(
        501,
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
      );
    const failure = failures.take((f) => f.operation === operation);
    if (failure !== undefined) throw failure.error;

    switch (operation) {
      case 'CreateBucket':
        createBucket(bucket);
        return send(res, 200, { location: `/${bucket}` });
      case 'ListObjectsV2':
        existingBucket(bucket);
        return sendXml(res, 200, listObjects(bucket, query));
      case 'GetObject':
      case 'HeadObject':
        return sendObject(req, res, existingObject(bucket, key!));
      case 'PutObject': {
        const stored = store(bucket, key!, readUpload(req.headers, raw));
        return send(res, 200, { etag: stored.etag, ...stored.checksums });
      }
      case 'CopyObject': {
        const stored = copyObject(req.headers, bucket, key!);
        return sendXml(
          res,
          200,
          `<CopyObjectResult xmlns="${XMLNS}"><LastModified>${stored.lastModified.toISOString()}</LastModified><ETag>${xml(stored.etag)}</ETag></CopyObjectResult>`,
        );
      }
      case 'DeleteObject':
        existingBucket(bucket).delete(key!);
        return send(res, 204, {});
    }
  }

  function copyObject(headers: IncomingHttpHeaders, bucket: string, key: string): S3Object {
    const [encoded = '', version] = String(headers['x-amz-copy-source']).split('?');
    if (version !== undefined)
      throw new S3Error(501, 'NotImplemented', 'Copying a version of an object is not implemented here');
    const source = decodeURIComponent(encoded).replace(/^\//, '');
    const sourceSlash = source.indexOf('/');
    if (sourceSlash < 1)
      throw new S3Error(
        400,
        'InvalidArgument',
        'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      );
    const sourceBucket = source.slice(0, sourceSlash);
    const sourceKey = source.slice(sourceSlash + 1);
    const original = existingObject(sourceBucket, sourceKey);
    const directive = headers['x-amz-metadata-directive'] ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE')
      throw new S3Error(400, 'InvalidArgument', 'Unknown metadata directive.');
    if (directive === 'COPY' && sourceBucket === bucket && sourceKey === key)
      throw new S3Error(
        400,
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    const content =
      directive === 'REPLACE'
        ? contentHeaders(headers)
        : {
            metadata: original.metadata,
            contentType: original.contentType,
            contentEncoding: original.contentEncoding,
          };
    return store(bucket, key, { ...content, body: original.body, checksums: original.checksums });
  }

  function listObjects(bucket: string, query: URLSearchParams): string {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeysParameter = query.get('max-keys') ?? '1000';
    if (!/^\d+$/.test(maxKeysParameter))
      throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const maxKeys = Math.min(Number(maxKeysParameter), 1000);
    const startAfter = query.get('start-after') ?? '';
    const token = query.get('continuation-token');
    let after = startAfter;
    if (token !== null) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (Buffer.from(after, 'utf8').toString('base64url') !== token)
        throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
    }
    const objects = existingBucket(bucket);
    // With a delimiter, the keys sharing the part of the key up to it after the
    // prefix are rolled up into one CommonPrefixes entry, which counts as one item.
    const rollUp = (key: string): string | undefined => {
      if (delimiter === '') return undefined;
      const at = key.indexOf(delimiter, prefix.length);
      return at < 0 ? undefined : key.slice(0, at + delimiter.length);
    };
    const contents: string[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    let truncated = false;
    for (const key of sortedKeys(objects, prefix)) {
      const common = rollUp(key);
      const item = common ?? key;
      if (compareUtf8(key, after) <= 0 || item === after || item === last) continue;
      if (contents.length + commonPrefixes.length === maxKeys) {
        truncated = true;
        break;
      }
      if (common === undefined) contents.push(key);
      else commonPrefixes.push(common);
      last = item;
    }
    const element = (name: string, value: string | number) => `<${name}>${xml(String(value))}</${name}>`;
    return [
      `<ListBucketResult xmlns="${XMLNS}">`,
      element('Name', bucket),
      element('Prefix', prefix),
      delimiter !== '' ? element('Delimiter', delimiter) : '',
      element('MaxKeys', maxKeys),
      element('KeyCount', contents.length + commonPrefixes.length),
      element('IsTruncated', String(truncated)),
      token !== null ? element('ContinuationToken', token) : '',
      truncated && last !== undefined
        ? element('NextContinuationToken', Buffer.from(last, 'utf8').toString('base64url'))
        : '',
      startAfter !== '' ? element('StartAfter', startAfter) : '',
      ...contents.map((key) => {
        const object = objects.get(key)!;
        return `<Contents>${element('Key', key)}${element('LastModified', object.lastModified.toISOString())}${element('ETag', object.etag)}${element('Size', object.body.length)}${element('StorageClass', 'STANDARD')}</Contents>`;
      }),
      ...commonPrefixes.map((common) => `<CommonPrefixes>${element('Prefix', common)}</CommonPrefixes>`),
      '</ListBucketResult>',
    ].join('');
  }

  function sendObject(req: IncomingMessage, res: ServerResponse, object: S3Object): void {
    const size = object.body.length;
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable')
      throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
        RangeRequested: String(req.headers.range),
        ActualObjectSize: String(size),
      });
    const checksums =
      range === undefined && req.headers['x-amz-checksum-mode'] === 'ENABLED'
        ? { ...object.checksums, 'x-amz-checksum-type': 'FULL_OBJECT' }
        : {};
    const body = range === undefined ? object.body : object.body.subarray(range.start, range.end + 1);
    const headers: Record<string, string | number> = {
      'content-type': object.contentType,
      'content-length': body.length,
      etag: object.etag,
      'last-modified': object.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      ...(object.contentEncoding !== undefined ? { 'content-encoding': object.contentEncoding } : {}),
      ...(range !== undefined ? { 'content-range': `bytes ${range.start}-${range.end}/${size}` } : {}),
      ...Object.fromEntries(
        Object.entries(object.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value]),
      ),
      ...checksums,
      ...requestIds(),
    };
    res.writeHead(range === undefined ? 200 : 206, headers);
    const afterBytes = req.method === 'GET' ? truncations.take() : undefined;
    if (afterBytes === undefined) {
      res.end(body);
      return;
    }
    res.write(body.subarray(0, Math.min(afterBytes, body.length - 1)), () => res.destroy());
  }

  const local = await startLocalServer(handle, {
    onError: (error, req, res) => {
      const s3Error =
        error instanceof S3Error ? error : new S3Error(500, 'InternalError', `fake S3: ${String(error)}`);
      sendError(req, res, s3Error);
    },
  });
  return {
    endpoint: local.endpoint,
    calls,
    createBucket(bucket) {
      createBucket(bucket);
    },
    putObject(bucket, key, body, put = {}) {
      store(bucket, key, {
        body: Buffer.from(body),
        metadata: Object.fromEntries(
          Object.entries(put.metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
        ),
        contentType: put.contentType ?? 'binary/octet-stream',
        contentEncoding: put.contentEncoding,
        checksums: {},
      });
    },
    getObject: (bucket, key) => buckets.get(bucket)?.get(key),
    listKeys: (bucket, prefix = '') => sortedKeys(buckets.get(bucket) ?? new Map(), prefix),
    failNext(operation, count, status, code, message) {
      failures.add(count, {
        operation,
        error: new S3Error(status, code, message ?? DEFAULT_MESSAGES[code] ?? code),
      });
    },
    truncateNext(count, afterBytes) {
      truncations.add(count, afterBytes);
    },
    close: local.close,
  };
}

/**
 * The operation a request asks for, from its method, whether it names a key,
 * and its subresource query parameters; `NotImplemented` for everything else.
 */
function operationOf(
  req: IncomingMessage,
  key: string | undefined,
  query: URLSearchParams,
): S3Operation | 'NotImplemented' {
  const parameters = [...query.keys()];
  if (CONDITIONAL_HEADERS.some((header) => req.headers[header] !== undefined)) return 'NotImplemented';
  if (key === undefined) {
    if (req.method === 'PUT' && parameters.every((p) => p === 'x-id')) return 'CreateBucket';
    if (
      req.method === 'GET' &&
      query.get('list-type') === '2' &&
      parameters.every((p) => LIST_PARAMETERS.has(p))
    )
      return 'ListObjectsV2';
    return 'NotImplemented';
  }
  if (!parameters.every((p) => p === 'x-id')) return 'NotImplemented';
  switch (req.method) {
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      return req.headers['x-amz-copy-source'] !== undefined ? 'CopyObject' : 'PutObject';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return 'NotImplemented';
  }
}

/** The object a PutObject request carries: its payload decoded and checked, and its content headers. */
function readUpload(headers: IncomingHttpHeaders, raw: Buffer): Omit<S3Object, 'etag' | 'lastModified'> {
  const contentSha256 = String(headers['x-amz-content-sha256']);
  const encodings = (headers['content-encoding'] ?? '').split(',').map((e) => e.trim());
  let body = raw;
  let trailers: Record<string, string> = {};
  if (contentSha256.startsWith('STREAMING-') || encodings.includes('aws-chunked')) {
    const decoded = decodeAwsChunked(raw);
    if (decoded === undefined || String(decoded.body.length) !== headers['x-amz-decoded-content-length'])
      throw new S3Error(
        400,
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
      );
    ({ body, trailers } = decoded);
  } else if (
    /^[0-9a-f]{64}$/.test(contentSha256) &&
    createHash('sha256').update(body).digest('hex') !== contentSha256
  ) {
    throw new S3Error(
      400,
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const contentMd5 = headers['content-md5'];
  if (contentMd5 !== undefined && createHash('md5').update(body).digest('base64') !== contentMd5)
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  const checksums: Record<string, string> = {};
  for (const name of CHECKSUM_HEADERS) {
    const value = trailers[name] ?? headers[name];
    if (typeof value !== 'string') continue;
    const computed = computeChecksum(name, body);
    if (computed !== undefined && computed !== value) {
      const algorithm = name.slice('x-amz-checksum-'.length).toUpperCase();
      throw new S3Error(
        400,
        'BadDigest',
        `The ${algorithm} you specified did not match the calculated checksum.`,
      );
    }
    checksums[name] = value;
  }
  return { ...contentHeaders(headers, encodings), body, checksums };
}

/** Metadata, `Content-Type` and `Content-Encoding` (without `aws-chunked`) from a request's headers. */
function contentHeaders(
  headers: IncomingHttpHeaders,
  encodings = (headers['content-encoding'] ?? '').split(',').map((e) => e.trim()),
): Pick<S3Object, 'metadata' | 'contentType' | 'contentEncoding'> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (name.startsWith('x-amz-meta-') && value !== undefined)
      metadata[name.slice('x-amz-meta-'.length)] = String(value);
  const contentEncoding = encodings.filter((e) => e !== '' && e !== 'aws-chunked').join(',');
  return {
    metadata,
    contentType: headers['content-type'] ?? 'binary/octet-stream',
    contentEncoding: contentEncoding === '' ? undefined : contentEncoding,
  };
}

/**
 * Decodes an `aws-chunked` payload: chunks `hex-size[;chunk-signature=…]\r\n`
 * + bytes + `\r\n`, a final 0-size chunk, then trailer lines `name:value\r\n`
 * (e.g. `x-amz-checksum-crc32`, `x-amz-trailer-signature`) up to an empty line.
 * Chunk signatures are not verified. Undefined when malformed.
 */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const sizeField = raw.toString('latin1', at, lineEnd).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeField)) return undefined;
    const size = Number.parseInt(sizeField, 16);
    at = lineEnd + 2;
    if (size === 0) break;
    if (at + size + 2 > raw.length || raw.toString('latin1', at + size, at + size + 2) !== '\r\n')
      return undefined;
    parts.push(raw.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  while (at < raw.length) {
    const lineEnd = raw.indexOf('\r\n', at);
    const line = raw.toString('latin1', at, lineEnd < 0 ? raw.length : lineEnd);
    at = lineEnd < 0 ? raw.length : lineEnd + 2;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon < 0) return undefined;
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

/** The base64 checksum S3 would compute for `x-amz-checksum-*`; undefined for CRC32C and CRC64NVME. */
function computeChecksum(header: (typeof CHECKSUM_HEADERS)[number], body: Buffer): string | undefined {
  switch (header) {
    case 'x-amz-checksum-crc32':
      return crc32Of(body);
    case 'x-amz-checksum-sha1':
      return createHash('sha1').update(body).digest('base64');
    case 'x-amz-checksum-sha256':
      return createHash('sha256').update(body).digest('base64');
    default:
      return undefined;
  }
}

function crc32Of(body: Buffer): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(crc32(body));
  return value.toString('base64');
}

/**
 * A single byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`), clamped to the
 * object; `unsatisfiable` when it starts past the end; undefined (the whole
 * object) when absent or in a syntax S3 ignores.
 */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return suffix === 0 || size === 0
      ? 'unsatisfiable'
      : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  if (start >= size) return 'unsatisfiable';
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return end < start ? undefined : { start, end };
}

function sortedKeys(objects: Map<string, S3Object>, prefix: string): string[] {
  return [...objects.keys()].filter((key) => key.startsWith(prefix)).sort(compareUtf8);
}

/** S3 lists keys in the binary order of their UTF-8 bytes. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function xml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

function requestIds(): Record<string, string> {
  return {
    'x-amz-request-id': randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase(),
    'x-amz-id-2': randomUUID(),
  };
}

/** An answer without a body (204 carries no `Content-Length` either). */
function send(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, ...(status === 204 ? {} : { 'content-length': 0 }), ...requestIds() });
  res.end();
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  sendText(res, status, `<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    contentType: 'application/xml',
    headers: requestIds(),
  });
}

function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (req.method === 'HEAD') {
    send(res, error.status, {});
    return;
  }
  const details = Object.entries(error.details)
    .map(([name, value]) => `<${name}>${xml(value)}</${name}>`)
    .join('');
  const ids = requestIds();
  sendXml(
    res,
    error.status,
    `<Error><Code>${error.code}</Code><Message>${xml(error.message)}</Message>${details}<RequestId>${ids['x-amz-request-id']}</RequestId><HostId>${ids['x-amz-id-2']}</HostId></Error>`,
  );
}
