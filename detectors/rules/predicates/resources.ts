/**
 * Predicates for the resource rules (discovery, lateral movement, execution,
 * collection, exfiltration, impact): the checks YAML cannot say because they
 * compare two fields of one record, count array elements or read a request
 * shape that differs between services. Each is pure and total: odd input gives
 * `false`, never an exception.
 */
import type { AuditPredicate, Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, asText, isOwnOrTrustedAccount, type Json, parsePolicy } from './json.js';
import { policyDocumentIsPublic, policyGrantsPublicAccess } from './policy.js';

const ACCOUNT_ID = /^\d{12}$/;
/** `arn:aws:iam::444455556666:root`, `arn:aws:lambda:us-east-1:444455556666:layer:x:1` → account id. */
const ARN_ACCOUNT = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/;
const ARN_REGION = /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]+):\d{12}:/;

/** The account a principal string names: a bare account id or an ARN; undefined for services and `*`. */
function accountOf(principal: unknown): string | undefined {
  const value = asText(principal);
  if (value === undefined) return undefined;
  if (ACCOUNT_ID.test(value)) return value;
  return ARN_ACCOUNT.exec(value)?.[1];
}

/** Reads `key` from an object whatever the case of its first letter (S3 logs XML names, others camelCase). */
function field(object: Json | undefined, key: string): unknown {
  if (object === undefined) return undefined;
  if (key in object) return object[key];
  const flipped =
    key[0] === key[0]?.toUpperCase()
      ? key[0]?.toLowerCase() + key.slice(1)
      : key[0]?.toUpperCase() + key.slice(1);
  return object[flipped];
}

const paramsOf = (event: ApiActivity): Json | undefined => asObject(event.raw.requestParameters);

/**
 * An `sts:AssumeRole` into a role of the recording account, called by a
 * principal of another account (CloudTrail logs it with `userIdentity.type`
 * `AWSAccount`, or the caller's full identity, in the role owner's trail).
 */
export function assumeRoleFromOtherAccount(event: ApiActivity, lists: Lists): boolean {
  if (event.api.operation !== 'AssumeRole') return false;
  const caller = event.actor.user.account;
  if (caller === undefined || !ACCOUNT_ID.test(caller)) return false;
  if (isOwnOrTrustedAccount(caller, event.cloud.account, lists)) return false;
  return accountOf(paramsOf(event)?.roleArn) === event.cloud.account;
}

/** A Lambda `AddPermission` whose principal is a specific AWS account other than the function's. */
export function lambdaPermissionForOtherAccount(event: ApiActivity, lists: Lists): boolean {
  const account = accountOf(paramsOf(event)?.principal);
  return account !== undefined && !isOwnOrTrustedAccount(account, event.cloud.account, lists);
}

/** A function configuration update that attaches at least one layer published by another account. */
export function lambdaLayerFromOtherAccount(event: ApiActivity, lists: Lists): boolean {
  for (const layer of asList(paramsOf(event)?.layers)) {
    const arn = asText(layer) ?? asText(asObject(layer)?.arn);
    const account = accountOf(arn);
    if (account !== undefined && !isOwnOrTrustedAccount(account, event.cloud.account, lists)) return true;
  }
  return false;
}

/** How many instances count as "many" for one request. */
const MANY_INSTANCES = 5;
const MANY_INSTANCES_STOPPED = 10;

/**
 * An SSM `SendCommand` that fans out: five or more instance ids, or targets
 * that select instances by tag, resource group or wildcard (the fleet-wide form).
 */
export function ssmCommandTargetsManyInstances(event: ApiActivity): boolean {
  const params = paramsOf(event);
  if (params === undefined) return false;
  if (asList(params.instanceIds).length >= MANY_INSTANCES) return true;
  for (const item of asList(params.targets)) {
    const target = asObject(item);
    const key = asText(field(target, 'key'));
    if (key === undefined) continue;
    const values = asList(field(target, 'values'));
    if (key.startsWith('tag:') || key === 'tag-key' || key.startsWith('resource-groups:')) return true;
    if (key === 'InstanceIds' && (values.includes('*') || values.length >= MANY_INSTANCES)) return true;
  }
  return false;
}

/** An EC2 `StopInstances` / `TerminateInstances` naming ten or more instances in one request. */
export function manyInstancesInRequest(event: ApiActivity): boolean {
  const items = asObject(paramsOf(event)?.instancesSet)?.items;
  return asList(items).length >= MANY_INSTANCES_STOPPED;
}

/** Ports that should never face the whole internet: remote administration, databases, caches, control planes. */
const ADMIN_PORTS = [
  20, 21, 22, 23, 135, 139, 445, 1433, 1434, 1521, 2049, 2375, 2376, 2379, 2380, 3306, 3389, 5432, 5601, 5900,
  5984, 5985, 5986, 6379, 6443, 7001, 8086, 9042, 9200, 9300, 10250, 11211, 27017, 27018, 27019,
];

/** True for 0.0.0.0/0, ::/0 and other ranges wide enough to mean "the internet" (/8 or wider, not private). */
export function cidrIsWorld(cidr: unknown): boolean {
  const value = asText(cidr);
  if (value === undefined) return false;
  const [network, bits] = value.split('/');
  if (network === undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
  const prefix = Number(bits);
  if (network.includes(':')) {
    if (/^f[c-f]/i.test(network)) return false; // ULA fc00::/7 and link-local fe80::/10
    return prefix <= 16;
  }
  if (prefix > 8) return false;
  return !(prefix === 8 && network.startsWith('10.'));
}

function portNumber(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value !== ''
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Whether a rule for `protocol` over `from`..`to` reaches any admin port. */
function reachesAdminPort(protocol: unknown, from: unknown, to: unknown): boolean {
  const proto = asText(String(protocol ?? ''))?.toLowerCase();
  if (proto === '-1' || proto === 'all') return true;
  if (proto !== undefined && proto !== 'tcp' && proto !== '6' && proto !== 'udp' && proto !== '17')
    return false;
  const low = portNumber(from);
  const high = portNumber(to) ?? low;
  if (low === undefined || high === undefined) return false;
  if (low === -1) return true;
  return ADMIN_PORTS.some((port) => port >= low && port <= high);
}

/** IPv4 and IPv6 ranges of one `ipPermissions` item. */
function rangesOf(permission: Json): unknown[] {
  const v4 = asList(asObject(permission.ipRanges)?.items).map((r) => asObject(r)?.cidrIp);
  const v6 = asList(asObject(permission.ipv6Ranges)?.items).map((r) => asObject(r)?.cidrIpv6);
  return [...v4, ...v6];
}

/**
 * A security-group ingress change that opens an administration or database
 * port (or every port) to the internet: EC2 `AuthorizeSecurityGroupIngress`
 * (current and legacy request shapes), `ModifySecurityGroupRules`, and the
 * legacy RDS `AuthorizeDBSecurityGroupIngress` (a DB security group only ever
 * opens the database port).
 */
export function ingressOpenToWorldOnAdminPort(event: ApiActivity): boolean {
  const params = paramsOf(event);
  if (params === undefined) return false;
  if (event.api.operation === 'AuthorizeDBSecurityGroupIngress') return cidrIsWorld(params.cIDRIP);
  for (const item of asList(asObject(params.ipPermissions)?.items)) {
    const permission = asObject(item);
    if (permission === undefined) continue;
    if (!rangesOf(permission).some(cidrIsWorld)) continue;
    if (reachesAdminPort(permission.ipProtocol, permission.fromPort, permission.toPort)) return true;
  }
  // Legacy flat form: --cidr with --port / --protocol.
  if (cidrIsWorld(params.cidrIp) && reachesAdminPort(params.ipProtocol, params.fromPort, params.toPort))
    return true;
  // ModifySecurityGroupRules: { ModifySecurityGroupRulesRequest: { SecurityGroupRule: [{ SecurityGroupRule: {...} }] } }
  const request = asObject(params.ModifySecurityGroupRulesRequest);
  for (const wrapper of asList(request?.SecurityGroupRule)) {
    const rule = asObject(asObject(wrapper)?.SecurityGroupRule) ?? asObject(wrapper);
    if (rule === undefined) continue;
    if (!cidrIsWorld(rule.CidrIpv4) && !cidrIsWorld(rule.CidrIpv6)) continue;
    if (reachesAdminPort(rule.IpProtocol, rule.FromPort, rule.ToPort)) return true;
  }
  return false;
}

/** A statement-style permission (`principal: '*'`) not scoped by an organization, account or source. */
function permissionIsPublic(params: Json): boolean {
  if (params.principal !== '*') return false;
  const scopes = ['organizationId', 'principalOrgID', 'sourceArn', 'sourceAccount', 'condition'];
  return scopes.every((key) => params[key] === undefined || params[key] === null || params[key] === '');
}

/**
 * A resource policy (any service) that grants everyone access. Extends
 * `policyGrantsPublicAccess` with the request shapes it does not read:
 * Glacier's nested `policy.policy`, OpenSearch `accessPolicies`, EventBridge
 * `PutPermission` and Lambda `AddLayerVersionPermission` with a `*` principal.
 */
export function resourcePolicyGrantsPublicAccess(event: ApiActivity): boolean {
  if (policyGrantsPublicAccess(event)) return true;
  const params = paramsOf(event);
  if (params === undefined) return false;
  const nested = asObject(params.policy);
  const candidates = [field(nested, 'policy'), params.accessPolicies];
  if (candidates.some((c) => c !== undefined && policyDocumentIsPublic(parsePolicy(c)))) return true;
  const operation = event.api.operation;
  if (operation === 'PutPermission' || operation.startsWith('AddLayerVersionPermission')) {
    return permissionIsPublic(params);
  }
  return false;
}

/**
 * An S3 replication configuration with a destination in another account: a
 * rule naming a destination `Account` other than the bucket owner's, or asking
 * to hand object ownership to the destination (only meaningful cross-account).
 */
export function replicationToOtherAccount(event: ApiActivity, lists: Lists): boolean {
  const params = paramsOf(event);
  const configuration = asObject(field(params, 'replicationConfiguration'));
  if (configuration === undefined) return false;
  const rules = [...asList(field(configuration, 'rule')), ...asList(configuration.rules)];
  for (const item of rules) {
    const destination = asObject(field(asObject(item), 'destination'));
    if (destination === undefined) continue;
    const account = asText(field(destination, 'account'));
    if (account !== undefined && !isOwnOrTrustedAccount(account, event.cloud.account, lists)) return true;
    const translation = asObject(field(destination, 'accessControlTranslation'));
    if (asText(field(translation, 'owner')) === 'Destination') return true;
  }
  return false;
}

/** Request parameters naming the source of an EBS / AMI / RDS snapshot copy. */
const COPY_SOURCES = [
  'sourceDBSnapshotIdentifier',
  'sourceDBClusterSnapshotIdentifier',
  'sourceSnapshotId',
  'sourceImageId',
];

/**
 * A snapshot or image copy whose source lives in another region than the one
 * the copy is made in (the region of the call): by the `sourceRegion`
 * parameter or by the region in the source ARN.
 */
export function snapshotCopiedFromOtherRegion(event: ApiActivity): boolean {
  const params = paramsOf(event);
  const region = event.cloud.region;
  if (params === undefined || region === undefined) return false;
  const sourceRegion = asText(params.sourceRegion);
  if (sourceRegion !== undefined && sourceRegion !== region) return true;
  for (const key of COPY_SOURCES) {
    const arnRegion = ARN_REGION.exec(asText(params[key]) ?? '')?.[1];
    if (arnRegion !== undefined && arnRegion !== region) return true;
  }
  return false;
}

/** Predicates for the resources rules. */
export const RESOURCES_PREDICATES: Readonly<Record<string, AuditPredicate>> = {
  assumeRoleFromOtherAccount,
  lambdaPermissionForOtherAccount,
  lambdaLayerFromOtherAccount,
  ssmCommandTargetsManyInstances,
  manyInstancesInRequest,
  ingressOpenToWorldOnAdminPort,
  resourcePolicyGrantsPublicAccess,
  replicationToOtherAccount,
  snapshotCopiedFromOtherRegion,
};
