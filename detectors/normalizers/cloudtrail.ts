/**
 * CloudTrail record → OCSF API Activity.
 *
 * Pure and allocation-light: it runs once per event on the hot path. It never
 * throws for a missing optional field, only for a record that is not a
 * CloudTrail record at all (no event name or source). A record without
 * `eventTime` is dated by the host's receive time and marked (`time_source`).
 *
 * Field reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 */
import {
  type Actor,
  type ApiActivity,
  type Resource,
  type Session,
  type Status,
  UserType,
} from '../schema/index.js';
import { activityFromOperation } from './activity.js';
import { NormalizationError } from './errors.js';
import { contentHash, type Json, obj, str } from './json.js';
import { type NormalizeContext, resolveOwnTime } from './time.js';

/** True when `value` is a dotted IPv4 or an IPv6 address (CloudTrail also writes service names there). */
export function isIpAddress(value: string): boolean {
  const first = value.charCodeAt(0);
  if (value.includes(':')) return /^[0-9a-fA-F:.]+$/.test(value);
  return first >= 48 && first <= 57 && /^\d{1,3}(\.\d{1,3}){3}$/.test(value);
}

/** `userIdentity.type` values the schema knows; anything else is recorded as `Unknown`. */
const KNOWN_TYPES: ReadonlySet<string> = new Set(UserType.options);

/** `arn:aws:sts::111122223333:assumed-role/RoleName/session` → its account, role name and session name. */
function parseAssumedRoleArn(arn: string): { role: string; session: string; account: string } | undefined {
  // arn:partition:sts::account:assumed-role/role/session — found with indexOf: this runs once per event.
  const marker = arn.indexOf(':assumed-role/');
  if (marker === -1) return undefined;
  const accountStart = arn.lastIndexOf(':', marker - 1) + 1;
  const roleStart = marker + ':assumed-role/'.length;
  const slash = arn.indexOf('/', roleStart);
  if (slash === -1) return undefined;
  return {
    account: arn.slice(accountStart, marker),
    role: arn.slice(roleStart, slash),
    session: arn.slice(slash + 1),
  };
}

function sessionFrom(identity: Json, issuerArn: string | undefined, name: string | undefined): Session {
  const context = obj(identity.sessionContext);
  const attributes = obj(context?.attributes);
  const created = str(attributes?.creationDate);
  const session: Session = {
    mfa: attributes?.mfaAuthenticated === 'true' || attributes?.mfaAuthenticated === true,
  };
  const arn = str(identity.arn);
  if (arn !== undefined) session.uid = arn;
  if (name !== undefined) session.name = name;
  if (issuerArn !== undefined) session.issuer = issuerArn;
  if (created !== undefined) {
    const ms = Date.parse(created);
    if (!Number.isNaN(ms)) session.created_time = ms;
  }
  const sourceIdentity = str(context?.sourceIdentity) ?? str(identity.sourceIdentity);
  if (sourceIdentity !== undefined) session.source_identity = sourceIdentity;
  return session;
}

/** Resolves `userIdentity` into who acted: assumed-role sessions resolve to their role. */
export function actorFromUserIdentity(identity: Json | undefined): Actor {
  if (identity === undefined) return { user: { type: 'Unknown' } };
  const rawType = str(identity.type) ?? 'Unknown';
  const type = (KNOWN_TYPES.has(rawType) ? rawType : 'Unknown') as UserType;
  const arn = str(identity.arn);
  const account = str(identity.accountId);
  const credential = str(identity.accessKeyId);
  const principalId = str(identity.principalId);
  const invokedBy = str(identity.invokedBy);
  const actor: Actor = { user: { type } };
  const user = actor.user;
  if (account !== undefined) user.account = account;
  if (credential !== undefined) user.credential_uid = credential;
  if (principalId !== undefined) user.principal_id = principalId;
  if (invokedBy !== undefined) actor.invoked_by = invokedBy;

  switch (type) {
    case 'AssumedRole': {
      const issuer = obj(obj(identity.sessionContext)?.sessionIssuer);
      const issuerArn = str(issuer?.arn);
      const parsed = arn !== undefined ? parseAssumedRoleArn(arn) : undefined;
      user.uid = issuerArn ?? (parsed ? `arn:aws:iam::${parsed.account}:role/${parsed.role}` : arn);
      user.name = str(issuer?.userName) ?? parsed?.role;
      actor.session = sessionFrom(identity, issuerArn, parsed?.session);
      if (issuerArn !== undefined) actor.session.role_chain = [issuerArn];
      break;
    }
    case 'FederatedUser': {
      const issuerArn = str(obj(obj(identity.sessionContext)?.sessionIssuer)?.arn);
      user.uid = arn;
      user.name = arn?.slice(arn.lastIndexOf('/') + 1);
      actor.session = sessionFrom(identity, issuerArn, user.name);
      break;
    }
    case 'Root':
      user.uid = arn ?? (account !== undefined ? `arn:aws:iam::${account}:root` : undefined);
      user.name = str(identity.userName) ?? 'root';
      if (identity.sessionContext !== undefined) actor.session = sessionFrom(identity, undefined, undefined);
      break;
    case 'IAMUser':
      user.uid = arn;
      user.name = str(identity.userName) ?? arn?.slice(arn.lastIndexOf('/') + 1);
      if (identity.sessionContext !== undefined) actor.session = sessionFrom(identity, undefined, undefined);
      break;
    case 'AWSService':
      user.uid = invokedBy ?? arn;
      user.name = invokedBy;
      break;
    case 'AWSAccount':
      user.uid = account !== undefined ? `arn:aws:iam::${account}:root` : principalId;
      user.name = account;
      break;
    case 'IdentityCenterUser': {
      const onBehalfOf = obj(identity.onBehalfOf);
      const userId = str(onBehalfOf?.userId);
      const store = str(onBehalfOf?.identityStoreArn);
      user.uid = userId !== undefined ? `${store ?? 'identitystore'}/user/${userId}` : (arn ?? principalId);
      user.name = str(identity.userName) ?? userId;
      const credentialId = str(identity.credentialId);
      if (credentialId !== undefined && credential === undefined) user.credential_uid = credentialId;
      break;
    }
    case 'SAMLUser':
    case 'WebIdentityUser': {
      const provider = str(identity.identityProvider);
      const name = str(identity.userName) ?? principalId;
      user.uid = provider !== undefined && name !== undefined ? `${provider}:${name}` : (name ?? arn);
      user.name = name;
      break;
    }
    default:
      user.uid = arn ?? principalId;
      user.name = str(identity.userName) ?? principalId;
  }
  return actor;
}

/** Request parameters that name a resource, by the resource type they name. */
const NAMED_PARAMETERS: ReadonlyArray<readonly [string, string]> = [
  ['bucketName', 'AWS::S3::Bucket'],
  ['userName', 'AWS::IAM::User'],
  ['roleName', 'AWS::IAM::Role'],
  ['groupName', 'AWS::IAM::Group'],
  ['policyArn', 'AWS::IAM::ManagedPolicy'],
  ['functionName', 'AWS::Lambda::Function'],
  ['keyId', 'AWS::KMS::Key'],
  ['secretId', 'AWS::SecretsManager::Secret'],
  ['trailName', 'AWS::CloudTrail::Trail'],
  ['detectorId', 'AWS::GuardDuty::Detector'],
  ['dBInstanceIdentifier', 'AWS::RDS::DBInstance'],
  ['dBSnapshotIdentifier', 'AWS::RDS::DBSnapshot'],
  ['snapshotId', 'AWS::EC2::Snapshot'],
  ['imageId', 'AWS::EC2::Image'],
  ['groupId', 'AWS::EC2::SecurityGroup'],
  ['logGroupName', 'AWS::Logs::LogGroup'],
  ['roleArn', 'AWS::IAM::Role'],
];

/**
 * The function a Lambda API call names (`functionName` is a name, a partial
 * ARN `<account>:function:<name>` or a full ARN, possibly qualified), as the
 * unqualified ARN `arn:aws:lambda:<region>:<account>:function:<name>`.
 */
function lambdaFunctionArn(record: Json, params: Json, account: string | undefined): Resource | undefined {
  const given = str(params.functionName);
  if (given === undefined || given.length === 0) return undefined;
  const parts = given.split(':');
  let partition = 'aws';
  let region = str(record.awsRegion);
  let owner = account;
  let name: string | undefined;
  if (given.startsWith('arn:') && parts.length >= 7) {
    [, partition = 'aws', , region, owner, , name] = parts;
  } else if (parts.length >= 3 && parts[1] === 'function') {
    [owner, , name] = parts;
  } else name = parts[0];
  if (name === undefined || region === undefined || owner === undefined) return undefined;
  return {
    uid: `arn:${partition}:lambda:${region}:${owner}:function:${name}`,
    name,
    type: 'AWS::Lambda::Function',
    account: owner,
  };
}

function resourcesFrom(record: Json, account: string | undefined): Resource[] {
  const resources: Resource[] = [];
  const listed = record.resources;
  if (Array.isArray(listed)) {
    for (const item of listed) {
      const entry = obj(item);
      if (entry === undefined) continue;
      const resource: Resource = {};
      const uid = str(entry.ARN) ?? str(entry.arn);
      const type = str(entry.type);
      const owner = str(entry.accountId);
      if (uid !== undefined) resource.uid = uid;
      if (type !== undefined) resource.type = type;
      if (owner !== undefined) resource.account = owner;
      resources.push(resource);
    }
  }
  const params = obj(record.requestParameters);
  if (params !== undefined) {
    for (const [key, type] of NAMED_PARAMETERS) {
      const value = params[key];
      if (typeof value !== 'string' || value.length === 0) continue;
      const resource: Resource = { type };
      if (value.startsWith('arn:')) resource.uid = value;
      else resource.name = value;
      if (account !== undefined) resource.account = account;
      resources.push(resource);
    }
    // A Lambda function first, as its unqualified ARN: runtime events of the function name the same resource.
    const fn =
      record.eventSource === 'lambda.amazonaws.com' ? lambdaFunctionArn(record, params, account) : undefined;
    if (fn !== undefined) resources.unshift(fn);
    // `name` is the trail name for CloudTrail operations and too generic elsewhere.
    if (record.eventSource === 'cloudtrail.amazonaws.com' && typeof params.name === 'string') {
      resources.push(
        params.name.startsWith('arn:')
          ? { uid: params.name, type: 'AWS::CloudTrail::Trail' }
          : { name: params.name, type: 'AWS::CloudTrail::Trail' },
      );
    }
  }
  return resources;
}

function logNameOf(record: Json): string {
  const eventType = str(record.eventType);
  if (
    eventType === 'AwsServiceEvent' ||
    eventType === 'AwsConsoleSignIn' ||
    eventType === 'AwsCloudTrailInsight'
  ) {
    return eventType;
  }
  const category = str(record.eventCategory);
  if (category !== undefined) return category;
  return record.managementEvent === false ? 'Data' : 'Management';
}

function statusOf(record: Json): { status: Status; error?: string; message?: string } {
  const errorCode = str(record.errorCode);
  const errorMessage = str(record.errorMessage);
  if (errorCode !== undefined)
    return { status: 'Failure', error: errorCode, ...(errorMessage ? { message: errorMessage } : {}) };
  // Sign-in events (ConsoleLogin, CheckMfa, PasswordUpdated, CredentialChallenge…) report their
  // outcome in the response under their own event name, not in errorCode.
  const outcome = obj(record.responseElements);
  if (
    outcome !== undefined &&
    typeof record.eventName === 'string' &&
    outcome[record.eventName] === 'Failure'
  ) {
    return { status: 'Failure', error: 'Failure', ...(errorMessage ? { message: errorMessage } : {}) };
  }
  return { status: 'Success' };
}

/**
 * Normalizes one CloudTrail record. `record` is the object as CloudTrail wrote
 * it (from a log file, an EventBridge `detail`, or a LookupEvents `CloudTrailEvent`).
 */
export function normalizeCloudTrail(record: Json, context?: NormalizeContext): ApiActivity {
  const operation = str(record.eventName);
  const service = str(record.eventSource);
  if (operation === undefined || service === undefined) {
    throw new NormalizationError(
      'not a CloudTrail record: eventName and eventSource are required',
      'not-cloudtrail',
    );
  }
  // Without eventTime the host's receive time stands in, marked `time_source: ingested`.
  const resolved = resolveOwnTime(record.eventTime, context, 'eventTime');
  const { time, originalTime } = resolved;
  const identity = obj(record.userIdentity);
  const actor = actorFromUserIdentity(identity);
  const account = str(record.recipientAccountId) ?? actor.user.account ?? 'unknown';
  const readOnly = typeof record.readOnly === 'boolean' ? record.readOnly : undefined;
  const { status, error, message } = statusOf(record);

  const sourceIp = str(record.sourceIPAddress);
  const srcEndpoint: ApiActivity['src_endpoint'] = { is_internal: false };
  if (sourceIp !== undefined) {
    if (isIpAddress(sourceIp)) srcEndpoint.ip = sourceIp;
    else {
      srcEndpoint.domain = sourceIp;
      srcEndpoint.is_internal = true;
    }
  } else if (actor.user.type === 'AWSService') srcEndpoint.is_internal = true;

  // Console sign-ins say MFA in additionalEventData rather than in the session.
  if (operation === 'ConsoleLogin') {
    // AWS writes `Yes` for IAM users and `YES` for the root user.
    const mfaUsed = String(obj(record.additionalEventData)?.MFAUsed ?? '').toLowerCase() === 'yes';
    actor.session = { ...(actor.session ?? {}), mfa: mfaUsed || (actor.session?.mfa ?? false) };
  }
  // An AssumeRole by a role session extends that session's role chain by one hop.
  if (operation === 'AssumeRole' && actor.session?.role_chain !== undefined) {
    const target = str(obj(record.requestParameters)?.roleArn);
    if (target !== undefined) actor.session.role_chain = [...actor.session.role_chain, target];
  }

  const event: ApiActivity = {
    source: 'aws.cloudtrail',
    class_uid: 6003,
    category_uid: 6,
    activity_id: activityFromOperation(operation, readOnly),
    time,
    status,
    cloud: { provider: 'AWS', account },
    actor,
    api: { service, operation, request: {}, response: {} },
    src_endpoint: srcEndpoint,
    resources: resourcesFrom(record, account),
    metadata: {
      uid:
        str(record.eventID) ??
        `${service}:${operation}:${originalTime || contentHash(record)}:${actor.user.uid ?? 'unknown'}`,
      original_time: originalTime,
      product: 'AWS CloudTrail',
      log_name: logNameOf(record),
    },
    raw: record,
  };
  if (resolved.source !== undefined) event.metadata.time_source = resolved.source;
  const region = str(record.awsRegion);
  if (region !== undefined) event.cloud.region = region;
  const requestId = str(record.requestID);
  if (requestId !== undefined) event.api.request.uid = requestId;
  const apiVersion = str(record.apiVersion);
  if (apiVersion !== undefined) event.api.version = apiVersion;
  if (error !== undefined) event.api.response.error = error;
  if (message !== undefined) event.api.response.message = message;
  const userAgent = str(record.userAgent);
  if (userAgent !== undefined) event.user_agent = userAgent;
  const version = str(record.eventVersion);
  if (version !== undefined) event.metadata.version = version;
  if (readOnly !== undefined) event.metadata.read_only = readOnly;
  return event;
}
