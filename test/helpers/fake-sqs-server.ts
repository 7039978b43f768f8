/**
 * A local HTTP server on 127.0.0.1 that speaks SQS over the AWS JSON 1.0
 * protocol the installed `@aws-sdk/client-sqs` uses (older SDKs spoke the
 * query protocol; this one sends `POST /` with `X-Amz-Target:
 * AmazonSQS.<Operation>`, `Content-Type: application/x-amz-json-1.0` and,
 * being query-compatible, `x-amzn-query-mode: true`), for tests of the real
 * client:
 *
 * - `SendMessage`, `SendMessageBatch` (1–10 entries with distinct ids, at
 *   most 256 KB of bodies and attributes a request, else
 *   `EmptyBatchRequest` / `TooManyEntriesInBatchRequest` /
 *   `BatchEntryIdsNotDistinct` / `BatchRequestTooLong`), answering
 *   `MD5OfMessageBody` and `MD5OfMessageAttributes` as SQS computes them (the
 *   SDK checks the body's); FIFO queues need `MessageGroupId`, and drop a
 *   message whose `MessageDeduplicationId` was seen within 5 minutes (the
 *   send still succeeds, as SQS answers it);
 * - `ReceiveMessage` (1–10, `VisibilityTimeout`, message attributes when
 *   asked, `ApproximateReceiveCount`; FIFO: a group with a message in flight
 *   gives nothing more until it is deleted or visible again; `WaitTimeSeconds`
 *   is not waited: an empty queue answers at once);
 * - `DeleteMessage`, `DeleteMessageBatch` (an unknown or stale receipt handle
 *   is `ReceiptHandleIsInvalid`), `GetQueueAttributes`.
 *
 * Errors are HTTP 400 with `{"__type":"com.amazonaws.sqs#<Name>","message"}`
 * and the `x-amzn-query-error: <query code>;Sender` header. Time is the
 * server's own clock plus {@link FakeSqs.advance}, so visibility timeouts
 * can be passed without waiting. Failures can be injected per batch entry or
 * per request. Every request must carry a SigV4 `Authorization` header.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FailurePlan,
  type RequestFailure,
  readBody,
  sendJson,
  sigV4AccessKeyId,
  startLocalServer,
} from './local-server.js';

type Json = Record<string, unknown>;

export interface WireAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Base64 on the wire. */
  readonly BinaryValue?: string;
}

export interface QueuedMessage {
  readonly MessageId: string;
  readonly Body: string;
  readonly MessageAttributes: Record<string, WireAttribute>;
  readonly MessageGroupId: string | undefined;
  readonly MessageDeduplicationId: string | undefined;
  readonly sentAt: number;
  receiveCount: number;
  invisibleUntil: number;
  receiptHandle: string | undefined;
}

export interface FakeQueue {
  readonly name: string;
  readonly url: string;
  readonly fifo: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly messages: QueuedMessage[];
}

export interface SqsCall {
  readonly action: string;
  readonly accessKeyId: string;
  readonly queryMode: boolean;
  readonly contentType: string | undefined;
  readonly params: Json;
  readonly bodyBytes: number;
  status: number;
  errorType: string | undefined;
}

/** Chooses batch entries to fail (SendMessageBatch): a code, or undefined to accept; `attempt` counts earlier tries of the same body. */
export type SqsEntryFailurePlan = (
  entry: Json,
  attempt: number,
) => { code: string; senderFault: boolean; message?: string } | undefined;

export interface FakeSqs {
  readonly endpoint: string;
  readonly calls: SqsCall[];
  createQueue(name: string, options?: { visibilityTimeoutSeconds?: number }): FakeQueue;
  queue(nameOrUrl: string): FakeQueue | undefined;
  /** Moves the server's clock forward (visibility timeouts, FIFO deduplication windows). */
  advance(ms: number): void;
  failEntries(plan: SqsEntryFailurePlan | undefined): void;
  failNextRequests(count: number, status: number, type: string, message?: string): void;
  close(): Promise<void>;
}

const ACCOUNT = '000000000000';
const MAX_BATCH = 10;
const MAX_BATCH_BYTES = 256 * 1024;
const DEDUP_WINDOW_MS = 5 * 60 * 1000;
const QUERY_CODES: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId',
  ReceiptHandleIsInvalid: 'ReceiptHandleIsInvalid',
  InvalidParameterValue: 'InvalidParameterValue',
  MissingParameter: 'MissingParameter',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
};

class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** SQS's MD5 of message attributes: names sorted, each length-prefixed name, type, transport byte and value. */
export function md5OfAttributes(attributes: Record<string, WireAttribute>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const attribute = attributes[name] as WireAttribute;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(attribute.DataType, 'utf8'));
    if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      prefixed(Buffer.from(attribute.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      prefixed(Buffer.from(attribute.StringValue ?? '', 'utf8'));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

function entrySize(entry: Json): number {
  let size = Buffer.byteLength(String(entry.MessageBody ?? ''), 'utf8');
  for (const [name, value] of Object.entries(
    (entry.MessageAttributes ?? {}) as Record<string, WireAttribute>,
  ))
    size +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? '') +
      (value.BinaryValue !== undefined ? Buffer.from(value.BinaryValue, 'base64').length : 0);
  return size;
}

export async function startFakeSqs(): Promise<FakeSqs> {
  const calls: SqsCall[] = [];
  const queues = new Map<string, FakeQueue>();
  const dedup = new Map<string, number>();
  const attempts = new Map<string, number>();
  let offset = 0;
  const now = () => Date.now() + offset;
  let plan: SqsEntryFailurePlan | undefined;
  const requestFailures = new FailurePlan<RequestFailure>();

  function queueOf(params: Json): FakeQueue {
    const url = String(params.QueueUrl ?? '');
    const queue = queues.get(url.split('/').pop() ?? '');
    if (queue === undefined || queue.url !== url)
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  function accept(queue: FakeQueue, entry: Json): Json {
    const body = entry.MessageBody;
    if (typeof body !== 'string' || body === '')
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    const attributes = (entry.MessageAttributes ?? {}) as Record<string, WireAttribute>;
    if (Object.keys(attributes).length > 10)
      throw new SqsError('InvalidParameterValue', 'Number of message attributes exceeds 10.');
    const group = entry.MessageGroupId as string | undefined;
    const dedupId = entry.MessageDeduplicationId as string | undefined;
    if (queue.fifo && group === undefined)
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
    if (queue.fifo && dedupId === undefined)
      throw new SqsError(
        'InvalidParameterValue',
        'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    const result: Json = { MessageId: randomUUID(), MD5OfMessageBody: md5(body) };
    const attributesMd5 = md5OfAttributes(attributes);
    if (attributesMd5 !== undefined) result.MD5OfMessageAttributes = attributesMd5;
    if (queue.fifo) {
      const dedupKey = `${queue.name}|${dedupId}`;
      const seenAt = dedup.get(dedupKey);
      result.SequenceNumber = String(now() * 1000);
      if (seenAt !== undefined && now() - seenAt < DEDUP_WINDOW_MS) return result;
      dedup.set(dedupKey, now());
    }
    queue.messages.push({
      MessageId: String(result.MessageId),
      Body: body,
      MessageAttributes: attributes,
      MessageGroupId: group,
      MessageDeduplicationId: dedupId,
      sentAt: now(),
      receiveCount: 0,
      invisibleUntil: 0,
      receiptHandle: undefined,
    });
    return result;
  }

  function checkBatch(entries: unknown, sizeOf?: (entry: Json) => number): Json[] {
    if (!Array.isArray(entries) || entries.length === 0)
      throw new SqsError(
        'EmptyBatchRequest',
        'There should be at least one SendMessageBatchRequestEntry in the request.',
      );
    if (entries.length > MAX_BATCH)
      throw new SqsError(
        'TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are ${MAX_BATCH}.`,
      );
    const ids = (entries as Json[]).map((e) => String(e.Id ?? ''));
    if (ids.some((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id)))
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores.',
      );
    if (new Set(ids).size !== ids.length)
      throw new SqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries have the same Id.');
    if (sizeOf !== undefined) {
      const total = (entries as Json[]).reduce((sum, e) => sum + sizeOf(e), 0);
      if (total > MAX_BATCH_BYTES)
        throw new SqsError(
          'BatchRequestTooLong',
          `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes.`,
        );
    }
    return entries as Json[];
  }

  function visible(queue: FakeQueue): QueuedMessage[] {
    const t = now();
    if (!queue.fifo) return queue.messages.filter((m) => m.invisibleUntil <= t);
    const blocked = new Set(queue.messages.filter((m) => m.invisibleUntil > t).map((m) => m.MessageGroupId));
    return queue.messages.filter((m) => m.invisibleUntil <= t && !blocked.has(m.MessageGroupId));
  }

  function remove(queue: FakeQueue, handle: string): void {
    const index = queue.messages.findIndex((m) => m.receiptHandle === handle);
    if (index < 0)
      throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not valid.`);
    queue.messages.splice(index, 1);
  }

  const actions: Record<string, (params: Json) => Json> = {
    SendMessage(params) {
      const queue = queueOf(params);
      if (entrySize(params) > MAX_BATCH_BYTES)
        throw new SqsError(
          'InvalidParameterValue',
          'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.',
        );
      return accept(queue, params);
    },
    SendMessageBatch(params) {
      const queue = queueOf(params);
      const entries = checkBatch(params.Entries, entrySize);
      const Successful: Json[] = [];
      const Failed: Json[] = [];
      for (const entry of entries) {
        const identity = JSON.stringify({ q: queue.name, b: entry.MessageBody, g: entry.MessageGroupId });
        const attempt = attempts.get(identity) ?? 0;
        attempts.set(identity, attempt + 1);
        const injected = plan?.(entry, attempt);
        if (injected !== undefined) {
          Failed.push({
            Id: entry.Id,
            SenderFault: injected.senderFault,
            Code: injected.code,
            Message: injected.message ?? injected.code,
          });
          continue;
        }
        try {
          Successful.push({ Id: entry.Id, ...accept(queue, entry) });
        } catch (error) {
          if (!(error instanceof SqsError)) throw error;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage(params) {
      const queue = queueOf(params);
      const max = Number(params.MaxNumberOfMessages ?? 1);
      if (!Number.isInteger(max) || max < 1 || max > 10)
        throw new SqsError(
          'InvalidParameterValue',
          'Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.',
        );
      const timeout = Number(params.VisibilityTimeout ?? queue.visibilityTimeoutSeconds);
      const names = (params.MessageAttributeNames ?? []) as string[];
      const wantAll = names.includes('All') || names.includes('.*');
      const messages = visible(queue).slice(0, max);
      const t = now();
      const Messages = messages.map((m) => {
        m.receiveCount += 1;
        m.invisibleUntil = t + timeout * 1000;
        m.receiptHandle = Buffer.from(`${m.MessageId}:${randomUUID()}`).toString('base64');
        const attributes = Object.fromEntries(
          Object.entries(m.MessageAttributes).filter(([name]) => wantAll || names.includes(name)),
        );
        const out: Json = {
          MessageId: m.MessageId,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: md5(m.Body),
          Body: m.Body,
          Attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentAt),
            ...(m.MessageGroupId !== undefined ? { MessageGroupId: m.MessageGroupId } : {}),
          },
        };
        if (Object.keys(attributes).length > 0) {
          out.MessageAttributes = attributes;
          out.MD5OfMessageAttributes = md5OfAttributes(attributes);
        }
        return out;
      });
      return Messages.length > 0 ? { Messages } : {};
    },
    DeleteMessage(params) {
      remove(queueOf(params), String(params.ReceiptHandle ?? ''));
      return {};
    },
    DeleteMessageBatch(params) {
      const queue = queueOf(params);
      const Successful: Json[] = [];
      const Failed: Json[] = [];
      for (const entry of checkBatch(params.Entries)) {
        try {
          remove(queue, String(entry.ReceiptHandle ?? ''));
          Successful.push({ Id: entry.Id });
        } catch (error) {
          if (!(error instanceof SqsError)) throw error;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
        }
      }
      return { Successful, Failed };
    },
    GetQueueAttributes(params) {
      const queue = queueOf(params);
      const t = now();
      return {
        Attributes: {
          QueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${queue.name}`,
          ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.invisibleUntil <= t).length),
          ApproximateNumberOfMessagesNotVisible: String(
            queue.messages.filter((m) => m.invisibleUntil > t).length,
          ),
          VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
          ...(queue.fifo ? { FifoQueue: 'true' } : {}),
        },
      };
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const accessKeyId = sigV4AccessKeyId(req);
    if (accessKeyId === undefined)
      return sendError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    const contentType = req.headers['content-type'];
    let params: Json;
    try {
      params = JSON.parse(body.toString('utf8') || '{}') as Json;
    } catch {
      return sendError(res, 400, 'SerializationException', 'body is not JSON');
    }
    const call: SqsCall = {
      action,
      accessKeyId,
      queryMode: req.headers['x-amzn-query-mode'] === 'true',
      contentType,
      params,
      bodyBytes: body.length,
      status: 0,
      errorType: undefined,
    };
    calls.push(call);
    const fail = (status: number, type: string, message: string) => {
      call.status = status;
      call.errorType = type;
      sendError(res, status, type, message);
    };
    if (req.method !== 'POST' || contentType !== 'application/x-amz-json-1.0')
      return fail(
        400,
        'UnsupportedOperation',
        'expected POST with application/x-amz-json-1.0 (AWS JSON 1.0)',
      );
    const run = actions[action];
    if (run === undefined) return fail(400, 'UnsupportedOperation', `${target} is not implemented here`);
    const requestFailure = requestFailures.take();
    if (requestFailure !== undefined)
      return fail(requestFailure.status, requestFailure.type, requestFailure.message);
    try {
      const result = run(params);
      call.status = 200;
      sendJson(res, 200, result, AWS_JSON_1_0);
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      fail(error.status, error.type, error.message);
    }
  }

  const { endpoint, close } = await startLocalServer(handle, {
    onError: (error, _req, res) => sendError(res, 500, 'InternalError', String(error)),
  });
  return {
    endpoint,
    calls,
    createQueue(name, options = {}) {
      const queue: FakeQueue = {
        name,
        url: `${endpoint}/${ACCOUNT}/${name}`,
        fifo: name.endsWith('.fifo'),
        visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
        messages: [],
      };
      queues.set(name, queue);
      return queue;
    },
    queue: (nameOrUrl) => queues.get(nameOrUrl.split('/').pop() ?? ''),
    advance(ms) {
      offset += ms;
    },
    failEntries(next) {
      plan = next;
    },
    failNextRequests(count, status, type, message = type) {
      requestFailures.replace(count, { status, type, message });
    },
    close,
  };
}

const AWS_JSON_1_0 = { contentType: 'application/x-amz-json-1.0', requestIdHeader: 'x-amzn-requestid' };

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  const fault = status >= 500 ? 'Receiver' : 'Sender';
  sendJson(
    res,
    status,
    { __type: `com.amazonaws.sqs#${type}`, message },
    {
      ...AWS_JSON_1_0,
      headers: { 'x-amzn-query-error': `${QUERY_CODES[type] ?? type};${fault}` },
    },
  );
}
