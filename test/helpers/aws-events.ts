/**
 * AWS event shapes as the services deliver them to our functions, for tests
 * of the real handlers: S3 event notifications, EventBridge CloudTrail events,
 * and the SQS records and events around them.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

/** An S3 event notification as S3 sends it (keys URL-encoded, `+` for a space). */
export function s3Notification(bucket: string, key: string, eventName = 'ObjectCreated:Put'): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-03-03T02:22:11.123Z',
        eventName,
        userIdentity: { principalId: 'AWS:AROAEXAMPLE:regionalDeliverySession' },
        requestParameters: { sourceIPAddress: '192.0.2.10' },
        responseElements: {
          'x-amz-request-id': 'C3D13FE58DE4C810',
          'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'trailhound',
          bucket: {
            name: bucket,
            ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
            arn: `arn:aws:s3:::${bucket}`,
          },
          object: {
            key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'),
            size: 2048,
            eTag: 'd41d8cd98f00b204e9800998ecf8427e',
            sequencer: '0055AED6DCD90281E5',
          },
        },
      },
    ],
  });
}

/** An SQS record of `queueArn` carrying `body`; the same body always gets the same message id. */
export function sqsRecord(body: string, queueArn: string, receiveCount = 1): SQSRecord {
  const messageId = createHash('sha256').update(body).digest('hex').slice(0, 32);
  return {
    messageId: `${messageId.slice(0, 8)}-${messageId.slice(8, 12)}-${messageId.slice(12, 16)}-${messageId.slice(16, 20)}-${messageId.slice(20, 32)}`,
    receiptHandle: `AQEB${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1772504531000',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1772504531100',
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** A CloudTrail record as EventBridge delivers it: the record is the `detail`. */
export function cloudTrailEventBridgeEvent(record: Record<string, unknown>): Record<string, unknown> {
  const signIn = record.eventType === 'AwsConsoleSignIn';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': signIn ? 'AWS Console Sign In via CloudTrail' : 'AWS API Call via CloudTrail',
    // EventBridge names the source after the service: iam.amazonaws.com → aws.iam.
    source: signIn ? 'aws.signin' : `aws.${String(record.eventSource).split('.')[0]}`,
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}
