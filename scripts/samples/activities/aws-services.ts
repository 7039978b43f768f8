/**
 * AWS services working in the accounts on their own schedule:
 * - AWS Config's recorder describing resources through its service-linked
 *   role: a burst of Describe/List/Get calls across services every few hours,
 *   the legitimate twin of an intruder's discovery sweep;
 * - CloudTrail asking KMS for a data key for each log file of prod's own
 *   trail (this stops when the trail stops);
 * - Secrets Manager rotating the payments database password daily through
 *   its rotation function.
 */
import { BOTO3_LAMBDA_PYTHON312 } from '../agents.js';
import * as ec2 from '../api/ec2.js';
import * as iam from '../api/iam.js';
import * as lambda from '../api/lambda.js';
import * as platform from '../api/platform.js';
import * as s3 from '../api/s3.js';
import * as secrets from '../api/secrets.js';
import { assumeRole } from '../api/sts.js';
import { invokedByCaller, serviceCaller } from '../callers.js';
import { MINUTE, pad } from '../clock.js';
import {
  ACCOUNTS,
  type AccountId,
  BUCKETS,
  DR_REGION,
  FUNCTIONS,
  KMS_KEYS,
  PRIMARY_REGION,
  PROD,
  ROLES,
  SECRETS,
  TRAILS,
} from '../estate.js';
import { serviceEventIdentity, startSession } from '../identities.js';
import type { Random } from '../random.js';
import type { ApiCall, CallError, Caller, CloudTrailRecord } from '../record.js';
import { Scene } from '../scene.js';
import { type ActivityContext, around, days, windowEnd, windowStart } from './context.js';
import { startSandbox } from './workloads.js';

const CONFIG = 'config.amazonaws.com';

type Observation = readonly [ApiCall, CallError?];

const NO_LAMBDA_POLICY: CallError = {
  code: 'ResourceNotFoundException',
  message: 'The resource you requested does not exist.',
};

/** What Config looks at in an account: one entry per resource read, with the answer it usually gets. */
function configObservations(rng: Random, account: AccountId): Observation[] {
  const region = rng.chance(0.75) ? PRIMARY_REGION : DR_REGION;
  const functions = Object.values(FUNCTIONS).filter((fn) => fn.account === account);
  const buckets =
    account === PROD
      ? [BUCKETS.media, BUCKETS.reports, BUCKETS.backups, BUCKETS.customerExports]
      : [BUCKETS.devArtifacts, BUCKETS.mlDatasets];
  const bucket = rng.pick(buckets);
  const fn = rng.pick(functions);
  const roleName = rng.pick([
    ...functions.map((f) => f.role.name),
    'github-actions-deploy',
    'cloudformation-exec',
  ]);
  const observations: Observation[] = [
    [ec2.describeInstances(region)],
    [ec2.describeSecurityGroups(region)],
    [ec2.describeVpcs(region)],
    [ec2.describeSubnets(region)],
    [ec2.describeVolumes(region)],
    [ec2.describeAddresses(region)],
    [iam.getRole(roleName)],
    [iam.listRolePolicies(roleName)],
    [iam.listAttachedRolePolicies(roleName)],
    [s3.getBucketAcl(rng, bucket, PRIMARY_REGION, account)],
    [s3.getBucketPolicy(rng, bucket, PRIMARY_REGION, account), s3.S3_NOT_CONFIGURED.GetBucketPolicy],
    [s3.getBucketVersioning(rng, bucket, PRIMARY_REGION, account)],
    [s3.getBucketEncryption(rng, bucket, PRIMARY_REGION, account)],
    [lambda.getFunction(fn)],
    [lambda.getPolicy(fn), NO_LAMBDA_POLICY],
    [platform.describeTrails(PRIMARY_REGION)],
  ];
  if (account === PROD) {
    const key = rng.pick([KMS_KEYS.ordersData, KMS_KEYS.appBackups, KMS_KEYS.cloudTrailLogs]);
    observations.push(
      [secrets.describeKey(PRIMARY_REGION, key, account)],
      [secrets.getKeyRotationStatus(PRIMARY_REGION, key, account)],
      [secrets.describeSecret(PRIMARY_REGION, rng.pick(Object.values(SECRETS)))],
      [platform.getTrailStatus(PRIMARY_REGION, TRAILS.prodAccount.arn)],
    );
  }
  return observations;
}

function simulateConfigRecorder(context: ActivityContext, account: AccountId): void {
  const rng = context.rng.fork(`config/${account}`);
  const role = ROLES.config[account];
  for (
    let at = windowStart(context) + rng.int(5, 120) * MINUTE;
    at < windowEnd(context);
    at += rng.int(150, 300) * MINUTE
  ) {
    const session = startSession(rng, role, 'AWSConfig-Describe', at);
    const scene = new Scene(rng, context.log, serviceCaller(CONFIG, account), at);
    scene.call(assumeRole(rng, session, { region: PRIMARY_REGION, byService: true }), { gap: [0, 0] });
    scene.as(invokedByCaller(session, CONFIG));
    const sweep = rng.sample(configObservations(rng, account), rng.int(6, 12));
    for (const [call, error] of sweep) scene.call(call, { gap: [0, 2], ...(error ? { error } : {}) });
  }
}

/** The key CloudTrail writes each of prod's own log files with, named after that file. */
function logFileKeyName(rng: Random, at: number): string {
  const d = new Date(at);
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
  const folder = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
  return `AWSLogs/${PROD}/CloudTrail/${PRIMARY_REGION}/${folder}/${PROD}_CloudTrail_${PRIMARY_REGION}_${stamp}_${rng.mixedAlnum(16)}.json.gz`;
}

function simulateTrailDelivery(context: ActivityContext): void {
  const rng = context.rng.fork('cloudtrail-delivery');
  const caller = serviceCaller('cloudtrail.amazonaws.com', PROD);
  for (
    let at = windowStart(context) + rng.int(1, 15) * MINUTE;
    at < windowEnd(context);
    at += rng.int(12, 25) * MINUTE
  ) {
    const scene = new Scene(rng, context.log, caller, at);
    scene.call(
      secrets.generateDataKey(PRIMARY_REGION, KMS_KEYS.cloudTrailLogs, PROD, {
        'aws:cloudtrail:arn': TRAILS.prodAccount.arn,
        'aws:s3:arn': `arn:aws:s3:::${TRAILS.prodAccountBucket}/${logFileKeyName(rng, at)}`,
      }),
      { gap: [0, 0] },
    );
  }
}

/** True for the KMS calls CloudTrail makes to deliver `trailArn`'s files: they stop when the trail stops. */
export function isTrailDelivery(record: CloudTrailRecord, trailArn: string): boolean {
  if (record.eventName !== 'GenerateDataKey' || record.sourceIPAddress !== 'cloudtrail.amazonaws.com')
    return false;
  const context = record.requestParameters?.encryptionContext;
  return (
    typeof context === 'object' &&
    context !== null &&
    !Array.isArray(context) &&
    context['aws:cloudtrail:arn'] === trailArn
  );
}

/** Secrets Manager's four-step rotation (create, set, test, finish) run by the rotation function. */
function simulateSecretRotation(context: ActivityContext): void {
  const rng = context.rng.fork('rotation');
  const secret = SECRETS.paymentsDb;
  const fn = FUNCTIONS.secretsRotation;
  const service: Caller = {
    identity: serviceEventIdentity(PROD, 'secretsmanager.amazonaws.com'),
    account: PROD,
    sourceIPAddress: 'secretsmanager.amazonaws.com',
    userAgent: 'secretsmanager.amazonaws.com',
  };
  let currentVersion = rng.uuid();
  for (const day of days(context)) {
    const at = around(rng, day, 4, 10);
    const events = new Scene(rng, context.log, service, at);
    events.call(secrets.rotationEvent(PRIMARY_REGION, PROD, secret, 'RotationStarted'), { gap: [0, 0] });
    const sandbox = startSandbox(context, rng, fn, at + 2000, BOTO3_LAMBDA_PYTHON312);
    const rotation = new Scene(rng, context.log, sandbox.caller, at + 2000);
    const pending = rng.uuid();
    rotation.call(secrets.describeSecret(PRIMARY_REGION, secret));
    rotation.call(secrets.getSecretValue(PRIMARY_REGION, secret.arn, 'AWSCURRENT'));
    rotation.call(secrets.putSecretValue(rng, PRIMARY_REGION, secret, pending));
    rotation.call(secrets.describeSecret(PRIMARY_REGION, secret), { gap: [2, 5] });
    rotation.call(secrets.getSecretValue(PRIMARY_REGION, secret.arn, 'AWSPENDING'));
    rotation.call(secrets.describeSecret(PRIMARY_REGION, secret), { gap: [2, 5] });
    rotation.call(secrets.getSecretValue(PRIMARY_REGION, secret.arn, 'AWSPENDING'));
    rotation.call(secrets.describeSecret(PRIMARY_REGION, secret), { gap: [2, 5] });
    rotation.call(secrets.updateSecretVersionStage(PRIMARY_REGION, secret, pending, currentVersion));
    currentVersion = pending;
    events.now = rotation.now;
    events.call(secrets.rotationEvent(PRIMARY_REGION, PROD, secret, 'RotationSucceeded'));
  }
}

export function simulateAwsServices(context: ActivityContext): void {
  for (const account of ACCOUNTS) simulateConfigRecorder(context, account);
  simulateTrailDelivery(context);
  simulateSecretRotation(context);
}
