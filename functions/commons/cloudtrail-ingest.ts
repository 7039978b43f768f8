/**
 * What the two CloudTrail ingest functions (S3 objects, EventBridge events)
 * build once per execution environment: the detection runtime, the
 * seen-event ledger that keeps them from scoring one event twice, and the S3
 * quarantine. One place, so both paths are wired alike.
 */
import { DynamoSeenEventLedger } from '../../adapters/dynamodb/seen-events.js';
import { S3Quarantine } from '../../adapters/s3/quarantine.js';
import { type AwsClients, awsClients } from './clients.js';
import type { CloudTrailIngestEnv } from './env.js';
import {
  type DetectionRuntime,
  detectionRuntimeFor,
  type SourceName,
  useSourceDimension,
} from './pipeline.js';

export interface CloudTrailIngestRuntime {
  readonly clients: AwsClients;
  readonly detection: DetectionRuntime;
  readonly seenEvents: DynamoSeenEventLedger;
  readonly quarantine: S3Quarantine;
}

export async function createCloudTrailIngestRuntime(
  env: CloudTrailIngestEnv,
  source: Extract<SourceName, 'cloudtrail-s3' | 'cloudtrail-eventbridge'>,
): Promise<CloudTrailIngestRuntime> {
  const clients = awsClients();
  useSourceDimension(source);
  return {
    clients,
    detection: await detectionRuntimeFor(env, clients),
    seenEvents: new DynamoSeenEventLedger({ client: clients.dynamodb, tableName: env.tableName }),
    quarantine: new S3Quarantine({
      client: clients.s3,
      bucket: env.quarantineBucket,
      prefix: env.quarantinePrefix,
    }),
  };
}
