/**
 * (b) A stolen IAM Identity Center session (the admin permission set, priya's
 * session of the day) is replayed from a rented server while priya keeps
 * working from the office: the orders database volume is snapshotted and the
 * snapshot made public, and the customer-exports bucket loses Block Public
 * Access and gets a policy open to everyone. Minutes later, anonymous
 * downloads follow.
 */

import { PEOPLE } from '../activities/people.js';
import { CLI_VPS, CURL } from '../agents.js';
import * as ec2 from '../api/ec2.js';
import * as s3 from '../api/s3.js';
import { getCallerIdentity } from '../api/sts.js';
import { HOUR } from '../clock.js';
import { BUCKETS, EC2, PRIMARY_REGION, PROD, SSO_ROLES } from '../estate.js';
import { anonymousIdentity, assumedRoleIdentity, startSession } from '../identities.js';
import { TLS13 } from '../record.js';
import { Scene } from '../scene.js';
import type { AttackStory } from './story.js';

const ATTACKER_IP = '203.0.113.45';

/** `2026-01` for one month before a time in February 2026. */
function monthBefore(ms: number, months: number): string {
  const d = new Date(ms);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months, 1)).toISOString().slice(0, 7);
}
const DOWNLOADER_IP = '203.0.113.200';

export const publicSnapshotAndBucket: AttackStory = {
  id: 'public-snapshot-and-bucket',
  title: 'Hijacked admin session makes an EBS snapshot and an S3 bucket public',
  summary:
    'priya\'s AWSReservedSSO_AdministratorAccess session is used from 203.0.113.45 with the AWS CLI while she works from the office: CreateSnapshot, ModifySnapshotAttribute add group all, DeleteBucketPublicAccessBlock, PutBucketPolicy with Principal "*", then anonymous GetObject.',
  account: PROD,
  sourceIp: ATTACKER_IP,
  behaviours: [
    'session-used-from-two-ips',
    'snapshot-made-public',
    'bucket-public-access-block-removed',
    'bucket-policy-public',
  ],
  mitre: ['T1550.001', 'T1537', 'T1530'],
  dayFraction: 0.34,
  hour: 16.6,
  play: (scene, { timeline }) => {
    const { rng } = scene;
    const role = SSO_ROLES.prodAdmin;
    // The victim's live session if the timeline has one; otherwise one that began before the window.
    const session =
      timeline.latestSession(role, scene.now, PEOPLE.priya.email) ??
      startSession(rng, role, PEOPLE.priya.email, scene.now - 2 * HOUR);
    scene.as({
      identity: assumedRoleIdentity(session),
      account: PROD,
      sourceIPAddress: ATTACKER_IP,
      userAgent: CLI_VPS,
      tls: TLS13,
    });
    scene.gap = [2, 20];
    scene.call(getCallerIdentity());
    scene.call(ec2.describeVolumes(PRIMARY_REGION));
    scene.call(ec2.describeSnapshots(PRIMARY_REGION));

    const snapshotId = ec2.ec2Id(rng, 'snap');
    scene.call(
      ec2.createSnapshot(
        rng,
        PRIMARY_REGION,
        PROD,
        EC2.ordersDbVolume,
        snapshotId,
        scene.now,
        'backup before migration',
      ),
    );
    scene.pause(300, 600);
    scene.call(ec2.describeSnapshots(PRIMARY_REGION));
    scene.call(ec2.modifySnapshotAttribute(rng, PRIMARY_REGION, snapshotId, 'add', { group: 'all' }));

    const bucket = BUCKETS.customerExports;
    scene.call(s3.listBuckets(rng), { gap: [30, 120] });
    scene.call(s3.getBucketPolicy(rng, bucket, PRIMARY_REGION, PROD), {
      error: s3.S3_NOT_CONFIGURED.GetBucketPolicy,
    });
    scene.call(s3.getBucketPublicAccessBlock(rng, bucket, PRIMARY_REGION, PROD));
    scene.call(s3.deleteBucketPublicAccessBlock(rng, bucket, PRIMARY_REGION, PROD));
    scene.call(
      s3.putBucketPolicy(rng, bucket, PRIMARY_REGION, PROD, {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PublicRead',
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: `arn:aws:s3:::${bucket}/*`,
          },
        ],
      }),
    );

    // Now anyone can read the exports: S3 logs the downloads as an anonymous principal.
    const downloads = new Scene(
      rng,
      scene.log,
      {
        identity: anonymousIdentity(),
        account: PROD,
        sourceIPAddress: DOWNLOADER_IP,
        userAgent: CURL,
        tls: TLS13,
      },
      scene.now + rng.int(120, 400) * 1000,
    );
    for (let monthsAgo = 1; monthsAgo <= 3; monthsAgo++) {
      const key = `exports/customers-${monthBefore(scene.now, monthsAgo)}.csv.gz`;
      downloads.call(s3.getObject(rng, bucket, key, PRIMARY_REGION, PROD, rng.int(3e7, 9e7)), {
        gap: [5, 40],
      });
    }
  },
};
