/**
 * The CloudTrail record shape and the one function that builds every record.
 *
 * Field names, order and value forms follow AWS's documented record contents:
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 * Activities describe *who* calls (a `Caller`) and *what* they call (an
 * `ApiCall`); `recordCall` adds the envelope CloudTrail itself writes (ids,
 * version, category, TLS details), so no activity repeats it.
 */
import { isoSeconds } from './clock.js';
import type { Random } from './random.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type IdentityType =
  | 'IAMUser'
  | 'AssumedRole'
  | 'Root'
  | 'AWSService'
  | 'AWSAccount'
  | 'SAMLUser'
  | 'WebIdentityUser';

export interface SessionIssuer {
  type: 'Role' | 'IAMUser' | 'Root';
  principalId: string;
  arn: string;
  accountId: string;
  userName: string;
}

export interface SessionContext {
  sessionIssuer?: SessionIssuer | Record<string, never>;
  webIdFederationData?: JsonObject;
  attributes: { creationDate: string; mfaAuthenticated: 'true' | 'false' };
  /** Present for EC2 instance-profile credentials fetched through IMDSv2. */
  ec2RoleDelivery?: '2.0';
}

/**
 * `userIdentity`. Which keys appear depends on `type`; AWS service events
 * carry only `accountId` and `invokedBy` (no `type`).
 */
export interface UserIdentity {
  type?: IdentityType;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  sessionContext?: SessionContext;
  invokedBy?: string;
  identityProvider?: string;
}

export interface Resource {
  accountId?: string;
  type: string;
  ARN: string;
}

export type EventType = 'AwsApiCall' | 'AwsServiceEvent' | 'AwsConsoleSignIn';

export interface TlsDetails {
  tlsVersion: string;
  cipherSuite: string;
  clientProvidedHostHeader: string;
}

export interface CloudTrailRecord {
  eventVersion: '1.09' | '1.10';
  userIdentity: UserIdentity;
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: JsonObject | null;
  responseElements: JsonObject | null;
  additionalEventData?: JsonObject;
  requestID?: string;
  eventID: string;
  readOnly: boolean;
  resources?: Resource[];
  eventType: EventType;
  managementEvent: boolean;
  recipientAccountId: string;
  sharedEventID?: string;
  vpcEndpointId?: string;
  serviceEventDetails?: JsonObject;
  eventCategory: 'Management' | 'Data';
  tlsDetails?: TlsDetails;
  sessionCredentialFromConsole?: 'true';
}

export interface TlsProfile {
  readonly tlsVersion: 'TLSv1.3' | 'TLSv1.2';
  readonly cipherSuite: string;
}

export const TLS13: TlsProfile = { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' };
export const TLS12: TlsProfile = { tlsVersion: 'TLSv1.2', cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256' };

/** Who makes calls, from where, with which client. */
export interface Caller {
  readonly identity: UserIdentity;
  readonly account: string;
  readonly sourceIPAddress: string;
  /** A fixed agent, or one that names the call (the AWS CLI v2 appends the command it runs). */
  readonly userAgent: string | ((call: ApiCall) => string);
  /** Omitted when AWS calls itself (`invokedBy`): CloudTrail records no TLS details then. */
  readonly tls?: TlsProfile;
  /** Console sessions: CloudTrail adds `sessionCredentialFromConsole: "true"`. */
  readonly fromConsole?: boolean;
  /**
   * VPC endpoints by service prefix. A call to a service listed here went
   * through the endpoint: the record carries its id (and the caller's private address).
   */
  readonly vpcEndpoints?: Readonly<Record<string, string>>;
}

/** What is called: one API operation with its parameters and result. */
export interface ApiCall {
  /** Service prefix: `iam` becomes the event source `iam.amazonaws.com`. */
  readonly service: string;
  readonly operation: string;
  readonly region: string;
  readonly request?: JsonObject | null;
  readonly response?: JsonObject | null;
  readonly resources?: readonly Resource[];
  readonly additionalEventData?: JsonObject;
  /** A data event (S3 object, DynamoDB item): `eventCategory: Data`, `managementEvent: false`. */
  readonly data?: boolean;
  /** Defaults from the operation's verb (Describe, List, Get… are read-only). */
  readonly readOnly?: boolean;
  /** The TLS host header when it is not `<service>.<region>.amazonaws.com`. */
  readonly host?: string;
  /** The service's own request id when it is not a UUID (S3 writes 16 upper-case characters). */
  readonly requestId?: string | null;
  readonly eventType?: EventType;
  /** The account that receives the record, when not the caller's (cross-account and service calls). */
  readonly recipientAccountId?: string;
  /** Set when CloudTrail delivers the event to more than one account (e.g. an AWS service assuming a role). */
  readonly shared?: boolean;
  /**
   * A failure the service reports in `responseElements` with an `errorMessage`
   * but no `errorCode` (console sign-in: `"ConsoleLogin": "Failure"`).
   */
  readonly failureMessage?: string;
}

export interface CallError {
  readonly code: string;
  readonly message: string;
}

const READ_ONLY_VERBS =
  /^(Describe|List|Get|Head|Lookup|BatchGet|Query|Scan|Search|Filter|Decrypt|GenerateDataKey|AssumeRole)/;

function isReadOnlyOperation(operation: string): boolean {
  return READ_ONLY_VERBS.test(operation);
}

/** CloudTrail moved S3 and EC2 records (and data events) to 1.10 before the rest. */
function eventVersionOf(call: ApiCall): CloudTrailRecord['eventVersion'] {
  return call.data || call.service === 's3' || call.service === 'ec2' ? '1.10' : '1.09';
}

/** Builds the record CloudTrail writes for `call` made by `caller` at `time` (epoch ms). */
export function recordCall(
  rng: Random,
  caller: Caller,
  call: ApiCall,
  time: number,
  error?: CallError,
): CloudTrailRecord {
  const eventType = call.eventType ?? 'AwsApiCall';
  // Keys are inserted in the order CloudTrail writes them, so the JSON reads like a real log.
  const ordered: Partial<CloudTrailRecord> = {
    eventVersion: eventVersionOf(call),
    userIdentity: caller.identity,
    eventTime: isoSeconds(time),
    eventSource: `${call.service}.amazonaws.com`,
    eventName: call.operation,
    awsRegion: call.region,
    sourceIPAddress: caller.sourceIPAddress,
    userAgent: typeof caller.userAgent === 'string' ? caller.userAgent : caller.userAgent(call),
  };
  if (error !== undefined) {
    ordered.errorCode = error.code;
    ordered.errorMessage = error.message;
  } else if (call.failureMessage !== undefined) {
    ordered.errorMessage = call.failureMessage;
  }
  ordered.requestParameters = call.request ?? null;
  ordered.responseElements = error === undefined ? (call.response ?? null) : null;
  if (call.additionalEventData !== undefined) ordered.additionalEventData = call.additionalEventData;
  if (call.requestId !== null) ordered.requestID = call.requestId ?? rng.uuid();
  ordered.eventID = rng.uuid();
  ordered.readOnly = call.readOnly ?? isReadOnlyOperation(call.operation);
  if (call.resources !== undefined) ordered.resources = [...call.resources];
  ordered.eventType = eventType;
  ordered.managementEvent = !call.data;
  ordered.recipientAccountId = call.recipientAccountId ?? caller.account;
  if (call.shared) ordered.sharedEventID = rng.uuid();
  const endpoint = caller.vpcEndpoints?.[call.service];
  if (endpoint !== undefined) ordered.vpcEndpointId = endpoint;
  ordered.eventCategory = call.data ? 'Data' : 'Management';
  if (caller.tls !== undefined) {
    ordered.tlsDetails = {
      tlsVersion: caller.tls.tlsVersion,
      cipherSuite: caller.tls.cipherSuite,
      clientProvidedHostHeader: call.host ?? `${call.service}.${call.region}.amazonaws.com`,
    };
  }
  if (caller.fromConsole) ordered.sessionCredentialFromConsole = 'true';
  return ordered as CloudTrailRecord;
}

/** The IAM action an operation needs: `lambda:UpdateFunctionCode` for `UpdateFunctionCode20150331v2`. */
export function iamAction(call: ApiCall): string {
  const prefix = call.service === 'monitoring' ? 'cloudwatch' : call.service;
  return `${prefix}:${call.operation.replace(/\d{8}(v\d+)?$/, '')}`;
}

/** The error each service returns when IAM denies the call, worded as the service words it. */
export function accessDenied(caller: Caller, call: ApiCall, resource = '*'): CallError {
  const who = caller.identity.arn ?? `arn:aws:iam::${caller.account}:root`;
  const action = iamAction(call);
  const reason = `User: ${who} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  switch (call.service) {
    case 'ec2':
      return {
        code: 'Client.UnauthorizedOperation',
        message: 'You are not authorized to perform this operation.',
      };
    case 's3':
      return { code: 'AccessDenied', message: 'Access Denied' };
    case 'kms':
    case 'dynamodb':
    case 'logs':
    case 'cloudtrail':
    case 'organizations':
    case 'secretsmanager':
    case 'ssm':
      return { code: 'AccessDeniedException', message: reason };
    default:
      return { code: 'AccessDenied', message: reason };
  }
}

/** Orders records by `eventTime` (the ISO form sorts as text). Use with a stable sort. */
export const byEventTime = (a: CloudTrailRecord, b: CloudTrailRecord): number =>
  a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0;
