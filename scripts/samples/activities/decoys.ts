/**
 * Routine changes that look like attacks to a careless rule. Each is what a
 * real team does in a normal week; a careful rule tells them apart by who
 * acts, from where, through which service, and on what.
 *
 * One-off decoys are played here; routine look-alikes (Config's describe
 * sweeps, CI sessions from new runner addresses, a user rotating their own
 * key, a mistyped password) are part of the ordinary traffic and listed in
 * `DECOYS` too.
 */
import * as ec2 from '../api/ec2.js';
import * as iam from '../api/iam.js';
import * as lambda from '../api/lambda.js';
import * as platform from '../api/platform.js';
import * as s3 from '../api/s3.js';
import { scheduleKeyDeletion } from '../api/secrets.js';
import { getCallerIdentity } from '../api/sts.js';
import type { Behaviour } from '../behaviours.js';
import { HOUR, MINUTE } from '../clock.js';
import {
  BUCKETS,
  COMPANY_IPS,
  DEV,
  EC2,
  FUNCTIONS,
  KMS_KEYS,
  ORG_ID,
  PRIMARY_REGION,
  PROD,
  SSO_ROLES,
  USERS,
  VPC_CIDRS,
} from '../estate.js';
import { iamUserIdentity, role as newRole } from '../identities.js';
import type { Random } from '../random.js';
import { TLS13 } from '../record.js';
import { Scene } from '../scene.js';
import { signInFromGithub, startStackOperation } from './ci-deploy.js';
import { type ActivityContext, dayAt } from './context.js';
import { PEOPLE, signInAsIamUser, signInWithSso } from './people.js';

export interface Decoy {
  readonly id: string;
  readonly title: string;
  /** The attack behaviours it resembles. */
  readonly resembles: readonly Behaviour[];
  /** What tells it apart. */
  readonly benignBecause: string;
  /** Where it happens: a one-off in the window, or part of routine traffic. */
  readonly kind: 'one-off' | 'routine';
}

interface OneOff extends Decoy {
  readonly kind: 'one-off';
  /** When: this fraction of the way through the window, at this UTC hour. */
  readonly dayFraction: number;
  readonly hour: number;
  readonly play: (scene: Scene) => void;
}

const CLOUDFORMATION = 'cloudformation.amazonaws.com';

const adminCreatesRoleThroughCloudFormation: OneOff = {
  id: 'cfn-admin-creates-role',
  title: 'Platform admin creates an IAM role through a CloudFormation stack',
  resembles: ['iam-role-created'],
  benignBecause:
    'alice (platform admin, MFA, office address) creates a stack; the role calls are made by CloudFormation on her behalf (invokedBy) and attach only the Lambda basic execution policy.',
  kind: 'one-off',
  dayFraction: 0,
  hour: 15.2,
  play: (scene) => {
    const alice = signInAsIamUser(
      scene,
      PEOPLE.alice,
      USERS.alice,
      `arn:aws:iam::${PROD}:mfa/alice-yubikey`,
      COMPANY_IPS.office,
    );
    scene.as(alice);
    scene.call(platform.listStacks(PRIMARY_REGION), { gap: [10, 40] });
    const stackName = 'platform-log-shipper';
    scene.call(
      platform.createStack(
        PRIMARY_REGION,
        PROD,
        stackName,
        `https://s3.amazonaws.com/${BUCKETS.prodArtifacts}/templates/log-shipper.yaml`,
      ),
      { gap: [30, 120] },
    );
    const stackCalls = new Scene(
      scene.rng,
      scene.log,
      {
        identity: { ...alice.identity, invokedBy: CLOUDFORMATION },
        account: PROD,
        sourceIPAddress: CLOUDFORMATION,
        userAgent: CLOUDFORMATION,
      },
      scene.now,
    );
    const role = newRole(PROD, 'platform-log-shipper-role');
    stackCalls.call(
      iam.createRole(
        role,
        iam.serviceTrustPolicy('lambda.amazonaws.com'),
        stackCalls.now,
        'Ships application logs to the archive bucket',
      ),
    );
    stackCalls.call(iam.attachRolePolicy(role.name, iam.LAMBDA_BASIC_EXECUTION));
    stackCalls.call(
      iam.putRolePolicy(role.name, 'ship-logs', {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKETS.backups}/app-logs/*` },
        ],
      }),
    );
    stackCalls.call(iam.getRole(role.name), { gap: [2, 5] });
    for (let i = 0; i < 3; i++)
      scene.call(platform.describeStackEvents(PRIMARY_REGION, stackName), { gap: [5, 20] });
  },
};

const ciHotfixUpdatesLambdaCode: OneOff = {
  id: 'ci-hotfix-lambda-code',
  title: "The CI deploy role updates a Lambda function's code directly (hotfix workflow)",
  resembles: ['lambda-code-modified'],
  benignBecause:
    'the GitHub OIDC deploy role, signed in from a GitHub runner with the SDK it always uses, deploys a build it just uploaded to the artifacts bucket.',
  kind: 'one-off',
  dayFraction: 0.4,
  hour: 19.7,
  play: (scene) => {
    const { rng } = scene;
    scene.as(signInFromGithub(scene, PROD));
    scene.call(getCallerIdentity(PRIMARY_REGION));
    const artifact = { bucket: BUCKETS.prodArtifacts, key: `hotfix/thumbnailer/${rng.hex(40)}.zip` };
    scene.call(
      s3.putObject(rng, artifact.bucket, artifact.key, PRIMARY_REGION, PROD, rng.int(500_000, 900_000)),
    );
    scene.call(lambda.updateFunctionCode(rng, FUNCTIONS.thumbnailer, artifact, scene.now));
    scene.call(lambda.getFunctionConfiguration(FUNCTIONS.thumbnailer), { gap: [2, 5] });
    scene.call(lambda.getFunctionConfiguration(FUNCTIONS.thumbnailer), { gap: [2, 5] });
  },
};

const securityGroupOpenedToVpc: OneOff = {
  id: 'sg-ingress-private-cidr',
  title: "Security group opened to the VPC's own private range",
  resembles: ['security-group-opened'],
  benignBecause:
    "the source is 10.20.0.0/16, prod's own VPC, on the database port; nothing is exposed to the internet.",
  kind: 'one-off',
  dayFraction: 0,
  hour: 17.4,
  play: (scene) => {
    scene.as(signInWithSso(scene, PEOPLE.priya, SSO_ROLES.prodAdmin, COMPANY_IPS.office));
    scene.gap = [1, 6];
    scene.call(ec2.describeSecurityGroups(PRIMARY_REGION));
    scene.call(
      ec2.authorizeSecurityGroupIngress(scene.rng, PRIMARY_REGION, PROD, EC2.databaseSecurityGroup, {
        port: 5432,
        cidr: VPC_CIDRS[PROD],
        description: 'app subnets to postgres',
      }),
      { gap: [20, 90] },
    );
    scene.call(ec2.describeSecurityGroups(PRIMARY_REGION));
  },
};

const oldSnapshotMadePrivate: OneOff = {
  id: 'snapshot-made-private',
  title: 'A security engineer removes public access from an old snapshot',
  resembles: ['snapshot-made-public'],
  benignBecause:
    'createVolumePermission *remove* group all: the change closes access; a rule must read add, not just the attribute.',
  kind: 'one-off',
  dayFraction: 0.4,
  hour: 15,
  play: (scene) => {
    scene.as(signInWithSso(scene, PEOPLE.priya, SSO_ROLES.prodAdmin, COMPANY_IPS.office));
    scene.gap = [1, 6];
    scene.call(ec2.describeSnapshots(PRIMARY_REGION));
    scene.call(
      ec2.modifySnapshotAttribute(scene.rng, PRIMARY_REGION, 'snap-0e4d3c2b1a0987654', 'remove', {
        group: 'all',
      }),
      {
        gap: [30, 120],
      },
    );
  },
};

const snapshotSharedWithOwnAccount: OneOff = {
  id: 'snapshot-shared-with-org-account',
  title: "A backup snapshot and the golden AMI shared with the organization's dev account",
  resembles: ['snapshot-shared'],
  benignBecause: `the grantee ${DEV} is the organization's own dev account (a trusted account), not an outsider.`,
  kind: 'one-off',
  dayFraction: 0.7,
  hour: 14.5,
  play: (scene) => {
    scene.as({
      identity: iamUserIdentity(USERS.alice),
      account: PROD,
      sourceIPAddress: COMPANY_IPS.office,
      userAgent: PEOPLE.alice.cli,
      tls: TLS13,
    });
    scene.gap = [3, 30];
    scene.call(ec2.describeSnapshots(PRIMARY_REGION));
    scene.call(
      ec2.modifySnapshotAttribute(scene.rng, PRIMARY_REGION, 'snap-0b7c6d5e4f3a21098', 'add', {
        userId: DEV,
      }),
    );
    scene.call(ec2.describeImages(PRIMARY_REGION, 'self'));
    scene.call(ec2.modifyImageAttribute(scene.rng, PRIMARY_REGION, EC2.goldenAmi, DEV));
  },
};

const orgScopedBucketPolicy: OneOff = {
  id: 'bucket-policy-org-scoped',
  title: 'A bucket policy with "Principal": "*" scoped to the organization, plus a TLS-only deny',
  resembles: ['bucket-policy-public'],
  benignBecause: `the Allow is conditioned on aws:PrincipalOrgID ${ORG_ID}; the other "*" statement is a Deny.`,
  kind: 'one-off',
  dayFraction: 0.4,
  hour: 18.1,
  play: (scene) => {
    scene.as(signInWithSso(scene, PEOPLE.priya, SSO_ROLES.prodAdmin, COMPANY_IPS.office));
    const { rng } = scene;
    const bucket = BUCKETS.sharedAssets;
    scene.gap = [1, 6];
    scene.call(s3.getBucketPolicy(rng, bucket, PRIMARY_REGION, PROD));
    scene.call(
      s3.putBucketPolicy(rng, bucket, PRIMARY_REGION, PROD, {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OrgRead',
            Effect: 'Allow',
            Principal: '*',
            Action: ['s3:GetObject'],
            Resource: `arn:aws:s3:::${bucket}/*`,
            Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG_ID } },
          },
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
      { gap: [60, 240] },
    );
  },
};

const mlEngineerLaunchesGpuInstance: OneOff = {
  id: 'gpu-instance-ml-engineer',
  title: 'An ML engineer launches one GPU instance in the usual region, and stops it in the evening',
  resembles: ['gpu-instances-launched'],
  benignBecause:
    'one g5.2xlarge in us-east-1 of the dev account, by the ML permission set, from the office, terminated the same day.',
  kind: 'one-off',
  dayFraction: 0,
  hour: 16,
  play: (scene) => {
    const { rng } = scene;
    const chen = signInWithSso(scene, PEOPLE.chen, SSO_ROLES.devMlEngineer, COMPANY_IPS.office);
    scene.as(chen);
    scene.gap = [2, 20];
    scene.call(
      ec2.describeImages(PRIMARY_REGION, 'amazon', 'Deep Learning OSS Nvidia Driver AMI GPU PyTorch*'),
    );
    scene.call(ec2.describeSubnets(PRIMARY_REGION));
    const instanceId = ec2.ec2Id(rng, 'i');
    scene.call(
      ec2.runInstances(rng, {
        region: PRIMARY_REGION,
        account: DEV,
        imageId: 'ami-0f9e8d7c6b5a43210',
        instanceType: 'g5.2xlarge',
        instanceIds: [instanceId],
        subnetId: 'subnet-0c3d4e5f6a7b81920',
        vpcId: EC2.devVpc,
        launchTime: scene.now + 1000,
        keyName: 'chen-dev',
      }),
      { gap: [30, 90] },
    );
    const evening = new Scene(
      rng,
      scene.log,
      chen,
      scene.now + rng.int(5, 6) * HOUR + rng.int(0, 40) * MINUTE,
    );
    evening.call(ec2.describeInstances(PRIMARY_REGION));
    evening.call(ec2.terminateInstances(rng, PRIMARY_REGION, [instanceId]), { gap: [5, 30] });
  },
};

const previewStackTeardown: OneOff = {
  id: 'stack-teardown-schedules-key-deletion',
  title: 'Tearing down a pull-request preview stack schedules its KMS key for deletion',
  resembles: ['kms-key-deletion-scheduled'],
  benignBecause:
    'CloudFormation (invokedBy) deletes resources of a stack the CI role deleted, in dev, with the default 7-day window.',
  kind: 'one-off',
  dayFraction: 0.7,
  hour: 20.2,
  play: (scene) => {
    scene.as(signInFromGithub(scene, DEV));
    const stackName = 'shop-preview-pr-482';
    scene.call(platform.describeStacks(PRIMARY_REGION, stackName));
    scene.call(platform.deleteStack(PRIMARY_REGION, stackName));
    const stack = startStackOperation(scene.rng, scene.log, DEV, scene.now + 2000);
    stack.call(lambda.deleteFunction(PRIMARY_REGION, `${stackName}-api`));
    stack.call(iam.detachRolePolicy(`${stackName}-api-role`, iam.LAMBDA_BASIC_EXECUTION), { gap: [2, 6] });
    stack.call(iam.deleteRole(`${stackName}-api-role`));
    stack.call(scheduleKeyDeletion(PRIMARY_REGION, KMS_KEYS.devFeatureFlags, DEV, stack.now), {
      gap: [2, 6],
    });
    while (scene.now < stack.now)
      scene.call(platform.describeStackEvents(PRIMARY_REGION, stackName), { gap: [4, 6] });
  },
};

const ONE_OFFS: readonly OneOff[] = [
  adminCreatesRoleThroughCloudFormation,
  ciHotfixUpdatesLambdaCode,
  securityGroupOpenedToVpc,
  oldSnapshotMadePrivate,
  snapshotSharedWithOwnAccount,
  orgScopedBucketPolicy,
  mlEngineerLaunchesGpuInstance,
  previewStackTeardown,
];

const ROUTINE: readonly Decoy[] = [
  {
    id: 'config-discovery-sweep',
    title: 'AWS Config describes resources across services every few hours',
    resembles: ['discovery-burst'],
    benignBecause: 'the AWSServiceRoleForConfig session, invokedBy config.amazonaws.com.',
    kind: 'routine',
  },
  {
    id: 'ci-session-from-new-runner',
    title: 'Every CI run starts from a new GitHub runner address and asks who it is',
    resembles: ['caller-identity-probe', 'access-key-used-from-new-ip'],
    benignBecause:
      "short-lived OIDC sessions of the deploy role, the runner pool's range and the usual SDK agent.",
    kind: 'routine',
  },
  {
    id: 'user-rotates-own-key',
    title: 'A developer rotates their own access key',
    resembles: ['access-key-created-for-other-user'],
    benignBecause:
      'bob creates a key for bob, from his usual address and CLI, then disables and deletes the old key.',
    kind: 'routine',
  },
  {
    id: 'console-login-typo',
    title: 'A mistyped password, then a successful MFA sign-in',
    resembles: ['console-login-failure'],
    benignBecause: 'one failure followed within a minute by success with MFA from the office.',
    kind: 'routine',
  },
];

/** Every decoy in the sample, one-off and routine. */
export const DECOYS: readonly Decoy[] = [...ONE_OFFS, ...ROUTINE].map(
  ({ id, title, resembles, benignBecause, kind }) => ({
    id,
    title,
    resembles,
    benignBecause,
    kind,
  }),
);

export function simulateDecoys(context: ActivityContext): void {
  for (const decoy of ONE_OFFS) {
    const rng: Random = context.rng.fork(decoy.id);
    const day = dayAt(context, decoy.dayFraction);
    decoy.play(
      new Scene(rng, context.log, undefined, day.midnight + decoy.hour * HOUR + rng.int(0, 300) * 1000),
    );
  }
}
