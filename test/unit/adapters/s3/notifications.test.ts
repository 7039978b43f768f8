/**
 * The four ways a trail bucket announces a new log file, and what is not one.
 */
import { describe, expect, it } from 'vitest';
import { NotificationFormatError, objectsInMessage } from '../../../../adapters/s3/notifications.js';
import { s3Notification } from '../../../helpers/aws-events.js';

const BUCKET = 'org-trail-logs';
const KEY =
  'AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/03/03/111122223333_CloudTrail_us-east-1_20260303T0217Z_i0ns8RDHgq8ebpSs.json.gz';

describe('objectsInMessage', () => {
  it('reads an S3 event notification, decoding the key', () => {
    expect(objectsInMessage(s3Notification(BUCKET, `${KEY}`))).toEqual([
      { bucket: BUCKET, key: KEY, size: 2048, versionId: undefined },
    ]);
    expect(objectsInMessage(s3Notification(BUCKET, 'odd name/a+b=c:d.json.gz'))[0]?.key).toBe(
      'odd name/a+b=c:d.json.gz',
    );
  });

  it('passes over notifications of anything but a created object', () => {
    expect(objectsInMessage(s3Notification(BUCKET, KEY, 'ObjectRemoved:Delete'))).toEqual([]);
  });

  it('reads an S3 notification inside an SNS notification', () => {
    const sns = JSON.stringify({
      Type: 'Notification',
      MessageId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
      TopicArn: 'arn:aws:sns:us-east-1:111122223333:trail-objects',
      Message: s3Notification(BUCKET, KEY),
      Timestamp: '2026-03-03T02:22:12.000Z',
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem',
      UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
    });
    expect(objectsInMessage(sns).map((r) => r.key)).toEqual([KEY]);
  });

  it('reads CloudTrail’s own SNS notification of delivered files, keys as they are', () => {
    const message = JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: [KEY, `${KEY}.2`] });
    expect(objectsInMessage(message)).toEqual([
      { bucket: BUCKET, key: KEY },
      { bucket: BUCKET, key: `${KEY}.2` },
    ]);
  });

  it('reads an S3 Object Created event delivered through EventBridge', () => {
    const event = JSON.stringify({
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '111122223333',
      time: '2026-03-03T02:22:11Z',
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${BUCKET}`],
      detail: {
        version: '0',
        bucket: { name: BUCKET },
        object: {
          key: KEY,
          size: 2048,
          etag: 'd41d8cd98f00b204e9800998ecf8427e',
          sequencer: '0055AED6DCD90281E5',
        },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '111122223333',
        reason: 'PutObject',
      },
    });
    expect(objectsInMessage(event)).toEqual([{ bucket: BUCKET, key: KEY, size: 2048, versionId: undefined }]);
  });

  it('announces nothing for S3’s test event', () => {
    const test = JSON.stringify({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-03-03T02:00:00.000Z',
      Bucket: BUCKET,
      RequestId: '5582815E1AEA5ADF',
      HostId: 'EXAMPLE',
    });
    expect(objectsInMessage(test)).toEqual([]);
  });

  it('refuses what is not JSON, and JSON that announces nothing it knows', () => {
    expect(() => objectsInMessage('not json')).toThrow(NotificationFormatError);
    expect(() => objectsInMessage(JSON.stringify({ hello: 'world' }))).toThrow(
      /not an S3 event notification/,
    );
  });
});
