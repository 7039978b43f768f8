/**
 * The local S3 server driven by the real S3 client: objects round-trip through
 * PutObject (plain and aws-chunked uploads, checked checksums), GetObject (as
 * a stream, ranges, checksums the SDK validates), HeadObject, CopyObject,
 * ListObjectsV2 and DeleteObject, and its injected failures reach the client
 * as S3's would.
 */
import { Readable } from 'node:stream';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeS3, startFakeS3 } from '../../helpers/fake-s3-server.js';
import { fastRetryStrategy } from '../../helpers/throttling-proxy.js';

const BUCKET = 'trail-logs';
const KEY =
  'AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0005Z_a b=c:d+e.json.gz';
const RECORDS = JSON.stringify({ Records: [{ eventName: 'ConsoleLogin', eventID: 'e-1' }] });

let s3: FakeS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startFakeS3();
  client = new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    retryStrategy: fastRetryStrategy(3),
  });
});
afterAll(async () => {
  client.destroy();
  await s3.close();
});
beforeEach(() => {
  s3.calls.length = 0;
});

const errorOf = (promise: Promise<unknown>): Promise<S3ServiceException> =>
  promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error as S3ServiceException,
  );

describe('fake S3 server', () => {
  it('round-trips a gzip object with metadata under a key with special characters', async () => {
    const body = gzipSync(RECORDS);
    const put = await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: KEY,
        Body: body,
        ContentType: 'application/json',
        ContentEncoding: 'gzip',
        Metadata: { 'trail-arn': 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org' },
      }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(s3.calls[0]).toMatchObject({
      operation: 'PutObject',
      bucket: BUCKET,
      key: KEY,
      accessKeyId: 'AKIDTEST',
    });

    const stored = s3.getObject(BUCKET, KEY)!;
    expect(stored.body.equals(body)).toBe(true);
    expect(stored).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      etag: put.ETag,
    });
    expect(stored.metadata).toEqual({ 'trail-arn': 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org' });

    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
    expect(got).toMatchObject({
      ContentLength: body.length,
      ContentType: 'application/json',
      ContentEncoding: 'gzip',
      ETag: put.ETag,
      Metadata: { 'trail-arn': 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org' },
    });
    expect(got.LastModified).toEqual(stored.lastModified);
    expect(gunzipSync(await got.Body!.transformToByteArray()).toString('utf8')).toBe(RECORDS);

    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: KEY }));
    expect(head).toMatchObject({ ContentLength: body.length, ETag: put.ETag, ContentEncoding: 'gzip' });
  });

  it('serves objects put by the test, read as a Node stream, and byte ranges', async () => {
    s3.putObject('seeded', 'a/b.txt', 'hello, world', {
      contentType: 'text/plain',
      metadata: { Origin: 'test' },
    });
    const got = await client.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'a/b.txt' }));
    expect(got.Body).toBeInstanceOf(Readable);
    const chunks: Buffer[] = [];
    for await (const chunk of got.Body as Readable) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('hello, world');
    expect(got.Metadata).toEqual({ origin: 'test' });

    const range = await client.send(
      new GetObjectCommand({ Bucket: 'seeded', Key: 'a/b.txt', Range: 'bytes=7-' }),
    );
    expect(range.ContentRange).toBe('bytes 7-11/12');
    expect(await range.Body!.transformToString()).toBe('world');
    const past = await errorOf(
      client.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'a/b.txt', Range: 'bytes=12-' })),
    );
    expect(past.name).toBe('InvalidRange');
    expect(past.$metadata.httpStatusCode).toBe(416);
  });

  it('returns checksums when asked, which the SDK validates', async () => {
    s3.putObject('seeded', 'checked.txt', 'checked body');
    const got = await client.send(
      new GetObjectCommand({ Bucket: 'seeded', Key: 'checked.txt', ChecksumMode: 'ENABLED' }),
    );
    expect(got.ChecksumCRC32).toBe(s3.getObject('seeded', 'checked.txt')!.checksums['x-amz-checksum-crc32']);
    expect(await got.Body!.transformToString()).toBe('checked body');
  });

  it('decodes an aws-chunked streaming upload and checks its trailing checksum', async () => {
    const text = 'x'.repeat(70_000);
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'streamed.txt',
        Body: Readable.from([Buffer.from(text.slice(0, 30_000)), Buffer.from(text.slice(30_000))]),
        ContentLength: text.length,
      }),
    );
    const headers = s3.calls[0]!.headers;
    expect(headers['content-encoding']).toContain('aws-chunked');
    expect(headers['x-amz-content-sha256']).toMatch(/^STREAMING-/);
    expect(headers['x-amz-trailer']).toBe('x-amz-checksum-crc32');
    const stored = s3.getObject(BUCKET, 'streamed.txt')!;
    expect(stored.body.toString('utf8')).toBe(text);
    expect(stored.contentEncoding).toBeUndefined();
  });

  it('decodes signed aws-chunked chunks with a signed trailer, and refuses inconsistent ones', async () => {
    // The SDK sends unsigned chunks; this is the signed form (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32('hello world'));
    const signature = (c: string) => `;chunk-signature=${c.repeat(64)}`;
    const upload = (trailerChecksum: string, decodedLength: number) =>
      fetch(`${s3.endpoint}/${BUCKET}/signed.txt?x-id=PutObject`, {
        method: 'PUT',
        headers: {
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260302/us-east-1/s3/aws4_request, Signature=0',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(decodedLength),
          'x-amz-trailer': 'x-amz-checksum-crc32',
        },
        body: `6${signature('a')}\r\nhello \r\n5${signature('b')}\r\nworld\r\n0${signature('c')}\r\nx-amz-checksum-crc32:${trailerChecksum}\r\nx-amz-trailer-signature:${'d'.repeat(64)}\r\n\r\n`,
      });
    expect((await upload(crc.toString('base64'), 11)).status).toBe(200);
    expect(s3.getObject(BUCKET, 'signed.txt')).toMatchObject({
      body: Buffer.from('hello world'),
      checksums: { 'x-amz-checksum-crc32': crc.toString('base64') },
    });
    const short = await upload(crc.toString('base64'), 12);
    expect([short.status, await short.text()]).toEqual([
      400,
      expect.stringContaining('<Code>IncompleteBody</Code>'),
    ]);
    const corrupt = await upload('AAAAAA==', 11);
    expect([corrupt.status, await corrupt.text()]).toEqual([
      400,
      expect.stringContaining('<Code>BadDigest</Code>'),
    ]);
  });

  it('refuses a body that does not match its checksum', async () => {
    const error = await errorOf(
      client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'bad.txt', Body: 'body', ChecksumCRC32: 'AAAAAA==' }),
      ),
    );
    expect(error.name).toBe('BadDigest');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(s3.getObject(BUCKET, 'bad.txt')).toBeUndefined();
  });

  it('copies with the source metadata or replaced metadata, and refuses a copy onto itself', async () => {
    s3.putObject(BUCKET, 'src/one file.json', '{"a":1}', {
      contentType: 'application/json',
      metadata: { v: '1' },
    });
    const copied = await client.send(
      new CopyObjectCommand({
        Bucket: 'archive',
        Key: 'dst/one file.json',
        CopySource: encodeURIComponent(`${BUCKET}/src/one file.json`),
      }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(s3.getObject(BUCKET, 'src/one file.json')!.etag);
    expect(s3.getObject('archive', 'dst/one file.json')).toMatchObject({
      contentType: 'application/json',
      metadata: { v: '1' },
    });

    await client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'src/one file.json',
        CopySource: `${BUCKET}/${encodeURIComponent('src/one file.json')}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/plain',
        Metadata: { v: '2' },
      }),
    );
    expect(s3.getObject(BUCKET, 'src/one file.json')).toMatchObject({
      contentType: 'text/plain',
      metadata: { v: '2' },
    });

    const self = await errorOf(
      client.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'src/one file.json',
          CopySource: `${BUCKET}/src/one%20file.json`,
        }),
      ),
    );
    expect(self.name).toBe('InvalidRequest');
    const missing = await errorOf(
      client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'x', CopySource: `${BUCKET}/nothing` })),
    );
    expect(missing).toBeInstanceOf(NoSuchKey);
  });

  it('lists keys by prefix and delimiter, page by page', async () => {
    for (const key of ['logs/2026/01/a', 'logs/2026/01/b', 'logs/2026/02/c', 'logs/top', 'other/x'])
      s3.putObject('listing', key, key);
    const page1 = await client.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'logs/', MaxKeys: 2 }),
    );
    expect(page1.Contents?.map((c) => c.Key)).toEqual(['logs/2026/01/a', 'logs/2026/01/b']);
    expect(page1).toMatchObject({ KeyCount: 2, IsTruncated: true });
    expect(page1.Contents?.[0]).toMatchObject({ Size: 'logs/2026/01/a'.length, StorageClass: 'STANDARD' });
    expect(page1.Contents?.[0]?.ETag).toBe(s3.getObject('listing', 'logs/2026/01/a')!.etag);
    const page2 = await client.send(
      new ListObjectsV2Command({
        Bucket: 'listing',
        Prefix: 'logs/',
        MaxKeys: 2,
        ContinuationToken: page1.NextContinuationToken,
      }),
    );
    expect(page2.Contents?.map((c) => c.Key)).toEqual(['logs/2026/02/c', 'logs/top']);
    expect(page2.IsTruncated).toBe(false);

    const folders = await client.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'logs/2026/', Delimiter: '/' }),
    );
    expect(folders.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['logs/2026/01/', 'logs/2026/02/']);
    expect(folders.Contents).toBeUndefined();
    expect(s3.listKeys('listing', 'logs/2026/')).toEqual([
      'logs/2026/01/a',
      'logs/2026/01/b',
      'logs/2026/02/c',
    ]);
  });

  it('deletes objects, and names missing keys and buckets as S3 does', async () => {
    s3.putObject(BUCKET, 'gone.txt', 'x');
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gone.txt' }));
    expect(s3.getObject(BUCKET, 'gone.txt')).toBeUndefined();

    const noKey = await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'gone.txt' })));
    expect(noKey).toBeInstanceOf(NoSuchKey);
    expect(noKey.$metadata.httpStatusCode).toBe(404);
    const noBucket = await errorOf(client.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })));
    expect(noBucket).toBeInstanceOf(NoSuchBucket);
    const head = await errorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'gone.txt' })));
    expect(head.name).toBe('NotFound');
    const unsupported = await errorOf(client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: KEY })));
    expect(unsupported.name).toBe('NotImplemented');
  });

  it('fails the next calls of an operation with 503 SlowDown, which the SDK retries', async () => {
    s3.putObject(BUCKET, 'busy.txt', 'eventually');
    s3.failNext('GetObject', 2, 503, 'SlowDown');
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'busy.txt' }));
    expect(await got.Body!.transformToString()).toBe('eventually');
    expect(got.$metadata.attempts).toBe(3);
    expect(s3.calls.map((c) => c.status)).toEqual([503, 503, 200]);

    s3.failNext('GetObject', 3, 503, 'SlowDown');
    const error = await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'busy.txt' })));
    expect(error.name).toBe('SlowDown');
    expect(error.message).toBe('Please reduce your request rate.');
  });

  it('cuts a body short after the headers promised all of it', async () => {
    s3.putObject(BUCKET, 'big.bin', Buffer.alloc(100_000, 7));
    s3.truncateNext(1, 1000);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    expect(got.ContentLength).toBe(100_000);
    await expect(got.Body!.transformToByteArray()).rejects.toThrow();
    const again = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    expect((await again.Body!.transformToByteArray()).length).toBe(100_000);
  });

  it('requires a SigV4 Authorization header', async () => {
    const response = await fetch(`${s3.endpoint}/${BUCKET}/busy.txt`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code>');
  });
});
