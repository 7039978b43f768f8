/**
 * Reading a trail log object from S3 for the pipeline. CloudTrail writes a
 * file per account, region and about five minutes, gzip-compressed: typically
 * kilobytes to a few megabytes. An object up to {@link WHOLE_OBJECT_BYTES} is
 * read whole into memory, which lets the decoder gunzip it in one synchronous
 * call (markedly faster than a stream at these sizes, as `trailhound scan`
 * does for files); a larger one is streamed, so memory stays bounded whatever
 * lands in the bucket.
 *
 * Failures are sorted by what a retry can do:
 * - {@link TrailObjectGoneError}: the object (or the announced version) no
 *   longer exists. Retrying cannot help; the host records it and moves on.
 * - {@link TrailObjectReadError}: anything else (access denied, throttling
 *   beyond the SDK's own retries, a dropped connection): the delivery fails
 *   and is retried, then dead-lettered, where an alarm looks at it.
 */
import { GetObjectCommand, type GetObjectCommandOutput, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { ByteSource } from '../../detectors/readers/decode.js';
import type { ObjectRef } from './notifications.js';

export const WHOLE_OBJECT_BYTES = 64 * 1024 * 1024;

/** The input name the pipeline, the quarantine and the logs use for an object. */
export function objectInputName(ref: ObjectRef): string {
  return `s3://${ref.bucket}/${ref.key}`;
}

export class TrailObjectReadError extends Error {
  constructor(
    readonly ref: ObjectRef,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${objectInputName(ref)}: ${message}`, options);
    this.name = new.target.name;
  }
}

export class TrailObjectGoneError extends TrailObjectReadError {}

export interface OpenedObject {
  readonly bytes: ByteSource;
  /** Bytes as S3 reports them. */
  readonly size: number | undefined;
  readonly streamed: boolean;
}

/** Opens `ref` for the pipeline: whole in memory when small enough, else as a stream. */
export async function openTrailObject(client: S3Client, ref: ObjectRef): Promise<OpenedObject> {
  let response: GetObjectCommandOutput;
  try {
    response = await client.send(
      new GetObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        ...(ref.versionId !== undefined ? { VersionId: ref.versionId } : {}),
      }),
    );
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchVersion')
      throw new TrailObjectGoneError(ref, 'the object no longer exists', { cause: error });
    throw new TrailObjectReadError(ref, `GetObject failed: ${(error as Error).message}`, { cause: error });
  }
  const body = response.Body;
  if (body === undefined) return { bytes: [], size: 0, streamed: false };
  const size = response.ContentLength;
  if (size !== undefined && size <= WHOLE_OBJECT_BYTES) {
    try {
      return { bytes: [await body.transformToByteArray()], size, streamed: false };
    } catch (error) {
      throw new TrailObjectReadError(ref, `reading the body failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  // In Node the body is an IncomingMessage: an async iterable of Buffers.
  return { bytes: body as unknown as AsyncIterable<Uint8Array>, size, streamed: true };
}
