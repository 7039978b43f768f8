import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ApplicationLogLevel,
  Architecture,
  type ILayerVersion,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag.js';
import { repoPath } from '../paths.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../telemetry.js';
import { ALERTING_DIR, NETWORK_DATA_DIR, RULES_DIR } from './data-layer.js';
import { QUARANTINE_PREFIX } from './quarantine-bucket.js';

/** What every detection function uses: the data layer, the profiles, the findings bus, the key. */
export interface DetectionResources {
  readonly dataLayer: ILayerVersion;
  readonly profileTable: ITable;
  readonly findingsBus: IEventBus;
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
}

export interface TrailhoundFunctionProps {
  /** The handler module under `functions/`, without extension (it exports `handler`). */
  readonly handlerModule: string;
  readonly description: string;
  readonly detection: DetectionResources;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly reservedConcurrentExecutions?: number;
  /** Variables of this function only; the shared ones are set here. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Given, the function alerts rather than detects: it consumes findings, so
   * it carries this alerting configuration layer (`ALERTING_DIR`) instead of
   * the data layer, publishes nothing to the findings bus, and uses the
   * profile table as the incident store does ({@link INCIDENT_STORE_ACTIONS}).
   */
  readonly alertingConfigLayer?: ILayerVersion;
}

/**
 * The profile store reads profiles in batches and writes each one
 * conditionally; the seen-events sets are updated in place
 * (`adapters/dynamodb/`). Nothing scans, queries or deletes.
 */
const PROFILE_TABLE_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];
/**
 * The incident store (`adapters/dynamodb/incident-store.ts`): incidents, their
 * key index and the unresolved set are read and written item by item, a
 * group's newest incident and the unresolved set are queried, and a resolved
 * incident leaves the unresolved set. No batch reads, no scans.
 */
export const INCIDENT_STORE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:Query',
  'dynamodb:DeleteItem',
];
/** What Powertools' DynamoDB persistence layer does with an idempotency record. */
const IDEMPOTENCY_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

/**
 * A Trailhound Lambda function, built the same way every time:
 *
 * - `NodejsFunction` on Node.js 22, arm64 (cheaper per GB-second, and nothing
 *   here is architecture-specific); bundled by esbuild to minified ESM with
 *   source maps. The `createRequire` banner serves the CommonJS dependencies
 *   (google-gax, the X-Ray SDK) inside an ES module. The AWS SDK is bundled
 *   too rather than taken from the runtime: the functions then run the SDK
 *   versions they were tested with (`sts:GetWebIdentityToken` is newer than
 *   some runtimes' copy).
 * - its own role, with no managed policy: log writing on its own log group and
 *   every grant below are statements naming their resources.
 * - its own log group, KMS-encrypted with the retention of the configuration;
 *   JSON log format, so Powertools' structured lines are filterable by level.
 * - X-Ray active tracing, and the Powertools service name and metrics namespace.
 * - the rules and network data from the data layer, the profile table, and
 *   `events:PutEvents` on the findings bus only; or, for an alerting function
 *   (`alertingConfigLayer`), the alerting configuration and the incident
 *   store's actions on the profile table, and no findings bus.
 *
 * The `use…` methods add one more resource each: the environment variable
 * that names it and the permission to use it, together, so they cannot drift.
 */
export class TrailhoundFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: IRole;

  constructor(scope: Construct, id: string, props: TrailhoundFunctionProps) {
    super(scope, id);
    const { detection } = props;
    const alerting = props.alertingConfigLayer !== undefined;
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Trailhound ${props.handlerModule}`,
    });
    this.role = role;
    const logGroup = new LogGroup(this, 'Logs', {
      encryptionKey: detection.encryptionKey,
      retention: detection.logRetention,
      // The logs outlive the function: an investigation may need them after a teardown; retention empties them.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.function = new NodejsFunction(this, 'Function', {
      entry: repoPath(`functions/${props.handlerModule}.ts`),
      handler: 'handler',
      projectRoot: repoPath('.'),
      depsLockFilePath: repoPath('package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: Tracing.ACTIVE,
      layers: [props.alertingConfigLayer ?? detection.dataLayer],
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        // Mappings are enough for stack traces; the sources would only double the package.
        sourcesContent: false,
        externalModules: [],
      },
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
        PROFILE_TABLE_NAME: detection.profileTable.tableName,
        ...(alerting
          ? { ALERTING_DIR }
          : { FINDINGS_BUS_NAME: detection.findingsBus.eventBusName, RULES_DIR, NETWORK_DATA_DIR }),
        ...props.environment,
      },
    });

    logGroup.grantWrite(role);
    this.allow(alerting ? INCIDENT_STORE_ACTIONS : PROFILE_TABLE_ACTIONS, [detection.profileTable.tableArn]);
    if (!alerting) detection.findingsBus.grantPutEventsTo(role);
    // The key protects the tables, the queues and the quarantine bucket: SQS
    // and DynamoDB decrypt with it, S3 and DynamoDB encrypt new data with it.
    this.allow(
      ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      [detection.encryptionKey.keyArn],
    );
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 on purpose: the project pins Node 22 (package.json engines and the node@22 dev dependency), so tests run on the runtime the functions run on. Moving to a newer runtime is a project-wide change, not a deployment setting.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, so AWS requires "*". Every other statement of this role names its resources.',
    });
  }

  /** Lets the function use Powertools idempotency records in `table` (`IDEMPOTENCY_TABLE_NAME`). */
  useIdempotencyTable(table: ITable): void {
    this.function.addEnvironment('IDEMPOTENCY_TABLE_NAME', table.tableName);
    this.allow(IDEMPOTENCY_TABLE_ACTIONS, [table.tableArn]);
  }

  /**
   * Lets the function write quarantined input under `quarantine/` of `bucket`
   * (`QUARANTINE_BUCKET`, `QUARANTINE_PREFIX`): problem reports, and copies of
   * trail objects it could not read (a copy needs only the read permission it
   * already has on the trail bucket).
   */
  useQuarantineBucket(bucket: IBucket): void {
    this.function.addEnvironment('QUARANTINE_BUCKET', bucket.bucketName);
    this.function.addEnvironment('QUARANTINE_PREFIX', QUARANTINE_PREFIX);
    const objects = bucket.arnForObjects(`${QUARANTINE_PREFIX}*`);
    this.allow(['s3:PutObject'], [objects]);
    acknowledgeWildcardResource(
      this.role,
      objects,
      'Quarantined input gets keys of its own under quarantine/: the function may write anywhere under that prefix, nowhere else in the bucket, and read nothing.',
    );
  }

  /**
   * Names a Secrets Manager secret in `variable` and lets the function read
   * exactly that secret (by its complete ARN): no secret value is ever an
   * environment value.
   */
  readSecret(variable: string, secretArn: string): void {
    this.function.addEnvironment(variable, secretArn);
    this.allow(['secretsmanager:GetSecretValue'], [secretArn]);
  }

  /** Adds one identity-policy statement to the function's role. */
  allow(
    actions: readonly string[],
    resources: readonly string[],
    conditions?: Record<string, unknown>,
  ): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...actions], resources: [...resources], conditions }),
    );
  }
}
