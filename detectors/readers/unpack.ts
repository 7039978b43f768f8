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
 * | GCP Cloud Audit Logs `LogEntry`          | `{"protoPayload": {...}, "insertId", "logName"}`   |
 * | GCP LogEntry from a log-pipeline export | `protopayload` / `protopayload_auditlog`, lower-cased keys |
 * | GCP Pub/Sub push envelope               | `{"message": {"data": "<base64 LogEntry>"}}`       |
 * | Azure diagnostic export                 | `{"records": [record, ...]}`                       |
 * | Azure Activity record (3 shapes)        | `operationName` + `resourceId` / `OperationNameValue` |
 * | Entra audit / sign-in (3 shapes)        | `activityDisplayName`, `createdDateTime`, `category: AuditLogs/SignInLogs`… |
 * | AKS `kube-audit` / `kube-audit-admin`   | `category` + `properties.log` (an audit Event as JSON text), alone or in `records` |
 * | Kubernetes audit Event (EKS, any)       | `{"kind": "Event", "apiVersion": "audit.k8s.io/v1", ...}`; webhook `EventList` batches |
 * | Trailhound runtime record (Lambda)      | `{"trailhound_runtime": 1, "kind", "function", ...}` (the extension's log lines) |
 * | CloudWatch Logs subscription payload    | `{"messageType": "DATA_MESSAGE", "logEvents": [{"message": "<runtime record line>"}]}`, decompressed |
 * | JSON array of any of the above          | `[...]`                                            |
 *
 * A subscription payload carries the function's whole log stream unless the
 * subscription filters it (`{ $.trailhound_runtime = 1 }` does): messages that
 * are not runtime records (the function's own logs) are passed over without a
 * problem, and a `CONTROL_MESSAGE` yields nothing. Platform-event and
 * collector-health records are records like any other: kept, normalized,
 * counted, never quarantined.
 */
import { hasAuditPayload } from '../normalizers/gcp-log-entry.js';
import { isKubernetesAuditRecord } from '../normalizers/kubernetes.js';
import { isRuntimeRecord } from '../normalizers/lambda-runtime.js';
import type { AuditSource } from '../schema/api-activity.js';
import type { LogSource } from '../schema/event.js';
import type { InputProblemReason } from './errors.js';

export type Unpacked =
  | { kind: 'record'; source: LogSource; record: Record<string, unknown> }
  | { kind: 'problem'; reason: InputProblemReason; message: string; value?: unknown };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * `eventSource` and `eventName` plus one more field every CloudTrail record
 * has. `eventTime` is not required: a record exported without it is still
 * read, dated by the host's receive time (see normalizers/time.ts).
 */
const isCloudTrailRecord = (value: Json): boolean =>
  typeof value.eventSource === 'string' &&
  typeof value.eventName === 'string' &&
  ('eventTime' in value || 'eventID' in value || 'eventVersion' in value || 'userIdentity' in value);

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
  if (value.messageType !== undefined && Array.isArray(value.logEvents)) return subscriptionRecords(value);
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
  // A Kubernetes audit webhook batch: `{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [...]}`.
  if (value.kind === 'EventList' && Array.isArray(value.items)) {
    return value.items.map((event) => unpackRecord(event));
  }
  // Azure diagnostic settings write `{"records": [...]}`.
  if ('records' in value && Array.isArray(value.records)) {
    return value.records.map((record) => unpackRecord(record));
  }
  return [unpackRecord(value)];
}

function unpackRecord(value: unknown): Unpacked {
  if (!isObject(value)) {
    return { kind: 'problem', reason: 'unrecognized-record', message: 'record is not a JSON object', value };
  }
  if (isCloudTrailRecord(value)) return { kind: 'record', source: 'aws.cloudtrail', record: value };
  if (isRuntimeRecord(value)) return { kind: 'record', source: 'aws.lambda.runtime', record: value };
  const other = otherCloudSource(value);
  if (other !== undefined) return { kind: 'record', source: other, record: value };
  const pushed = pubSubPushEntry(value);
  if (pushed !== undefined) return unpackRecord(pushed);
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

const ENTRA_CATEGORIES =
  /^(AuditLogs|SignInLogs|NonInteractiveUserSignInLogs|ServicePrincipalSignInLogs|ManagedIdentitySignInLogs)$/i;

/** Recognizes GCP and Azure records by the fields each format always has. */
function otherCloudSource(value: Json): AuditSource | undefined {
  if (isObject(value.protoPayload) || hasAuditPayload(value)) return 'gcp.audit';
  // Before Azure: AKS kube-audit records share the resource-log envelope.
  if (isKubernetesAuditRecord(value)) return 'kubernetes.audit';
  const type = typeof value.Type === 'string' ? value.Type : undefined;
  if (type === 'AzureActivity') return 'azure.activity';
  if (type === 'AuditLogs' || type === 'SigninLogs' || type?.endsWith('SignInLogs')) return 'azure.entra';
  const category = typeof value.category === 'string' ? value.category : undefined;
  if (category !== undefined && ENTRA_CATEGORIES.test(category)) return 'azure.entra';
  if (typeof value.activityDisplayName === 'string' && value.initiatedBy !== undefined) return 'azure.entra';
  if (typeof value.createdDateTime === 'string' && typeof value.userPrincipalName === 'string')
    return 'azure.entra';
  if (typeof value.resourceId === 'string' && value.resourceId.toLowerCase().startsWith('/tenants/'))
    return 'azure.entra';
  const operation = value.operationName;
  const hasOperation =
    typeof operation === 'string' || (isObject(operation) && typeof operation.value === 'string');
  if (hasOperation && (typeof value.resourceId === 'string' || typeof value.eventDataId === 'string'))
    return 'azure.activity';
  // Azure Monitor resource logs (storage, key vault…) share the activity record's envelope.
  if (hasOperation && typeof value.time === 'string' && typeof category === 'string') return 'azure.activity';
  return undefined;
}

/** The LogEntry inside a Pub/Sub push body (`message.data` is base64 JSON). */
function pubSubPushEntry(value: Json): Json | undefined {
  const message = value.message;
  if (!isObject(message) || typeof message.data !== 'string' || typeof value.subscription !== 'string')
    return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
    return isObject(decoded) ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The runtime records in a CloudWatch Logs subscription payload (already
 * decompressed by the host). A message may carry the record after a prefix
 * the log format added (`<time> <request id> INFO {...}`): the JSON starts at
 * the first `{`. Messages without the runtime marker are the function's own
 * logs and are passed over.
 */
function subscriptionRecords(value: Json): Unpacked[] {
  if (value.messageType !== 'DATA_MESSAGE') return [];
  const out: Unpacked[] = [];
  for (const logEvent of value.logEvents as unknown[]) {
    const message = isObject(logEvent) ? logEvent.message : undefined;
    if (typeof message !== 'string' || !message.includes('trailhound_runtime')) continue;
    const start = message.indexOf('{');
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.slice(start));
    } catch {
      out.push({
        kind: 'problem',
        reason: 'malformed-json',
        message: 'a runtime record in a CloudWatch Logs message is not valid JSON',
        value: message,
      });
      continue;
    }
    if (isObject(parsed) && isRuntimeRecord(parsed))
      out.push({ kind: 'record', source: 'aws.lambda.runtime', record: parsed });
  }
  return out;
}
