/**
 * The world the CloudTrail ingest functions run in, started locally for
 * their tests: DynamoDB (dynalite, behind a proxy that can throttle it), S3
 * and EventBridge (local servers speaking their protocols), all reached by the
 * real SDK clients the handlers use. The organization trail is the bundled
 * sample (`samples/cloudtrail`), uploaded under its own keys.
 *
 * Call {@link startIngestWorld} before importing a handler: it sets the
 * functions' environment and clients, which handler modules read at import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { type LocalDynamo, startLocalDynalite } from '../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable, PROFILE_ITEM_SK } from '../../adapters/dynamodb/profile-store.js';
import { packageRoot } from '../../adapters/fs/rule-files.js';
import type { Profile } from '../../detectors/baselines/profile.js';
import { Finding } from '../../detectors/schema/finding.js';
import { setClients } from '../../functions/commons/clients.js';
import { setEnvSource } from '../../functions/commons/env.js';
import { type AcceptedEvent, type FakeEventBridge, startFakeEventBridge } from './fake-eventbridge-server.js';
import { type FakeS3, startFakeS3 } from './fake-s3-server.js';
import { fastRetryStrategy, startThrottlingProxy, type ThrottlingProxy } from './throttling-proxy.js';

export const TRAIL_BUCKET = 'org-trail-logs';
export const QUARANTINE_BUCKET = 'trailhound-quarantine';
export const FINDINGS_BUS = 'trailhound-findings';
export const PROFILE_TABLE = 'trailhound-profiles';
export const IDEMPOTENCY_TABLE = 'trailhound-idempotency';
export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:999988887777:trailhound-cloudtrail-objects';

const LOCAL = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDTRAILHOUND', secretAccessKey: 'local' },
};

export interface IngestWorld {
  readonly dynamo: LocalDynamo;
  /** Between the handlers' DynamoDB client and dynalite. */
  readonly proxy: ThrottlingProxy;
  readonly s3: FakeS3;
  readonly eventBridge: FakeEventBridge;
  /** Keys of the sample trail's log files, oldest file first. */
  readonly trailKeys: readonly string[];
  /** Findings on the findings bus, parsed (every one must be a valid Finding). */
  findings(): Finding[];
  /** A profile as stored, or undefined. */
  profile(subject: string): Promise<Profile | undefined>;
  close(): Promise<void>;
}

function sampleTrailFiles(): { key: string; path: string }[] {
  const root = join(packageRoot(), 'samples', 'cloudtrail');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json.gz'))
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { key: relative(root, path), path };
    });
  // CloudTrail names files <account>_CloudTrail_<region>_<yyyymmddThhmmZ>_<id>: order by that time.
  const time = (key: string) => /_(\d{8}T\d{4}Z)_/.exec(key)?.[1] ?? '';
  return files.sort((a, b) => time(a.key).localeCompare(time(b.key)) || a.key.localeCompare(b.key));
}

export async function startIngestWorld(): Promise<IngestWorld> {
  const dynamo = await startLocalDynalite();
  await createProfileTable(dynamo.client, PROFILE_TABLE);
  await dynamo.client.send(
    new CreateTableCommand({
      TableName: IDEMPOTENCY_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  const proxy = await startThrottlingProxy(dynamo.endpoint);
  const s3 = await startFakeS3({ buckets: [TRAIL_BUCKET, QUARANTINE_BUCKET] });
  const eventBridge = await startFakeEventBridge();
  const files = sampleTrailFiles();
  for (const file of files) s3.putObject(TRAIL_BUCKET, file.key, readFileSync(file.path));

  setEnvSource({
    PROFILE_TABLE_NAME: PROFILE_TABLE,
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    FINDINGS_BUS_NAME: FINDINGS_BUS,
    QUARANTINE_BUCKET,
  });
  setClients({
    dynamodb: new DynamoDBClient({ ...LOCAL, endpoint: proxy.endpoint, retryStrategy: fastRetryStrategy(5) }),
    s3: new S3Client({
      ...LOCAL,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      retryStrategy: fastRetryStrategy(3),
    }),
    eventBridge: new EventBridgeClient({
      ...LOCAL,
      endpoint: eventBridge.endpoint,
      retryStrategy: fastRetryStrategy(3),
    }),
  });

  return {
    dynamo,
    proxy,
    s3,
    eventBridge,
    trailKeys: files.map((f) => f.key),
    findings: () => eventBridge.events.map((event: AcceptedEvent) => Finding.parse(JSON.parse(event.Detail))),
    profile: async (subject) => {
      const item = await dynamo.client.send(
        new GetItemCommand({
          TableName: PROFILE_TABLE,
          Key: { pk: { S: `PROFILE#${subject}` }, sk: { S: PROFILE_ITEM_SK } },
          ConsistentRead: true,
        }),
      );
      const text = item.Item?.profile?.S;
      return text === undefined ? undefined : (JSON.parse(text) as Profile);
    },
    close: async () => {
      await Promise.all([eventBridge.close(), s3.close(), proxy.close()]);
      await dynamo.close();
    },
  };
}

/** The records of one sample log file, as CloudTrail wrote them. */
export function trailFileRecords(key: string): Record<string, unknown>[] {
  const path = join(packageRoot(), 'samples', 'cloudtrail', key);
  return (
    JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as { Records: Record<string, unknown>[] }
  ).Records;
}
