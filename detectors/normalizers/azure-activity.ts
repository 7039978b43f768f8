/**
 * Azure Activity Log record → OCSF API Activity.
 *
 * Three shapes of the same record are read, because users get them three ways:
 * - diagnostic-settings export (storage account / Event Hubs): `time`,
 *   `operationName`, `resultType`, `identity.claims`, `properties`;
 * - the Activity Log REST API / portal export: `eventTimestamp`,
 *   `operationName.value`, `status.value`, `caller`, `claims`;
 * - the Log Analytics `AzureActivity` table: `TimeGenerated`,
 *   `OperationNameValue`, `ActivityStatusValue`, `Caller`, `Claims_d`.
 *
 * Azure Monitor resource logs that customers route through the same diagnostic
 * settings share the envelope (`time`, `resourceId`, `operationName`,
 * `category`) and are read too: Key Vault `AuditEvent` (`identity.claim`,
 * `properties.httpStatusCode`), Storage `StorageRead` / `StorageWrite` /
 * `StorageDelete` (`statusCode`, `statusText`, `uri`, `identity.requester`,
 * `address:port` callers), and the Activity Log's own categories
 * (Administrative, Security, Policy, Recommendation, ServiceHealth…).
 *
 * The event uid is `eventDataId` where the record has one, otherwise
 * `<correlationId>:<operationName>:<status>`, so a responder finds it in the portal.
 * A record with neither (Key Vault writes `correlationId: ""` unless the client
 * sent one) gets `<operationName>:<status>:sha256:<hash of the record>`: the same
 * record always gets the same uid (replays and dedup still work) and two
 * requests never share one, which a constant placeholder would make them do.
 *
 * Azure operation and provider names are case-insensitive and the shapes
 * disagree on case (exports upper-case them), so `api.operation` and
 * `api.service` are lower-cased: rules match `microsoft.authorization/roleassignments/write`.
 */
import type { Actor, ApiActivity, Resource, UserType } from '../schema/index.js';
import { activityFromOperation } from './activity.js';
import { isIpAddress } from './cloudtrail.js';
import { NormalizationError } from './errors.js';
import { contentHash, type Json, obj, objOrParsed, str } from './json.js';

const UPN_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const NAME_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** First string among `keys` of `record` (the three shapes name the same field differently). */
function pick(record: Json, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = record[key];
    const text = str(value) ?? str(obj(value)?.value);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** `/subscriptions/<id>/resourceGroups/<rg>/providers/<ns>/<type>/<name>` → its parts. */
export function parseResourceId(resourceId: string | undefined): {
  subscription?: string;
  resourceGroup?: string;
  provider?: string;
  type?: string;
  name?: string;
} {
  if (resourceId === undefined) return {};
  const parts = resourceId.split('/').filter((p) => p.length > 0);
  const out: ReturnType<typeof parseResourceId> = {};
  for (let i = 0; i < parts.length - 1; i++) {
    const key = (parts[i] as string).toLowerCase();
    const value = parts[i + 1] as string;
    if (key === 'subscriptions' && out.subscription === undefined) out.subscription = value.toLowerCase();
    else if (key === 'resourcegroups' && out.resourceGroup === undefined) out.resourceGroup = value;
    else if (key === 'providers') {
      out.provider = value;
      const rest = parts.slice(i + 2);
      const types = rest.filter((_, j) => j % 2 === 0);
      if (types.length > 0) out.type = `${value}/${types.join('/')}`;
      if (rest.length > 0 && rest.length % 2 === 0) out.name = rest[rest.length - 1];
    }
  }
  return out;
}

/** `203.0.113.9:45123` → `203.0.113.9`; IPv6 and bare addresses are returned as they are. */
function withoutPort(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  return match ? match[1] : address;
}

function statusOf(text: string | undefined): ApiActivity['status'] {
  const value = text?.toLowerCase();
  if (value === 'success' || value === 'succeeded') return 'Success';
  if (value === 'failure' || value === 'failed') return 'Failure';
  return 'Unknown';
}

/** An HTTP status written as a number or as text (`200`, `"403"`). */
function httpStatus(value: unknown): number | undefined {
  const code = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(code) && code >= 100 && code < 600 ? code : undefined;
}

/**
 * Resource logs say how a data-plane request ended with its HTTP status:
 * Storage with `statusCode` (and no `resultType`), Key Vault with
 * `properties.httpStatusCode` beside a `resultType` that only says the request
 * was processed. A 4xx / 5xx is a failure whatever `resultType` says.
 */
function resourceLogStatus(
  record: Json,
  properties: Json | undefined,
  resultType: string | undefined,
): { status: ApiActivity['status']; error?: string } | undefined {
  const code = httpStatus(record.statusCode) ?? httpStatus(properties?.httpStatusCode);
  if (code === undefined) return undefined;
  if (code >= 400) {
    const error = str(record.statusText) ?? pick(record, 'resultSignature') ?? String(code);
    return { status: 'Failure', error };
  }
  return resultType === undefined ? { status: 'Success' } : undefined;
}

/**
 * The caller of a Storage resource-log request: `identity.requester` for
 * Entra ID (OAuth) callers; for shared-key and SAS requests only the hash of
 * the key or token (`identity.tokenHash`), kept as the credential.
 */
function storageActorOf(identity: Json): Actor | undefined {
  const kind = str(identity.type);
  if (kind === undefined) return undefined;
  const requester = obj(identity.requester);
  const upn = str(requester?.upn);
  const objectId = str(requester?.objectId);
  const appId = str(requester?.appId);
  const actor: Actor = {
    user: { type: upn !== undefined ? 'User' : appId !== undefined ? 'Application' : 'Unknown' },
  };
  const uid = upn ?? objectId ?? appId;
  if (uid !== undefined) actor.user.uid = uid;
  actor.user.name = upn ?? kind;
  if (objectId !== undefined) actor.user.principal_id = objectId;
  const credential = str(identity.tokenHash) ?? (actor.user.type === 'Application' ? appId : undefined);
  if (credential !== undefined) actor.user.credential_uid = credential;
  return actor;
}

function actorOf(record: Json, claims: Json | undefined, authorization: Json | undefined): Actor {
  const caller = pick(record, 'caller', 'Caller');
  const upn = str(claims?.[UPN_CLAIM]) ?? str(claims?.upn);
  const appId = str(claims?.appid);
  const objectId = str(claims?.[OBJECT_ID_CLAIM]) ?? str(claims?.oid);
  const principalType = str(obj(obj(authorization?.evidence))?.principalType);
  const managed = claims?.xms_mirid !== undefined || principalType === 'ManagedIdentity';
  let type: UserType = 'Unknown';
  if (managed) type = 'ManagedIdentity';
  else if (upn !== undefined || caller?.includes('@')) type = 'User';
  else if (
    appId !== undefined ||
    principalType === 'ServicePrincipal' ||
    (caller !== undefined && GUID.test(caller))
  ) {
    type = 'Application';
  }
  const uid = upn ?? caller ?? appId ?? objectId;
  const actor: Actor = { user: { type } };
  if (uid !== undefined) actor.user.uid = uid;
  const name = str(claims?.[NAME_CLAIM]) ?? str(claims?.name) ?? upn ?? caller;
  if (name !== undefined) actor.user.name = name;
  if (objectId !== undefined) actor.user.principal_id = objectId;
  if (appId !== undefined && type === 'Application') actor.user.credential_uid = appId;
  return actor;
}

/** Normalizes one Activity Log record, whichever of its three shapes. */
export function normalizeAzureActivity(record: Json): ApiActivity {
  const operation = pick(record, 'operationName', 'OperationNameValue', 'OperationName');
  const originalTime = pick(record, 'time', 'eventTimestamp', 'TimeGenerated');
  if (operation === undefined || originalTime === undefined) {
    throw new NormalizationError(
      'not an Azure Activity record: operationName and time are required',
      'not-azure-activity',
    );
  }
  const time = Date.parse(originalTime.includes('T') ? originalTime : originalTime.replace(' ', 'T'));
  if (Number.isNaN(time))
    throw new NormalizationError(`time is not a time: ${originalTime.slice(0, 40)}`, 'bad-time');
  const identity = obj(record.identity);
  // Key Vault audit logs write `identity.claim` (singular).
  const claims =
    obj(identity?.claims) ??
    obj(identity?.claim) ??
    objOrParsed(record.claims) ??
    objOrParsed(record.Claims_d) ??
    objOrParsed(record.Claims);
  const authorization =
    obj(identity?.authorization) ?? objOrParsed(record.authorization) ?? objOrParsed(record.Authorization_d);
  const resourceId = pick(record, 'resourceId', 'ResourceId', '_ResourceId');
  const parsed = parseResourceId(resourceId);
  const resultType = pick(record, 'resultType', 'ActivityStatusValue', 'ActivityStatus', 'status');
  const properties = objOrParsed(record.properties) ?? objOrParsed(record.Properties_d);
  const fromHttp = resourceLogStatus(record, properties, resultType);
  const statusText =
    resultType ?? str(record.statusText) ?? (fromHttp === undefined ? undefined : String(record.statusCode));
  const correlationId = pick(record, 'correlationId', 'CorrelationId');
  const eventDataId = pick(record, 'eventDataId', 'EventDataId');
  // Resource logs (storage) write `address:port`; keep the address.
  const ip = withoutPort(
    pick(record, 'callerIpAddress', 'CallerIpAddress') ?? str(obj(record.httpRequest)?.clientIpAddress),
  );
  const category = pick(record, 'category', 'CategoryValue', 'Category') ?? 'Administrative';
  const lastSegment = operation.slice(operation.lastIndexOf('/') + 1);
  const verb = lastSegment.toLowerCase();
  const activity: ApiActivity['activity_id'] =
    verb === 'write'
      ? 3
      : verb === 'delete'
        ? 4
        : verb === 'read'
          ? 2
          : verb === 'action'
            ? 99
            : activityFromOperation(lastSegment, undefined);

  const resources: Resource[] = [];
  if (resourceId !== undefined) {
    const resource: Resource = { uid: resourceId };
    if (parsed.name !== undefined) resource.name = parsed.name;
    if (parsed.type !== undefined) resource.type = parsed.type;
    if (parsed.subscription !== undefined) resource.account = parsed.subscription;
    resources.push(resource);
  }
  const subscription =
    parsed.subscription ??
    pick(record, 'subscriptionId', 'SubscriptionId')?.toLowerCase() ??
    pick(record, 'tenantId') ??
    'unknown';
  const provider =
    pick(record, 'resourceProviderName', 'ResourceProviderValue', 'ResourceProvider') ??
    parsed.provider ??
    operation.split('/')[0] ??
    'unknown';

  const event: ApiActivity = {
    source: 'azure.activity',
    class_uid: 6003,
    category_uid: 6,
    activity_id: activity,
    time,
    status: fromHttp?.status ?? statusOf(statusText),
    cloud: { provider: 'Azure', account: subscription },
    actor:
      (claims === undefined && identity !== undefined ? storageActorOf(identity) : undefined) ??
      actorOf(record, claims, authorization),
    api: { service: provider.toLowerCase(), operation: operation.toLowerCase(), request: {}, response: {} },
    src_endpoint: { is_internal: false },
    resources,
    metadata: {
      uid:
        eventDataId ??
        (correlationId !== undefined
          ? `${correlationId}:${operation}:${statusText ?? 'unknown'}`
          : `${operation}:${statusText ?? 'unknown'}:${contentHash(record)}`),
      original_time: originalTime,
      product: 'Azure Activity Log',
      log_name: category,
    },
    raw: record,
  };
  const region = pick(record, 'location', 'Location');
  if (region !== undefined && region !== 'global') event.cloud.region = region;
  if (correlationId !== undefined) event.api.request.uid = correlationId;
  if (ip !== undefined && isIpAddress(ip)) event.src_endpoint.ip = ip;
  if (event.status === 'Failure') {
    // statusMessage is JSON text: {"error":{"code":"AuthorizationFailed","message":"…"}}.
    const failure = obj(objOrParsed(properties?.statusMessage)?.error);
    event.api.response.error =
      str(failure?.code) ?? fromHttp?.error ?? pick(record, 'resultSignature', 'subStatus') ?? 'Failed';
    const message = str(failure?.message);
    if (message !== undefined) event.api.response.message = message;
  }
  return event;
}
