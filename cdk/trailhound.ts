import type { App } from 'aws-cdk-lib';
import type { TrailhoundConfig } from './config.js';
import { DetectionStack } from './stacks/detection-stack.js';
import { StorageStack } from './stacks/storage-stack.js';

export interface TrailhoundStacks {
  readonly storage: StorageStack;
  readonly detection: DetectionStack;
}

/**
 * The two stacks of a deployment, `<prefix>-storage` and `<prefix>-detection`,
 * in the configured account and region (environment-agnostic when the CLI
 * gives none). Shared by the app and the tests, so both build the same thing.
 */
export function buildTrailhound(app: App, config: TrailhoundConfig): TrailhoundStacks {
  const env = { account: config.account, region: config.region };
  const storage = new StorageStack(app, `${config.prefix}-storage`, {
    env,
    description:
      'Trailhound: encryption key, behavioural profiles, idempotency records, quarantine (retained)',
    config,
  });
  const detection = new DetectionStack(app, `${config.prefix}-detection`, {
    env,
    description: 'Trailhound: ingest functions, queues, schedules, findings bus and destinations, alarms',
    config,
    encryptionKeyArn: storage.encryptionKey.keyArn,
    profileTable: storage.profileTable,
    idempotencyTable: storage.idempotencyTable,
  });
  return { storage, detection };
}
