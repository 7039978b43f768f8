/**
 * The functions' environment, read once at init (a handler module calls its
 * reader at top level) and typed. This is the ONLY module under `functions/`
 * that reads `process.env`; handlers get plain typed objects.
 *
 * - A variable that is missing or malformed fails the function at init with
 *   one {@link ConfigurationError} listing every problem, not at the first
 *   invocation that happens to need it.
 * - No secret is ever an environment value: what is secret (a service-account
 *   key, Azure app settings) is named here by its Secrets Manager ARN and
 *   fetched at run time (`secrets.ts`).
 * - Tests hand their own variables to {@link setEnvSource} before importing a
 *   handler; nothing mutates `process.env`.
 *
 * | variable | used by | meaning |
 * |---|---|---|
 * | `PROFILE_TABLE_NAME` | all | the DynamoDB table of profiles, batch ledger and checkpoints |
 * | `RULES_DIR` | all | folder of the rule YAML (default: `detectors/rules` of the source tree; a bundle must set it) |
 * | `NETWORK_DATA_DIR` | all | folder of the four `@ip-location-db` CSVs (default: the installed packages; a bundle must set it) |
 * | `FINDINGS_BUS_NAME` | all | the EventBridge bus findings go to (unset: findings are only logged, e.g. a dry run) |
 * | `QUARANTINE_BUCKET` | cloudtrail-*, runtime-ingest | Trailhound's bucket for what could not be used |
 * | `QUARANTINE_PREFIX` | cloudtrail-*, runtime-ingest | key prefix there (default `quarantine/`) |
 * | `IDEMPOTENCY_TABLE_NAME` | cloudtrail-s3-ingest | the Powertools idempotency table (objects already processed) |
 * | `GCP_PUSH_AUDIENCE` | gcp-pubsub-push | the audience the push subscription puts in its token (by default there: the function URL) |
 * | `GCP_PUSH_SERVICE_ACCOUNT` | gcp-pubsub-push | the only service account allowed to push |
 * | `GCP_RESOURCE_NAME` | gcp-logging-pull | `projects/<id>`, `folders/<id>`, `organizations/<id>` or `billingAccounts/<id>` |
 * | `GCP_PROJECT_ID` | gcp-logging-pull | project billed for the reads (default: the project of `GCP_RESOURCE_NAME`) |
 * | `GCP_LOG_FILTER` | gcp-logging-pull | optional condition ANDed to the audit-log filter |
 * | `GCP_WORKLOAD_IDENTITY_CONFIG` | gcp-logging-pull | an `external_account` credential configuration (JSON; no key material in it) |
 * | `GCP_SA_KEY_SECRET_ARN` | gcp-logging-pull | fallback: the secret holding a service-account key JSON |
 * | `AZURE_WORKSPACE_ID` | azure-log-analytics-pull | the Log Analytics workspace (customer) id |
 * | `AZURE_SETTINGS_SECRET_ARN` | azure-log-analytics-pull | the secret holding `{tenantId, clientId, …}` |
 * | `AZURE_TABLES` | azure-log-analytics-pull | comma-separated subset of `AzureActivity,AuditLogs,SigninLogs` (default all) |
 * | `PULL_OVERLAP_MINUTES` | pulls | re-read below the high-water mark for late entries (default 10) |
 * | `PULL_INITIAL_LOOKBACK_MINUTES` | pulls | where a stream without a checkpoint starts, back from now (default 60) |
 * | `PULL_DEADLINE_MARGIN_SECONDS` | pulls | stop starting pages this long before the Lambda deadline (default 30) |
 * | `PULL_PAGE_SIZE` | pulls | records per request (default: the adapter's, 1000 GCP / 5000 Azure) |
 * | `ALERTING_DIR` | alert-* | folder of `alerting.yml` and `suppressions.yml` (default: `samples/alerting` of the source tree; a bundle must set it) |
 * | `DEAD_LETTER_QUEUE_URL` | alert-* | the SQS queue of updates a destination could not take |
 * | `DEPLOYMENT_ACCOUNT_ID` | alert-* | the deploying account: Security Hub's product ARN and finding account |
 * | `AWS_REGION` | alert-* | set by Lambda: the region Security Hub is called in unless a destination names one |
 */
import { AZURE_TABLES, type AzureTable } from '../../adapters/azure/log-analytics-pull.js';
import { MAX_PAGE_SIZE as GCP_MAX_PAGE_SIZE } from '../../adapters/gcp/logging-pull.js';
import { ConfigurationError, type ConfigurationProblem } from './errors.js';

export type EnvSource = Readonly<Record<string, string | undefined>>;

let source: EnvSource = process.env;

/**
 * Test seam: read variables from `next` instead of `process.env`. Handlers read
 * their environment when their module is first imported, so call this before
 * that import (or after `vi.resetModules()`).
 */
export function setEnvSource(next: EnvSource): void {
  source = next;
}

export interface CommonEnv {
  readonly tableName: string;
  /** Undefined: the rules of the source tree (`builtinRulesDir()`). */
  readonly rulesDir: string | undefined;
  /** Undefined: the installed `@ip-location-db` packages. */
  readonly networkDataDir: string | undefined;
  /** Undefined: findings are logged, not published. */
  readonly findingsBusName: string | undefined;
}

/** The CloudTrail ingest functions' environment (S3 objects, EventBridge events). */
export interface CloudTrailIngestEnv extends CommonEnv {
  readonly quarantineBucket: string;
  readonly quarantinePrefix: string;
}

/** The runtime records ingest's environment: the same as the CloudTrail ingests' (it quarantines to S3 too). */
export type RuntimeIngestEnv = CloudTrailIngestEnv;

export interface CloudTrailS3IngestEnv extends CloudTrailIngestEnv {
  readonly idempotencyTableName: string;
}

export interface GcpPushEnv extends CommonEnv {
  readonly pushAudience: string;
  readonly pushServiceAccountEmail: string;
}

export interface PullEnv extends CommonEnv {
  readonly overlapMs: number;
  readonly initialLookbackMs: number;
  readonly deadlineMarginMs: number;
  readonly pageSize: number | undefined;
}

export interface GcpPullEnv extends PullEnv {
  readonly resourceName: string;
  readonly projectId: string;
  readonly filter: string | undefined;
  /** Preferred: workload identity federation from the function's AWS role. */
  readonly workloadIdentityConfig: Record<string, unknown> | undefined;
  /** Fallback when there is no federation configuration. */
  readonly serviceAccountKeySecretArn: string | undefined;
}

/** The alerting functions' environment (dispatcher and housekeeping). */
export interface AlertingEnv {
  /** The profile table: incidents, suppressed findings and rate limits live there too. */
  readonly tableName: string;
  /** Undefined: the sample configuration of the source tree. */
  readonly alertingDir: string | undefined;
  readonly deadLetterQueueUrl: string;
  readonly accountId: string;
  readonly region: string;
}

export interface AzurePullEnv extends PullEnv {
  readonly workspaceId: string;
  readonly settingsSecretArn: string;
  readonly tables: readonly AzureTable[];
}

const MINUTE = 60_000;

/** Collects every problem of one reading, then throws them together. */
class EnvReader {
  readonly problems: ConfigurationProblem[] = [];

  constructor(private readonly env: EnvSource) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  private fail(variable: string, problem: string): undefined {
    this.problems.push({ variable, problem });
    return undefined;
  }

  /** A required string; `check` returns what is wrong with it, or undefined. */
  string(name: string, check?: (value: string) => string | undefined): string {
    const value = this.optionalString(name, check);
    if (value === undefined && !this.problems.some((p) => p.variable === name)) this.fail(name, 'is not set');
    return value ?? '';
  }

  optionalString(name: string, check?: (value: string) => string | undefined): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const problem = check?.(value);
    return problem === undefined ? value : this.fail(name, problem);
  }

  integer(name: string, range: { min: number; max: number; default: number }): number {
    return this.optionalInteger(name, range) ?? range.default;
  }

  optionalInteger(name: string, range: { min: number; max: number }): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < range.min || number > range.max)
      return this.fail(name, `must be a whole number from ${range.min} to ${range.max}`);
    return number;
  }

  jsonObject(name: string): Record<string, unknown> | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      // The parser's message quotes the text: say only that it is not JSON.
      return this.fail(name, 'is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return this.fail(name, 'is not a JSON object');
    return parsed as Record<string, unknown>;
  }

  done<T>(value: T): T {
    if (this.problems.length > 0) throw new ConfigurationError(this.problems);
    return value;
  }
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GCP_RESOURCE = /^(projects|folders|organizations|billingAccounts)\/([^/\s]+)$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

const checks = {
  tableName: (v: string) => (TABLE_NAME.test(v) ? undefined : 'is not a DynamoDB table name'),
  busName: (v: string) => (BUS_NAME.test(v) ? undefined : 'is not an EventBridge bus name'),
  bucketName: (v: string) => (BUCKET_NAME.test(v) ? undefined : 'is not an S3 bucket name'),
  keyPrefix: (v: string) =>
    v.endsWith('/') && !v.startsWith('/') ? undefined : 'must end, and not start, with /',
  email: (v: string) => (EMAIL.test(v) ? undefined : 'is not an email address'),
  guid: (v: string) => (GUID.test(v) ? undefined : 'is not a workspace id (a GUID)'),
  gcpResource: (v: string) =>
    GCP_RESOURCE.test(v)
      ? undefined
      : 'is not projects/<id>, folders/<id>, organizations/<id> or billingAccounts/<id>',
  secretArn: (v: string) => (SECRET_ARN.test(v) ? undefined : 'is not a Secrets Manager secret ARN'),
  queueUrl: (v: string) =>
    /^https:\/\/\S+\/\d{12}\/[\w-]+(\.fifo)?$/.test(v) ? undefined : 'is not an SQS queue URL',
  accountId: (v: string) => (/^\d{12}$/.test(v) ? undefined : 'is not a 12-digit AWS account id'),
  region: (v: string) => (/^[a-z]{2}(-[a-z]+)+-\d+$/.test(v) ? undefined : 'is not an AWS region'),
  noSpace: (v: string) => (/\s/.test(v) ? 'must not contain spaces' : undefined),
};

function common(reader: EnvReader): CommonEnv {
  return {
    tableName: reader.string('PROFILE_TABLE_NAME', checks.tableName),
    rulesDir: reader.optionalString('RULES_DIR'),
    networkDataDir: reader.optionalString('NETWORK_DATA_DIR'),
    findingsBusName: reader.optionalString('FINDINGS_BUS_NAME', checks.busName),
  };
}

function cloudTrailIngest(reader: EnvReader): CloudTrailIngestEnv {
  return {
    ...common(reader),
    quarantineBucket: reader.string('QUARANTINE_BUCKET', checks.bucketName),
    quarantinePrefix: reader.optionalString('QUARANTINE_PREFIX', checks.keyPrefix) ?? 'quarantine/',
  };
}

/** The CloudTrail S3 ingest handler's environment. */
export function readCloudTrailS3IngestEnv(env: EnvSource = source): CloudTrailS3IngestEnv {
  const reader = new EnvReader(env);
  return reader.done({
    ...cloudTrailIngest(reader),
    idempotencyTableName: reader.string('IDEMPOTENCY_TABLE_NAME', checks.tableName),
  });
}

/** The CloudTrail EventBridge ingest handler's environment. */
export function readCloudTrailEventBridgeIngestEnv(env: EnvSource = source): CloudTrailIngestEnv {
  const reader = new EnvReader(env);
  return reader.done(cloudTrailIngest(reader));
}

/** The runtime records ingest handler's environment (CloudWatch Logs subscriptions and the collector's queue). */
export function readRuntimeIngestEnv(env: EnvSource = source): RuntimeIngestEnv {
  const reader = new EnvReader(env);
  return reader.done(cloudTrailIngest(reader));
}

function pull(reader: EnvReader, maxPageSize: number): PullEnv {
  return {
    ...common(reader),
    overlapMs: reader.integer('PULL_OVERLAP_MINUTES', { min: 0, max: 24 * 60, default: 10 }) * MINUTE,
    initialLookbackMs:
      reader.integer('PULL_INITIAL_LOOKBACK_MINUTES', { min: 1, max: 30 * 24 * 60, default: 60 }) * MINUTE,
    deadlineMarginMs:
      reader.integer('PULL_DEADLINE_MARGIN_SECONDS', { min: 1, max: 600, default: 30 }) * 1000,
    pageSize: reader.optionalInteger('PULL_PAGE_SIZE', { min: 1, max: maxPageSize }),
  };
}

/** The Pub/Sub push handler's environment. */
export function readGcpPushEnv(env: EnvSource = source): GcpPushEnv {
  const reader = new EnvReader(env);
  return reader.done({
    ...common(reader),
    pushAudience: reader.string('GCP_PUSH_AUDIENCE', checks.noSpace),
    pushServiceAccountEmail: reader.string('GCP_PUSH_SERVICE_ACCOUNT', checks.email),
  });
}

/** The Cloud Logging pull handler's environment. */
export function readGcpPullEnv(env: EnvSource = source): GcpPullEnv {
  const reader = new EnvReader(env);
  const resourceName = reader.string('GCP_RESOURCE_NAME', checks.gcpResource);
  const [, kind, id] = GCP_RESOURCE.exec(resourceName) ?? [];
  let projectId = reader.optionalString('GCP_PROJECT_ID', checks.noSpace);
  if (projectId === undefined && kind === 'projects') projectId = id;
  if (projectId === undefined && resourceName !== '' && kind !== undefined)
    reader.problems.push({
      variable: 'GCP_PROJECT_ID',
      problem: `is not set, and ${resourceName} is not a project to bill the reads to`,
    });
  const workloadIdentityConfig = reader.jsonObject('GCP_WORKLOAD_IDENTITY_CONFIG');
  if (workloadIdentityConfig !== undefined && workloadIdentityConfig.type !== 'external_account')
    reader.problems.push({
      variable: 'GCP_WORKLOAD_IDENTITY_CONFIG',
      problem: 'is not an external_account configuration',
    });
  const serviceAccountKeySecretArn = reader.optionalString('GCP_SA_KEY_SECRET_ARN', checks.secretArn);
  if (
    workloadIdentityConfig === undefined &&
    serviceAccountKeySecretArn === undefined &&
    !reader.problems.some((p) => p.variable.startsWith('GCP_WORKLOAD') || p.variable.startsWith('GCP_SA'))
  )
    reader.problems.push({
      variable: 'GCP_WORKLOAD_IDENTITY_CONFIG',
      problem: 'is not set, and neither is GCP_SA_KEY_SECRET_ARN: the pull has no credentials',
    });
  return reader.done({
    ...pull(reader, GCP_MAX_PAGE_SIZE),
    resourceName,
    projectId: projectId ?? '',
    filter: reader.optionalString('GCP_LOG_FILTER'),
    workloadIdentityConfig,
    serviceAccountKeySecretArn,
  });
}

/** The Log Analytics pull handler's environment. */
export function readAzurePullEnv(env: EnvSource = source): AzurePullEnv {
  const reader = new EnvReader(env);
  const tablesText = reader.optionalString('AZURE_TABLES', (value) => {
    const unknown = value
      .split(',')
      .map((t) => t.trim())
      .filter((t) => !AZURE_TABLES.includes(t as AzureTable));
    return unknown.length > 0 ? `names unknown tables ${unknown.join(', ')}` : undefined;
  });
  const tables =
    tablesText === undefined
      ? [...AZURE_TABLES]
      : [...new Set(tablesText.split(',').map((t) => t.trim() as AzureTable))];
  return reader.done({
    ...pull(reader, 100_000),
    workspaceId: reader.string('AZURE_WORKSPACE_ID', checks.guid),
    settingsSecretArn: reader.string('AZURE_SETTINGS_SECRET_ARN', checks.secretArn),
    tables,
  });
}

/** The alert dispatcher's and the housekeeping function's environment. */
export function readAlertingEnv(env: EnvSource = source): AlertingEnv {
  const reader = new EnvReader(env);
  return reader.done({
    tableName: reader.string('PROFILE_TABLE_NAME', checks.tableName),
    alertingDir: reader.optionalString('ALERTING_DIR'),
    deadLetterQueueUrl: reader.string('DEAD_LETTER_QUEUE_URL', checks.queueUrl),
    accountId: reader.string('DEPLOYMENT_ACCOUNT_ID', checks.accountId),
    region: reader.string('AWS_REGION', checks.region),
  });
}
