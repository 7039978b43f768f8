/**
 * The Cloud Logging `LogEntry` envelope as log pipelines re-export it.
 *
 * BigQuery log sinks and several SIEM pipelines rename the top-level columns:
 * lower case (`insertid`, `logname`, `protopayload`, `receivetimestamp`),
 * snake case (`insert_id`, `receive_timestamp`), or the BigQuery column of the
 * audit payload, `protopayload_auditlog`. The fields inside the payload keep
 * their names. {@link canonicalLogEntry} restores the LogEntry spelling of the
 * top-level keys so the normalizer and the rules (`raw.protoPayload…`) read
 * one shape; values are untouched and a canonical key already present wins.
 *
 * Reference: https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry,
 * https://cloud.google.com/logging/docs/export/bigquery#fields
 */
import type { Json } from './json.js';

const LOG_ENTRY_FIELDS = [
  'logName',
  'resource',
  'protoPayload',
  'textPayload',
  'jsonPayload',
  'timestamp',
  'receiveTimestamp',
  'severity',
  'insertId',
  'httpRequest',
  'labels',
  'operation',
  'trace',
  'spanId',
  'traceSampled',
  'sourceLocation',
  'split',
] as const;

/** Lower case, separators removed: `receive_timestamp`, `receiveTimestamp` and `receivetimestamp` meet. */
const fold = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

const CANONICAL = new Map<string, string>([
  ...LOG_ENTRY_FIELDS.map((name) => [fold(name), name] as const),
  // BigQuery names the column of the audit payload after its type.
  ['protopayloadauditlog', 'protoPayload'],
]);

/** True when `value` has an audit payload under any spelling of `protoPayload`. */
export function hasAuditPayload(value: Json): boolean {
  for (const key of Object.keys(value)) {
    if (CANONICAL.get(fold(key)) !== 'protoPayload') continue;
    const payload = value[key];
    if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) return true;
  }
  return false;
}

/**
 * The entry with its top-level keys in LogEntry spelling. Returns `entry`
 * itself when nothing needs renaming (the common case costs no copy).
 */
export function canonicalLogEntry(entry: Json): Json {
  let renamed: Json | undefined;
  for (const key of Object.keys(entry)) {
    const canonical = CANONICAL.get(fold(key));
    if (canonical === undefined || canonical === key) continue;
    renamed ??= {};
    renamed[key] = canonical;
  }
  if (renamed === undefined) return entry;
  const out: Json = {};
  for (const [key, value] of Object.entries(entry)) {
    const canonical = renamed[key] as string | undefined;
    if (canonical === undefined) out[key] = value;
    else if (!(canonical in entry) && !(canonical in out)) out[canonical] = value;
    else out[key] = value;
  }
  return out;
}
