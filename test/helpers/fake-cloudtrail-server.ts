/**
 * A local HTTP server on 127.0.0.1 that speaks CloudTrail's LookupEvents over
 * the AWS JSON 1.1 wire protocol, for tests of the real SDK client:
 *
 * - `POST /` with `X-Amz-Target: [com.amazonaws.cloudtrail.v20131101.]CloudTrail_20131101.LookupEvents`
 *   and `Content-Type: application/x-amz-json-1.1`;
 * - request `{StartTime, EndTime, MaxResults, NextToken, LookupAttributes}`, times in epoch seconds;
 * - response `{Events: [{EventId, EventName, ReadOnly, AccessKeyId, EventTime, EventSource, Username,
 *   Resources, CloudTrailEvent}], NextToken}`, newest first, as the service answers;
 * - throttling as HTTP 400 `{"__type":"ThrottlingException","message":"Rate exceeded"}`.
 *
 * Events are made from CloudTrail records (e.g. the sample generator's) by {@link toLookupEvent}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson, startLocalServer } from './local-server.js';
import { decodePageToken, encodePageToken } from './page-tokens.js';

export interface LookupEvent {
  EventId: string;
  EventName: string;
  ReadOnly?: string;
  AccessKeyId?: string;
  /** Epoch seconds. */
  EventTime: number;
  EventSource: string;
  Username?: string;
  Resources?: Array<{ ResourceType?: string; ResourceName?: string }>;
  CloudTrailEvent: string;
}

export interface LookupRequest {
  readonly target: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: {
    StartTime?: number;
    EndTime?: number;
    MaxResults?: number;
    NextToken?: string;
    LookupAttributes?: Array<{ AttributeKey: string; AttributeValue: string }>;
  };
  /** When the request arrived (ms since the server started). */
  readonly at: number;
  /** How it was answered. */
  status: number;
  throttled: boolean;
  returned: number;
}

export interface FakeCloudTrailOptions {
  /** Decides, per LookupEvents request (0-based count), whether to answer with a ThrottlingException. */
  readonly throttle?: (index: number, request: LookupRequest) => boolean;
  /** Decides, per request, whether to answer with another error instead (e.g. AccessDeniedException). */
  readonly fail?: (
    index: number,
    request: LookupRequest,
  ) => { status: number; type: string; message: string } | undefined;
}

export interface FakeCloudTrail {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly requests: LookupRequest[];
  /** Replaces the events served. */
  setEvents(events: readonly LookupEvent[]): void;
  close(): Promise<void>;
}

const TARGETS = new Set([
  'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
  'CloudTrail_20131101.LookupEvents',
]);

/** A LookupEvents event as the service returns it for one CloudTrail record. */
export function toLookupEvent(record: Record<string, unknown>): LookupEvent {
  const identity = (record.userIdentity ?? {}) as Record<string, unknown>;
  const context = (identity.sessionContext ?? {}) as { sessionIssuer?: { userName?: string } };
  const resources = Array.isArray(record.resources)
    ? (record.resources as Array<{ type?: string; ARN?: string }>).map((r) => ({
        ResourceType: r.type,
        ResourceName: r.ARN,
      }))
    : [];
  const username =
    (identity.userName as string | undefined) ??
    context.sessionIssuer?.userName ??
    (identity.type === 'Root' ? 'root' : undefined);
  return {
    EventId: String(record.eventID),
    EventName: String(record.eventName),
    ReadOnly: String(record.readOnly ?? 'false'),
    ...(typeof identity.accessKeyId === 'string' ? { AccessKeyId: identity.accessKeyId } : {}),
    EventTime: Date.parse(String(record.eventTime)) / 1000,
    EventSource: String(record.eventSource),
    ...(username !== undefined ? { Username: username } : {}),
    Resources: resources,
    CloudTrailEvent: JSON.stringify(record),
  };
}

export async function startFakeCloudTrail(
  events: readonly LookupEvent[],
  options: FakeCloudTrailOptions = {},
): Promise<FakeCloudTrail> {
  let served = sortNewestFirst(events);
  const requests: LookupRequest[] = [];
  const started = Date.now();
  let lookups = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || req.url !== '/') {
      send(res, 404, { __type: 'UnknownOperationException', message: `${req.method} ${req.url}` });
      return;
    }
    if (!TARGETS.has(target)) {
      send(res, 400, { __type: 'UnknownOperationException', message: `unknown target ${target}` });
      return;
    }
    let body: LookupRequest['body'];
    try {
      body = JSON.parse(raw.toString('utf8') || '{}') as LookupRequest['body'];
    } catch {
      send(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
      return;
    }
    const request: LookupRequest = {
      target,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
      at: Date.now() - started,
      status: 200,
      throttled: false,
      returned: 0,
    };
    requests.push(request);
    const index = lookups++;
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
      request.status = 400;
      send(res, 400, { __type: 'SerializationException', message: 'expected application/x-amz-json-1.1' });
      return;
    }
    const failure = options.fail?.(index, request);
    if (failure !== undefined) {
      request.status = failure.status;
      send(res, failure.status, { __type: failure.type, message: failure.message });
      return;
    }
    if (options.throttle?.(index, request) === true) {
      request.status = 400;
      request.throttled = true;
      send(res, 400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
      return;
    }
    const max = body.MaxResults ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      request.status = 400;
      send(res, 400, { __type: 'InvalidMaxResultsException', message: `MaxResults ${max}` });
      return;
    }
    if (body.StartTime !== undefined && body.EndTime !== undefined && body.StartTime > body.EndTime) {
      request.status = 400;
      send(res, 400, { __type: 'InvalidTimeRangeException', message: 'StartTime is after EndTime' });
      return;
    }
    const matching = served.filter(
      (event) =>
        (body.StartTime === undefined || event.EventTime >= body.StartTime) &&
        (body.EndTime === undefined || event.EventTime <= body.EndTime) &&
        (body.LookupAttributes ?? []).every((attribute) => matches(event, attribute)),
    );
    // The token names the query it belongs to and the offset into its result.
    const query = JSON.stringify([body.StartTime, body.EndTime, body.LookupAttributes]);
    let offset = 0;
    if (body.NextToken !== undefined) {
      const decoded = decodePageToken(body.NextToken);
      if (decoded === undefined || decoded.query !== query) {
        request.status = 400;
        send(res, 400, { __type: 'InvalidNextTokenException', message: 'Invalid NextToken' });
        return;
      }
      offset = decoded.offset;
    }
    const page = matching.slice(offset, offset + max);
    request.returned = page.length;
    const next =
      offset + page.length < matching.length ? encodePageToken(query, offset + page.length) : undefined;
    send(res, 200, { Events: page, ...(next !== undefined ? { NextToken: next } : {}) });
  }

  const local = await startLocalServer(handle, {
    onError: (error, _req, res) => send(res, 500, { __type: 'InternalFailure', message: String(error) }),
  });
  return {
    endpoint: local.endpoint,
    requests,
    setEvents(next) {
      served = sortNewestFirst(next);
    },
    close: local.close,
  };
}

function sortNewestFirst(events: readonly LookupEvent[]): LookupEvent[] {
  return [...events].sort((a, b) => b.EventTime - a.EventTime);
}

function matches(event: LookupEvent, attribute: { AttributeKey: string; AttributeValue: string }): boolean {
  switch (attribute.AttributeKey) {
    case 'EventName':
      return event.EventName === attribute.AttributeValue;
    case 'EventSource':
      return event.EventSource === attribute.AttributeValue;
    case 'Username':
      return event.Username === attribute.AttributeValue;
    case 'EventId':
      return event.EventId === attribute.AttributeValue;
    case 'ReadOnly':
      return event.ReadOnly === attribute.AttributeValue;
    case 'AccessKeyId':
      return event.AccessKeyId === attribute.AttributeValue;
    default:
      return false;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, {
    contentType: 'application/x-amz-json-1.1',
    headers: { 'x-amzn-requestid': `req-${Math.random().toString(16).slice(2)}` },
  });
}
