/**
 * Continuous delivery: a GitHub Actions workflow exchanges its OIDC token for
 * the deploy role and runs `cdk deploy` (JavaScript SDK v3): it uploads Lambda
 * bundles, creates and executes a CloudFormation change set, and polls the
 * stack. CloudFormation then makes the stack's calls with its execution role,
 * each marked `invokedBy: cloudformation.amazonaws.com`. Passing that role in
 * `roleARN` is the deploy's `iam:PassRole`: IAM checks it on this call, and
 * CloudTrail logs no separate PassRole event.
 */
import { JS_SDK_GITHUB_RUNNER } from '../agents.js';
import * as iam from '../api/iam.js';
import * as lambda from '../api/lambda.js';
import * as platform from '../api/platform.js';
import * as s3 from '../api/s3.js';
import { assumeRole, assumeRoleWithWebIdentity, getCallerIdentity } from '../api/sts.js';
import { invokedByCaller, serviceCaller } from '../callers.js';
import {
  type AccountId,
  BUCKETS,
  DEV,
  FUNCTIONS,
  GITHUB_OIDC,
  githubRunnerIp,
  type LambdaFunction,
  PRIMARY_REGION,
  PROD,
  ROLES,
} from '../estate.js';
import { assumedRoleIdentity, startSession, webIdentityUserIdentity } from '../identities.js';
import type { Random } from '../random.js';
import { type Caller, TLS13 } from '../record.js';
import { Scene } from '../scene.js';
import { type ActivityContext, around, days } from './context.js';

const CLOUDFORMATION = 'cloudformation.amazonaws.com';

/** The workflow signs in with its OIDC token and continues as the deploy role. */
export function signInFromGithub(scene: Scene, account: AccountId): Caller {
  const runnerIp = githubRunnerIp(scene.rng);
  scene.as({
    identity: webIdentityUserIdentity(
      GITHUB_OIDC.provider(account),
      GITHUB_OIDC.audience,
      GITHUB_OIDC.subject,
    ),
    account,
    sourceIPAddress: runnerIp,
    userAgent: JS_SDK_GITHUB_RUNNER,
    tls: TLS13,
  });
  const session = startSession(scene.rng, ROLES.ciDeploy[account], GITHUB_OIDC.sessionName, scene.now);
  scene.call(assumeRoleWithWebIdentity(scene.rng, session, PRIMARY_REGION));
  return {
    identity: assumedRoleIdentity(session),
    account,
    sourceIPAddress: runnerIp,
    userAgent: JS_SDK_GITHUB_RUNNER,
    tls: TLS13,
  };
}

/** CloudFormation assumes the execution role for one stack operation. */
export function startStackOperation(rng: Random, log: Scene['log'], account: AccountId, at: number): Scene {
  const session = startSession(rng, ROLES.cloudFormationExec[account], 'AWSCloudFormation', at);
  const scene = new Scene(rng, log, serviceCaller(CLOUDFORMATION, account), at);
  scene.call(assumeRole(rng, session, { byService: true }), { gap: [0, 1] });
  return scene.as(invokedByCaller(session, CLOUDFORMATION));
}

/** Lambda versions published so far, per function, so each deploy publishes the next one. */
export type VersionCounter = Map<string, number>;

function nextVersion(versions: VersionCounter, fn: LambdaFunction): number {
  const version = (versions.get(fn.name) ?? 40) + 1;
  versions.set(fn.name, version);
  return version;
}

/** What CloudFormation does for one function whose code changed. */
function updateFunctionStack(
  stack: Scene,
  fn: LambdaFunction,
  artifact: { bucket: string; key: string },
  versions: VersionCounter,
) {
  const { rng } = stack;
  stack.call(lambda.updateFunctionCode(rng, fn, artifact, stack.now));
  stack.call(lambda.getFunction(fn), { gap: [2, 6] });
  if (rng.chance(0.3)) stack.call(lambda.updateFunctionConfiguration(rng, fn, stack.now), { gap: [1, 3] });
  const version = nextVersion(versions, fn);
  stack.call(lambda.publishVersion(rng, fn, version, stack.now), { gap: [2, 8] });
  stack.call(lambda.updateAlias(rng, fn, 'live', version), { gap: [1, 3] });
}

function deploy(
  context: ActivityContext,
  rng: Random,
  account: AccountId,
  at: number,
  versions: VersionCounter,
): void {
  const scene = new Scene(rng, context.log, undefined, at);
  scene.as(signInFromGithub(scene, account));
  scene.call(getCallerIdentity(PRIMARY_REGION), { gap: [1, 2] });

  const bucket = account === PROD ? BUCKETS.prodArtifacts : BUCKETS.devArtifacts;
  const candidates =
    account === PROD
      ? [FUNCTIONS.ordersApi, FUNCTIONS.thumbnailer, FUNCTIONS.reportBuilder]
      : [FUNCTIONS.ordersApiDev];
  const changed = rng.sample(candidates, rng.int(1, Math.min(2, candidates.length)));
  const artifacts = changed.map((fn) => {
    // CDK names assets by the SHA-256 of their content.
    const artifact = { bucket, key: `assets/${rng.hex(64)}.zip` };
    scene.call(
      s3.putObject(rng, bucket, artifact.key, PRIMARY_REGION, account, rng.int(400_000, 3_000_000)),
      { gap: [2, 10] },
    );
    return { fn, artifact };
  });
  const templateKey = `assets/${rng.hex(64)}.json`;
  scene.call(s3.putObject(rng, bucket, templateKey, PRIMARY_REGION, account, rng.int(20_000, 90_000)));

  const stackName = account === PROD ? 'shop-prod' : 'shop-dev';
  const changeSet: platform.ChangeSet = {
    region: PRIMARY_REGION,
    account,
    stackName,
    changeSetName: 'cdk-deploy-change-set',
    changeSetId: `arn:aws:cloudformation:${PRIMARY_REGION}:${account}:changeSet/cdk-deploy-change-set/${rng.uuid()}`,
  };
  scene.call(platform.describeStacks(PRIMARY_REGION, stackName), { gap: [1, 2] });
  scene.call(
    platform.createChangeSet(
      changeSet,
      `https://s3.${PRIMARY_REGION}.amazonaws.com/${bucket}/${templateKey}`,
      ROLES.cloudFormationExec[account].arn,
      [{ parameterKey: 'BootstrapVersion', parameterValue: '/cdk-bootstrap/hnb659fds/version' }],
    ),
  );
  for (let i = rng.int(2, 4); i > 0; i--) scene.call(platform.describeChangeSet(changeSet), { gap: [3, 6] });
  scene.call(platform.executeChangeSet(changeSet));

  const stack = startStackOperation(rng, context.log, account, scene.now + 2000);
  for (const { fn, artifact } of artifacts) updateFunctionStack(stack, fn, artifact, versions);
  if (account === PROD && rng.chance(0.2)) {
    const fn = rng.pick(changed);
    stack.call(
      iam.putRolePolicy(fn.role.name, 'app-access', {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
            Resource: '*',
          },
        ],
      }),
    );
  }

  // cdk polls the stack every few seconds until CloudFormation is done.
  while (scene.now < stack.now + 5000) {
    scene.call(platform.describeStackEvents(PRIMARY_REGION, stackName), { gap: [4, 6] });
  }
  scene.call(platform.describeStacks(PRIMARY_REGION, stackName));
}

export function simulateDeployments(context: ActivityContext): void {
  const versions: VersionCounter = new Map();
  for (const day of days(context)) {
    if (day.weekend) continue;
    const rng = context.rng.fork(`day-${day.index}`);
    for (let run = rng.int(1, 3); run > 0; run--)
      deploy(context, rng, PROD, around(rng, day, 17.5, 210), versions);
    for (let run = rng.int(2, 5); run > 0; run--)
      deploy(context, rng, DEV, around(rng, day, 17.5, 270), versions);
  }
}
