/**
 * The alerting dead-letter queue on SQS: one message per incident update a
 * destination could not take, body the {@link DeadLetter} record
 * (`{version, destination, reason, dead_lettered_at, update}`), message
 * attributes `destination`, `incident_key` and `revision` (to filter and
 * inspect without parsing bodies). Sent with `SendMessageBatch`, at most 10
 * entries and 256 KB a request; entries that failed for a passing reason
 * (not the sender's fault) are sent again with jittered backoff. A FIFO queue
 * (URL ending in `.fifo`) gets the incident key as `MessageGroupId`, so one
 * incident's letters stay in revision order, and a deduplication id made of
 * destination, key and revision, so a replayed dead-lettering is one message.
 *
 * {@link redriveDeadLetters} reads the queue back: receives, re-delivers each
 * letter to its destination, deletes what was delivered and leaves the rest
 * to reappear when their visibility timeout ends (after the queue's own
 * `maxReceiveCount`, its redrive policy moves them aside).
 */
import { createHash } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type DeadLetter,
  deadLetterOf,
  emptyRedriveSummary,
  parseDeadLetter,
  type Redeliverer,
  type RedriveSummary,
  redeliver,
} from '../../detectors/alerting/dead-letter.js';
import type { IncidentUpdate } from '../../detectors/alerting/incident.js';
import type { AlertDestination, DeadLetterSink } from '../../detectors/alerting/ports.js';
import { type BackoffOptions, backoffDelay, sleep as defaultSleep, type Sleep } from '../retry/backoff.js';

export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
/** Timeline entries kept when a letter has to be shrunk to fit in one message. */
const SHRUNK_TIMELINE = 5;

export class DeadLetterQueueError extends Error {
  constructor(
    readonly queueUrl: string,
    readonly undelivered: readonly { key: string; revision: number; error: string }[],
    options?: { cause?: unknown },
  ) {
    const codes = [...new Set(undelivered.map((u) => u.error))].join('; ');
    super(`${undelivered.length} dead letters not sent to ${queueUrl} (${codes})`, options);
    this.name = 'DeadLetterQueueError';
  }
}

export interface SqsDeadLetterQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Retries of failed entries after the first request (default 5; 100 ms doubling, at most 5 s). */
  readonly retry?: BackoffOptions;
  readonly sleep?: Sleep;
  /** Epoch ms, for `dead_lettered_at` (default `Date.now`). */
  readonly now?: () => number;
}

export function isFifoQueue(queueUrl: string): boolean {
  return queueUrl.endsWith('.fifo');
}

/** A message's size as SQS counts it: the body plus each attribute's name, type and value. */
export function messageSize(
  entry: Pick<SendMessageBatchRequestEntry, 'MessageBody' | 'MessageAttributes'>,
): number {
  let size = Buffer.byteLength(entry.MessageBody ?? '', 'utf8');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {}))
    size +=
      Buffer.byteLength(name, 'utf8') +
      Buffer.byteLength(value.DataType ?? '', 'utf8') +
      Buffer.byteLength(value.StringValue ?? '', 'utf8') +
      (value.BinaryValue?.byteLength ?? 0);
  return size;
}

/** A letter small enough for one message: the finding's bulk and the older timeline go first. */
function shrink(letter: DeadLetter): DeadLetter {
  const { incident, finding } = letter.update;
  const update: IncidentUpdate = {
    change: letter.update.change,
    incident: { ...incident, timeline: incident.timeline.slice(-SHRUNK_TIMELINE) },
    ...(finding !== undefined
      ? {
          finding: {
            ...finding,
            evidence: { ...finding.evidence, event_uids: finding.evidence.event_uids.slice(0, 10) },
            anomaly_analyses: finding.anomaly_analyses?.slice(0, 1),
          },
        }
      : {}),
  };
  return { ...letter, update };
}

export class SqsDeadLetterQueue implements DeadLetterSink {
  readonly stats = { requests: 0, sent: 0, entryRetries: 0, shrunk: 0 };
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly fifo: boolean;
  private readonly retry: Required<BackoffOptions>;
  private readonly sleep: Sleep;
  private readonly now: () => number;

  constructor(options: SqsDeadLetterQueueOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
    this.fifo = isFifoQueue(options.queueUrl);
    this.retry = { retries: 5, baseMs: 100, maxMs: 5_000, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  /** Sends one message per update; throws {@link DeadLetterQueueError} when some could not be kept. */
  async put(destination: string, updates: readonly IncidentUpdate[], reason: string): Promise<void> {
    const now = this.now();
    const entries = updates.map((update, index) =>
      this.entryFor(deadLetterOf(destination, update, reason, now), index),
    );
    const undelivered: { key: string; revision: number; error: string }[] = [];
    for (const batch of batches(entries)) undelivered.push(...(await this.send(batch)));
    if (undelivered.length > 0) throw new DeadLetterQueueError(this.queueUrl, undelivered);
  }

  private entryFor(
    letter: DeadLetter,
    index: number,
  ): { letter: DeadLetter; entry: SendMessageBatchRequestEntry } {
    const { key, revision } = letter.update.incident;
    const make = (l: DeadLetter): SendMessageBatchRequestEntry => ({
      Id: `m${index}`,
      MessageBody: JSON.stringify(l),
      MessageAttributes: {
        destination: { DataType: 'String', StringValue: l.destination },
        incident_key: { DataType: 'String', StringValue: key },
        revision: { DataType: 'Number', StringValue: String(revision) },
      } satisfies Record<string, MessageAttributeValue>,
      ...(this.fifo
        ? {
            MessageGroupId: key.slice(0, 128),
            MessageDeduplicationId: createHash('sha256')
              .update(`${l.destination}|${key}|${revision}`)
              .digest('hex')
              .slice(0, 128),
          }
        : {}),
    });
    let entry = make(letter);
    if (messageSize(entry) > MAX_REQUEST_BYTES) {
      this.stats.shrunk += 1;
      entry = make(shrink(letter));
    }
    return { letter, entry };
  }

  private async send(
    batch: readonly { letter: DeadLetter; entry: SendMessageBatchRequestEntry }[],
  ): Promise<{ key: string; revision: number; error: string }[]> {
    let pending = batch;
    const refused: { key: string; revision: number; error: string }[] = [];
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.stats.entryRetries += pending.length;
        await this.sleep(backoffDelay(attempt, this.retry));
      }
      this.stats.requests += 1;
      let failedById: Map<string, { code: string; senderFault: boolean }>;
      try {
        const response = await this.client.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending.map((p) => p.entry) }),
        );
        failedById = new Map(
          (response.Failed ?? []).map((f) => [
            f.Id ?? '',
            { code: `${f.Code ?? 'Failed'}: ${f.Message ?? ''}`.trim(), senderFault: f.SenderFault === true },
          ]),
        );
      } catch (error) {
        // After the SDK client's own retries: the queue is out of reach; every entry failed.
        const code = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        failedById = new Map(pending.map((p) => [p.entry.Id ?? '', { code, senderFault: false }]));
      }
      const again: (typeof pending)[number][] = [];
      for (const item of pending) {
        const failure = failedById.get(item.entry.Id ?? '');
        if (failure === undefined) {
          this.stats.sent += 1;
          continue;
        }
        const record = {
          key: item.letter.update.incident.key,
          revision: item.letter.update.incident.revision,
          error: failure.code,
        };
        if (failure.senderFault || attempt >= this.retry.retries) refused.push(record);
        else again.push(item);
      }
      if (again.length === 0) return refused;
      pending = again;
    }
  }
}

function batches<T extends { entry: SendMessageBatchRequestEntry }>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = messageSize(item.entry);
    if (
      current.length === MAX_ENTRIES_PER_REQUEST ||
      (current.length > 0 && bytes + size > MAX_REQUEST_BYTES)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

// ── Reading back ────────────────────────────────────────────────────────────

export interface RedriveDeadLettersOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** The configured destinations by name; letters naming another stay in the queue. */
  readonly destinations: ReadonlyMap<string, AlertDestination>;
  /** How letters are delivered again (default: as written, {@link redeliver}; the alerter's brings them up to date). */
  readonly redeliver?: Redeliverer;
  /** Stop after receiving this many messages (default 100). */
  readonly maxMessages?: number;
  /** How long received messages stay hidden while being re-driven (default: the queue's own). */
  readonly visibilityTimeoutSeconds?: number;
  /** Long-poll wait of each receive (default 0: stop as soon as the queue looks empty). */
  readonly waitTimeSeconds?: number;
}

/** One received message, as {@link readDeadLetters} gives it. */
export interface ReceivedDeadLetter {
  readonly receiptHandle: string;
  readonly messageId: string;
  /** Undefined when the body is not a dead letter. */
  readonly letter: DeadLetter | undefined;
}

/** Receives up to `max` (≤ 10) messages of the queue. */
export async function readDeadLetters(
  client: SQSClient,
  queueUrl: string,
  max: number,
  options: Pick<RedriveDeadLettersOptions, 'visibilityTimeoutSeconds' | 'waitTimeSeconds'> = {},
): Promise<ReceivedDeadLetter[]> {
  const response = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(MAX_ENTRIES_PER_REQUEST, max)),
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: options.waitTimeSeconds ?? 0,
      ...(options.visibilityTimeoutSeconds !== undefined
        ? { VisibilityTimeout: options.visibilityTimeoutSeconds }
        : {}),
    }),
  );
  return (response.Messages ?? []).flatMap((m) =>
    m.ReceiptHandle === undefined
      ? []
      : [
          {
            receiptHandle: m.ReceiptHandle,
            messageId: m.MessageId ?? '',
            letter: parseDeadLetter(m.Body ?? ''),
          },
        ],
  );
}

/**
 * Re-drives the queue: receive, deliver again, delete what was delivered,
 * leave the rest. What `trailhound notify redrive` and the operator Lambda run.
 */
export async function redriveDeadLetters(options: RedriveDeadLettersOptions): Promise<RedriveSummary> {
  const max = options.maxMessages ?? 100;
  const summary = emptyRedriveSummary();
  let seen = 0;
  while (seen < max) {
    const received = await readDeadLetters(options.client, options.queueUrl, max - seen, options);
    if (received.length === 0) break;
    seen += received.length;
    const readable = received.filter((r) => r.letter !== undefined);
    summary.unreadable += received.length - readable.length;
    const outcomes = await (options.redeliver ?? redeliver)(
      readable.map((r) => r.letter as DeadLetter),
      options.destinations,
      summary,
    );
    const done = readable.filter((_, i) => outcomes[i]?.status === 'delivered');
    if (done.length > 0)
      await options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((r, i) => ({ Id: `d${i}`, ReceiptHandle: r.receiptHandle })),
        }),
      );
  }
  summary.received += summary.unreadable;
  return summary;
}
