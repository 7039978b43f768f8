/**
 * The checkpoint store on dynalite, against the memory store's semantics.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointConflictError,
  CheckpointFormatError,
  type CheckpointState,
  type CheckpointStore,
  CheckpointStoreError,
  checkpointKey,
  DynamoCheckpointStore,
  MemoryCheckpointStore,
} from '../../../../adapters/dynamodb/checkpoint-store.js';
import { type LocalDynamo, startLocalDynalite } from '../../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../../../adapters/dynamodb/profile-store.js';

const TABLE = 'trailhound-profiles';
const T0 = Date.parse('2026-05-04T10:00:00Z');

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, TABLE);
});
afterAll(() => dynamo.close());

function state(stream: string, highWater = T0): CheckpointState {
  return {
    stream,
    highWater,
    windowStart: highWater - 600_000,
    seen: [[highWater - 1000, ['aaaaaaaaaaa', 'bbbbbbbbbbb']]],
  };
}

const stores: Array<[string, () => CheckpointStore]> = [
  ['memory', () => new MemoryCheckpointStore(() => 42)],
  ['dynamodb', () => new DynamoCheckpointStore({ client: dynamo.client, tableName: TABLE, clock: () => 42 })],
];

describe.each(stores)('%s checkpoint store', (_name, make) => {
  it('saves a first checkpoint, then only over the version it read', async () => {
    const store = make();
    const stream = `gcp:projects/${randomUUID()}`;
    expect(await store.load(stream)).toBeUndefined();
    const first = await store.save(state(stream), 0);
    expect(first).toEqual({ ...state(stream), version: 1, updatedAt: 42 });
    expect(await store.load(stream)).toEqual(first);
    const second = await store.save(state(stream, T0 + 5000), 1);
    expect(second.version).toBe(2);
    // A run that read version 1 (or thinks there is none) lost the race.
    await expect(store.save(state(stream, T0 + 9000), 1)).rejects.toBeInstanceOf(CheckpointConflictError);
    await expect(store.save(state(stream, T0 + 9000), 0)).rejects.toBeInstanceOf(CheckpointConflictError);
    expect((await store.load(stream))?.highWater).toBe(T0 + 5000);
  });
});

describe('DynamoCheckpointStore', () => {
  it('keeps the single-table layout: pk CHECKPOINT#<stream>, sk v1', async () => {
    const store = new DynamoCheckpointStore({ client: dynamo.client, tableName: TABLE });
    const stream = `azure:${randomUUID()}:AzureActivity`;
    await store.save(state(stream), 0);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: TABLE, Key: checkpointKey(stream) }),
    );
    expect(Item?.pk?.S).toBe(`CHECKPOINT#${stream}`);
    expect(Item?.sk?.S).toBe('v1');
    expect(Item?.seenIds?.N).toBe('2');
    expect(JSON.parse(Item?.seen?.S ?? '')).toEqual(state(stream).seen);
  });

  it('refuses an item over the size guard before sending it, and an item it cannot read', async () => {
    const store = new DynamoCheckpointStore({ client: dynamo.client, tableName: TABLE, maxItemBytes: 1024 });
    const stream = `gcp:projects/${randomUUID()}`;
    const big = {
      ...state(stream),
      seen: [[T0, Array.from({ length: 200 }, (_, i) => `id${i}`.padEnd(11, 'x'))]] as const,
    };
    const error = await store
      .save({ ...big, seen: big.seen.map(([t, ids]) => [t, [...ids]]) }, 0)
      .catch((e) => e);
    expect(error).toBeInstanceOf(CheckpointStoreError);
    expect((error as Error).message).toMatch(/lower maxSeenIds/);

    await dynamo.client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...checkpointKey(stream), stream: { S: stream }, seen: { S: '{' } },
      }),
    );
    await expect(store.load(stream)).rejects.toBeInstanceOf(CheckpointFormatError);
  });

  it('names the table and stream when DynamoDB fails', async () => {
    const store = new DynamoCheckpointStore({ client: dynamo.client, tableName: 'no-such-table' });
    const error = await store.load('gcp:projects/p').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointStoreError);
    expect((error as CheckpointStoreError).details).toEqual({
      stream: 'gcp:projects/p',
      table: 'no-such-table',
      operation: 'GetItem',
    });
    expect((error as Error).cause).toBeDefined();
  });
});
