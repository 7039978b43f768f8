/**
 * The DynamoDB profile store against a real DynamoDB API: dynalite started in
 * this process. Throttling, unprocessed keys and lost responses come from a
 * small HTTP proxy in front of it that answers as DynamoDB does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileStoreError, ProfileTooLargeError } from '../../../../adapters/dynamodb/errors.js';
import {
  LOCAL_CREDENTIALS,
  type LocalDynamo,
  startLocalDynalite,
} from '../../../../adapters/dynamodb/local-dynalite.js';
import {
  createProfileTable,
  DynamoProfileStore,
  type DynamoProfileStoreOptions,
  profileKey,
} from '../../../../adapters/dynamodb/profile-store.js';
import type { EventFeatures } from '../../../../detectors/baselines/features.js';
import {
  DEFAULT_PROFILE_POLICY,
  DeltaBuilder,
  type ProfileDelta,
} from '../../../../detectors/baselines/profile.js';

const ROLE = 'principal:arn:aws:iam::111122223333:role/app';
const ACCOUNT = 'account:AWS:111122223333';
const T0 = Date.parse('2026-03-02T10:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function features(
  operation: string,
  options: { principal?: string; network?: string; region?: string } = {},
): EventFeatures {
  return {
    subjects: { principal: options.principal ?? ROLE, account: ACCOUNT },
    values: {
      operation: [operation],
      network: [options.network ?? 'aws'],
      region: [options.region ?? 'us-east-1'],
      client: ['boto3'],
    },
    hourOfWeek: 10,
    failed: false,
    denied: false,
    sensitive: false,
  };
}

/** One batch's deltas from (operation, time) pairs. */
function batch(events: Array<[string, number, { principal?: string; network?: string }?]>): ProfileDelta[] {
  const builder = new DeltaBuilder();
  for (const [operation, time, options] of events) builder.add(features(operation, options), time);
  return builder.build();
}

let local: LocalDynamo;

beforeAll(async () => {
  local = await startLocalDynalite();
});

afterAll(async () => {
  await local?.close();
});

async function freshTable(): Promise<string> {
  const table = `profiles-${randomUUID().slice(0, 8)}`;
  expect(await createProfileTable(local.client, table)).toBe('created');
  return table;
}

function storeOn(table: string, options: Partial<DynamoProfileStoreOptions> = {}): DynamoProfileStore {
  return new DynamoProfileStore({ client: local.client, tableName: table, ...options });
}

async function rawItem(table: string, subject: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await local.client.send(
    new GetItemCommand({ TableName: table, Key: profileKey(subject), ConsistentRead: true }),
  );
  return Item;
}

describe('DynamoProfileStore', () => {
  it('creates the table once, with the documented key schema', async () => {
    const table = await freshTable();
    expect(await createProfileTable(local.client, table)).toBe('exists');
  });

  it('learns across two batches: counts, first and last seen, values, one item per subject', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    await store.load([ROLE, ACCOUNT]);
    expect(
      await store.apply(
        'b1',
        batch([
          ['s3:GetObject', T0],
          ['s3:GetObject', T0 + 60_000],
          ['sts:GetCallerIdentity', T0 + 120_000],
        ]),
      ),
    ).toEqual({ written: 2, replayed: 0 });
    // One conditional write per subject, and the batch's ledger entry.
    expect(store.stats).toMatchObject({ writes: 3, written: 2, ledgerWrites: 1 });

    await store.load([ROLE, ACCOUNT]);
    await store.apply(
      'b2',
      batch([
        ['s3:GetObject', T0 + DAY],
        ['kms:Decrypt', T0 + DAY + 60_000, { network: 'AS64500' }],
      ]),
    );
    expect(store.stats).toMatchObject({ writes: 6, written: 4, ledgerWrites: 2 });

    const profiles = await storeOn(table).load([ROLE, ACCOUNT, 'principal:unknown']);
    expect([...profiles.keys()].sort()).toEqual([ACCOUNT, ROLE]);
    const role = profiles.get(ROLE)!;
    expect(role).toMatchObject({
      subject: ROLE,
      kind: 'principal',
      events: 5,
      firstSeen: T0,
      lastSeen: T0 + DAY + 60_000,
      version: 2,
      batches: ['b1', 'b2'],
    });
    expect(role.values.operation).toEqual({
      's3:GetObject': { c: 3, f: T0, l: T0 + DAY },
      'sts:GetCallerIdentity': { c: 1, f: T0 + 120_000, l: T0 + 120_000 },
      'kms:Decrypt': { c: 1, f: T0 + DAY + 60_000, l: T0 + DAY + 60_000 },
    });
    expect(role.values.network).toEqual({
      aws: { c: 4, f: T0, l: T0 + DAY },
      AS64500: { c: 1, f: T0 + DAY + 60_000, l: T0 + DAY + 60_000 },
    });
    expect(role.hours[10]).toBe(5);
    expect(profiles.get(ACCOUNT)).toMatchObject({ kind: 'account', events: 5, version: 2 });

    const item = await rawItem(table, ROLE);
    expect(item).toMatchObject({
      pk: { S: `PROFILE#${ROLE}` },
      sk: { S: 'v1' },
      subject: { S: ROLE },
      kind: { S: 'principal' },
      version: { N: '2' },
      lastSeen: { N: String(T0 + DAY + 60_000) },
    });
  });

  it('sets the TTL attribute to last activity plus retention and moves it forward', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    await store.apply('b1', batch([['s3:GetObject', T0]]));
    const retentionS = DEFAULT_PROFILE_POLICY.forgetAfterMs / 1000;
    const first = Number((await rawItem(table, ROLE))?.expiresAt?.N);
    expect(first).toBe(T0 / 1000 + retentionS);
    await store.apply('b2', batch([['s3:GetObject', T0 + 3 * DAY]]));
    const second = Number((await rawItem(table, ROLE))?.expiresAt?.N);
    expect(second).toBe(first + 3 * 24 * 3600);
    // A late batch (older events) never moves it back.
    await store.apply('b3', batch([['s3:GetObject', T0 - DAY]]));
    expect(Number((await rawItem(table, ROLE))?.expiresAt?.N)).toBe(second);

    const short = storeOn(table, { retentionMs: DAY });
    await short.apply('b4', batch([['s3:GetObject', T0 + 4 * DAY]]));
    expect(Number((await rawItem(table, ROLE))?.expiresAt?.N)).toBe((T0 + 5 * DAY) / 1000);
  });

  it('changes nothing when a batch is replayed: no write call, item version unchanged', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const deltas = batch([
      ['s3:GetObject', T0],
      ['s3:PutObject', T0 + 1_000],
    ]);
    await store.load([ROLE, ACCOUNT]);
    await store.apply('b1', deltas);
    const before = await rawItem(table, ROLE);
    const writes = store.stats.writes;

    await store.load([ROLE, ACCOUNT]);
    expect(await store.apply('b1', deltas)).toEqual({ written: 0, replayed: 2 });
    // Even without a load first (a retried invocation), and from another store.
    const other = storeOn(table);
    expect(await other.apply('b1', deltas)).toEqual({ written: 0, replayed: 2 });
    expect(store.stats.writes).toBe(writes);
    expect(other.stats).toMatchObject({ writes: 0, ledgerHits: 1 });

    // Without the ledger the profiles themselves recognize the batch: still no write.
    const noLedger = storeOn(table, { batchLedger: false });
    expect(await noLedger.apply('b1', deltas)).toEqual({ written: 0, replayed: 2 });
    expect(noLedger.stats).toMatchObject({ writes: 0, replayed: 2 });

    expect(await rawItem(table, ROLE)).toEqual(before);
    expect(before?.version).toEqual({ N: '1' });
  });

  it('recognizes a replay older than the batches a profile remembers through the ledger', async () => {
    const table = await freshTable();
    const policy = { ...DEFAULT_PROFILE_POLICY, rememberedBatches: 2 };
    const store = storeOn(table, { policy });
    const first = batch([['s3:GetObject', T0]]);
    await store.apply('old', first);
    await store.apply('b2', batch([['s3:GetObject', T0 + HOUR]]));
    await store.apply('b3', batch([['s3:GetObject', T0 + 2 * HOUR]]));
    expect((await store.load([ROLE])).get(ROLE)?.batches).toEqual(['b2', 'b3']);
    const writes = store.stats.writes;
    expect(await store.apply('old', first)).toEqual({ written: 0, replayed: 2 });
    expect(store.stats.writes).toBe(writes);
    expect((await store.load([ROLE])).get(ROLE)).toMatchObject({ events: 3, version: 3 });
    // The profiles alone would have merged it again: the limit the ledger is there for.
    const noLedger = storeOn(table, { policy, batchLedger: false });
    expect(await noLedger.apply('old', first)).toEqual({ written: 2, replayed: 0 });
    expect((await store.load([ROLE])).get(ROLE)?.events).toBe(4);
  });

  it('sums two batches racing on one subject in one store', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const [a, b] = await Promise.all([
      store.apply('race-a', batch([['s3:GetObject', T0]])),
      store.apply(
        'race-b',
        batch([
          ['s3:GetObject', T0 + 1_000],
          ['s3:ListBucket', T0 + 2_000],
        ]),
      ),
    ]);
    expect(a.written + b.written).toBe(4);
    const role = (await store.load([ROLE])).get(ROLE)!;
    expect(role.events).toBe(3);
    expect(role.values.operation?.['s3:GetObject']?.c).toBe(2);
    expect(role.version).toBe(2);
    expect([...role.batches].sort()).toEqual(['race-a', 'race-b']);
    // A loser of a subject's race retried once; every write call is counted.
    expect(store.stats.conditionalRetries).toBeLessThanOrEqual(2);
    expect(store.stats.writes).toBe(4 + store.stats.conditionalRetries + 2);
    expect(store.stats.ledgerWrites).toBe(2);
  });

  it('sums batches racing on one subject from several stores with their own clients', async () => {
    const table = await freshTable();
    const writers = 6;
    const clients = Array.from(
      { length: writers },
      () =>
        new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
    );
    try {
      const stores = clients.map((client) => new DynamoProfileStore({ client, tableName: table }));
      // Every store reads first (all see "no profile"), then all write at once.
      await Promise.all(stores.map((s) => s.load([ROLE, ACCOUNT])));
      const results = await Promise.all(
        stores.map((s, i) =>
          s.apply(
            `writer-${i}`,
            batch(
              Array.from(
                { length: i + 1 },
                (_, k) => ['s3:GetObject', T0 + i * HOUR + k] as [string, number],
              ),
            ),
          ),
        ),
      );
      expect(results.every((r) => r.written === 2 && r.replayed === 0)).toBe(true);
      const role = (await storeOn(table).load([ROLE])).get(ROLE)!;
      expect(role.events).toBe((writers * (writers + 1)) / 2);
      expect(role.values.operation?.['s3:GetObject']).toEqual({
        c: (writers * (writers + 1)) / 2,
        f: T0,
        l: T0 + (writers - 1) * HOUR + writers - 1,
      });
      expect(role.version).toBe(writers);
      expect(role.batches).toHaveLength(writers);
      const retries = stores.reduce((n, s) => n + s.stats.conditionalRetries, 0);
      expect(retries).toBeGreaterThan(0);
      // Every failed conditional write was followed by exactly one more write; one ledger write per batch.
      expect(stores.reduce((n, s) => n + s.stats.writes, 0)).toBe(2 * writers + retries + writers);
    } finally {
      for (const client of clients) client.destroy();
    }
  });

  it('loads many subjects through BatchGetItem chunks of 100', async () => {
    const table = await freshTable();
    const principals = Array.from(
      { length: 250 },
      (_, i) => `principal:arn:aws:iam::111122223333:user/u${i}`,
    );
    const writer = storeOn(table);
    const result = await writer.apply(
      'many',
      batch(principals.map((p, i) => ['s3:GetObject', T0 + i, { principal: p }])),
    );
    expect(result).toEqual({ written: 251, replayed: 0 });
    expect(writer.stats).toMatchObject({ writes: 252, ledgerWrites: 1 });

    const reader = storeOn(table);
    const loaded = await reader.load([
      ...principals,
      ...principals.slice(0, 10),
      'principal:missing',
      ACCOUNT,
    ]);
    expect(loaded.size).toBe(251);
    expect(loaded.get(principals[249]!)).toMatchObject({ events: 1, firstSeen: T0 + 249 });
    expect(loaded.get(ACCOUNT)?.events).toBe(250);
    // 252 distinct keys: 100 + 100 + 52.
    expect(reader.stats.reads).toBe(3);
    expect(reader.stats.itemsRead).toBe(251);
  });

  it('refuses a profile over the item-size guard with a typed error', async () => {
    const table = await freshTable();
    const store = storeOn(table, {
      policy: { ...DEFAULT_PROFILE_POLICY, maxValuesPerFeature: 10_000 },
      maxItemBytes: 64 * 1024,
    });
    const long = 'x'.repeat(200);
    const deltas = batch(
      Array.from({ length: 400 }, (_, i) => [`s3:${long}${i}`, T0 + i] as [string, number]),
    );
    const error = await store.apply('big', deltas).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileTooLargeError);
    expect(error).toBeInstanceOf(ProfileStoreError);
    expect((error as ProfileTooLargeError).message).toMatch(
      /profile .* would be \d+ KB, over the 64 KB item guard/,
    );
    expect(await rawItem(table, ROLE)).toBeUndefined();
  });

  it('wraps DynamoDB failures in ProfileStoreError with the cause', async () => {
    const store = storeOn('no-such-table');
    const error = await store.load([ROLE]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileStoreError);
    expect((error as ProfileStoreError).message).toMatch(
      /BatchGetItem on table no-such-table failed: ResourceNotFoundException/,
    );
    expect((error as ProfileStoreError).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

/** What the proxy does with a request before (or instead of) forwarding it. */
type Decision =
  | { kind: 'forward'; rewrite?: (body: Record<string, unknown>) => Record<string, unknown> }
  | { kind: 'throttle' }
  | { kind: 'forward-then-fail' };

interface Proxy {
  readonly endpoint: string;
  /** Requests that reached dynalite, by operation. */
  readonly forwarded: Record<string, number>;
  readonly throttled: number;
  close(): Promise<void>;
}

/** An HTTP proxy in front of dynalite that answers some requests as a throttled or failing DynamoDB would. */
async function startProxy(target: string, decide: (operation: string) => Decision): Promise<Proxy> {
  const forwarded: Record<string, number> = {};
  let throttled = 0;
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '?';
      const decision = decide(operation);
      if (decision.kind === 'throttle') {
        throttled += 1;
        const body = JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message:
            'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
        });
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': randomUUID(),
          'x-amz-crc32': String(crc32(body)),
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
        return;
      }
      forwarded[operation] = (forwarded[operation] ?? 0) + 1;
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            let body = Buffer.concat(parts);
            const headers = { ...answer.headers };
            if (decision.kind === 'forward-then-fail') {
              // The write landed, but the caller never hears so.
              const failure = JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure' });
              res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
              res.end(failure);
              return;
            }
            if (decision.rewrite !== undefined && answer.statusCode === 200) {
              body = Buffer.from(JSON.stringify(decision.rewrite(JSON.parse(body.toString('utf8')))));
              headers['content-length'] = String(body.length);
              headers['x-amz-crc32'] = String(crc32(body));
            }
            res.writeHead(answer.statusCode ?? 500, headers);
            res.end(body);
          });
        },
      );
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    forwarded,
    get throttled() {
      return throttled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('DynamoProfileStore through a misbehaving DynamoDB', () => {
  async function withProxy(
    decide: (operation: string) => Decision,
    run: (store: DynamoProfileStore, table: string, proxy: Proxy) => Promise<void>,
  ): Promise<void> {
    const table = await freshTable();
    const proxy = await startProxy(local.endpoint, decide);
    // The SDK's standard retry strategy, as a deployment would use it.
    const client = new DynamoDBClient({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 4,
    });
    try {
      await run(new DynamoProfileStore({ client, tableName: table }), table, proxy);
    } finally {
      client.destroy();
      await proxy.close();
    }
  }

  it('retries throttled writes with backoff, and the write lands once', async () => {
    let putItems = 0;
    await withProxy(
      (operation) => {
        if (operation !== 'PutItem') return { kind: 'forward' };
        putItems += 1;
        return putItems <= 2 ? { kind: 'throttle' } : { kind: 'forward' };
      },
      async (store, table, proxy) => {
        await store.load([ROLE]);
        const result = await store.apply('throttled', batch([['s3:GetObject', T0]]).slice(0, 1));
        expect(result).toEqual({ written: 1, replayed: 0 });
        expect(proxy.throttled).toBe(2);
        // One profile write call by the store, retried twice by the SDK, reaching DynamoDB once
        // (then the batch's ledger entry).
        expect(store.stats).toMatchObject({
          writes: 2,
          ledgerWrites: 1,
          written: 1,
          throttleRetries: 2,
          conditionalRetries: 0,
        });
        expect(proxy.forwarded.PutItem).toBe(2);
        const item = await rawItem(table, ROLE);
        expect(item?.version).toEqual({ N: '1' });
        expect(JSON.parse(item?.profile?.S ?? '{}')).toMatchObject({ events: 1, batches: ['throttled'] });
      },
    );
  });

  it('retries throttled reads', async () => {
    let reads = 0;
    await withProxy(
      (operation) => {
        if (operation !== 'BatchGetItem') return { kind: 'forward' };
        reads += 1;
        return reads === 1 ? { kind: 'throttle' } : { kind: 'forward' };
      },
      async (store) => {
        await store.apply('seed', batch([['s3:GetObject', T0]]));
        const loaded = await store.load([ROLE, ACCOUNT]);
        expect(loaded.size).toBe(2);
        expect(store.stats.throttleRetries).toBe(1);
      },
    );
  });

  it('retries UnprocessedKeys with backoff until every profile is read', async () => {
    let calls = 0;
    await withProxy(
      (operation) => {
        if (operation !== 'BatchGetItem') return { kind: 'forward' };
        calls += 1;
        if (calls !== 2) return { kind: 'forward' };
        // The second BatchGetItem answers only part of what was asked, like a busy table.
        return {
          kind: 'forward',
          rewrite: (body) => {
            const responses = body.Responses as Record<string, Array<Record<string, AttributeValue>>>;
            const [table, items] = Object.entries(responses)[0]!;
            const kept = items.slice(0, 3);
            const rest = items.slice(3).map((item) => ({ pk: item.pk, sk: item.sk }));
            return { Responses: { [table]: kept }, UnprocessedKeys: { [table]: { Keys: rest } } };
          },
        };
      },
      async (store) => {
        const principals = Array.from({ length: 10 }, (_, i) => `principal:arn:aws:iam::1:user/p${i}`);
        await store.apply('seed', batch(principals.map((p) => ['s3:GetObject', T0, { principal: p }])));
        const loaded = await store.load(principals);
        expect(loaded.size).toBe(10);
        expect(store.stats.unprocessedRetries).toBe(1);
      },
    );
  });

  it('does not count a batch twice when a write landed but its answer was lost', async () => {
    let putItems = 0;
    await withProxy(
      (operation) => {
        if (operation !== 'PutItem') return { kind: 'forward' };
        putItems += 1;
        return putItems === 1 ? { kind: 'forward-then-fail' } : { kind: 'forward' };
      },
      async (store, table) => {
        await store.load([ROLE]);
        const result = await store.apply('lost', batch([['s3:GetObject', T0]]).slice(0, 1));
        // The SDK retried the write, which failed its condition: the re-read showed the batch already in.
        expect(result).toEqual({ written: 0, replayed: 1 });
        expect(store.stats).toMatchObject({
          writes: 2,
          ledgerWrites: 1,
          conditionalRetries: 1,
          throttleRetries: 1,
        });
        const item = await rawItem(table, ROLE);
        expect(item?.version).toEqual({ N: '1' });
        expect(JSON.parse(item?.profile?.S ?? '{}')).toMatchObject({ events: 1 });
      },
    );
  });
});

describe('startLocalDynalite with a folder', () => {
  it('keeps profiles across restarts, and refuses a second user of the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailhound-dynalite-'));
    const first = await startLocalDynalite({ path: dir });
    await createProfileTable(first.client, 'profiles');
    await new DynamoProfileStore({ client: first.client, tableName: 'profiles' }).apply(
      'b1',
      batch([['s3:GetObject', T0]]),
    );
    const error = await startLocalDynalite({ path: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProfileStoreError);
    expect((error as Error).message).toMatch(/in use by process \d+/);
    await first.close();

    const second = await startLocalDynalite({ path: dir });
    try {
      expect(await createProfileTable(second.client, 'profiles')).toBe('exists');
      const loaded = await new DynamoProfileStore({ client: second.client, tableName: 'profiles' }).load([
        ROLE,
      ]);
      expect(loaded.get(ROLE)).toMatchObject({ events: 1, version: 1 });
    } finally {
      await second.close();
    }
  });
});
