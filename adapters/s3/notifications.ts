/**
 * Which trail log objects a queue message announces. An organization trail's
 * bucket can tell about new objects in four ways, and all reach our queue as
 * an SQS message body:
 *
 * 1. an S3 event notification (`{"Records": [{"eventSource": "aws:s3", …}]}`),
 *    sent to the queue directly; its keys are URL-encoded, spaces as `+`;
 * 2. the same, through an SNS topic (an SNS `Notification` whose `Message` is
 *    the S3 notification);
 * 3. CloudTrail's own SNS notification of delivered files
 *    (`{"s3Bucket": …, "s3ObjectKey": [ … ]}`), keys not encoded;
 * 4. an S3 `Object Created` event through EventBridge, keys not encoded.
 *
 * S3's `s3:TestEvent`, sent when a notification is configured, announces
 * nothing. Anything else is not ours to guess at: {@link NotificationFormatError}.
 * The S3 and SNS shapes are checked with Powertools' parser schemas.
 */
import { S3EventNotificationEventBridgeSchema, S3Schema } from '@aws-lambda-powertools/parser/schemas/s3';
import { SnsSqsNotificationSchema } from '@aws-lambda-powertools/parser/schemas/sns';
import { z } from 'zod';

/** One object to read. */
export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  /** Present when the bucket is versioned: the exact version announced. */
  readonly versionId?: string | undefined;
  /** Size announced, bytes; used to choose between reading whole and streaming. */
  readonly size?: number | undefined;
}

export class NotificationFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotificationFormatError';
  }
}

const CloudTrailSnsNotification = z.object({
  s3Bucket: z.string().min(1),
  s3ObjectKey: z.array(z.string().min(1)),
});

const S3TestEvent = z.object({ Service: z.literal('Amazon S3'), Event: z.literal('s3:TestEvent') });

/** S3 event notifications encode keys as in a URL query (`+` for a space). */
function decodeNotificationKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

function fromParsedJson(value: unknown, depth: number): ObjectRef[] {
  const s3 = S3Schema.safeParse(value);
  if (s3.success)
    return s3.data.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeNotificationKey(r.s3.object.key),
      versionId: r.s3.object.versionId ?? undefined,
      size: r.s3.object.size,
    }));
  const trail = CloudTrailSnsNotification.safeParse(value);
  if (trail.success) return trail.data.s3ObjectKey.map((key) => ({ bucket: trail.data.s3Bucket, key }));
  const bridged = S3EventNotificationEventBridgeSchema.safeParse(value);
  if (bridged.success) {
    const { bucket, object } = bridged.data.detail;
    return bridged.data['detail-type'] === 'Object Created'
      ? [{ bucket: bucket.name, key: object.key, versionId: object['version-id'], size: object.size }]
      : [];
  }
  if (S3TestEvent.safeParse(value).success) return [];
  const sns = SnsSqsNotificationSchema.safeParse(value);
  if (sns.success && depth === 0) {
    let inner: unknown;
    try {
      inner = JSON.parse(sns.data.Message);
    } catch (error) {
      throw new NotificationFormatError('the SNS notification’s Message is not JSON', { cause: error });
    }
    return fromParsedJson(inner, depth + 1);
  }
  throw new NotificationFormatError(
    'not an S3 event notification, a CloudTrail SNS notification, an S3 event through EventBridge, or SNS around one of them',
  );
}

/** The objects a queue message body announces (none for a test event). */
export function objectsInMessage(body: string): ObjectRef[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new NotificationFormatError('the message body is not JSON', { cause: error });
  }
  return fromParsedJson(value, 0);
}
