/**
 * EC2. Its query API shows through in the logs: lists are `{ items: [...] }`
 * and every write echoes a `requestId` in its response.
 */
import type { Random } from '../random.js';
import type { ApiCall, JsonObject } from '../record.js';
import { apiCall } from './call.js';

const ec2 = (operation: string, region: string, request: JsonObject | null): ApiCall =>
  apiCall('ec2', operation, region, request);

/** A write: EC2 echoes the request id in the response, so both carry the same one. */
function ec2Write(
  rng: Random,
  operation: string,
  region: string,
  request: JsonObject,
  response: JsonObject,
): ApiCall {
  const requestId = rng.uuid();
  return apiCall('ec2', operation, region, request, { response: { requestId, ...response }, requestId });
}

const items = (...entries: JsonObject[]): JsonObject => ({ items: entries });

/** A fresh EC2 resource id: `i-`, `snap-`, `sg-`, `sgr-`, `r-`, `key-` followed by 17 hex digits. */
export const ec2Id = (rng: Random, prefix: string): string => `${prefix}-0${rng.hex(16)}`;

export const describeInstances = (region: string): ApiCall =>
  ec2('DescribeInstances', region, { instancesSet: {}, filterSet: {} });
export const describeSecurityGroups = (region: string): ApiCall =>
  ec2('DescribeSecurityGroups', region, { securityGroupSet: {}, securityGroupIdSet: {}, filterSet: {} });
export const describeVpcs = (region: string): ApiCall =>
  ec2('DescribeVpcs', region, { vpcSet: {}, filterSet: {} });
export const describeSubnets = (region: string): ApiCall =>
  ec2('DescribeSubnets', region, { subnetSet: {}, filterSet: {} });
export const describeVolumes = (region: string): ApiCall =>
  ec2('DescribeVolumes', region, { volumeSet: {}, filterSet: {} });
export const describeAddresses = (region: string): ApiCall =>
  ec2('DescribeAddresses', region, { publicIpsSet: {}, allocationIdsSet: {}, filterSet: {} });
export const describeRegions = (region: string): ApiCall => ec2('DescribeRegions', region, { regionSet: {} });
export const describeAccountAttributes = (region: string): ApiCall =>
  ec2('DescribeAccountAttributes', region, {
    accountAttributeNameSet: items(
      { attributeName: 'supported-platforms' },
      { attributeName: 'default-vpc' },
    ),
    filterSet: {},
  });
export const describeSnapshots = (region: string): ApiCall =>
  ec2('DescribeSnapshots', region, {
    snapshotSet: {},
    ownersSet: items({ owner: 'self' }),
    sharedUsersSet: {},
    filterSet: {},
  });
export const describeImages = (region: string, owner: string, nameFilter?: string): ApiCall =>
  ec2('DescribeImages', region, {
    executableBySet: {},
    imagesSet: {},
    ownersSet: items({ owner }),
    filterSet:
      nameFilter === undefined ? {} : items({ name: 'name', valueSet: items({ value: nameFilter }) }),
  });
export const describeInstanceStatus = (region: string): ApiCall =>
  ec2('DescribeInstanceStatus', region, { instancesSet: {}, filterSet: {}, includeAllInstances: false });
export const describeTags = (region: string, instanceId: string): ApiCall =>
  ec2('DescribeTags', region, {
    filterSet: items({ name: 'resource-id', valueSet: items({ value: instanceId }) }),
  });

export interface LaunchRequest {
  readonly region: string;
  readonly account: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly instanceIds: readonly string[];
  readonly subnetId: string;
  readonly vpcId: string;
  readonly launchTime: number;
  readonly keyName?: string;
  readonly securityGroupId?: string;
  readonly launchTemplateId?: string;
  /** `minCount`/`maxCount` asked for; defaults to the number of instances launched. */
  readonly requested?: number;
}

/** `RunInstances`. The response lists every instance launched, in the `pending` state. */
export function runInstances(rng: Random, launch: LaunchRequest): ApiCall {
  const count = launch.requested ?? launch.instanceIds.length;
  const request: JsonObject = {
    instancesSet: items({
      imageId: launch.imageId,
      minCount: count,
      maxCount: count,
      ...(launch.keyName === undefined ? {} : { keyName: launch.keyName }),
    }),
    instanceType: launch.instanceType,
    blockDeviceMapping: {},
    monitoring: { enabled: false },
    disableApiTermination: false,
    disableApiStop: false,
    clientToken: rng.uuid(),
  };
  if (launch.securityGroupId !== undefined) {
    request.groupSet = items({ groupId: launch.securityGroupId });
  }
  if (launch.launchTemplateId !== undefined) {
    request.launchTemplate = { launchTemplateId: launch.launchTemplateId, version: '$Default' };
  }
  const zone = `${launch.region}${rng.pick(['a', 'b', 'c'])}`;
  const instances = launch.instanceIds.map((instanceId, index) => {
    const privateIp = `172.31.${rng.int(0, 63)}.${rng.int(4, 250)}`;
    return {
      instanceId,
      imageId: launch.imageId,
      currentInstanceBootMode: 'legacy-bios',
      instanceState: { code: 0, name: 'pending' },
      privateDnsName: `ip-${privateIp.replaceAll('.', '-')}.${launch.region}.compute.internal`,
      amiLaunchIndex: index,
      productCodes: {},
      instanceType: launch.instanceType,
      launchTime: launch.launchTime,
      placement: { availabilityZone: zone, tenancy: 'default' },
      monitoring: { state: 'disabled' },
      subnetId: launch.subnetId,
      vpcId: launch.vpcId,
      privateIpAddress: privateIp,
      stateReason: { code: 'pending', message: 'pending' },
      architecture: 'x86_64',
      rootDeviceType: 'ebs',
      rootDeviceName: '/dev/xvda',
      ...(launch.keyName === undefined ? {} : { keyName: launch.keyName }),
    };
  });
  return ec2Write(rng, 'RunInstances', launch.region, request, {
    reservationId: ec2Id(rng, 'r'),
    ownerId: launch.account,
    groupSet: {},
    instancesSet: { items: instances },
  });
}

export function terminateInstances(rng: Random, region: string, instanceIds: readonly string[]): ApiCall {
  return ec2Write(
    rng,
    'TerminateInstances',
    region,
    { instancesSet: { items: instanceIds.map((instanceId) => ({ instanceId })) } },
    {
      instancesSet: {
        items: instanceIds.map((instanceId) => ({
          instanceId,
          currentState: { code: 32, name: 'shutting-down' },
          previousState: { code: 16, name: 'running' },
        })),
      },
    },
  );
}

export function createSnapshot(
  rng: Random,
  region: string,
  account: string,
  volumeId: string,
  snapshotId: string,
  startTime: number,
  description: string,
): ApiCall {
  return ec2Write(
    rng,
    'CreateSnapshot',
    region,
    { volumeId, description },
    {
      snapshotId,
      volumeId,
      status: 'pending',
      startTime,
      progress: '',
      ownerId: account,
      volumeSize: 200,
      description,
      encrypted: false,
    },
  );
}

/**
 * Who may create volumes from a snapshot: `{ group: 'all' }` makes it public,
 * `{ userId }` shares it with one account.
 */
export function modifySnapshotAttribute(
  rng: Random,
  region: string,
  snapshotId: string,
  change: 'add' | 'remove',
  grantee: { group: 'all' } | { userId: string },
): ApiCall {
  return ec2Write(
    rng,
    'ModifySnapshotAttribute',
    region,
    {
      snapshotId,
      createVolumePermission: { [change]: items(grantee) },
      attributeType: 'CREATE_VOLUME_PERMISSION',
    },
    { _return: true },
  );
}

export function modifyImageAttribute(rng: Random, region: string, imageId: string, userId: string): ApiCall {
  return ec2Write(
    rng,
    'ModifyImageAttribute',
    region,
    { imageId, launchPermission: { add: items({ userId }) }, attributeType: 'launchPermission' },
    { _return: true },
  );
}

export function createSecurityGroup(
  rng: Random,
  region: string,
  account: string,
  vpcId: string,
  groupName: string,
  groupId: string,
): ApiCall {
  return ec2Write(
    rng,
    'CreateSecurityGroup',
    region,
    { groupName, groupDescription: groupName, vpcId },
    {
      _return: true,
      groupId,
      securityGroupArn: `arn:aws:ec2:${region}:${account}:security-group/${groupId}`,
    },
  );
}

export function authorizeSecurityGroupIngress(
  rng: Random,
  region: string,
  account: string,
  groupId: string,
  rule: { port: number; cidr: string; description?: string },
): ApiCall {
  const range: JsonObject = { cidrIp: rule.cidr };
  if (rule.description !== undefined) range.description = rule.description;
  return ec2Write(
    rng,
    'AuthorizeSecurityGroupIngress',
    region,
    {
      groupId,
      ipPermissions: items({
        ipProtocol: 'tcp',
        fromPort: rule.port,
        toPort: rule.port,
        groups: {},
        ipRanges: items(range),
        ipv6Ranges: {},
        prefixListIds: {},
      }),
    },
    {
      _return: true,
      securityGroupRuleSet: items({
        groupOwnerId: account,
        groupId,
        securityGroupRuleId: ec2Id(rng, 'sgr'),
        isEgress: false,
        ipProtocol: 'tcp',
        fromPort: rule.port,
        toPort: rule.port,
        cidrIpv4: rule.cidr,
        ...(rule.description === undefined ? {} : { description: rule.description }),
      }),
    },
  );
}

/** EC2 never logs private key material; CloudTrail shows a placeholder. */
export function createKeyPair(rng: Random, region: string, keyName: string): ApiCall {
  const fingerprint = Array.from({ length: 20 }, () => rng.hex(2)).join(':');
  return ec2Write(
    rng,
    'CreateKeyPair',
    region,
    { keyName, keyType: 'rsa', keyFormat: 'pem' },
    {
      keyName,
      keyFingerprint: fingerprint,
      keyPairId: ec2Id(rng, 'key'),
      keyMaterial: '<sensitiveDataRemoved>',
    },
  );
}
