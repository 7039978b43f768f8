/**
 * Microsoft Entra ID audit and sign-in records → OCSF API Activity.
 *
 * Shapes read: the diagnostic-settings export (`time`, `operationName`,
 * `category`, `properties: {...}`), Microsoft Graph (`activityDisplayName`,
 * `initiatedBy`, `targetResources`; sign-ins: `createdDateTime`,
 * `userPrincipalName`, `status`), and the Log Analytics `AuditLogs` /
 * `SigninLogs` tables (PascalCase columns, some holding JSON text).
 */
import type { Actor, ApiActivity, Resource, UserType } from '../schema/index.js';
import { isIpAddress } from './cloudtrail.js';
import { NormalizationError } from './errors.js';
import { type Json, obj, objOrParsed, str } from './json.js';

/** A field under either its camelCase (export, Graph) or PascalCase (Log Analytics) name. */
function field(record: Json, name: string): unknown {
  return record[name] ?? record[name.charAt(0).toUpperCase() + name.slice(1)];
}
const text = (record: Json, name: string): string | undefined => str(field(record, name));
const list = (value: unknown): unknown[] => {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }
  return [];
};

/** Sign-in records are told apart by their fields, whatever the shape. */
function isSignIn(record: Json, properties: Json): boolean {
  const category = str(record.category) ?? str(record.Category) ?? str(record.Type) ?? '';
  return (
    /signin/i.test(category) ||
    (properties.userPrincipalName !== undefined &&
      properties.status !== undefined &&
      properties.appId !== undefined) ||
    (record.createdDateTime !== undefined && record.userPrincipalName !== undefined)
  );
}

function auditActor(properties: Json): Actor {
  const initiatedBy = objOrParsed(field(properties, 'initiatedBy')) ?? {};
  const user = obj(initiatedBy.user);
  const app = obj(initiatedBy.app);
  if (user !== undefined && (str(user.userPrincipalName) ?? str(user.id)) !== undefined) {
    const actor: Actor = {
      user: { type: 'User', uid: (str(user.userPrincipalName) ?? str(user.id)) as string },
    };
    const name = str(user.displayName) ?? str(user.userPrincipalName);
    if (name !== undefined) actor.user.name = name;
    const id = str(user.id);
    if (id !== undefined) actor.user.principal_id = id;
    return actor;
  }
  if (app !== undefined) {
    const uid = str(app.servicePrincipalId) ?? str(app.appId) ?? str(app.displayName);
    const actor: Actor = { user: { type: 'Application' } };
    if (uid !== undefined) actor.user.uid = uid;
    const name = str(app.displayName) ?? str(app.servicePrincipalName);
    if (name !== undefined) actor.user.name = name;
    const appId = str(app.appId);
    if (appId !== undefined) actor.user.credential_uid = appId;
    return actor;
  }
  return { user: { type: 'Unknown' } };
}

function targets(properties: Json): Resource[] {
  return list(field(properties, 'targetResources')).flatMap((item) => {
    const target = obj(item);
    if (target === undefined) return [];
    const resource: Resource = {};
    const id = str(target.id);
    const name = str(target.userPrincipalName) ?? str(target.displayName);
    const type = str(target.type);
    if (id !== undefined) resource.uid = id;
    if (name !== undefined) resource.name = name;
    if (type !== undefined) resource.type = type;
    return [resource];
  });
}

/** Normalizes one Entra audit or sign-in record. */
export function normalizeAzureEntra(record: Json): ApiActivity {
  // Exports nest the record in `properties`; Graph and Log Analytics keep it at the top.
  const properties = objOrParsed(record.properties) ?? record;
  const signIn = isSignIn(record, properties);
  const originalTime =
    text(properties, 'activityDateTime') ??
    text(properties, 'createdDateTime') ??
    text(record, 'time') ??
    text(record, 'timeGenerated');
  const operation = signIn
    ? 'Sign-in activity'
    : (text(properties, 'activityDisplayName') ??
      text(record, 'operationName') ??
      text(properties, 'operationName'));
  if (originalTime === undefined || operation === undefined) {
    throw new NormalizationError(
      'not an Entra record: an activity or sign-in with a time is required',
      'not-azure-entra',
    );
  }
  const time = Date.parse(originalTime.includes('T') ? originalTime : originalTime.replace(' ', 'T'));
  if (Number.isNaN(time))
    throw new NormalizationError(`time is not a time: ${originalTime.slice(0, 40)}`, 'bad-time');
  const tenant =
    text(record, 'tenantId') ?? text(properties, 'tenantId') ?? text(properties, 'homeTenantId') ?? 'unknown';
  const uid =
    text(properties, 'id') ??
    text(record, 'id') ??
    `${text(record, 'correlationId') ?? 'no-correlation'}:${operation}:${originalTime}`;

  let actor: Actor;
  let status: ApiActivity['status'];
  let error: string | undefined;
  let message: string | undefined;
  let ip: string | undefined;
  let country: string | undefined;
  let userAgent: string | undefined;
  let resources: Resource[];
  if (signIn) {
    const upn = text(properties, 'userPrincipalName') ?? text(properties, 'servicePrincipalName');
    const type: UserType =
      text(properties, 'servicePrincipalId') !== undefined && upn === undefined ? 'Application' : 'User';
    actor = { user: { type } };
    const who = upn ?? text(properties, 'servicePrincipalId') ?? text(properties, 'userId');
    if (who !== undefined) actor.user.uid = who;
    const name = text(properties, 'userDisplayName') ?? upn;
    if (name !== undefined) actor.user.name = name;
    const statusObject = objOrParsed(field(properties, 'status')) ?? {};
    const code = statusObject.errorCode ?? field(properties, 'resultType');
    status = code === undefined || code === 0 || code === '0' ? 'Success' : 'Failure';
    if (status === 'Failure') {
      error = String(code);
      message = str(statusObject.failureReason) ?? text(properties, 'resultDescription');
    }
    const mfa = text(properties, 'authenticationRequirement') === 'multiFactorAuthentication';
    actor.session = { mfa };
    ip = text(properties, 'ipAddress') ?? text(record, 'callerIpAddress');
    country =
      str(objOrParsed(field(properties, 'location'))?.countryOrRegion) ?? text(properties, 'location');
    userAgent = text(properties, 'userAgent');
    const app = text(properties, 'appDisplayName') ?? text(properties, 'resourceDisplayName');
    resources = app !== undefined ? [{ name: app, type: 'Application' }] : [];
  } else {
    actor = auditActor(properties);
    const result = (text(properties, 'result') ?? text(record, 'resultType') ?? '').toLowerCase();
    status = result === 'success' ? 'Success' : result === 'failure' ? 'Failure' : 'Unknown';
    if (status === 'Failure') {
      error = 'failure';
      message = text(properties, 'resultReason');
    }
    const initiatedBy = objOrParsed(field(properties, 'initiatedBy'));
    ip = str(obj(initiatedBy?.user)?.ipAddress) ?? text(record, 'callerIpAddress');
    resources = targets(properties);
  }

  const event: ApiActivity = {
    source: 'azure.entra',
    class_uid: 6003,
    category_uid: 6,
    activity_id: signIn ? 99 : operationActivity(text(properties, 'operationType')),
    time,
    status,
    cloud: { provider: 'Azure', account: tenant },
    actor,
    api: {
      service: signIn
        ? 'Microsoft Entra sign-in'
        : (text(properties, 'loggedByService') ?? 'Microsoft Entra ID'),
      operation,
      request: {},
      response: {},
    },
    src_endpoint: { is_internal: false },
    resources,
    metadata: {
      uid,
      original_time: originalTime,
      product: 'Microsoft Entra ID',
      log_name: signIn ? (text(record, 'category') ?? 'SignInLogs') : 'AuditLogs',
    },
    raw: record,
  };
  const correlation = text(properties, 'correlationId') ?? text(record, 'correlationId');
  if (correlation !== undefined) event.api.request.uid = correlation;
  if (error !== undefined) event.api.response.error = error;
  if (message !== undefined) event.api.response.message = message;
  if (ip !== undefined && isIpAddress(ip)) event.src_endpoint.ip = ip;
  if (country !== undefined) event.src_endpoint.country = country;
  if (userAgent !== undefined) event.user_agent = userAgent;
  return event;
}

function operationActivity(operationType: string | undefined): ApiActivity['activity_id'] {
  switch (operationType?.toLowerCase()) {
    case 'add':
    case 'create':
      return 1;
    case 'update':
    case 'assign':
      return 3;
    case 'delete':
    case 'unassign':
      return 4;
    default:
      return 99;
  }
}
