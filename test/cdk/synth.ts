/**
 * Synthesizes the Trailhound app the way `cdk synth` does (the same feature
 * flags from `cdk.json`, the same `buildTrailhound`, configuration read from
 * context by `loadConfig`), minus asset bundling, which the tests do not need
 * and which would cost seconds per function.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../cdk/config.js';
import { repoPath } from '../../cdk/paths.js';
import { buildTrailhound, type TrailhoundStacks } from '../../cdk/trailhound.js';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const ORG_ID = 'o-abc123def4';
export const TRAIL_KEY_ARN = 'arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const GCP_KEY_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/gcp-key-AbCdEf';
export const AZURE_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/azure-AbCdEf';

/** Every source on: an organization trail's bucket in a log-archive account, one bucket of this account, GCP and Azure. */
export const FULL_CONTEXT = {
  trailBuckets: [
    {
      bucketName: 'org-trail-logs',
      bucketAccount: '444455556666',
      kmsKeyArn: TRAIL_KEY_ARN,
      prefix: `AWSLogs/${ORG_ID}/`,
    },
    { bucketName: 'local-trail' },
  ],
  organizationId: ORG_ID,
  alarmEmail: 'secops@example.com',
  deadManMinutes: { 'gcp-pull': 60 },
  gcp: {
    push: { audience: 'trailhound-push', serviceAccountEmail: 'pusher@sec-proj-1.iam.gserviceaccount.com' },
    pull: {
      resourceName: 'organizations/123456789012',
      projectId: 'sec-proj-1',
      serviceAccountKeySecretArn: GCP_KEY_SECRET_ARN,
    },
  },
  azure: {
    workspaceId: '11111111-2222-3333-4444-555555555555',
    settingsSecretArn: AZURE_SECRET_ARN,
    tables: ['AzureActivity', 'SigninLogs'],
  },
};

/** An app with `cdk.json`'s feature flags and `context`, bundling skipped. */
export function testApp(context: Record<string, unknown> = {}): App {
  const flags = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')).context;
  return new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [], ...context } });
}

export interface SynthesizedTrailhound extends TrailhoundStacks {
  readonly app: App;
  readonly storageTemplate: Template;
  readonly detectionTemplate: Template;
}

export function synthesize(context: Record<string, unknown> = FULL_CONTEXT): SynthesizedTrailhound {
  const app = testApp(context);
  const stacks = buildTrailhound(
    app,
    loadConfig(app, { CDK_DEFAULT_ACCOUNT: ACCOUNT, CDK_DEFAULT_REGION: REGION }),
  );
  return {
    app,
    ...stacks,
    storageTemplate: Template.fromStack(stacks.storage),
    detectionTemplate: Template.fromStack(stacks.detection),
  };
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, unknown>;
}

/** The statements of the IAM policies whose logical id starts with `logicalIdPrefix`. */
export function policyStatements(template: Template, logicalIdPrefix: string): Statement[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(logicalIdPrefix))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** The one statement that allows `action`; fails the test when there is not exactly one. */
export function statementFor(statements: readonly Statement[], action: string): Statement {
  const matching = statements.filter((s) => actionsOf(s).includes(action));
  if (matching.length !== 1) throw new Error(`${matching.length} statements allow ${action}`);
  return matching[0] as Statement;
}
