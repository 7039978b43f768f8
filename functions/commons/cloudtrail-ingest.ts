/**
 * What the queued ingest functions (CloudTrail S3 objects and EventBridge
 * events, runtime-collector records) build once per execution environment:
 * the detection runtime, the seen-event ledger that keeps a record delivered
 * twice (two CloudTrail paths, a replayed batch) from being scored twice, and
 * the S3 quarantine. One place, so every path is wired alike.
 */
import { DynamoSeenEventLedger } from '../../adapters/dynamodb/seen-events.js';
import { S3Quarantine } from '../../adapters/s3/quarantine.js';
import { type AwsClients, awsClients } from './clients.js';
import type { CloudTrailIngestEnv } from './env.js';
import {
  type DetectionRuntime,
  detectionRuntimeFor,
  LambdaPipeline,
  type LambdaRunSummary,
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
  source: Extract<SourceName, 'cloudtrail-s3' | 'cloudtrail-eventbridge' | 'lambda-runtime'>,
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

/**
 * One delivery of parsed records through the pipeline, all or nothing: its
 * quarantine entry (named by `input`) is written only when the delivery
 * succeeded, and dropped when it throws, so a redelivery writes it once.
 */
export async function deliverOnce(
  runtime: CloudTrailIngestRuntime,
  records: readonly Record<string, unknown>[],
  input: string,
): Promise<LambdaRunSummary> {
  const { quarantine, seenEvents } = runtime;
  const run = new LambdaPipeline(runtime.detection, { quarantine, seenEvents });
  try {
    await run.deliver(records, input);
    await quarantine.writeInput(input, input);
  } catch (error) {
    quarantine.discard(input);
    throw error;
  }
  return run.finish();
}
