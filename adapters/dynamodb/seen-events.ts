/**
 * The seen-event ledger ({@link SeenEventLedger}) on the profile table: which
 * CloudTrail events were already evaluated, so that an event delivered by both
 * the EventBridge feed (seconds after the call) and the trail's S3 log file
 * (minutes after) is scored and matched once.
 *
 * Item: `pk = SEEN#<account>#<region>#<minute>` (the event's cloud account and
 * region, its time cut to the minute, ISO `yyyy-mm-ddThh:mm`), `sk = v1`,
 * `ids` a binary set of 8-byte hashes of the events' uids, `expiresAt` the TTL.
 *
 * Why this shape:
 * - **Keyed like the S3 path reads.** A trail log file holds one account and
 *   region over about five minutes, so checking a file costs one
 *   `BatchGetItem` of about five keys, and remembering it about five
 *   `UpdateItem`s, whatever its size. An EventBridge batch spans a minute or two
 *   of a few accounts: a handful of keys as well. Per-event items would cost a
 *   write per event.
 * - **A set, added to with `ADD`.** Adding the same hash twice changes nothing,
 *   so remembering is idempotent and needs no condition: two paths remembering
 *   at once both succeed.
 * - **8-byte hashes** (the first 64 bits of SHA-256): with 40,000 events in one
 *   account, region and minute the chance of any collision is about 4·10⁻¹¹.
 *   An item holds about 45,000 of them before DynamoDB's 400 KB limit; past
 *   that, the write is refused and the ledger counts `overflows` and goes on:
 *   those events may then be scored by both paths (never missed).
 * - **TTL of three days** after the minute: S3 delivery is minutes late, so the
 *   ledger only has to bridge the gap between the two paths, not history.
 *
 * Check and remember are separate steps (the pipeline remembers only once
 * findings are out), so an event arriving on both paths in the same second may
 * be evaluated twice; the profile store's batch ledger and the stable finding
 * ids keep that harmless for baselines and findings.
 */
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SeenEventLedger } from '../../detectors/pipeline/ports.js';
import type { NormalizedEvent } from '../../detectors/schema/event.js';
import { sleep as defaultSleep, type Sleep } from '../retry/backoff.js';
import { PROFILE_ITEM_SK } from './profile-store.js';

export const SEEN_PK_PREFIX = 'SEEN#';
const BATCH_GET_LIMIT = 100;
const DAY_MS = 86_400_000;

export interface DynamoSeenEventLedgerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** How long after its minute an item is kept (default 3 days). */
  readonly retentionMs?: number;
  /** `UnprocessedKeys` re-asked this many times before failing (default 8). */
  readonly maxUnprocessedAttempts?: number;
  readonly sleep?: Sleep;
}

export interface SeenEventLedgerStats {
  reads: number;
  writes: number;
  /** Items that were full (400 KB): their events may be evaluated twice. */
  overflows: number;
}

export class SeenEventLedgerError extends Error {
  constructor(
    message: string,
    readonly table: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SeenEventLedgerError';
  }
}

/** The ledger key of an event: its account, region and minute. */
export function seenEventKey(event: NormalizedEvent): string {
  const minute = new Date(Math.floor(event.time / 60_000) * 60_000).toISOString().slice(0, 16);
  return `${SEEN_PK_PREFIX}${event.cloud.account}#${event.cloud.region ?? '-'}#${minute}`;
}

/** The 8-byte hash the ledger keeps of an event uid. */
function uidHash(uid: string): Buffer {
  return createHash('sha256').update(uid).digest().subarray(0, 8);
}

/** One remembered event as a string, for set membership in memory. */
function ledgerEntry(key: string, hash: Uint8Array): string {
  return `${key}|${Buffer.from(hash).toString('base64')}`;
}

export class DynamoSeenEventLedger implements SeenEventLedger {
  readonly stats: SeenEventLedgerStats = { reads: 0, writes: 0, overflows: 0 };
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly retentionMs: number;
  private readonly maxUnprocessedAttempts: number;
  private readonly sleep: Sleep;

  constructor(options: DynamoSeenEventLedgerOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.retentionMs = options.retentionMs ?? 3 * DAY_MS;
    this.maxUnprocessedAttempts = options.maxUnprocessedAttempts ?? 8;
    this.sleep = options.sleep ?? defaultSleep;
  }

  async unseen(events: readonly NormalizedEvent[]): Promise<NormalizedEvent[]> {
    const keys = [...new Set(events.map(seenEventKey))];
    const seen = new Set<string>();
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT)
      for (const hash of await this.read(keys.slice(start, start + BATCH_GET_LIMIT))) seen.add(hash);
    if (seen.size === 0) return [...events];
    return events.filter((event) => !seen.has(ledgerEntry(seenEventKey(event), uidHash(event.metadata.uid))));
  }

  async remember(events: readonly NormalizedEvent[]): Promise<void> {
    const byKey = new Map<string, { hashes: Map<string, Buffer>; minute: number }>();
    for (const event of events) {
      const key = seenEventKey(event);
      let group = byKey.get(key);
      if (group === undefined) {
        group = { hashes: new Map(), minute: Math.floor(event.time / 60_000) * 60_000 };
        byKey.set(key, group);
      }
      const hash = uidHash(event.metadata.uid);
      group.hashes.set(hash.toString('base64'), hash);
    }
    await Promise.all(
      [...byKey].map(([key, group]) => this.add(key, [...group.hashes.values()], group.minute)),
    );
  }

  /** The hashes stored under `keys`, each as `<key>|<base64 hash>`. */
  private async read(keys: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    let pending: Record<string, AttributeValue>[] = keys.map((pk) => ({
      pk: { S: pk },
      sk: { S: PROFILE_ITEM_SK },
    }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      this.stats.reads += 1;
      let response: BatchGetItemCommandOutput;
      try {
        response = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.table]: { Keys: pending, ProjectionExpression: 'pk, ids' },
            },
          }),
        );
      } catch (error) {
        throw new SeenEventLedgerError(`cannot read the seen-event ledger of ${this.table}`, this.table, {
          cause: error,
        });
      }
      for (const item of response.Responses?.[this.table] ?? []) {
        const pk = item.pk?.S;
        for (const hash of item.ids?.BS ?? []) found.push(ledgerEntry(pk ?? '', hash));
      }
      pending = response.UnprocessedKeys?.[this.table]?.Keys ?? [];
      if (pending.length === 0) break;
      if (attempt >= this.maxUnprocessedAttempts)
        throw new SeenEventLedgerError(
          `${pending.length} seen-event keys still unprocessed after ${attempt} attempts`,
          this.table,
        );
      await this.sleep(Math.random() * Math.min(5_000, 50 * 2 ** attempt));
    }
    return found;
  }

  private async add(key: string, hashes: readonly Buffer[], minute: number): Promise<void> {
    this.stats.writes += 1;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: key }, sk: { S: PROFILE_ITEM_SK } },
          UpdateExpression: 'ADD ids :ids SET expiresAt = :ttl',
          ExpressionAttributeValues: {
            ':ids': { BS: hashes as Buffer[] },
            ':ttl': { N: String(Math.ceil((minute + this.retentionMs) / 1000)) },
          },
        }),
      );
    } catch (error) {
      if (isItemTooLarge(error)) {
        this.stats.overflows += 1;
        return;
      }
      throw new SeenEventLedgerError(`cannot remember evaluated events under ${key}`, this.table, {
        cause: error,
      });
    }
  }
}

function isItemTooLarge(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e.name === 'ValidationException' && /item size/i.test(e.message ?? '');
}
