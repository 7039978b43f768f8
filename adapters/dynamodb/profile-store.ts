/**
 * Behavioural profiles in one DynamoDB table (the real service in AWS,
 * dynalite locally). The single-table layout, TTL and concurrency design are
 * documented in `README.md` beside this file; in short:
 *
 * - one item per subject: `pk = "PROFILE#<subject>"`, `sk = "v1"`, the
 *   profile as JSON in `profile`, its `version`, and `expiresAt` (epoch
 *   seconds, the table's TTL attribute) = last activity + retention;
 * - reads are `BatchGetItem`s of at most 100 keys, `UnprocessedKeys` retried
 *   with exponential backoff;
 * - writes are one conditional `PutItem` per subject per batch, conditioned on
 *   the version read (`attribute_not_exists` for a new subject). When another
 *   writer got there first the item is read again and the delta merged again;
 *   `mergeDelta` recognizes a batch already in the profile, so a replayed or
 *   retried batch is never counted twice.
 *
 * A profile remembers only its last batches (`ProfilePolicy.rememberedBatches`),
 * so a batch replayed long after (a re-scan of old files, a backfill run
 * twice) would be merged again by the profiles alone. The batch ledger closes
 * that: once every delta of a batch is merged, one `BATCH#<id>` item records
 * it, and `apply` checks it first (one GetItem) — a batch in the ledger costs
 * no write at all. It is on by default; `batchLedger: false` saves the one
 * write per batch where replays are only ever recent.
 *
 * Throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`)
 * is retried by the SDK client's own retry strategy (configure it with
 * `maxAttempts` / `retryMode` on the client); `stats.throttleRetries` counts the
 * retries it made.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DEFAULT_PROFILE_POLICY,
  emptyProfile,
  mergeDelta,
  type Profile,
  type ProfileDelta,
  type ProfilePolicy,
} from '../../detectors/baselines/profile.js';
import type { ApplyResult, ProfileStore } from '../../detectors/baselines/store.js';
import {
  ProfileContentionError,
  ProfileFormatError,
  ProfileReadIncompleteError,
  ProfileStoreError,
  ProfileTooLargeError,
} from './errors.js';

/** Key schema and TTL attribute of the profile table; the CDK stack declares the same. */
export const PROFILE_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
} as const;

/** Sort key of the current profile format: a future format can live beside it and be migrated lazily. */
export const PROFILE_ITEM_SK = 'v1';
export const PROFILE_PK_PREFIX = 'PROFILE#';
export const BATCH_PK_PREFIX = 'BATCH#';
/** Table name of local mode (`trailhound scan --baselines`). */
export const DEFAULT_PROFILE_TABLE = 'trailhound-profiles';

/** DynamoDB's own limit is 400 KB per item; stay clearly below it. */
export const DEFAULT_MAX_ITEM_BYTES = 350 * 1024;
const BATCH_GET_LIMIT = 100;

export interface DynamoProfileStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The merge policy (value aging, caps, remembered batches); the same as the memory store's. */
  readonly policy?: ProfilePolicy;
  /** How long after its last activity a profile expires (`expiresAt`); default: the policy's `forgetAfterMs`. */
  readonly retentionMs?: number;
  /** Conditional writes per subject and batch before giving up with {@link ProfileContentionError}. Default 10. */
  readonly maxConditionalAttempts?: number;
  /** BatchGetItem calls per chunk while keys come back unprocessed. Default 8. */
  readonly maxUnprocessedAttempts?: number;
  /** Subjects written at the same time within one `apply`. Default 16. */
  readonly writeConcurrency?: number;
  /** Record merged batches in `BATCH#<id>` items and skip a batch found there (default true; see above). */
  readonly batchLedger?: boolean;
  /** Strongly consistent reads (default true): a stale read costs a failed conditional write, which costs more. */
  readonly consistentReads?: boolean;
  readonly maxItemBytes?: number;
  /** Backoff between conditional and unprocessed-key retries: full jitter over `baseMs · 2^attempt`, capped. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Wall clock for `updatedAt`. */
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the store did, in DynamoDB calls. */
export interface DynamoProfileStoreStats {
  /** BatchGetItem and GetItem calls made (each retry of unprocessed keys counts). */
  reads: number;
  /** Profiles found by those reads. */
  itemsRead: number;
  /** PutItem calls made (a conditional write that failed counts too; ledger writes too). */
  writes: number;
  /** Of those, batch-ledger writes (one per batch merged). */
  ledgerWrites: number;
  /** Batches found in the ledger: skipped whole, without a write. */
  ledgerHits: number;
  /** Profiles written. */
  written: number;
  /** Deltas not merged because their batch was already in the profile. */
  replayed: number;
  /** Conditional writes that failed because another writer changed the item first. */
  conditionalRetries: number;
  /** BatchGetItem calls repeated for UnprocessedKeys. */
  unprocessedRetries: number;
  /** Retries the SDK made on throttling or transient errors (from the responses' `$metadata.attempts`). */
  throttleRetries: number;
}

const NO_SUCH_ITEM = null;
/** What the store last read of a subject: its profile, or that it has none. Kept from `load` to `apply`. */
type Known = Profile | typeof NO_SUCH_ITEM;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function profileKey(subject: string): Record<string, AttributeValue> {
  return { pk: { S: `${PROFILE_PK_PREFIX}${subject}` }, sk: { S: PROFILE_ITEM_SK } };
}

export function batchKey(batchId: string): Record<string, AttributeValue> {
  return { pk: { S: `${BATCH_PK_PREFIX}${batchId}` }, sk: { S: PROFILE_ITEM_SK } };
}

export class DynamoProfileStore implements ProfileStore {
  readonly stats: DynamoProfileStoreStats = {
    reads: 0,
    itemsRead: 0,
    writes: 0,
    ledgerWrites: 0,
    ledgerHits: 0,
    written: 0,
    replayed: 0,
    conditionalRetries: 0,
    unprocessedRetries: 0,
    throttleRetries: 0,
  };
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly policy: ProfilePolicy;
  private readonly retentionMs: number;
  private readonly maxConditionalAttempts: number;
  private readonly maxUnprocessedAttempts: number;
  private readonly writeConcurrency: number;
  private readonly consistentReads: boolean;
  private readonly batchLedger: boolean;
  private readonly maxItemBytes: number;
  private readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /**
   * Profiles (and versions) read by `load`, used as the expected version by
   * the `apply` that follows, then dropped: memory stays bounded by a batch.
   */
  private readonly known = new Map<string, Known>();

  constructor(options: DynamoProfileStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.policy = options.policy ?? DEFAULT_PROFILE_POLICY;
    this.retentionMs = options.retentionMs ?? this.policy.forgetAfterMs;
    this.maxConditionalAttempts = options.maxConditionalAttempts ?? 10;
    this.maxUnprocessedAttempts = options.maxUnprocessedAttempts ?? 8;
    this.writeConcurrency = options.writeConcurrency ?? 16;
    this.consistentReads = options.consistentReads ?? true;
    this.batchLedger = options.batchLedger ?? true;
    this.maxItemBytes = options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
    this.backoff = options.backoff ?? { baseMs: 20, maxMs: 1_000 };
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  get tableName(): string {
    return this.table;
  }

  async load(subjects: readonly string[]): Promise<Map<string, Profile>> {
    const unique = [...new Set(subjects)];
    // Loads not followed by an apply (scoring only) must not grow this without bound.
    if (this.known.size > 100_000) this.known.clear();
    const found = new Map<string, Profile>();
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT)
      chunks.push(unique.slice(i, i + BATCH_GET_LIMIT));
    await forEachLimited(chunks, 4, async (chunk) => {
      for (const profile of await this.batchGet(chunk)) found.set(profile.subject, profile);
    });
    for (const subject of unique) this.known.set(subject, found.get(subject) ?? NO_SUCH_ITEM);
    return found;
  }

  async apply(batchId: string, deltas: readonly ProfileDelta[]): Promise<ApplyResult> {
    if (deltas.length === 0) return { written: 0, replayed: 0 };
    if (this.batchLedger && (await this.inLedger(batchId))) {
      for (const delta of deltas) this.known.delete(delta.subject);
      this.stats.ledgerHits += 1;
      this.stats.replayed += deltas.length;
      return { written: 0, replayed: deltas.length };
    }
    const unread = deltas.map((d) => d.subject).filter((s) => !this.known.has(s));
    if (unread.length > 0) await this.load(unread);
    let written = 0;
    let replayed = 0;
    await forEachLimited(deltas, this.writeConcurrency, async (delta) => {
      const current = this.known.get(delta.subject) ?? NO_SUCH_ITEM;
      this.known.delete(delta.subject);
      if (await this.applyOne(batchId, delta, current)) written += 1;
      else replayed += 1;
    });
    // Only now is the whole batch in: a failure before this leaves the ledger without it, and a
    // retry merges the rest (the profiles themselves recognize the subjects already done).
    if (this.batchLedger) await this.recordInLedger(batchId, deltas);
    return { written, replayed };
  }

  private async inLedger(batchId: string): Promise<boolean> {
    this.stats.reads += 1;
    try {
      const response = await this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: batchKey(batchId),
          ConsistentRead: this.consistentReads,
          ProjectionExpression: 'pk',
        }),
      );
      this.countRetries(response.$metadata.attempts);
      return response.Item !== undefined;
    } catch (error) {
      this.countRetries((error as { $metadata?: { attempts?: number } }).$metadata?.attempts);
      throw this.wrap(error, 'GetItem');
    }
  }

  private async recordInLedger(batchId: string, deltas: readonly ProfileDelta[]): Promise<void> {
    const now = this.clock();
    const lastSeen = Math.max(...deltas.map((d) => d.lastSeen));
    this.stats.writes += 1;
    this.stats.ledgerWrites += 1;
    try {
      const response = await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...batchKey(batchId),
            subjects: { N: String(deltas.length) },
            lastSeen: { N: String(lastSeen) },
            updatedAt: { N: String(now) },
            // As long as the newest profile it touched, and never less than the retention from now.
            expiresAt: { N: String(Math.ceil((Math.max(lastSeen, now) + this.retentionMs) / 1000)) },
          },
        }),
      );
      this.countRetries(response.$metadata.attempts);
    } catch (error) {
      this.countRetries((error as { $metadata?: { attempts?: number } }).$metadata?.attempts);
      throw this.wrap(error, 'PutItem');
    }
  }

  /** Merges one delta with optimistic concurrency; true when written, false when the batch was already in. */
  private async applyOne(batchId: string, delta: ProfileDelta, read: Known): Promise<boolean> {
    let current = read;
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= this.maxConditionalAttempts; attempt += 1) {
      const merged = mergeDelta(current ?? emptyProfile(delta.subject), delta, batchId, this.policy);
      if (merged === undefined) {
        this.stats.replayed += 1;
        return false;
      }
      const item = this.toItem(merged);
      try {
        this.stats.writes += 1;
        const response = await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: item,
            ...(current === NO_SUCH_ITEM
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: '#version = :expected',
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':expected': { N: String(current.version) } },
                }),
            // Real DynamoDB returns the winner's item with the failure, saving the re-read.
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        this.countRetries(response.$metadata.attempts);
        this.stats.written += 1;
        return true;
      } catch (error) {
        this.countRetries((error as { $metadata?: { attempts?: number } }).$metadata?.attempts);
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException')
          throw this.wrap(error, 'PutItem', delta.subject);
        this.stats.conditionalRetries += 1;
        lastConflict = error;
        const winner = (error as { Item?: Record<string, AttributeValue> }).Item;
        current =
          winner !== undefined && Object.keys(winner).length > 0
            ? this.fromItem(winner, delta.subject)
            : await this.getOne(delta.subject);
        if (attempt > 1) await this.sleep(this.delay(attempt - 1));
      }
    }
    throw new ProfileContentionError(this.table, delta.subject, this.maxConditionalAttempts, {
      cause: lastConflict,
    });
  }

  private async batchGet(subjects: readonly string[]): Promise<Profile[]> {
    const profiles: Profile[] = [];
    let keys: Array<Record<string, AttributeValue>> = subjects.map(profileKey);
    for (let attempt = 1; ; attempt += 1) {
      this.stats.reads += 1;
      let response: BatchGetItemCommandOutput;
      try {
        response = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: keys, ConsistentRead: this.consistentReads } },
          }),
        );
      } catch (error) {
        this.countRetries((error as { $metadata?: { attempts?: number } }).$metadata?.attempts);
        throw this.wrap(error, 'BatchGetItem');
      }
      this.countRetries(response.$metadata.attempts);
      for (const item of response.Responses?.[this.table] ?? []) {
        profiles.push(this.fromItem(item));
        this.stats.itemsRead += 1;
      }
      keys = response.UnprocessedKeys?.[this.table]?.Keys ?? [];
      if (keys.length === 0) return profiles;
      if (attempt >= this.maxUnprocessedAttempts)
        throw new ProfileReadIncompleteError(this.table, keys.length, attempt);
      this.stats.unprocessedRetries += 1;
      await this.sleep(this.delay(attempt));
    }
  }

  private async getOne(subject: string): Promise<Known> {
    this.stats.reads += 1;
    try {
      const response = await this.client.send(
        new GetItemCommand({ TableName: this.table, Key: profileKey(subject), ConsistentRead: true }),
      );
      this.countRetries(response.$metadata.attempts);
      if (response.Item === undefined) return NO_SUCH_ITEM;
      this.stats.itemsRead += 1;
      return this.fromItem(response.Item, subject);
    } catch (error) {
      this.countRetries((error as { $metadata?: { attempts?: number } }).$metadata?.attempts);
      throw this.wrap(error, 'GetItem', subject);
    }
  }

  private toItem(profile: Profile): Record<string, AttributeValue> {
    const json = JSON.stringify(profile);
    const expiresAt = Math.ceil((profile.lastSeen + this.retentionMs) / 1000);
    const item: Record<string, AttributeValue> = {
      ...profileKey(profile.subject),
      subject: { S: profile.subject },
      kind: { S: profile.kind },
      version: { N: String(profile.version) },
      lastSeen: { N: String(profile.lastSeen) },
      expiresAt: { N: String(expiresAt) },
      updatedAt: { N: String(this.clock()) },
      profile: { S: json },
    };
    const bytes = itemSize(item);
    if (bytes > this.maxItemBytes)
      throw new ProfileTooLargeError(this.table, profile.subject, bytes, this.maxItemBytes);
    return item;
  }

  private fromItem(item: Record<string, AttributeValue>, expected?: string): Profile {
    const subject = item.subject?.S;
    const json = item.profile?.S;
    const version = item.version?.N;
    if (subject === undefined || json === undefined || version === undefined)
      throw new ProfileFormatError(
        `item ${item.pk?.S ?? '?'} of table ${this.table} is not a v1 profile (subject, profile or version missing)`,
        { table: this.table, ...(expected ? { subject: expected } : {}) },
      );
    let profile: Profile;
    try {
      profile = JSON.parse(json) as Profile;
    } catch (error) {
      throw new ProfileFormatError(
        `profile ${subject} of table ${this.table} is not valid JSON`,
        { table: this.table, subject },
        { cause: error },
      );
    }
    if (profile.subject !== subject || (expected !== undefined && subject !== expected))
      throw new ProfileFormatError(
        `item ${item.pk?.S} of table ${this.table} holds profile ${profile.subject}`,
        {
          table: this.table,
          subject,
        },
      );
    // The attribute is what conditions test: it is the truth.
    profile.version = Number(version);
    return profile;
  }

  private countRetries(attempts: number | undefined): void {
    if (attempts !== undefined && attempts > 1) this.stats.throttleRetries += attempts - 1;
  }

  private delay(attempt: number): number {
    return Math.random() * Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** attempt);
  }

  private wrap(error: unknown, operation: string, subject?: string): ProfileStoreError {
    if (error instanceof ProfileStoreError) return error;
    const name = (error as { name?: string }).name ?? 'Error';
    const message = (error as { message?: string }).message ?? String(error);
    return new ProfileStoreError(
      `${operation} on table ${this.table}${subject ? ` for ${subject}` : ''} failed: ${name}: ${message}`,
      { table: this.table, operation, ...(subject ? { subject } : {}) },
      { cause: error },
    );
  }
}

/**
 * Size of an item as DynamoDB counts it (attribute names plus values: UTF-8
 * bytes of strings, about one byte per two digits of numbers).
 */
export function itemSize(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += Math.ceil(value.N.length / 2) + 1;
    else bytes += Buffer.byteLength(JSON.stringify(value));
  }
  return bytes;
}

/** Runs `task` over `items`, at most `limit` at a time; the first failure is thrown once all started tasks end. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

export interface CreateProfileTableOptions {
  /** How long to wait for the table to become ACTIVE. Default 5 minutes. */
  readonly timeoutMs?: number;
}

/**
 * Creates the profile table if it does not exist (on-demand capacity, the key
 * schema above), waits until it is ACTIVE and turns TTL on `expiresAt` on.
 * dynalite has no TTL (`UnknownOperationException`): locally that step is skipped.
 */
export async function createProfileTable(
  client: DynamoDBClient,
  tableName: string,
  options: CreateProfileTableOptions = {},
): Promise<'created' | 'exists'> {
  let outcome: 'created' | 'exists' = 'created';
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: PROFILE_TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
          { AttributeName: PROFILE_TABLE_SCHEMA.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: PROFILE_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: PROFILE_TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceInUseException')
      throw new ProfileStoreError(
        `CreateTable ${tableName} failed: ${(error as Error).message}`,
        { table: tableName, operation: 'CreateTable' },
        { cause: error },
      );
    outcome = 'exists';
  }
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (let wait = 10; ; wait = Math.min(wait * 2, 2_000)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (Date.now() > deadline)
      throw new ProfileStoreError(`table ${tableName} is still ${Table?.TableStatus} after waiting`, {
        table: tableName,
        operation: 'DescribeTable',
      });
    await defaultSleep(wait);
  }
  if (outcome === 'created') {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: PROFILE_TABLE_SCHEMA.ttlAttribute, Enabled: true },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'UnknownOperationException')
        throw new ProfileStoreError(
          `enabling TTL on ${tableName} failed: ${(error as Error).message}`,
          { table: tableName, operation: 'UpdateTimeToLive' },
          { cause: error },
        );
    }
  }
  return outcome;
}
