/**
 * The fictional organization the sample describes: two accounts of one AWS
 * Organization, the people and workloads in them, and their resources.
 *
 * Account ids and IP addresses come from ranges reserved for documentation
 * (AWS's example accounts; RFC 5737's 192.0.2.0/24, 198.51.100.0/24 and
 * 203.0.113.0/24), so nothing here points at a real party. Within them:
 * 198.51.100.0/24 is the company (office egress, VPN, the old Jenkins host),
 * 192.0.2.0/24 is where people work from home (.1–.99) and GitHub's hosted
 * runners (.128–.191), and 203.0.113.0/24 is kept for the attackers.
 */
import { iamUser, type Role, role } from './identities.js';
import type { Random } from './random.js';

export const ORG_ID = 'o-exampleorg1';
export const PROD = '111122223333';
export const DEV = '444455556666';
export const ACCOUNTS = [PROD, DEV] as const;
export type AccountId = (typeof ACCOUNTS)[number];

/** IAM, STS's global endpoint and console sign-in are logged in us-east-1. */
export const GLOBAL_REGION = 'us-east-1';
export const PRIMARY_REGION = 'us-east-1';
export const DR_REGION = 'us-west-2';
/** A region the company never uses: where crypto-miners like to hide. */
export const UNUSED_REGION = 'ap-southeast-1';

export const COMPANY_IPS = {
  office: '198.51.100.10',
  vpn: '198.51.100.20',
  jenkins: '198.51.100.40',
} as const;

/** GitHub-hosted runners get a new address for every workflow run. */
export const githubRunnerIp = (rng: Random): string => `192.0.2.${rng.int(128, 191)}`;

/** A private address in a VPC (`10.20` for prod, `10.30` for dev), as calls through VPC endpoints show. */
export const privateIp = (rng: Random, account: string): string =>
  `${account === PROD ? '10.20' : '10.30'}.${rng.int(1, 47)}.${rng.int(4, 250)}`;

export const VPC_CIDRS = { [PROD]: '10.20.0.0/16', [DEV]: '10.30.0.0/16' } as const;

export const USERS = {
  /** Platform admin: console with MFA, builds shared infrastructure through CloudFormation. */
  alice: iamUser(PROD, 'alice'),
  /** Developer in dev: CLI with an access key, no console. */
  bob: iamUser(DEV, 'bob'),
  /** The old Jenkins server's user: broad rights, a key years old. The one that leaks. */
  legacyDeploy: iamUser(PROD, 'svc-legacy-deploy'),
} as const;

const SSO_PATH = '/aws-reserved/sso.amazonaws.com/';
/** IAM Identity Center permission-set roles, as it names them in each account. */
export const SSO_ROLES = {
  prodAdmin: role(PROD, 'AWSReservedSSO_AdministratorAccess_3f1c5e8b9a0d2c47', SSO_PATH),
  prodReadOnly: role(PROD, 'AWSReservedSSO_ReadOnlyAccess_8d2e4f6a1b3c5d70', SSO_PATH),
  devDeveloper: role(DEV, 'AWSReservedSSO_DeveloperAccess_5b7c9d1e3f5a7b92', SSO_PATH),
  devMlEngineer: role(DEV, 'AWSReservedSSO_MLEngineer_a4c6e8f0b2d4f61e', SSO_PATH),
} as const;

export const SSO_SAML = {
  provider: (account: string): string =>
    `arn:aws:iam::${account}:saml-provider/AWSSSO_1a2b3c4d5e6f7a8b_DO_NOT_DELETE`,
  nameQualifier: 'cHJvZC1leGFtcGxlLW9yZy1pZGM9',
  issuer: 'https://portal.sso.us-east-1.amazonaws.com/saml/assertion/MTExMTIyMjIzMzMzX2lucy1leGFtcGxl',
} as const;

export const GITHUB_OIDC = {
  provider: (account: string): string =>
    `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`,
  audience: 'sts.amazonaws.com',
  subject: 'repo:example-org/shop:ref:refs/heads/main',
  /** The session name aws-actions/configure-aws-credentials uses. */
  sessionName: 'GitHubActions',
} as const;

const serviceLinked = (account: string, service: string, name: string): Role =>
  role(account, name, `/aws-service-role/${service}/`);

export const ROLES = {
  ciDeploy: { [PROD]: role(PROD, 'github-actions-deploy'), [DEV]: role(DEV, 'github-actions-deploy') },
  cloudFormationExec: { [PROD]: role(PROD, 'cloudformation-exec'), [DEV]: role(DEV, 'cloudformation-exec') },
  appServer: role(PROD, 'app-server-role'),
  config: {
    [PROD]: serviceLinked(PROD, 'config.amazonaws.com', 'AWSServiceRoleForConfig'),
    [DEV]: serviceLinked(DEV, 'config.amazonaws.com', 'AWSServiceRoleForConfig'),
  },
  autoScaling: serviceLinked(PROD, 'autoscaling.amazonaws.com', 'AWSServiceRoleForAutoScaling'),
} as const;

export interface Secret {
  readonly name: string;
  readonly arn: string;
}

const secret = (name: string, suffix: string): Secret => ({
  name,
  arn: `arn:aws:secretsmanager:${PRIMARY_REGION}:${PROD}:secret:${name}-${suffix}`,
});

/** Secrets Manager in prod. A function reads only its own; the rest are what an intruder wants. */
export const SECRETS = {
  ordersDb: secret('prod/orders-api/db', 'Qx7Lm2'),
  reportSmtp: secret('prod/report-builder/smtp', 'b8KpZ1'),
  paymentsDb: secret('prod/payments/db-credentials', 'Vn3sT9'),
  stripeKey: secret('prod/payments/stripe-api-key', 'h2RwQ4'),
  searchAdmin: secret('prod/search/opensearch-admin', 'Ye6dF0'),
  snowflake: secret('prod/analytics/snowflake', 'mP4cX8'),
  githubDeployKey: secret('prod/github/deploy-key', 'Tz1nB5'),
  datadogKey: secret('prod/datadog/api-key', 'Ga9uJ3'),
  sendgridKey: secret('prod/sendgrid/api-key', 'Lr5vK7'),
  jenkinsToken: secret('prod/legacy/jenkins-token', 'Wc2eH6'),
  oktaScim: secret('prod/okta/scim-token', 'Dq8yN1'),
  jwtSigningKey: secret('prod/internal/jwt-signing-key', 'Sf0aM4'),
} as const;

export interface LambdaFunction {
  readonly name: string;
  readonly account: string;
  readonly role: Role;
  readonly runtime: 'nodejs20.x' | 'python3.12';
  readonly arn: string;
}

const lambdaFunction = (
  account: string,
  name: string,
  runtime: LambdaFunction['runtime'],
): LambdaFunction => ({
  name,
  account,
  runtime,
  role: role(account, `${name}-role`),
  arn: `arn:aws:lambda:${PRIMARY_REGION}:${account}:function:${name}`,
});

export const FUNCTIONS = {
  ordersApi: lambdaFunction(PROD, 'orders-api', 'nodejs20.x'),
  thumbnailer: lambdaFunction(PROD, 'thumbnailer', 'python3.12'),
  reportBuilder: lambdaFunction(PROD, 'report-builder', 'nodejs20.x'),
  secretsRotation: lambdaFunction(PROD, 'payments-db-rotation', 'python3.12'),
  ordersApiDev: lambdaFunction(DEV, 'orders-api-dev', 'nodejs20.x'),
} as const;

export const BUCKETS = {
  media: 'example-prod-media',
  reports: 'example-prod-reports',
  backups: 'example-prod-app-backups',
  customerExports: 'example-prod-customer-exports',
  prodArtifacts: 'example-prod-deploy-artifacts',
  devArtifacts: 'example-dev-deploy-artifacts',
  mlDatasets: 'example-dev-ml-datasets',
  sharedAssets: 'example-prod-shared-assets',
} as const;

export const TABLES = {
  orders: { name: 'orders', account: PROD, arn: `arn:aws:dynamodb:${PRIMARY_REGION}:${PROD}:table/orders` },
  ordersDev: {
    name: 'orders-dev',
    account: DEV,
    arn: `arn:aws:dynamodb:${PRIMARY_REGION}:${DEV}:table/orders-dev`,
  },
} as const;

export interface KmsKey {
  readonly alias: string;
  readonly id: string;
  readonly arn: string;
}

const kmsKey = (account: string, alias: string, id: string): KmsKey => ({
  alias,
  id,
  arn: `arn:aws:kms:${PRIMARY_REGION}:${account}:key/${id}`,
});

export const KMS_KEYS = {
  ordersData: kmsKey(PROD, 'alias/orders-data', '5d9e1c2a-7b3f-4e8d-9a61-0c4b2f7e8d13'),
  cloudTrailLogs: kmsKey(PROD, 'alias/cloudtrail-logs', '8a2f6b1c-3d4e-4f5a-8b6c-7d8e9f0a1b2c'),
  appBackups: kmsKey(PROD, 'alias/app-backups', 'c3b1a2d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'),
  devFeatureFlags: kmsKey(DEV, 'alias/feature-flags-preview', 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b'),
} as const;

export const TRAILS = {
  /**
   * Prod's own trail, kept from before the organization existed; KMS-encrypted.
   * (The organization trail that writes the sample lives in the management
   * account, out of a member account's reach.)
   */
  prodAccount: { name: 'prod-audit', arn: `arn:aws:cloudtrail:${PRIMARY_REGION}:${PROD}:trail/prod-audit` },
  prodAccountBucket: 'example-prod-audit-logs',
} as const;

export const EC2 = {
  /** The long-running application server of prod's web tier. */
  appServerInstance: 'i-0abc12de34f567890',
  goldenAmi: 'ami-0c1a2b3c4d5e6f708',
  prodVpc: 'vpc-0a7b3c9d1e2f40516',
  devVpc: 'vpc-0d4e5f6a7b8c90123',
  prodSubnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b2c3d4e5f6a70819'],
  databaseSecurityGroup: 'sg-0f3e2d1c0b9a87654',
  webAutoScalingGroup: 'web-asg',
  launchTemplate: 'lt-0e1d2c3b4a5f60789',
  ordersDbVolume: 'vol-0a9b8c7d6e5f43210',
} as const;

/** VPC endpoints in prod; workloads reach AWS APIs through them, never through the internet. */
export const VPC_ENDPOINTS = {
  s3: 'vpce-0a1b2c3d4e5f60001',
  dynamodb: 'vpce-0a1b2c3d4e5f60002',
  secretsmanager: 'vpce-0a1b2c3d4e5f60003',
  ssm: 'vpce-0a1b2c3d4e5f60004',
  logs: 'vpce-0a1b2c3d4e5f60005',
  ec2: 'vpce-0a1b2c3d4e5f60006',
} as const;
