/**
 * GCP Cloud Audit Logs `LogEntry` → OCSF API Activity.
 *
 * Reads the `protoPayload` of type `google.cloud.audit.AuditLog` in the admin
 * activity, data access, system event and policy-denied logs. The event uid is
 * the entry's `insertId`, which is what a responder searches in Logs Explorer.
 *
 * Reference: https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/AuditLog
 */
import type { Actor, ApiActivity, Resource, UserType } from '../schema/index.js';
import { activityFromOperation } from './activity.js';
import { isIpAddress } from './cloudtrail.js';
import { NormalizationError } from './errors.js';
import { canonicalLogEntry } from './gcp-log-entry.js';
import { contentHash, type Json, obj, str } from './json.js';
import { callerFromAuthoritySelector, kubernetesFromGke } from './kubernetes.js';
import { type NormalizeContext, resolveTime } from './time.js';

/** google.rpc.Code names, for failures that only carry a number. */
const RPC_CODES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** GCP method verbs, lower-cased, that tell the activity (`v1.compute.firewalls.insert`, `SetIamPolicy`). */
const VERB_ACTIVITY: ReadonlyArray<readonly [string, 1 | 2 | 3 | 4]> = [
  ['insert', 1],
  ['create', 1],
  ['add', 1],
  ['get', 2],
  ['list', 2],
  ['search', 2],
  ['read', 2],
  ['testiampermissions', 2],
  ['delete', 4],
  ['remove', 4],
  ['destroy', 4],
  ['patch', 3],
  ['update', 3],
  ['set', 3],
  ['enable', 3],
  ['disable', 3],
];

function activityOf(method: string): ApiActivity['activity_id'] {
  const last = method.slice(method.lastIndexOf('.') + 1).toLowerCase();
  for (const [verb, activity] of VERB_ACTIVITY) if (last.startsWith(verb)) return activity;
  return activityFromOperation(method.slice(method.lastIndexOf('.') + 1), undefined);
}

/** `projects/p/logs/cloudaudit.googleapis.com%2Factivity` → `{ account: 'p', log: 'activity' }`. */
function parseLogName(logName: string | undefined): { account?: string; log?: string } {
  if (logName === undefined) return {};
  const match = /^(projects|organizations|folders|billingAccounts)\/([^/]+)\/logs\/(.+)$/.exec(logName);
  if (match === null) return {};
  const log = decodeURIComponent(match[3] as string).replace(/^cloudaudit\.googleapis\.com\//, '');
  const scope = match[1] === 'projects' ? '' : `${match[1]}/`;
  return { account: `${scope}${match[2]}`, log };
}

function principalType(email: string | undefined, subject: string | undefined): UserType {
  if (email?.endsWith('.gserviceaccount.com')) return 'ServiceAccount';
  if (email === undefined && subject?.startsWith('principal://')) return 'FederatedUser';
  return email === undefined ? 'Unknown' : 'User';
}

function actorOf(payload: Json): Actor {
  const auth = obj(payload.authenticationInfo) ?? {};
  const email = str(auth.principalEmail);
  const subject = str(auth.principalSubject);
  const actor: Actor = { user: { type: principalType(email, subject) } };
  const uid = email ?? subject;
  if (uid !== undefined) {
    actor.user.uid = uid;
    actor.user.name = email ?? subject?.slice(subject.lastIndexOf('/') + 1);
  } else {
    const selected = callerFromAuthoritySelector(auth);
    if (selected !== undefined) {
      actor.user.uid = selected;
      actor.user.name = selected;
      actor.user.type = principalType(selected.includes('@') ? selected : undefined, undefined);
    }
  }
  const key = str(auth.serviceAccountKeyName);
  if (key !== undefined) actor.user.credential_uid = key.slice(key.lastIndexOf('/') + 1);
  // Impersonation: the chain of callers that acted as this service account, first caller first.
  const delegation = Array.isArray(auth.serviceAccountDelegationInfo)
    ? auth.serviceAccountDelegationInfo
    : [];
  const chain = delegation
    .map((step) => {
      const first = obj(obj(step)?.firstPartyPrincipal);
      const third = obj(obj(step)?.thirdPartyPrincipal);
      return str(first?.principalEmail) ?? str(obj(third?.thirdPartyClaims)?.sub);
    })
    .filter((principal): principal is string => principal !== undefined);
  if (chain.length > 0) {
    actor.session = {
      mfa: false,
      issuer: chain[0] as string,
      role_chain: uid !== undefined ? [...chain, uid] : chain,
    };
  }
  return actor;
}

/**
 * The API service when an entry omits `serviceName` (seen in hand-made and
 * re-exported entries): the operation's producer, or the service named in the
 * method (`google.iam.admin.v1.CreateServiceAccountKey` → `iam.googleapis.com`,
 * `v1.compute.firewalls.insert` → `compute.googleapis.com`).
 */
function serviceFromMethod(method: string | undefined, entry: Json): string | undefined {
  const producer = str(obj(entry.operation)?.producer);
  if (producer !== undefined) return producer;
  if (method === undefined) return undefined;
  if (method.startsWith('io.k8s.')) return 'k8s.io';
  const parts = method.split('.');
  const named = parts[0] === 'google' ? parts[1] : /^v\d/.test(parts[0] ?? '') ? parts[1] : parts[0];
  return named !== undefined && /^[a-z]+$/.test(named) ? `${named}.googleapis.com` : undefined;
}

/**
 * The service an entry names outside `serviceName` and the method: the service
 * of a permission check (`authorizationInfo[].resourceAttributes.service`) or
 * the `audited_resource` label.
 */
function serviceFromContext(payload: Json, entry: Json): string | undefined {
  const checks = Array.isArray(payload.authorizationInfo) ? payload.authorizationInfo : [];
  for (const check of checks) {
    const service = str(obj(obj(check)?.resourceAttributes)?.service);
    if (service?.endsWith('.googleapis.com')) return service;
  }
  return str(obj(obj(entry.resource)?.labels)?.service);
}

/**
 * Normalizes one Cloud Audit Logs entry. Besides the LogEntry as Cloud Logging
 * writes it, it reads the shapes log pipelines export (see `gcp-log-entry.ts`)
 * and entries with fields missing: the time falls back from `timestamp` to
 * the request's time, the receive time, then the host's `context.receivedAt`
 * (each fallback recorded in `metadata.time_source`); the service from
 * `serviceName` to the operation's producer, the method, a permission check's
 * service, then `unknown`. An entry without a `protoPayload.methodName` is
 * not an audit log and is refused.
 */
export function normalizeGcpAudit(record: Json, context?: NormalizeContext): ApiActivity {
  const entry = canonicalLogEntry(record);
  const payload = obj(entry.protoPayload);
  if (payload === undefined) {
    throw new NormalizationError('not a Cloud Audit Logs entry: no protoPayload', 'not-gcp-audit');
  }
  const method = str(payload.methodName);
  if (method === undefined) {
    throw new NormalizationError('Cloud Audit Logs entry has no protoPayload.methodName', 'not-gcp-audit');
  }
  const service =
    str(payload.serviceName) ??
    serviceFromMethod(method, entry) ??
    serviceFromContext(payload, entry) ??
    'unknown';
  const resolved = resolveTime(
    [
      { value: entry.timestamp },
      { value: obj(obj(payload.requestMetadata)?.requestAttributes)?.time, source: 'request' },
      { value: entry.receiveTimestamp, source: 'received' },
    ],
    context,
    'timestamp',
  );
  const { time, originalTime } = resolved;

  const resource = obj(entry.resource);
  const labels = obj(resource?.labels) ?? {};
  const fromLog = parseLogName(str(entry.logName));
  const account = str(labels.project_id) ?? fromLog.account ?? 'unknown';
  const region = str(labels.location) ?? str(labels.region) ?? str(labels.zone);
  const status = obj(payload.status);
  const code = typeof status?.code === 'number' ? status.code : 0;
  const metadata = obj(payload.requestMetadata) ?? {};
  // The AuditLog JSON field is `callerIp`; some exporters upper-case it.
  const callerIp = str(metadata.callerIp) ?? str(metadata.callerIP);
  const userAgent = str(metadata.callerSuppliedUserAgent);
  const resourceName = str(payload.resourceName);

  const resources: Resource[] = [];
  if (resourceName !== undefined) {
    const item: Resource = { uid: resourceName, name: resourceName.slice(resourceName.lastIndexOf('/') + 1) };
    const type = str(resource?.type);
    if (type !== undefined) item.type = type;
    resources.push(item);
  }

  const event: ApiActivity = {
    source: 'gcp.audit',
    class_uid: 6003,
    category_uid: 6,
    activity_id: activityOf(method),
    time,
    status: code === 0 ? 'Success' : 'Failure',
    cloud: { provider: 'GCP', account },
    actor: actorOf(payload),
    api: { service, operation: method, request: {}, response: {} },
    src_endpoint: { is_internal: false },
    resources,
    metadata: {
      uid: str(entry.insertId) ?? `${service}:${method}:${originalTime || contentHash(entry)}`,
      original_time: originalTime,
      product: 'GCP Cloud Audit Logs',
      log_name: fromLog.log ?? 'activity',
    },
    raw: entry,
  };
  if (resolved.source !== undefined) event.metadata.time_source = resolved.source;
  if (region !== undefined) event.cloud.region = region;
  if (code !== 0) {
    event.api.response.error = RPC_CODES[code] ?? String(code);
    const message = str(status?.message);
    if (message !== undefined) event.api.response.message = message;
  }
  if (callerIp !== undefined) {
    // GCP writes "private" or "gce-internal-ip" for calls from inside Google's network.
    if (isIpAddress(callerIp)) event.src_endpoint.ip = callerIp;
    else {
      event.src_endpoint.domain = callerIp;
      event.src_endpoint.is_internal = true;
    }
  }
  const operationId = str(obj(entry.operation)?.id);
  if (operationId !== undefined) event.api.request.uid = operationId;
  if (userAgent !== undefined) event.user_agent = userAgent;
  if (service === 'k8s.io') event.kubernetes = kubernetesFromGke(entry);
  return event;
}
