/**
 * (a) The old Jenkins user's access key leaks (a public repository, a build
 * log). At night it is used from a Kali box: "whose key is this?", a fast
 * sweep of IAM, S3, EC2, Lambda and Secrets Manager, a backdoor user with its
 * own key and AdministratorAccess, then prod's own trail is stopped. The
 * organization trail, out of the member account's reach, keeps recording.
 */

import { isTrailDelivery } from '../activities/aws-services.js';
import { CLI_KALI, PYTHON_REQUESTS } from '../agents.js';
import * as ec2 from '../api/ec2.js';
import * as iam from '../api/iam.js';
import * as lambda from '../api/lambda.js';
import * as platform from '../api/platform.js';
import * as s3 from '../api/s3.js';
import { listSecrets } from '../api/secrets.js';
import { getCallerIdentity } from '../api/sts.js';
import { BUCKETS, FUNCTIONS, PRIMARY_REGION, PROD, TRAILS, USERS } from '../estate.js';
import { iamUser, iamUserIdentity } from '../identities.js';
import { type Caller, TLS12, TLS13 } from '../record.js';
import type { AttackStory } from './story.js';

const ATTACKER_IP = '203.0.113.77';
const SWEPT_REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1'];

export const leakedAccessKey: AttackStory = {
  id: 'leaked-access-key',
  title: 'Leaked IAM user key: discovery, backdoor admin user, trail stopped',
  summary:
    'The svc-legacy-deploy key, normally used nightly by Jenkins from 198.51.100.40 with AWS CLI v1, is used from 203.0.113.77 with a Kali AWS CLI and a python-requests script.',
  account: PROD,
  sourceIp: ATTACKER_IP,
  behaviours: [
    'access-key-used-from-new-ip',
    'caller-identity-probe',
    'discovery-burst',
    'iam-user-created',
    'access-key-created-for-other-user',
    'admin-policy-attached',
    'cloudtrail-logging-stopped',
  ],
  mitre: ['T1078.004', 'T1087.004', 'T1580', 'T1136.003', 'T1098.001', 'T1098.003', 'T1562.008'],
  dayFraction: 0.34,
  hour: 2.2,
  play: (scene, { campaign }) => {
    const { rng } = scene;
    const cli: Caller = {
      identity: iamUserIdentity(USERS.legacyDeploy),
      account: PROD,
      sourceIPAddress: ATTACKER_IP,
      userAgent: CLI_KALI,
      tls: TLS13,
    };
    scene.as(cli);
    scene.gap = [1, 4];
    scene.call(getCallerIdentity());

    // Who am I, what may I do?
    scene.call(iam.getUser(), { gap: [20, 60] });
    scene.call(iam.listAttachedUserPolicies(USERS.legacyDeploy.name));
    scene.call(iam.listUserPolicies(USERS.legacyDeploy.name));
    scene.call(iam.listGroupsForUser(USERS.legacyDeploy.name));

    // The sweep: a script walks services and regions as fast as it can.
    scene.gap = [0, 2];
    scene.call(iam.getAccountSummary(), { gap: [30, 90] });
    scene.call(iam.listUsers());
    scene.call(iam.listRoles());
    scene.call(iam.listGroups());
    scene.call(iam.listPolicies());
    scene.call(iam.getAccountAuthorizationDetails());
    scene.call(platform.describeOrganization());
    scene.denied(platform.listAccounts(), { resource: '*' });
    scene.as({ ...cli, userAgent: PYTHON_REQUESTS, tls: TLS12 });
    scene.call(s3.listBuckets(rng));
    for (const bucket of [BUCKETS.customerExports, BUCKETS.backups, BUCKETS.reports]) {
      scene.call(s3.getBucketPolicy(rng, bucket, PRIMARY_REGION, PROD), {
        error: s3.S3_NOT_CONFIGURED.GetBucketPolicy,
      });
      scene.call(s3.getBucketAcl(rng, bucket, PRIMARY_REGION, PROD));
    }
    scene.call(ec2.describeRegions(PRIMARY_REGION));
    for (const region of SWEPT_REGIONS) {
      scene.call(ec2.describeInstances(region));
      scene.call(ec2.describeSecurityGroups(region));
    }
    scene.call(ec2.describeSnapshots(PRIMARY_REGION));
    scene.as(cli);
    scene.call(lambda.listFunctions(PRIMARY_REGION));
    scene.call(lambda.listFunctions('us-west-2'));
    scene.call(lambda.getFunction(FUNCTIONS.ordersApi));
    scene.call(listSecrets(PRIMARY_REGION));
    scene.call(platform.describeTrails(PRIMARY_REGION));
    scene.call(platform.getTrailStatus(PRIMARY_REGION, TRAILS.prodAccount.arn));

    // Persistence: a user of their own, named to blend in, with a key and full rights.
    scene.gap = [5, 40];
    const backdoor = iamUser(PROD, campaign.backdoorUserName);
    scene.call(iam.createUser(backdoor, scene.now), { gap: [120, 400] });
    scene.call(iam.createAccessKey(backdoor.name, campaign.backdoorKeyId, scene.now));
    scene.call(iam.attachUserPolicy(backdoor.name, iam.ADMINISTRATOR_ACCESS));

    // Defense evasion: stop the trail they can reach.
    scene.call(platform.stopLogging(PRIMARY_REGION, TRAILS.prodAccount.arn), { gap: [30, 120] });
    scene.call(platform.getTrailStatus(PRIMARY_REGION, TRAILS.prodAccount.arn));
  },
  supersedes: (record, story) => {
    const stopped = story.find((r) => r.eventName === 'StopLogging');
    return (
      stopped !== undefined &&
      record.eventTime > stopped.eventTime &&
      isTrailDelivery(record, TRAILS.prodAccount.arn)
    );
  },
};
