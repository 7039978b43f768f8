/**
 * Building blocks shared by every normalized event class. Names follow OCSF
 * (https://schema.ocsf.io) where OCSF has a name; `.describe()` texts feed the
 * generated field reference (FIELDS.md), so every field documents itself here.
 */
import { z } from 'zod';

export const CloudProvider = z
  .enum(['AWS', 'GCP', 'Azure', 'Other'])
  .describe(
    'Cloud that produced the record; `Other` for a self-managed Kubernetes cluster the record does not place.',
  );
export type CloudProvider = z.infer<typeof CloudProvider>;

export const Cloud = z
  .object({
    provider: CloudProvider,
    account: z
      .string()
      .describe('Account the activity happened in: AWS account id, GCP project, Azure subscription.'),
    region: z.string().optional().describe('Region of the API endpoint called (AWS `awsRegion`).'),
  })
  .describe('Where the activity happened.');
export type Cloud = z.infer<typeof Cloud>;

export const UserType = z
  .enum([
    'IAMUser',
    'AssumedRole',
    'Root',
    'FederatedUser',
    'AWSService',
    'AWSAccount',
    'IdentityCenterUser',
    'SAMLUser',
    'WebIdentityUser',
    'Role',
    'ServiceAccount',
    'User',
    'Application',
    'ManagedIdentity',
    'Unknown',
  ])
  .describe('Kind of principal, as the cloud names it.');
export type UserType = z.infer<typeof UserType>;

export const User = z
  .object({
    uid: z
      .string()
      .optional()
      .describe(
        'Stable identifier of the principal: the IAM user or role ARN (an assumed-role session resolves to its role ARN), an email, a UPN.',
      ),
    name: z.string().optional().describe('Short human name: user name, role name, service name.'),
    type: UserType,
    account: z
      .string()
      .optional()
      .describe('Account that owns the principal (may differ from cloud.account).'),
    credential_uid: z
      .string()
      .optional()
      .describe('Access key id or other credential the call was signed with.'),
    principal_id: z.string().optional().describe('Opaque principal id as logged (AWS `principalId`).'),
  })
  .describe('The principal that made the call.');
export type User = z.infer<typeof User>;

export const Session = z
  .object({
    uid: z.string().optional().describe('Session ARN or name as logged (AWS assumed-role ARN).'),
    name: z.string().optional().describe('Role session name chosen by whoever assumed the role.'),
    issuer: z
      .string()
      .optional()
      .describe(
        'Principal that issued the session: role ARN for AssumedRole, IAM user ARN for FederatedUser.',
      ),
    mfa: z.boolean().describe('Whether the session was authenticated with MFA.'),
    created_time: z.number().optional().describe('When the session was created, epoch milliseconds.'),
    source_identity: z.string().optional().describe('sts:SourceIdentity carried through a role chain.'),
    role_chain: z
      .array(z.string())
      .optional()
      .describe('Roles traversed to reach this session, oldest first, where the record tells.'),
  })
  .describe('Temporary-credential session behind the call, when there is one.');
export type Session = z.infer<typeof Session>;

export const Actor = z
  .object({
    user: User,
    session: Session.optional(),
    invoked_by: z
      .string()
      .optional()
      .describe('Service that made the call on the principal’s behalf (AWS `invokedBy`).'),
  })
  .describe('Who acted.');
export type Actor = z.infer<typeof Actor>;

export const Api = z
  .object({
    service: z.string().describe('API service endpoint, e.g. `iam.amazonaws.com`, `storage.googleapis.com`.'),
    operation: z.string().describe('Operation called, e.g. `CreateAccessKey`.'),
    version: z.string().optional().describe('API version, when logged.'),
    request: z.object({ uid: z.string().optional().describe('Request id.') }).describe('Request details.'),
    response: z
      .object({
        error: z.string().optional().describe('Error code when the call failed, e.g. `AccessDenied`.'),
        message: z.string().optional().describe('Error message when the call failed.'),
      })
      .describe('Response details.'),
  })
  .describe('The API call.');
export type Api = z.infer<typeof Api>;

export const Endpoint = z
  .object({
    ip: z.string().optional().describe('Source IP address, when the caller had one (not for AWS services).'),
    domain: z
      .string()
      .optional()
      .describe('Source as a name, when the record gives a service name instead of an IP.'),
    asn: z.number().optional().describe('Autonomous system number of `ip` (offline lookup, when enabled).'),
    country: z.string().optional().describe('ISO 3166 country code of `ip` (offline lookup, when enabled).'),
    is_internal: z
      .boolean()
      .describe(
        'True when the call came from inside the cloud provider (service principal or service name).',
      ),
  })
  .describe('Where the call came from.');
export type Endpoint = z.infer<typeof Endpoint>;

export const Resource = z
  .object({
    uid: z.string().optional().describe('ARN or fully qualified resource id.'),
    name: z.string().optional().describe('Resource name, when the record gives one.'),
    type: z.string().optional().describe('Resource type, e.g. `AWS::S3::Bucket`.'),
    account: z.string().optional().describe('Account owning the resource.'),
  })
  .describe('A resource the call touched.');
export type Resource = z.infer<typeof Resource>;

export const ActivityId = z
  .union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(99)])
  .describe('OCSF API Activity id: 0 unknown, 1 create, 2 read, 3 update, 4 delete, 99 other.');
export type ActivityId = z.infer<typeof ActivityId>;

export const Status = z.enum(['Success', 'Failure', 'Unknown']).describe('Outcome of the call.');
export type Status = z.infer<typeof Status>;

export const Metadata = z
  .object({
    uid: z
      .string()
      .describe('Record id from the source (CloudTrail `eventID`); findings cite it as evidence.'),
    original_time: z
      .string()
      .describe(
        'Event time exactly as the source wrote it; empty when the record carried no time (`time_source: ingested`).',
      ),
    time_source: z
      .enum(['request', 'received', 'ingested'])
      .optional()
      .describe(
        'Set when `time` is not the record’s own event time: `request` the request’s time as the service logged it (GCP `requestAttributes.time`, within a second); `received` when the log service received the entry (GCP `receiveTimestamp`, seconds to minutes late); `ingested` the record had no time and `time` is when the host received it, an upper bound only. Absent: the source’s own event time.',
      ),
    product: z.string().describe('Producing product, e.g. `AWS CloudTrail`.'),
    log_name: z
      .string()
      .describe(
        'Kind of log within the product, e.g. `Management`, `Data`, `AwsServiceEvent`, `AwsConsoleSignIn`.',
      ),
    version: z.string().optional().describe('Record format version (CloudTrail `eventVersion`).'),
    read_only: z.boolean().optional().describe('Source’s own read-only flag, when it logs one.'),
  })
  .describe('About the record itself.');
export type Metadata = z.infer<typeof Metadata>;
