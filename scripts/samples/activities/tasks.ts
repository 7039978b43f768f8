/**
 * What people do once signed in: short, recognisable pieces of work. A
 * console page fires several reads at once; reading the page takes a while.
 */
import * as ec2 from '../api/ec2.js';
import * as iam from '../api/iam.js';
import * as lambda from '../api/lambda.js';
import * as platform from '../api/platform.js';
import * as s3 from '../api/s3.js';
import * as secrets from '../api/secrets.js';
import { DAY } from '../clock.js';
import {
  BUCKETS,
  DEV,
  DR_REGION,
  FUNCTIONS,
  KMS_KEYS,
  type LambdaFunction,
  PRIMARY_REGION,
  PROD,
  SECRETS,
  TABLES,
  TRAILS,
} from '../estate.js';
import type { Scene } from '../scene.js';

export interface Workplace {
  readonly account: string;
}

export type Task = (scene: Scene, where: Workplace) => void;

/** Reading a page before clicking on. */
const read = (scene: Scene): void => {
  scene.pause(8, 90);
};

const functionsIn = (account: string): LambdaFunction[] =>
  Object.values(FUNCTIONS).filter((fn) => fn.account === account);
const bucketsIn = (account: string): string[] =>
  account === PROD
    ? [BUCKETS.media, BUCKETS.reports, BUCKETS.backups, BUCKETS.customerExports, BUCKETS.sharedAssets]
    : [BUCKETS.devArtifacts, BUCKETS.mlDatasets];
const stacksIn = (account: string): string[] =>
  account === PROD
    ? ['shop-prod', 'platform-network', 'platform-observability']
    : ['shop-dev', 'platform-network'];
const rolesIn = (account: string): string[] => [
  ...functionsIn(account).map((fn) => fn.role.name),
  'github-actions-deploy',
  'cloudformation-exec',
];

export const inspectCompute: Task = (scene, { account }) => {
  const region = scene.rng.chance(0.85) ? PRIMARY_REGION : DR_REGION;
  scene.call(ec2.describeInstances(region));
  scene.call(ec2.describeInstanceStatus(region), { gap: [0, 1] });
  scene.call(ec2.describeAccountAttributes(region), { gap: [0, 1] });
  read(scene);
  scene.call(ec2.describeSecurityGroups(region));
  scene.call(ec2.describeVpcs(region), { gap: [0, 1] });
  if (scene.rng.chance(0.5)) {
    read(scene);
    scene.call(ec2.describeVolumes(region));
    scene.call(ec2.describeSnapshots(region), { gap: [0, 2] });
  }
  if (account === PROD && scene.rng.chance(0.3)) scene.call(platform.describeAutoScalingGroups(region));
};

export const reviewIam: Task = (scene, { account }) => {
  scene.call(iam.getAccountSummary());
  scene.call(iam.listRoles(), { gap: [0, 2] });
  read(scene);
  for (const roleName of scene.rng.sample(rolesIn(account), scene.rng.int(1, 3))) {
    scene.call(iam.getRole(roleName));
    scene.call(iam.listAttachedRolePolicies(roleName), { gap: [0, 1] });
    scene.call(iam.listRolePolicies(roleName), { gap: [0, 1] });
    read(scene);
  }
  if (scene.rng.chance(0.4)) scene.call(iam.listUsers());
};

export const checkFunctions: Task = (scene, { account }) => {
  scene.call(lambda.listFunctions(PRIMARY_REGION));
  read(scene);
  const fn = scene.rng.pick(functionsIn(account));
  scene.call(lambda.getFunction(fn));
  scene.call(lambda.listEventSourceMappings(PRIMARY_REGION), { gap: [0, 1] });
  if (scene.rng.chance(0.6)) {
    read(scene);
    scene.call(platform.describeLogGroups(PRIMARY_REGION));
    scene.call(platform.describeLogStreams(PRIMARY_REGION, `/aws/lambda/${fn.name}`), { gap: [1, 6] });
  }
};

export const checkStorage: Task = (scene, { account }) => {
  const { rng } = scene;
  scene.call(s3.listBuckets(rng));
  read(scene);
  const bucket = rng.pick(bucketsIn(account));
  scene.call(s3.getBucketLocation(rng, bucket, PRIMARY_REGION, account));
  // The console's Permissions tab asks for a policy most buckets do not have.
  const hasPolicy = bucket === BUCKETS.sharedAssets || bucket === BUCKETS.media;
  scene.call(s3.getBucketPolicy(rng, bucket, PRIMARY_REGION, account), {
    gap: [0, 1],
    ...(hasPolicy ? {} : { error: s3.S3_NOT_CONFIGURED.GetBucketPolicy }),
  });
  scene.call(s3.getBucketAcl(rng, bucket, PRIMARY_REGION, account), { gap: [0, 1] });
  scene.call(s3.getBucketPublicAccessBlock(rng, bucket, PRIMARY_REGION, account), { gap: [0, 1] });
  if (rng.chance(0.5))
    scene.call(s3.getBucketEncryption(rng, bucket, PRIMARY_REGION, account), { gap: [0, 2] });
};

export const checkStacks: Task = (scene, { account }) => {
  scene.call(platform.listStacks(PRIMARY_REGION));
  read(scene);
  const stack = scene.rng.pick(stacksIn(account));
  scene.call(platform.describeStacks(PRIMARY_REGION, stack));
  scene.call(platform.describeStackEvents(PRIMARY_REGION, stack), { gap: [0, 1] });
  if (scene.rng.chance(0.4)) scene.call(platform.getTemplate(PRIMARY_REGION, stack), { gap: [5, 40] });
};

export const checkCosts: Task = (scene) => {
  const today = new Date(scene.now - (scene.now % DAY));
  const monthStart = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  const day = (d: Date) => d.toISOString().slice(0, 10);
  scene.call(platform.getCostAndUsage(day(monthStart), day(today)));
  read(scene);
  scene.call(platform.describeAlarms(PRIMARY_REGION));
};

export const securityReview: Task = (scene, { account }) => {
  scene.call(platform.listDetectors(PRIMARY_REGION));
  scene.call(platform.getFindings(PRIMARY_REGION), { gap: [1, 3] });
  read(scene);
  scene.call(platform.describeTrails(PRIMARY_REGION));
  if (account === PROD) {
    scene.call(platform.getTrailStatus(PRIMARY_REGION, TRAILS.prodAccount.arn), { gap: [0, 1] });
    scene.call(platform.getEventSelectors(PRIMARY_REGION, TRAILS.prodAccount.arn), { gap: [0, 1] });
  }
  if (scene.rng.chance(0.5)) {
    read(scene);
    scene.call(secrets.listKeys(PRIMARY_REGION));
    scene.call(secrets.listAliases(PRIMARY_REGION), { gap: [0, 1] });
    const key = scene.rng.pick([KMS_KEYS.ordersData, KMS_KEYS.appBackups, KMS_KEYS.cloudTrailLogs]);
    scene.call(secrets.describeKey(PRIMARY_REGION, key, account));
    scene.call(secrets.getKeyRotationStatus(PRIMARY_REGION, key, account), { gap: [0, 1] });
  }
  if (scene.rng.chance(0.3)) scene.call(platform.describeConfigRules(PRIMARY_REGION));
};

export const checkData: Task = (scene, { account }) => {
  const table = account === PROD ? TABLES.orders : TABLES.ordersDev;
  scene.call(platform.listTables(PRIMARY_REGION));
  scene.call(platform.describeTable(PRIMARY_REGION, table), { gap: [1, 5] });
  if (scene.rng.chance(0.4)) scene.call(platform.describeInstanceInformation(PRIMARY_REGION));
};

/** Looking up a service's credentials in the console: rare, and audited for that reason. */
export const readOwnTeamSecret: Task = (scene) => {
  scene.call(secrets.listSecrets(PRIMARY_REGION));
  read(scene);
  scene.call(secrets.describeSecret(PRIMARY_REGION, SECRETS.reportSmtp));
  scene.call(secrets.getSecretValue(PRIMARY_REGION, SECRETS.reportSmtp.arn), { gap: [3, 20] });
};

/**
 * A read-only user poking at what their role does not grant: a routine
 * AccessDenied, not an attack.
 */
export const bumpIntoReadOnlyLimits: Task = (scene) => {
  const { rng } = scene;
  checkFunctions(scene, { account: PROD });
  if (rng.chance(0.5)) {
    scene.denied(secrets.getSecretValue(PRIMARY_REGION, SECRETS.ordersDb.arn), {
      resource: SECRETS.ordersDb.arn,
    });
  } else {
    scene.denied(platform.getParameter(PRIMARY_REGION, '/shop/prod/feature-flags'), {
      resource: `arn:aws:ssm:${PRIMARY_REGION}:${PROD}:parameter/shop/prod/feature-flags`,
    });
  }
};

/** A developer trying IAM from a role without IAM read rights. */
export const peekAtIam: Task = (scene) => {
  scene.denied(iam.listRoles(), { resource: `arn:aws:iam::${DEV}:role/` });
};

/** A developer iterating on the dev function: upload a build, point the function at it, watch it. */
export const iterateOnDevFunction: Task = (scene) => {
  const { rng } = scene;
  const fn = FUNCTIONS.ordersApiDev;
  const key = `builds/orders-api/${rng.hex(7)}.zip`;
  scene.call(s3.putObject(rng, BUCKETS.devArtifacts, key, PRIMARY_REGION, DEV, rng.int(900_000, 2_400_000)));
  scene.call(lambda.updateFunctionCode(rng, fn, { bucket: BUCKETS.devArtifacts, key }, scene.now), {
    gap: [2, 8],
  });
  scene.call(lambda.getFunctionConfiguration(fn), { gap: [2, 6] });
  scene.call(lambda.getFunctionConfiguration(fn), { gap: [2, 6] });
  scene.pause(30, 240);
  scene.call(platform.describeLogStreams(PRIMARY_REGION, `/aws/lambda/${fn.name}`));
};

/** An ML engineer pulling a dataset sample and checking the training boxes. */
export const exploreDatasets: Task = (scene) => {
  const { rng } = scene;
  for (let i = rng.int(1, 4); i > 0; i--) {
    const key = `datasets/reviews/v${rng.int(3, 5)}/part-${String(rng.int(0, 199)).padStart(5, '0')}.parquet`;
    scene.call(
      s3.getObject(rng, BUCKETS.mlDatasets, key, PRIMARY_REGION, DEV, rng.int(8_000_000, 64_000_000)),
      {
        gap: [1, 20],
      },
    );
  }
  scene.call(ec2.describeInstances(PRIMARY_REGION), { gap: [10, 120] });
};
