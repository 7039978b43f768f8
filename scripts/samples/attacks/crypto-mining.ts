/**
 * (e) An hour after creating it, the intruder of the leaked-key story uses the
 * backdoor user from another address to mine: in a region the company never
 * uses, a security group open to the world, a key pair, and p3.16xlarge GPU
 * instances. The first launch exceeds the account's vCPU quota; they retry
 * with fewer.
 */
import { BOTO3_VPS } from '../agents.js';
import * as ec2 from '../api/ec2.js';
import { getCallerIdentity } from '../api/sts.js';
import { PRIMARY_REGION, PROD, UNUSED_REGION } from '../estate.js';
import { iamUser, iamUserIdentity } from '../identities.js';
import { TLS12 } from '../record.js';
import type { AttackStory } from './story.js';

const MINER_IP = '203.0.113.78';
const INSTANCE_TYPE = 'p3.16xlarge';
const UBUNTU_AMI = 'ami-0d2b7e3f9a8c61405';

export const cryptoMining: AttackStory = {
  id: 'crypto-mining',
  title: 'Crypto-mining: GPU instances in an unused region with the backdoor user',
  summary: `The backdoor user from the leaked-key story launches ${INSTANCE_TYPE} instances in ${UNUSED_REGION} from 203.0.113.78 with boto3, after opening SSH to 0.0.0.0/0.`,
  account: PROD,
  sourceIp: MINER_IP,
  behaviours: [
    'caller-identity-probe',
    'unused-region-activity',
    'security-group-opened-to-world',
    'gpu-instances-launched',
  ],
  mitre: ['T1078.004', 'T1535', 'T1578.002', 'T1496.001'],
  dayFraction: 0.34,
  hour: 3.5,
  play: (scene, { campaign }) => {
    const { rng } = scene;
    const backdoor = iamUser(PROD, campaign.backdoorUserName);
    scene.as({
      identity: iamUserIdentity(backdoor, { accessKeyId: campaign.backdoorKeyId }),
      account: PROD,
      sourceIPAddress: MINER_IP,
      userAgent: BOTO3_VPS,
      tls: TLS12,
    });
    scene.gap = [1, 6];
    scene.call(getCallerIdentity());
    scene.call(ec2.describeRegions(PRIMARY_REGION));

    const region = UNUSED_REGION;
    const vpcId = ec2.ec2Id(rng, 'vpc');
    const subnetId = ec2.ec2Id(rng, 'subnet');
    scene.call(ec2.describeAccountAttributes(region));
    scene.call(ec2.describeVpcs(region));
    scene.call(ec2.describeSubnets(region));
    scene.call(
      ec2.describeImages(region, 'amazon', 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*'),
    );

    const groupId = ec2.ec2Id(rng, 'sg');
    scene.call(ec2.createSecurityGroup(rng, region, PROD, vpcId, 'default-ssh', groupId));
    scene.call(
      ec2.authorizeSecurityGroupIngress(rng, region, PROD, groupId, { port: 22, cidr: '0.0.0.0/0' }),
    );
    scene.call(ec2.createKeyPair(rng, region, 'aws-key'));

    const launch = (count: number, requested = count): ec2.LaunchRequest => ({
      region,
      account: PROD,
      imageId: UBUNTU_AMI,
      instanceType: INSTANCE_TYPE,
      instanceIds: Array.from({ length: count }, () => ec2.ec2Id(rng, 'i')),
      subnetId,
      vpcId,
      launchTime: scene.now,
      keyName: 'aws-key',
      securityGroupId: groupId,
      requested,
    });
    scene.call(ec2.runInstances(rng, launch(0, 10)), {
      gap: [5, 15],
      error: {
        code: 'Client.VcpuLimitExceeded',
        message:
          'You have requested more vCPU capacity than your current vCPU limit of 256 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.',
      },
    });
    scene.call(ec2.runInstances(rng, launch(4)), { gap: [20, 60] });
    scene.call(ec2.describeInstances(region), { gap: [30, 90] });
  },
};
