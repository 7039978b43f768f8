/**
 * A local HTTP server on 127.0.0.1 that speaks PagerDuty's Events API v2
 * (`POST /v2/enqueue`), for tests of the real sender. It validates events as
 * PagerDuty documents them
 * (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 *
 * - `routing_key`: a string of 32 characters;
 * - `event_action`: `trigger`, `acknowledge` or `resolve`;
 * - `dedup_key`: required for acknowledge and resolve, at most 255 characters;
 * - for `trigger`: `payload.summary` (1 to 1024 characters), `payload.source`,
 *   `payload.severity` (`critical`, `error`, `warning`, `info`), an ISO 8601
 *   `payload.timestamp` when present, `links[].href` when links are given.
 *
 * An invalid event is answered `400 {status: "invalid event", message:
 * "Event object is invalid", errors: [...]}`; a valid one `202 {status:
 * "success", message: "Event processed", dedup_key}` (a trigger without a
 * dedup_key gets a generated one). Alert state is kept per routing key and
 * dedup_key: a trigger opens an alert (or, while one is open, is appended to
 * it), acknowledge and resolve move it; a trigger after resolve opens a new
 * one. Failures can be injected for the next N requests (429 with
 * `Retry-After`, 5xx).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FailurePlan, readBody, sendJson, startLocalServer } from './local-server.js';

export type AlertState = 'triggered' | 'acknowledged' | 'resolved';

export interface FakeAlert {
  readonly routingKey: string;
  readonly dedupKey: string;
  /** Numbered from 1 per (routing key, dedup key): a trigger after resolve opens the next. */
  readonly number: number;
  state: AlertState;
  summary: string;
  severity: string;
  /** Every event applied to it, in order. */
  readonly events: Record<string, unknown>[];
}

export interface EnqueueRecord {
  readonly body: unknown;
  readonly raw: string;
  status: number;
  errors: string[];
  readonly at: number;
}

export interface FakePagerDuty {
  /** `http://127.0.0.1:<port>`: the destination's `baseUrl`. */
  readonly endpoint: string;
  /** A valid (32-character) routing key. */
  readonly routingKey: string;
  readonly requests: EnqueueRecord[];
  /** Every alert ever opened, oldest first. */
  readonly alerts: FakeAlert[];
  /** The newest alert of a dedup key. */
  alert(dedupKey: string): FakeAlert | undefined;
  /** Answers the next `count` requests with this status (a `Retry-After` header when given). */
  failNext(count: number, status: number, retryAfter?: string): void;
  /** Forgets injected failures not yet used. */
  clearFailures(): void;
  close(): Promise<void>;
}

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);
const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);

export async function startFakePagerDuty(): Promise<FakePagerDuty> {
  const routingKey = 'R0UT1NGKEYFAKE0123456789abcdefXY';
  const requests: EnqueueRecord[] = [];
  const alerts: FakeAlert[] = [];
  const failures = new FailurePlan<{ status: number; retryAfter: string | undefined }>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const record: EnqueueRecord = { body, raw, status: 0, errors: [], at: Date.now() };
    requests.push(record);
    const answer = (status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) => {
      record.status = status;
      sendJson(res, status, json, { headers });
    };

    const injected = failures.take();
    if (injected !== undefined)
      return answer(
        injected.status,
        { status: 'error', message: injected.status === 429 ? 'Too Many Requests' : 'Internal Server Error' },
        injected.retryAfter !== undefined ? { 'retry-after': injected.retryAfter } : {},
      );
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v2/enqueue')
      return answer(404, { status: 'error', message: 'Not Found' });
    if (body === undefined) {
      record.errors = ['Request body is not valid JSON'];
      return answer(400, {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: record.errors,
      });
    }

    const event = body as Record<string, unknown>;
    const errors = validate(event);
    if (errors.length > 0) {
      record.errors = errors;
      return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const key = event.routing_key as string;
    const action = event.event_action as string;
    const dedupKey = typeof event.dedup_key === 'string' ? event.dedup_key : randomUUID().replace(/-/g, '');
    const current = [...alerts].reverse().find((a) => a.routingKey === key && a.dedupKey === dedupKey);
    if (action === 'trigger') {
      const payload = event.payload as Record<string, unknown>;
      if (current === undefined || current.state === 'resolved') {
        alerts.push({
          routingKey: key,
          dedupKey,
          number: (current?.number ?? 0) + 1,
          state: 'triggered',
          summary: String(payload.summary),
          severity: String(payload.severity),
          events: [event],
        });
      } else {
        current.events.push(event);
      }
    } else if (current !== undefined && current.state !== 'resolved') {
      // Acknowledge or resolve of an unknown or resolved alert is accepted and does nothing.
      if (action === 'acknowledge' && current.state === 'triggered') current.state = 'acknowledged';
      if (action === 'resolve') current.state = 'resolved';
      current.events.push(event);
    }
    return answer(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  const local = await startLocalServer(handle, {
    onError: (error, _req, res) => sendJson(res, 500, { status: 'error', message: String(error) }),
  });
  return {
    endpoint: local.endpoint,
    routingKey,
    requests,
    alerts,
    alert: (dedupKey) => [...alerts].reverse().find((a) => a.dedupKey === dedupKey),
    failNext(count, status, retryAfter) {
      failures.add(count, { status, retryAfter });
    },
    clearFailures() {
      failures.clear();
    },
    close: local.close,
  };
}

/** PagerDuty's documented requirements, as messages that never quote the routing key. */
function validate(event: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (typeof event.routing_key !== 'string' || event.routing_key.length !== 32)
    errors.push("'routing_key' must be a string of 32 characters");
  if (typeof event.event_action !== 'string' || !ACTIONS.has(event.event_action))
    errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  if (event.dedup_key !== undefined && (typeof event.dedup_key !== 'string' || event.dedup_key.length > 255))
    errors.push("'dedup_key' must be a string of at most 255 characters");
  if (
    (event.event_action === 'acknowledge' || event.event_action === 'resolve') &&
    event.dedup_key === undefined
  )
    errors.push("'dedup_key' is required for acknowledge and resolve");
  if (event.event_action === 'trigger') {
    const payload = event.payload as Record<string, unknown> | undefined;
    if (typeof payload !== 'object' || payload === null) errors.push("'payload' is required for trigger");
    else {
      if (
        typeof payload.summary !== 'string' ||
        payload.summary.length === 0 ||
        payload.summary.length > 1024
      )
        errors.push("'payload.summary' must be 1 to 1024 characters");
      if (typeof payload.source !== 'string' || payload.source === '')
        errors.push("'payload.source' is required");
      if (typeof payload.severity !== 'string' || !SEVERITIES.has(payload.severity))
        errors.push("'payload.severity' must be one of critical, error, warning, info");
      if (payload.timestamp !== undefined && Number.isNaN(Date.parse(String(payload.timestamp))))
        errors.push("'payload.timestamp' must be ISO 8601");
      if (payload.custom_details !== undefined && typeof payload.custom_details !== 'object')
        errors.push("'payload.custom_details' must be an object");
    }
  }
  if (event.links !== undefined) {
    if (!Array.isArray(event.links)) errors.push("'links' must be an array");
    else if (event.links.some((l) => typeof (l as { href?: unknown })?.href !== 'string'))
      errors.push("'links[].href' is required");
  }
  return errors;
}
