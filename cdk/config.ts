/**
 * The deployment's configuration, typed and validated. This is the ONE module
 * of the CDK app that reads CDK context (`cdk.json` "context", `-c key=value`)
 * and the environment; stacks and constructs get the typed object.
 *
 * Every key is optional: with none, Trailhound ingests CloudTrail from
 * EventBridge in the deployment's own account. `-c` passes strings, so list
 * and object values given that way are JSON (`-c 'trailBuckets=[{"bucketName":"…"}]'`).
 * A bad value fails synthesis with one {@link ConfigError} listing every
 * problem, each with its path (`trailBuckets[1].bucketName: is not an S3 bucket name`).
 * `cdk/README.md` documents each key with an example.
 */
import { isAbsolute, resolve } from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { z } from 'zod';
import { AZURE_TABLES } from '../adapters/azure/kql.js';
import { readAlertingConfigDir } from '../adapters/fs/alerting-config.js';
import type { AlertingConfig } from '../detectors/alerting/config.js';
import { repoPath } from './paths.js';
import { INGEST_SOURCES, type IngestSource } from './telemetry.js';

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const PREFIX = /^[a-z][a-z0-9-]{1,23}$/;
/** S3's naming rules for general purpose buckets (no dots next to each other, not an IP address). */
const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A key prefix to read under: no leading slash, no wildcard (the IAM resource adds its own). */
const KEY_PREFIX = /^[^/*?\s][^*?\s]*$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const GCP_RESOURCE = /^(projects|folders|organizations|billingAccounts)\/([^/\s]+)$/;
const GCP_PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** What CloudWatch Logs accepts as a retention, in days (never-expire excluded on purpose). */
const LOG_RETENTIONS = Object.values(RetentionDays).filter(
  (days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

const DEFAULT_DEAD_MAN_MINUTES = 30;

/**
 * `-c` hands every value over as a string: parse lists, objects and numbers
 * from JSON, so `cdk.json` and the command line mean the same.
 */
function fromContextText<T extends z.ZodType>(schema: T) {
  return z.preprocess((value, context) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      context.addIssue({
        code: 'custom',
        message: 'is not JSON (-c passes text: give numbers, lists and objects as JSON)',
      });
      return z.NEVER;
    }
  }, schema);
}

const days = (max: number) => z.int('must be a whole number of days').min(1).max(max);

const TrailBucket = z.strictObject({
  /** The bucket the trail writes to. */
  bucketName: z.string().regex(BUCKET_NAME, 'is not an S3 bucket name'),
  /** The bucket owner's account: the queue then only takes notifications from that account. */
  bucketAccount: z.string().regex(ACCOUNT, 'is not a 12-digit AWS account id').optional(),
  /** The KMS key the trail encrypts its log files with (SSE-KMS); the ingest function may decrypt with it. */
  kmsKeyArn: z.string().regex(KMS_KEY_ARN, 'is not a KMS key ARN').optional(),
  /** Read only objects under this key prefix, e.g. `AWSLogs/o-abc123def4/` (default: the whole bucket). */
  prefix: z.string().regex(KEY_PREFIX, 'is not a key prefix (no leading "/", no wildcards)').optional(),
});

const GcpPush = z.strictObject({
  /** The audience the push subscription puts in its OIDC token. */
  audience: z.string().regex(/^\S+$/, 'must not contain spaces'),
  /** The one service account allowed to push. */
  serviceAccountEmail: z.email('is not an email address'),
});

const GcpPull = z
  .strictObject({
    resourceName: z
      .string()
      .regex(GCP_RESOURCE, 'is not projects/<id>, folders/<id>, organizations/<id> or billingAccounts/<id>'),
    projectId: z.string().regex(GCP_PROJECT_ID, 'is not a GCP project id').optional(),
    /** An `external_account` credential configuration (it holds no key material). */
    workloadIdentityConfig: z
      .looseObject({ type: z.literal('external_account', 'must be "external_account"') })
      .optional(),
    serviceAccountKeySecretArn: z
      .string()
      .regex(SECRET_ARN, 'is not a Secrets Manager secret ARN')
      .optional(),
    logFilter: z.string().min(1).optional(),
  })
  .superRefine((pull, context) => {
    if (pull.workloadIdentityConfig === undefined && pull.serviceAccountKeySecretArn === undefined)
      context.addIssue({
        code: 'custom',
        path: ['workloadIdentityConfig'],
        message: 'is not set, and neither is serviceAccountKeySecretArn: the pull has no credentials',
      });
    if (pull.projectId === undefined && !pull.resourceName.startsWith('projects/'))
      context.addIssue({
        code: 'custom',
        path: ['projectId'],
        message: `is required: ${pull.resourceName} is not a project to bill the reads to`,
      });
  });

const Gcp = z
  .strictObject({ push: GcpPush.optional(), pull: GcpPull.optional() })
  .refine(
    (gcp) => gcp.push !== undefined || gcp.pull !== undefined,
    'turns on nothing: give push, pull or both',
  );

const Azure = z.strictObject({
  workspaceId: z.guid('is not a Log Analytics workspace id (a GUID)'),
  settingsSecretArn: z.string().regex(SECRET_ARN, 'is not a Secrets Manager secret ARN'),
  tables: z.array(z.enum(AZURE_TABLES)).min(1).optional(),
  /**
   * The audience of the STS web identity token shown to Entra ID: the function
   * may request tokens for this audience only. It must equal the settings
   * secret's `assertionAudience` when that is set (the function's default is
   * Entra ID's own, `api://AzureADTokenExchange`).
   */
  assertionAudience: z
    .string()
    .regex(/^\S+$/, 'must not contain spaces')
    .default('api://AzureADTokenExchange'),
});

const DeadManMinutes = z
  .partialRecord(
    z.enum(INGEST_SOURCES),
    z
      .int()
      .min(5)
      .max(24 * 60),
  )
  .default({})
  .transform(
    (given) =>
      Object.fromEntries(
        INGEST_SOURCES.map((source) => [source, given[source] ?? DEFAULT_DEAD_MAN_MINUTES]),
      ) as Record<IngestSource, number>,
  );

/** The alerting folder the app ships unless told otherwise (relative to the repository). */
export const DEFAULT_ALERTING_DIR = 'samples/alerting';

/** The alerting configuration a deployment ships: its folder and what it says. */
export interface AlertingDirConfig {
  /** Absolute path of the folder holding `alerting.yml` (and `suppressions.yml`). */
  readonly path: string;
  /** Its parsed content: the grants follow the destinations it names. */
  readonly settings: AlertingConfig;
}

/**
 * The alerting folder, parsed now exactly as the functions will parse it: a
 * broken `alerting.yml` fails the synthesis, not the first finding in AWS.
 * Relative paths are from the repository root, wherever `cdk` runs.
 */
const AlertingDir = z
  .string()
  .min(1)
  .default(DEFAULT_ALERTING_DIR)
  .transform((dir, context): AlertingDirConfig => {
    const path = isAbsolute(dir) ? dir : resolve(repoPath('.'), dir);
    try {
      return { path, settings: readAlertingConfigDir(path) };
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** The architectures a runtime collector layer is published for (a Lambda function's two). */
export const COLLECTOR_ARCHITECTURES = ['arm64', 'x86_64'] as const;
export type CollectorArchitecture = (typeof COLLECTOR_ARCHITECTURES)[number];

/**
 * Publishing the runtime collector layer (`lambda-layer/`) for customers' own
 * functions. Off by default: the layer compiles the native collector at
 * synthesis, for arm64 with a cross compiler on other machines.
 */
const RuntimeCollector = z
  .strictObject({
    enabled: z.boolean('must be true or false').default(false),
    architectures: z
      .array(z.enum(COLLECTOR_ARCHITECTURES))
      .min(1, 'must name at least one architecture')
      .default([...COLLECTOR_ARCHITECTURES])
      .superRefine((architectures, context) => {
        for (const [index, architecture] of architectures.entries())
          if (architectures.indexOf(architecture) !== index)
            context.addIssue({ code: 'custom', path: [index], message: `${architecture} is listed twice` });
      }),
  })
  .prefault({});

const ConfigSchema = z.strictObject({
  account: z.string().regex(ACCOUNT, 'is not a 12-digit AWS account id').optional(),
  region: z.string().regex(REGION, 'is not an AWS region').optional(),
  /** Names of the resources that carry one (buses, stacks) start with it; two deployments in one account need two prefixes. */
  prefix: z
    .string()
    .regex(PREFIX, 'must be 2-24 lowercase letters, digits or hyphens, starting with a letter')
    .default('trailhound'),
  trailBuckets: fromContextText(
    z
      .array(TrailBucket)
      .default([])
      .superRefine((buckets, context) => {
        const names = buckets.map((b) => b.bucketName);
        for (const [index, name] of names.entries())
          if (names.indexOf(name) !== index)
            context.addIssue({
              code: 'custom',
              path: [index, 'bucketName'],
              message: `${name} is listed twice`,
            });
      }),
  ),
  organizationId: z
    .string()
    .regex(ORGANIZATION_ID, 'is not an AWS Organizations id (o- and 10-32 lowercase letters or digits)')
    .optional(),
  alarmEmail: z.email('is not an email address').optional(),
  findingsEmail: z.email('is not an email address').optional(),
  deadManMinutes: fromContextText(DeadManMinutes),
  logRetentionDays: fromContextText(
    z
      .int()
      .refine((d) => LOG_RETENTIONS.includes(d), `is not one of ${LOG_RETENTIONS.join(', ')}`)
      .default(RetentionDays.ONE_YEAR)
      .transform((d) => d as RetentionDays),
  ),
  quarantineExpirationDays: fromContextText(days(3650).default(90)),
  findingsArchiveDays: fromContextText(days(3650).default(365)),
  gcp: fromContextText(Gcp.optional()),
  azure: fromContextText(Azure.optional()),
  alertingDir: AlertingDir,
  runtimeCollector: fromContextText(RuntimeCollector),
});

export type TrailhoundConfig = z.output<typeof ConfigSchema>;
export type TrailBucketConfig = z.output<typeof TrailBucket>;
export type GcpConfig = z.output<typeof Gcp>;
export type AzureConfig = z.output<typeof Azure>;
export type RuntimeCollectorConfig = z.output<typeof RuntimeCollector>;

/** The context keys the app reads; everything else in the context is CDK's own (feature flags). */
const CONTEXT_KEYS = Object.keys(ConfigSchema.shape).filter((key) => key !== 'account' && key !== 'region');

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid Trailhound configuration (CDK context; see cdk/README.md):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}

/** zod's wording for the common problems, in the style of the messages above; `undefined` keeps zod's. */
function problemText(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  if (issue.code === 'unrecognized_keys') return `has unknown keys: ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_value') return `is not one of ${issue.values.map(String).join(', ')}`;
  return undefined;
}

/** Validates raw configuration values (context values and `account` / `region`). */
export function parseConfig(raw: Readonly<Record<string, unknown>>): TrailhoundConfig {
  const result = ConfigSchema.safeParse(raw, { error: problemText });
  if (!result.success)
    throw new ConfigError(result.error.issues.map((issue) => `${pathText(issue.path)}: ${issue.message}`));
  return result.data;
}

/**
 * Reads the configuration from the context of `scope` (an `App`) and the
 * target account and region the CDK CLI puts in the environment.
 */
export function loadConfig(
  scope: Construct,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): TrailhoundConfig {
  const context = Object.fromEntries(CONTEXT_KEYS.map((key) => [key, scope.node.tryGetContext(key)]));
  return parseConfig({
    ...context,
    // Unset and empty both mean "no target": the stacks are then environment-agnostic.
    account: environment.CDK_DEFAULT_ACCOUNT || undefined,
    region: environment.CDK_DEFAULT_REGION || undefined,
  });
}
