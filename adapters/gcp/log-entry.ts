/**
 * A log entry as `@google-cloud/logging` decodes it → the `LogEntry` JSON the
 * REST API, `gcloud logging read --format=json` and log sinks (Pub/Sub,
 * Cloud Storage) carry, which is what the GCP normalizer reads.
 *
 * The library hands back protobuf objects (`toObject` form): timestamps as
 * `{seconds, nanos}`, payloads as `google.protobuf.Struct` (`{fields: {k:
 * {stringValue}}}`), every absent field filled with its default (`trace: ''`,
 * `httpRequest: null`…), and a `payload` oneof marker. `Entry` objects are no
 * better for us: `Entry.metadata.timestamp` is a `Date` (nanoseconds lost),
 * `Entry.toJSON()` would put a proto payload under `jsonPayload`, and an entry
 * without `insertId` gets a random one. So the entries are taken from the raw
 * page and rebuilt by the proto3 JSON mapping: RFC 3339 timestamps with their
 * nanoseconds, Structs as plain JSON, defaults left out.
 */
import { createHash } from 'node:crypto';

export type LogEntryJson = Record<string, unknown> & {
  insertId?: string;
  logName?: string;
  timestamp?: string;
  protoPayload?: Record<string, unknown>;
};

/** A Timestamp or Duration as the library decodes it (int64 seconds as a string). */
interface SecondsNanos {
  seconds?: string | number | null;
  nanos?: number | null;
}

/** The decoded entry's fields that hold well-known types, by how to convert them. */
const TIMESTAMP_FIELDS = new Set(['timestamp', 'receiveTimestamp']);
const STRUCT_FIELDS = new Set(['protoPayload', 'jsonPayload']);
/** Map fields: their entries are data, kept whatever their values. */
const MAP_FIELDS = new Set(['labels']);
/** int64 fields (strings when decoded): "0" is their default. */
const INT64_FIELDS = new Set(['requestSize', 'responseSize', 'cacheFillBytes', 'line']);

/** The proto3 JSON form of one decoded entry. */
export function toLogEntryJson(decoded: Record<string, unknown>): LogEntryJson {
  const entry: LogEntryJson = {};
  for (const [key, value] of Object.entries(decoded)) {
    // `payload` is protobuf.js's marker of which oneof member is set, not a field.
    if (key === 'payload') continue;
    let converted: unknown;
    if (TIMESTAMP_FIELDS.has(key)) converted = isSecondsNanos(value) ? timestampJson(value) : undefined;
    else if (STRUCT_FIELDS.has(key)) converted = isStruct(value) ? structJson(value) : undefined;
    else if (key === 'severity') converted = value === 'DEFAULT' || value === 0 ? undefined : value;
    else if (MAP_FIELDS.has(key)) converted = isEmptyObject(value) ? undefined : value;
    else converted = withoutDefaults(key, value);
    if (converted !== undefined) entry[key] = converted;
  }
  return entry;
}

/** Event time of an entry, epoch ms (floored), or undefined without a readable timestamp. */
export function entryTime(entry: LogEntryJson): number | undefined {
  const time = typeof entry.timestamp === 'string' ? Date.parse(entry.timestamp) : Number.NaN;
  return Number.isFinite(time) ? time : undefined;
}

/**
 * The identity Cloud Logging itself deduplicates on: the log, the timestamp and
 * the insertId. Entries without an insertId (never the case for audit logs)
 * are identified by their content.
 */
export function entryId(entry: LogEntryJson): string {
  if (typeof entry.insertId === 'string' && entry.insertId !== '')
    return `${entry.logName ?? ''}\n${entry.timestamp ?? ''}\n${entry.insertId}`;
  return `content:${createHash('sha256').update(JSON.stringify(entry)).digest('hex')}`;
}

/**
 * Drops what proto3 JSON leaves out (empty strings, false, 0, null, empty
 * messages and lists, int64 "0"), recursively through nested messages; map
 * fields keep every entry; a Duration becomes `"1.5s"`.
 */
function withoutDefaults(key: string, value: unknown): unknown {
  if (value === null || value === undefined || value === '' || value === false || value === 0)
    return undefined;
  if (INT64_FIELDS.has(key) && value === '0') return undefined;
  if (key === 'latency' && isSecondsNanos(value)) return durationJson(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => withoutDefaults('', item) ?? (typeof item === 'object' ? {} : item));
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object') {
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(source)) {
      const kept = MAP_FIELDS.has(name)
        ? isEmptyObject(inner)
          ? undefined
          : inner
        : withoutDefaults(name, inner);
      if (kept !== undefined) out[name] = kept;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function isEmptyObject(value: unknown): boolean {
  return (
    value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0)
  );
}

function isSecondsNanos(value: unknown): value is SecondsNanos {
  return typeof value === 'object' && value !== null && ('seconds' in value || 'nanos' in value);
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as the proto3 JSON mapping writes it. */
export function timestampJson(value: SecondsNanos): string {
  const seconds = Number(value.seconds ?? 0);
  const nanos = value.nanos ?? 0;
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${whole}${fraction(nanos)}Z`;
}

function durationJson(value: SecondsNanos): string {
  return `${Number(value.seconds ?? 0)}${fraction(value.nanos ?? 0)}s`;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (digits.endsWith('000000')) return `.${digits.slice(0, 3)}`;
  if (digits.endsWith('000')) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

interface StructValue {
  kind?: string;
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields?: Record<string, StructValue> };
  listValue?: { values?: StructValue[] };
}

function isStruct(value: unknown): value is { fields?: Record<string, StructValue> } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `google.protobuf.Struct` → the JSON object it stands for. */
export function structJson(struct: { fields?: Record<string, StructValue> | null }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) out[key] = valueJson(value);
  return out;
}

function valueJson(value: StructValue): unknown {
  // `kind` names the member that is set (decoded with `oneofs: true`); fall back to looking.
  const kind =
    value.kind ??
    (['stringValue', 'numberValue', 'boolValue', 'structValue', 'listValue', 'nullValue'] as const).find(
      (name) => value[name] !== undefined && value[name] !== null,
    );
  switch (kind) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return structJson(value.structValue ?? {});
    case 'listValue':
      return (value.listValue?.values ?? []).map(valueJson);
    default:
      return null;
  }
}
