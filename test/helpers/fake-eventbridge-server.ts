/**
 * A local HTTP server on 127.0.0.1 that speaks EventBridge's PutEvents over the
 * AWS JSON 1.1 wire protocol, for tests of the real SDK client:
 *
 * - `POST /` with `X-Amz-Target: AWSEvents.PutEvents` and
 *   `Content-Type: application/x-amz-json-1.1`; body `{Entries: [{Source,
 *   DetailType, Detail, EventBusName, Resources, Time, TraceHeader}]}`, `Time`
 *   in epoch seconds;
 * - response `{FailedEntryCount, Entries: [{EventId} | {ErrorCode,
 *   ErrorMessage}]}`, one result per entry in request order, as the service
 *   answers: a request with failed entries still answers 200;
 * - request-level validation as the service does it, answered with HTTP 400
 *   `{"__type":"ValidationException","message"}`: 1 to 10 entries, and a total
 *   entry size of at most 256 KB, computed as AWS documents it ("Calculating
 *   PutEvents event entry size"): 14 bytes for `Time` when present plus the
 *   UTF-8 bytes of `Source`, `DetailType`, `Detail` and each `Resources` item;
 * - per-entry validation, answered in the entry's result: missing `Source`,
 *   `DetailType` or `Detail` is `InvalidArgument` ("Parameter Source is not
 *   valid. Reason: Source is a required argument."), a `Detail` that is not a
 *   JSON object is `MalformedDetail` ("Detail is malformed.").
 *
 * Accepted entries are kept as the events the bus received ({@link
 * FakeEventBridge.events}), with their `EventId`, their bus (`default` when the
 * entry names none; a name or an ARN as sent) and their time (the entry's
 * `Time`, else when it arrived, as EventBridge does). Failures can be injected
 * per entry (partial failure: {@link FakeEventBridge.failEntries}) or per
 * request ({@link FakeEventBridge.failNextRequests}). Rules, targets, other
 * operations and global endpoints (`EndpointId`) are not implemented.
 *
 * Every request must carry a SigV4 `Authorization` header (else 403
 * `MissingAuthenticationTokenException`, unrecorded); its access key id is recorded.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FailurePlan,
  type RequestFailure,
  readBody,
  sendJson,
  sigV4AccessKeyId,
  startLocalServer,
} from './local-server.js';

/** A `PutEventsRequestEntry` as it arrives on the wire. */
export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
  /** Epoch seconds. */
  readonly Time?: number;
  readonly TraceHeader?: string;
}

/** An event the bus accepted. */
export interface AcceptedEvent {
  readonly EventId: string;
  /** As the entry named it, `default` when it did not. */
  readonly EventBusName: string;
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Resources: string[];
  /** The entry's `Time`, or when the entry arrived. */
  readonly Time: Date;
  readonly TraceHeader: string | undefined;
}

/** The per-entry error codes PutEvents documents (`PutEventsResultEntry.ErrorCode`). */
export type EntryErrorCode =
  | 'InternalFailure'
  | 'ThrottlingException'
  | 'AccessDeniedException'
  | 'InvalidAccountIdException'
  | 'InvalidArgument'
  | 'MalformedDetail'
  | 'RedactionFailure'
  | 'NotAuthorizedForSourceException'
  | 'NotAuthorizedForDetailTypeException';

/**
 * Chooses the entries to fail: an error code, or undefined to accept the entry.
 * `attempt` counts earlier requests carrying an identical entry (0 the first
 * time), so that an entry can fail once and be accepted when sent again.
 */
export type EntryFailurePlan = (entry: PutEventsEntry, attempt: number) => EntryErrorCode | undefined;

export interface PutEventsCall {
  readonly target: string;
  readonly accessKeyId: string;
  readonly entries: readonly PutEventsEntry[];
  /** The status answered, 0 until answered. */
  status: number;
  /** The request-level error type answered, if any. */
  errorType: string | undefined;
  failedEntryCount: number;
}

export interface FakeEventBridge {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly calls: PutEventsCall[];
  /** The accepted events, in the order they were accepted. */
  readonly events: AcceptedEvent[];
  /** Fails the entries `plan` chooses, from now on; undefined stops it. */
  failEntries(plan: EntryFailurePlan | undefined): void;
  /**
   * Answers the next `count` requests with this error instead, e.g.
   * `(2, 500, 'InternalException')` or `(1, 400, 'ThrottlingException')`.
   */
  failNextRequests(count: number, status: number, type: string, message?: string): void;
  close(): Promise<void>;
}

const TARGET = 'AWSEvents.PutEvents';
const MAX_ENTRIES = 10;
const MAX_TOTAL_ENTRY_SIZE = 256 * 1024;
const MESSAGES: Record<EntryErrorCode, string> = {
  InternalFailure: 'Internal service failure.',
  ThrottlingException: 'Rate exceeded.',
  AccessDeniedException: 'You do not have sufficient access to perform this action.',
  InvalidAccountIdException: 'The account ID provided is not valid.',
  InvalidArgument: 'A specified parameter is not valid.',
  MalformedDetail: 'Detail is malformed.',
  RedactionFailure: 'Redacting the CloudTrail event failed.',
  NotAuthorizedForSourceException:
    'You do not have permissions to publish events with this source onto this event bus.',
  NotAuthorizedForDetailTypeException:
    'You do not have permissions to publish events with this detail type onto this event bus.',
};

export async function startFakeEventBridge(): Promise<FakeEventBridge> {
  const calls: PutEventsCall[] = [];
  const events: AcceptedEvent[] = [];
  const seen = new Map<string, number>();
  let plan: EntryFailurePlan | undefined;
  const requestFailures = new FailurePlan<RequestFailure>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const accessKeyId = sigV4AccessKeyId(req);
    if (accessKeyId === undefined)
      return send(res, 403, {
        __type: 'MissingAuthenticationTokenException',
        message: 'Missing Authentication Token',
      });
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || target !== TARGET)
      return send(res, 400, { __type: 'UnknownOperationException', message: `unknown operation ${target}` });
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
      return send(res, 400, {
        __type: 'SerializationException',
        message: 'expected application/x-amz-json-1.1',
      });
    let body: { Entries?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8') || '{}') as { Entries?: unknown };
    } catch {
      return send(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
    }
    const entries = Array.isArray(body.Entries) ? (body.Entries as PutEventsEntry[]) : [];
    const call: PutEventsCall = {
      target,
      accessKeyId,
      entries,
      status: 0,
      errorType: undefined,
      failedEntryCount: 0,
    };
    calls.push(call);
    const fail = (status: number, type: string, message: string) => {
      call.status = status;
      call.errorType = type;
      send(res, status, { __type: type, message });
    };

    const requestFailure = requestFailures.take();
    if (requestFailure !== undefined)
      return fail(requestFailure.status, requestFailure.type, requestFailure.message);
    if (entries.length < 1 || entries.length > MAX_ENTRIES)
      return fail(
        400,
        'ValidationException',
        `1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length ${entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`}`,
      );
    if (entries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_TOTAL_ENTRY_SIZE)
      return fail(400, 'ValidationException', 'Total size of the entries in the request is over the limit.');

    const received = new Date();
    const results = entries.map((entry) => {
      const identity = JSON.stringify(entry);
      const attempt = seen.get(identity) ?? 0;
      seen.set(identity, attempt + 1);
      const invalid = validate(entry);
      if (invalid !== undefined) return invalid;
      const code = plan?.(entry, attempt);
      if (code !== undefined) return { ErrorCode: code, ErrorMessage: MESSAGES[code] };
      const EventId = randomUUID();
      events.push({
        EventId,
        EventBusName: entry.EventBusName ?? 'default',
        Source: entry.Source!,
        DetailType: entry.DetailType!,
        Detail: entry.Detail!,
        Resources: entry.Resources ?? [],
        Time: entry.Time !== undefined ? new Date(entry.Time * 1000) : received,
        TraceHeader: entry.TraceHeader,
      });
      return { EventId };
    });
    call.status = 200;
    call.failedEntryCount = results.filter((result) => 'ErrorCode' in result).length;
    send(res, 200, { FailedEntryCount: call.failedEntryCount, Entries: results });
  }

  const local = await startLocalServer(handle, {
    onError: (error, _req, res) => send(res, 500, { __type: 'InternalException', message: String(error) }),
  });
  return {
    endpoint: local.endpoint,
    calls,
    events,
    failEntries(next) {
      plan = next;
    },
    failNextRequests(count, status, type, message = type) {
      requestFailures.replace(count, { status, type, message });
    },
    close: local.close,
  };
}

/** An entry's size as EventBridge counts it against the 256 KB limit. */
export function entrySize(entry: PutEventsEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time !== undefined ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((total, resource) => total + bytes(resource), 0)
  );
}

/** The entry's error result when the service would refuse it, else undefined. */
function validate(entry: PutEventsEntry): { ErrorCode: EntryErrorCode; ErrorMessage: string } | undefined {
  for (const parameter of ['Source', 'DetailType', 'Detail'] as const)
    if (typeof entry[parameter] !== 'string' || entry[parameter] === '')
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${parameter} is a required argument.`,
      };
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail!);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
    return { ErrorCode: 'MalformedDetail', ErrorMessage: MESSAGES.MalformedDetail };
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, {
    contentType: 'application/x-amz-json-1.1',
    requestIdHeader: 'x-amzn-requestid',
  });
}
