/**
 * Where a pull of a cloud audit-log API (GCP Cloud Logging, Azure Log
 * Analytics) stands: one checkpoint per stream, kept in the profile table
 * (single-table design, see README.md beside this file).
 *
 * A checkpoint is a high-water mark plus the ids already delivered inside the
 * overlap window below it. Audit logs arrive late (an entry can become
 * visible minutes after its timestamp), so each run queries again from
 * `windowStart` (high-water − overlap) and passes over the ids found in
 * `seen`: what was at-least-once on the wire is exactly-once for detection.
 * The window logic itself lives in `adapters/pull/checkpointed-pull.ts`; this
 * module stores its state.
 *
 * Item: `pk = CHECKPOINT#<stream>` (e.g. `CHECKPOINT#gcp:projects/p1`), `sk =
 * v1`, written whole with a conditional `PutItem` on `version`, so two runs of
 * one stream can never both advance it: the second gets a
 * {@link CheckpointConflictError} and stops.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DEFAULT_MAX_ITEM_BYTES, itemSize, PROFILE_ITEM_SK } from './profile-store.js';

export const CHECKPOINT_PK_PREFIX = 'CHECKPOINT#';

/** Ids delivered at one event time (epoch ms), as short hashes; sorted by time in {@link Checkpoint.seen}. */
export type SeenGroup = readonly [time: number, ids: readonly string[]];

/** What a pull needs to resume a stream. */
export interface CheckpointState {
  /** `gcp:<resourceName>`, `azure:<workspaceId>:<table>`. */
  readonly stream: string;
  /** Newest event time delivered, epoch ms. */
  readonly highWater: number;
  /** Where the next run's query starts (epoch ms): `highWater − overlap`, or later if `seen` had to be cut. */
  readonly windowStart: number;
  /** Every id delivered with a time at or after `windowStart`, grouped by time, oldest first. */
  readonly seen: readonly SeenGroup[];
}

export interface Checkpoint extends CheckpointState {
  /** Optimistic-concurrency token: 1 after the first save, +1 per save. */
  readonly version: number;
  /** Wall-clock time of the save, epoch ms. */
  readonly updatedAt: number;
}

/** The port: load a stream's checkpoint, save a new one if nobody else did in between. */
export interface CheckpointStore {
  load(stream: string): Promise<Checkpoint | undefined>;
  /**
   * Saves `state` if the stored checkpoint still has `expectedVersion` (0: none
   * stored yet); returns what was stored. Throws {@link CheckpointConflictError}
   * otherwise.
   */
  save(state: CheckpointState, expectedVersion: number): Promise<Checkpoint>;
}

export class CheckpointStoreError extends Error {
  constructor(
    message: string,
    readonly details: { readonly stream: string; readonly table?: string; readonly operation?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another run saved the stream's checkpoint first: this run must stop (its last page may be delivered again). */
export class CheckpointConflictError extends CheckpointStoreError {
  constructor(
    stream: string,
    readonly expectedVersion: number,
    options?: { table?: string; cause?: unknown },
  ) {
    super(
      `the checkpoint of ${stream} is no longer at version ${expectedVersion}: another run of this stream saved it first`,
      { stream, ...(options?.table !== undefined ? { table: options.table } : {}), operation: 'PutItem' },
      options,
    );
  }
}

/** The stored item is not a checkpoint this code can read. */
export class CheckpointFormatError extends CheckpointStoreError {}

/** The reference semantics, for tests and single-process hosts. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly items = new Map<string, Checkpoint>();

  constructor(private readonly clock: () => number = Date.now) {}

  async load(stream: string): Promise<Checkpoint | undefined> {
    const item = this.items.get(stream);
    return item === undefined ? undefined : structuredClone(item);
  }

  async save(state: CheckpointState, expectedVersion: number): Promise<Checkpoint> {
    const current = this.items.get(state.stream)?.version ?? 0;
    if (current !== expectedVersion) throw new CheckpointConflictError(state.stream, expectedVersion);
    const saved: Checkpoint = { ...structuredClone(state), version: current + 1, updatedAt: this.clock() };
    this.items.set(state.stream, saved);
    return structuredClone(saved);
  }
}

export interface DynamoCheckpointStoreOptions {
  readonly client: DynamoDBClient;
  /** The profile table (`createProfileTable` creates it). */
  readonly tableName: string;
  /** Refuse items above this size before sending them (DynamoDB's limit is 400 KB). */
  readonly maxItemBytes?: number;
  readonly clock?: () => number;
}

export function checkpointKey(stream: string): Record<string, AttributeValue> {
  return { pk: { S: `${CHECKPOINT_PK_PREFIX}${stream}` }, sk: { S: PROFILE_ITEM_SK } };
}

export class DynamoCheckpointStore implements CheckpointStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly maxItemBytes: number;
  private readonly clock: () => number;

  constructor(options: DynamoCheckpointStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.maxItemBytes = options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
    this.clock = options.clock ?? Date.now;
  }

  async load(stream: string): Promise<Checkpoint | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      // Consistent: a stale read would resume from an older mark and fail its first save.
      const response = await this.client.send(
        new GetItemCommand({ TableName: this.table, Key: checkpointKey(stream), ConsistentRead: true }),
      );
      item = response.Item;
    } catch (error) {
      throw this.wrap(error, stream, 'GetItem');
    }
    return item === undefined ? undefined : this.fromItem(item, stream);
  }

  async save(state: CheckpointState, expectedVersion: number): Promise<Checkpoint> {
    const saved: Checkpoint = { ...state, version: expectedVersion + 1, updatedAt: this.clock() };
    const item = this.toItem(saved);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
        }),
      );
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as { name?: string }).name === 'ConditionalCheckFailedException'
      )
        throw new CheckpointConflictError(state.stream, expectedVersion, { table: this.table, cause: error });
      throw this.wrap(error, state.stream, 'PutItem');
    }
    return saved;
  }

  private toItem(checkpoint: Checkpoint): Record<string, AttributeValue> {
    const ids = checkpoint.seen.reduce((sum, [, group]) => sum + group.length, 0);
    const item: Record<string, AttributeValue> = {
      ...checkpointKey(checkpoint.stream),
      stream: { S: checkpoint.stream },
      version: { N: String(checkpoint.version) },
      highWater: { N: String(checkpoint.highWater) },
      windowStart: { N: String(checkpoint.windowStart) },
      seenIds: { N: String(ids) },
      // One string: the ids are only ever used whole, and JSON costs no per-attribute overhead.
      seen: { S: JSON.stringify(checkpoint.seen) },
      updatedAt: { N: String(checkpoint.updatedAt) },
    };
    const bytes = itemSize(item);
    if (bytes > this.maxItemBytes)
      throw new CheckpointStoreError(
        `checkpoint of ${checkpoint.stream} would be ${Math.ceil(bytes / 1024)} KB (${ids} ids), over the ${Math.floor(this.maxItemBytes / 1024)} KB item guard; lower maxSeenIds`,
        { stream: checkpoint.stream, table: this.table, operation: 'PutItem' },
      );
    return item;
  }

  private fromItem(item: Record<string, AttributeValue>, stream: string): Checkpoint {
    const numbers = ['version', 'highWater', 'windowStart', 'updatedAt'].map((name) => Number(item[name]?.N));
    const [version, highWater, windowStart, updatedAt] = numbers as [number, number, number, number];
    let seen: unknown;
    try {
      seen = JSON.parse(item.seen?.S ?? 'null');
    } catch (error) {
      throw new CheckpointFormatError(
        `checkpoint of ${stream} in ${this.table}: seen is not JSON`,
        { stream, table: this.table },
        { cause: error },
      );
    }
    if (item.stream?.S !== stream || numbers.some((n) => !Number.isFinite(n)) || !isSeen(seen))
      throw new CheckpointFormatError(
        `item ${item.pk?.S} of ${this.table} is not a v1 checkpoint of ${stream}`,
        {
          stream,
          table: this.table,
        },
      );
    return { stream, version, highWater, windowStart, updatedAt, seen };
  }

  private wrap(error: unknown, stream: string, operation: string): CheckpointStoreError {
    const name = (error as { name?: string }).name ?? 'Error';
    const message = (error as { message?: string }).message ?? String(error);
    return new CheckpointStoreError(
      `${operation} of the checkpoint of ${stream} in ${this.table} failed: ${name}: ${message}`,
      { stream, table: this.table, operation },
      { cause: error },
    );
  }
}

function isSeen(value: unknown): value is SeenGroup[] {
  return (
    Array.isArray(value) &&
    value.every(
      (group) =>
        Array.isArray(group) &&
        group.length === 2 &&
        typeof group[0] === 'number' &&
        Array.isArray(group[1]) &&
        (group[1] as unknown[]).every((id) => typeof id === 'string'),
    )
  );
}
