/**
 * Recognizes what one parsed JSON document is and unpacks the audit records
 * inside it. Recognition is structural, from the fields each format always has:
 *
 * | container                               | shape                                              |
 * |-----------------------------------------|----------------------------------------------------|
 * | CloudTrail log file (S3)                | `{"Records": [record, ...]}`                       |
 * | CloudTrail record (JSON Lines)          | `{"eventVersion", "eventSource", "eventName", ...}`|
 * | EventBridge "AWS API Call via CloudTrail" | `{"detail-type", "source", "detail": record}`    |
 * | LookupEvents response / one event       | `{"Events": [{"CloudTrailEvent": "<json>"}]}`      |
 * | JSON array of any of the above          | `[...]`                                            |
 */
import type { AuditSource } from '../schema/api-activity.js';
import type { InputProblemReason } from './errors.js';

export type Unpacked =
  | { kind: 'record'; source: AuditSource; record: Record<string, unknown> }
  | { kind: 'problem'; reason: InputProblemReason; message: string; value?: unknown };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isCloudTrailRecord = (value: Json): boolean =>
  typeof value.eventSource === 'string' && typeof value.eventName === 'string' && 'eventTime' in value;

export function unpackDocument(value: unknown, depth = 0): Unpacked[] {
  if (Array.isArray(value)) {
    if (depth > 0)
      return [
        { kind: 'problem', reason: 'invalid-structure', message: 'nested arrays are not a known format' },
      ];
    return value.flatMap((item) => unpackDocument(item, depth + 1));
  }
  if (!isObject(value)) {
    return [
      {
        kind: 'problem',
        reason: 'unrecognized-record',
        message: `expected a JSON object, found ${typeof value}`,
        value,
      },
    ];
  }
  if ('Records' in value) {
    const records = value.Records;
    if (!Array.isArray(records)) {
      return [{ kind: 'problem', reason: 'invalid-structure', message: '"Records" is not an array', value }];
    }
    return records.map((record) => unpackRecord(record));
  }
  if ('Events' in value && Array.isArray(value.Events)) {
    return value.Events.map((event) => unpackRecord(event));
  }
  return [unpackRecord(value)];
}

function unpackRecord(value: unknown): Unpacked {
  if (!isObject(value)) {
    return { kind: 'problem', reason: 'unrecognized-record', message: 'record is not a JSON object', value };
  }
  if (isCloudTrailRecord(value)) return { kind: 'record', source: 'aws.cloudtrail', record: value };
  // EventBridge envelope: the CloudTrail record is the `detail`.
  if (typeof value['detail-type'] === 'string' && isObject(value.detail)) {
    if (isCloudTrailRecord(value.detail))
      return { kind: 'record', source: 'aws.cloudtrail', record: value.detail };
    return {
      kind: 'problem',
      reason: 'unrecognized-record',
      message: `EventBridge event "${value['detail-type']}" does not carry a CloudTrail record`,
      value,
    };
  }
  // LookupEvents: the record is a JSON string in CloudTrailEvent.
  if (typeof value.CloudTrailEvent === 'string') {
    try {
      const inner: unknown = JSON.parse(value.CloudTrailEvent);
      if (isObject(inner) && isCloudTrailRecord(inner))
        return { kind: 'record', source: 'aws.cloudtrail', record: inner };
    } catch {
      return {
        kind: 'problem',
        reason: 'malformed-json',
        message: 'CloudTrailEvent is not valid JSON',
        value,
      };
    }
  }
  return {
    kind: 'problem',
    reason: 'unrecognized-record',
    message: 'not a record of any known audit-log format',
    value,
  };
}
