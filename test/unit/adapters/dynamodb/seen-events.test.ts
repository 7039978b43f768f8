/**
 * The seen-event ledger on dynalite: what one delivery path remembers, the
 * other does not evaluate again; remembering is idempotent; one account,
 * region and minute is one item.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynalite } from '../../../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable, PROFILE_ITEM_SK } from '../../../../adapters/dynamodb/profile-store.js';
import { DynamoSeenEventLedger, seenEventKey } from '../../../../adapters/dynamodb/seen-events.js';
import { NORMALIZERS } from '../../../../detectors/normalizers/index.js';
import type { NormalizedEvent } from '../../../../detectors/schema/event.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const TABLE = 'trailhound-profiles';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, TABLE);
});
afterAll(() => dynamo.close());

/** A CloudTrail event of `account` at `time`, with a fresh id. */
function event(account: string, time: string, region = 'us-east-1'): NormalizedEvent {
  const normalize = NORMALIZERS['aws.cloudtrail'];
  if (normalize === undefined) throw new Error('no CloudTrail normalizer');
  return normalize(
    loadFixture('cloudtrail/create-user.access-denied.json', {
      eventID: randomUUID(),
      eventTime: time,
      recipientAccountId: account,
      awsRegion: region,
    }),
  );
}

const ledger = () => new DynamoSeenEventLedger({ client: dynamo.client, tableName: TABLE });

describe('DynamoSeenEventLedger', () => {
  it('keeps back what another path remembered, and nothing else', async () => {
    const account = String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
    const first = [event(account, '2026-03-03T02:17:05Z'), event(account, '2026-03-03T02:18:30Z')];
    const later = [event(account, '2026-03-03T02:18:59Z'), event(account, '2026-03-03T02:19:00Z')];
    const eventBridgePath = ledger();
    expect(await eventBridgePath.unseen(first)).toEqual(first);
    await eventBridgePath.remember(first);

    const s3Path = ledger();
    const fresh = await s3Path.unseen([...first, ...later]);
    expect(fresh.map((e) => e.metadata.uid)).toEqual(later.map((e) => e.metadata.uid));
    // Three minutes of one account and region: three keys in one read.
    expect(s3Path.stats.reads).toBe(1);
  });

  it('remembers idempotently: one item per account, region and minute, written once per key', async () => {
    const account = String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
    const events = Array.from({ length: 50 }, (_, i) =>
      event(account, `2026-03-03T02:17:${String(i).padStart(2, '0')}Z`),
    );
    const store = ledger();
    await store.remember(events);
    await store.remember(events);
    expect(store.stats.writes).toBe(2);
    const item = await dynamo.client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: seenEventKey(events[0] as NormalizedEvent) }, sk: { S: PROFILE_ITEM_SK } },
      }),
    );
    expect(item.Item?.ids?.BS).toHaveLength(50);
    // TTL three days after the minute.
    expect(Number(item.Item?.expiresAt?.N)).toBe(Date.parse('2026-03-03T02:17:00Z') / 1000 + 3 * 86_400);
    expect(await ledger().unseen(events)).toEqual([]);
  });

  it('separates accounts and regions: the same minute elsewhere is unseen', async () => {
    const account = String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
    const here = event(account, '2026-03-03T02:17:05Z', 'us-east-1');
    await ledger().remember([here]);
    const otherRegion = event(account, '2026-03-03T02:17:05Z', 'eu-west-1');
    expect(seenEventKey(otherRegion)).not.toBe(seenEventKey(here));
    expect(await ledger().unseen([here, otherRegion])).toEqual([otherRegion]);
  });
});
