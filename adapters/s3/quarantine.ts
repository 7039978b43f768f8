/**
 * The quarantine of the deployed functions: an S3 prefix of Trailhound's own
 * bucket, where everything that could not be used is kept with its reason,
 * so nothing is silently dropped and all of it can be fixed and replayed.
 *
 * - `<prefix>problems/<input>.ndjson`: one JSON line per problem of an input
 *   (reason, line, message, the offending text), written once the input is
 *   read. `<input>` is `<bucket>/<key>` for a trail object, or the queue and
 *   message id for a queue message.
 * - `<prefix>objects/<bucket>/<key>`: a copy of a trail object that could not be
 *   read as a whole (truncated gzip, not JSON at all), with the reason in its
 *   metadata (`x-amz-meta-trailhound-reason`), so the original survives the
 *   trail bucket's own lifecycle.
 *
 * Keys depend only on the input, so a redelivered input overwrites its own
 * quarantine entries instead of adding new ones.
 */
import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { QuarantineSink } from '../../detectors/pipeline/ports.js';
import type { InputProblemError, InputProblemReason } from '../../detectors/readers/errors.js';
import type { ObjectRef } from './notifications.js';

/** Problems that concern an object as a whole: its original is copied, not just described. */
const WHOLE_OBJECT_REASONS: ReadonlySet<InputProblemReason> = new Set(['truncated-file', 'unknown-format']);
/** Metadata values are HTTP headers: printable ASCII, and S3 caps all user metadata at 2 KB. */
const METADATA_TEXT_CHARS = 512;

export interface QuarantinedProblem {
  readonly reason: string;
  readonly input: string;
  readonly line?: number | undefined;
  readonly message: string;
  readonly content?: string | undefined;
}

export interface S3QuarantineOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Default `quarantine/`. */
  readonly prefix?: string;
}

export class QuarantineWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuarantineWriteError';
  }
}

function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, METADATA_TEXT_CHARS);
}

/** `x-amz-copy-source`: bucket and URL-encoded key, then the version asked for. */
function copySource(ref: ObjectRef): string {
  const key = ref.key.split('/').map(encodeURIComponent).join('/');
  const version = ref.versionId !== undefined ? `?versionId=${encodeURIComponent(ref.versionId)}` : '';
  return `${ref.bucket}/${key}${version}`;
}

export class S3Quarantine implements QuarantineSink {
  /** Problems recorded, and whole objects copied. */
  readonly counts = { problems: 0, objectsCopied: 0 };
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly pending = new Map<string, QuarantinedProblem[]>();

  constructor(options: S3QuarantineOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? 'quarantine/';
  }

  /** Collects a problem of the pipeline; written by {@link writeInput}. */
  async put(problem: InputProblemError): Promise<void> {
    this.record({
      reason: problem.reason,
      input: problem.file,
      line: problem.line,
      message: problem.message,
      content: problem.content,
    });
  }

  /** Collects a problem found outside the pipeline (a message that is not a notification…). */
  record(problem: QuarantinedProblem): void {
    let list = this.pending.get(problem.input);
    if (list === undefined) {
      list = [];
      this.pending.set(problem.input, list);
    }
    list.push(problem);
  }

  /** Reasons collected for `input` and not yet written. */
  reasonsOf(input: string): string[] {
    return (this.pending.get(input) ?? []).map((p) => p.reason);
  }

  /**
   * Writes what was collected for `input` (one `.ndjson` object), and copies the
   * original object when it could not be read as a whole. Throws
   * {@link QuarantineWriteError}: the host must then fail the delivery, since
   * what it would acknowledge would be lost.
   */
  async writeInput(input: string, quarantineName: string, original?: ObjectRef): Promise<void> {
    const problems = this.pending.get(input);
    if (problems === undefined || problems.length === 0) return;
    const body = problems.map((p) => JSON.stringify({ ...p, time: new Date().toISOString() })).join('\n');
    const reasons = [...new Set(problems.map((p) => p.reason))];
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: `${this.prefix}problems/${quarantineName}.ndjson`,
          Body: `${body}\n`,
          ContentType: 'application/x-ndjson',
          Metadata: { 'trailhound-reasons': headerSafe(reasons.join(',')) },
        }),
      );
      const whole = problems.find((p) => WHOLE_OBJECT_REASONS.has(p.reason as InputProblemReason));
      if (original !== undefined && whole !== undefined) {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: `${this.prefix}objects/${original.bucket}/${original.key}`,
            CopySource: copySource(original),
            MetadataDirective: 'REPLACE',
            Metadata: {
              'trailhound-reason': whole.reason,
              'trailhound-detail': headerSafe(whole.message),
            },
          }),
        );
        this.counts.objectsCopied += 1;
      }
    } catch (error) {
      throw new QuarantineWriteError(
        `cannot quarantine ${problems.length} problems of ${input} in s3://${this.bucket}/${this.prefix}`,
        { cause: error },
      );
    }
    this.counts.problems += problems.length;
    this.pending.delete(input);
  }

  /** Forgets what was collected for `input` (it will be read again). */
  discard(input: string): void {
    this.pending.delete(input);
  }
}
