/**
 * Kubernetes API server audit events, in one shape (`kubernetes.*`) whatever
 * carried them, so one rule covers GKE, AKS, EKS and self-managed clusters.
 *
 * - {@link kubernetesFromGke}: the `kubernetes` object of a GKE Cloud Audit
 *   Logs entry (`serviceName: k8s.io`); `gcp-audit.ts` calls it, the event stays
 *   `gcp.audit`.
 * - {@link normalizeKubernetesAudit}: a whole event (`kubernetes.audit`) from an
 *   audit.k8s.io/v1 `Event`, alone (EKS audit logs, a self-managed API server's
 *   log backend) or inside an AKS diagnostic-settings record of category
 *   `kube-audit` / `kube-audit-admin` whose `properties.log` is the Event as JSON text.
 *
 * `api.operation` of a `kubernetes.audit` event is spelled as GKE spells its
 * methods (`io.k8s.core.v1.pods.exec.create`) and `resources[].uid` as GKE's
 * resource names (`core/v1/namespaces/default/pods/web/exec`), so profiles and
 * evidence read alike for every cluster.
 *
 * References: https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/,
 * https://cloud.google.com/kubernetes-engine/docs/how-to/audit-logging,
 * https://learn.microsoft.com/azure/aks/monitor-aks-reference#resource-logs
 */
import type {
  ActivityId,
  ApiActivity,
  CloudProvider,
  Kubernetes,
  KubernetesUser,
  UserType,
} from '../schema/index.js';
import { isIpAddress } from './cloudtrail.js';
import { NormalizationError } from './errors.js';
import { contentHash, type Json, obj, objOrParsed, str } from './json.js';
import { type NormalizeContext, resolveTime } from './time.js';

const strings = (value: unknown): string[] | undefined => {
  if (typeof value === 'string' && value.length > 0) return [value];
  if (!Array.isArray(value)) return undefined;
  const out = value.filter((item): item is string => typeof item === 'string');
  return out.length > 0 ? out : undefined;
};

const READ_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch']);
/** Subresources whose `get` opens a stream into a pod or node (exec over WebSocket): not reads. */
const INTERACTIVE_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward', 'proxy']);

const API_VERSION = /^v\d+((alpha|beta)\d+)?$/;

/** HTTP status of a GKE entry, from its google.rpc code (GKE logs no HTTP status). */
const RPC_TO_HTTP: Record<number, number> = {
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  13: 500,
  14: 503,
  16: 401,
};

/** Reason phrases of the HTTP statuses the API server answers with, for `api.response.error`. */
const HTTP_REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The `command` parameters of an exec / attach request URI (`?command=sh&command=-c&command=id`). */
function commandFromUri(uri: string | undefined): string[] | undefined {
  if (uri === undefined) return undefined;
  const query = uri.indexOf('?');
  if (query < 0) return undefined;
  try {
    const values = new URLSearchParams(uri.slice(query + 1)).getAll('command');
    return values.length > 0 ? values : undefined;
  } catch {
    return undefined;
  }
}

/** `rbac.authorization.k8s.io` → `authorization.rbac`… as GKE names groups in methods: reversed domain, `core` for "". */
export function gkeGroupPrefix(group: string | undefined): string {
  if (group === undefined || group === '' || group === 'core') return 'io.k8s.core';
  if (!group.includes('.')) return `io.k8s.${group}`;
  return group.split('.').reverse().join('.');
}

/** The GKE spelling of a request's method: `io.k8s.core.v1.pods.exec.create`. */
export function kubernetesMethod(k8s: Kubernetes): string {
  if (k8s.resource === undefined) return `io.k8s.nonresource.${k8s.verb}`;
  const parts = [gkeGroupPrefix(k8s.api_group), k8s.api_version ?? 'v1', k8s.resource];
  if (k8s.subresource !== undefined) parts.push(k8s.subresource);
  parts.push(k8s.verb);
  return parts.join('.');
}

/** The GKE spelling of a request's resource name: `core/v1/namespaces/default/pods/web/exec`. */
export function kubernetesResourceName(k8s: Kubernetes): string | undefined {
  if (k8s.resource === undefined) return k8s.request_uri?.split('?')[0];
  const parts = [k8s.api_group || 'core', k8s.api_version ?? 'v1'];
  if (k8s.namespace !== undefined) parts.push('namespaces', k8s.namespace);
  parts.push(k8s.resource);
  if (k8s.name !== undefined) {
    parts.push(k8s.name);
    if (k8s.subresource !== undefined) parts.push(k8s.subresource);
  }
  return parts.join('/');
}

interface ParsedName {
  api_group?: string;
  api_version?: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

/** `core/v1/namespaces/default/pods/web/exec` → its parts; cluster-scoped and list forms too. */
function parseGkeResourceName(resourceName: string | undefined): ParsedName {
  if (resourceName === undefined) return {};
  const parts = resourceName.split('/').filter((p) => p.length > 0);
  if (parts.length < 3 || !API_VERSION.test(parts[1] as string)) return {};
  const out: ParsedName = { api_version: parts[1] as string };
  if (parts[0] !== 'core') out.api_group = parts[0] as string;
  let rest = parts.slice(2);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    out.namespace = rest[1] as string;
    rest = rest.slice(2);
  }
  if (rest[0] !== undefined) out.resource = rest[0];
  if (rest[1] !== undefined) out.name = rest[1];
  if (rest[2] !== undefined) out.subresource = rest[2];
  return out;
}

/** `io.k8s.core.v1.pods.exec.create` → version, resource, subresource and verb. */
function parseGkeMethod(method: string): {
  verb: string;
  api_version?: string;
  resource?: string;
  subresource?: string;
} {
  const parts = method.split('.');
  const verb = parts[parts.length - 1] ?? method;
  const at = parts.findIndex((p, i) => i > 1 && API_VERSION.test(p));
  if (at < 0) return { verb };
  const tail = parts.slice(at + 1, -1);
  const out: { verb: string; api_version?: string; resource?: string; subresource?: string } = {
    verb,
    api_version: parts[at] as string,
  };
  if (tail[0] !== undefined) out.resource = tail[0];
  if (tail[1] !== undefined) out.subresource = tail[1];
  return out;
}

/**
 * The caller an entry names only in `authenticationInfo.authoritySelector`
 * (GKE writes anonymous API requests so: `system:anonymous`, no principal).
 * The field is the authority the requestor asked for, not a verified identity,
 * so it is read only when the entry names no principal, no service-account key
 * and no delegation chain, and only when it looks like a principal (a
 * Kubernetes `system:` user or an e-mail), never a resource such as
 * `organizations/123`. Here because GKE is where it appears; `gcp-audit.ts`
 * reads it for the event's actor too.
 */
export function callerFromAuthoritySelector(auth: Json): string | undefined {
  if (
    str(auth.principalEmail) !== undefined ||
    str(auth.principalSubject) !== undefined ||
    str(auth.serviceAccountKeyName) !== undefined ||
    (Array.isArray(auth.serviceAccountDelegationInfo) && auth.serviceAccountDelegationInfo.length > 0)
  ) {
    return undefined;
  }
  const selector = str(auth.authoritySelector);
  if (selector === undefined) return undefined;
  return selector.startsWith('system:') || /^[^@\s/]+@[^@\s/]+$/.test(selector) ? selector : undefined;
}

/**
 * The `kubernetes` object of a GKE audit entry (`serviceName: k8s.io`). GKE
 * logs the Kubernetes request in AuditLog terms: the verb ends `methodName`,
 * the object path is `resourceName`, the body `request` / `response`, and the
 * authorization decision in the entry's `labels`.
 */
export function kubernetesFromGke(entry: Json): Kubernetes {
  const payload = obj(entry.protoPayload) ?? {};
  const method = str(payload.methodName) ?? '';
  const fromMethod = parseGkeMethod(method);
  const fromName = parseGkeResourceName(str(payload.resourceName));
  const metadata = obj(payload.requestMetadata) ?? {};
  const auth = obj(payload.authenticationInfo) ?? {};
  const username = str(auth.principalEmail) ?? callerFromAuthoritySelector(auth);
  const k8s: Kubernetes = { verb: fromMethod.verb, user: username === undefined ? {} : { username } };
  const cluster = str(obj(obj(entry.resource)?.labels)?.cluster_name);
  if (cluster !== undefined) k8s.cluster = cluster;
  const resource = fromName.resource ?? fromMethod.resource;
  if (resource !== undefined) k8s.resource = resource;
  const subresource = fromName.subresource ?? fromMethod.subresource;
  if (subresource !== undefined) k8s.subresource = subresource;
  if (fromName.namespace !== undefined) k8s.namespace = fromName.namespace;
  if (fromName.name !== undefined) k8s.name = fromName.name;
  if (fromName.api_group !== undefined) k8s.api_group = fromName.api_group;
  const version = fromName.api_version ?? fromMethod.api_version;
  if (version !== undefined) k8s.api_version = version;
  const uri = str(payload.requestURI) ?? str(payload.requestUri);
  if (uri !== undefined) k8s.request_uri = uri;
  const ip = str(metadata.callerIp) ?? str(metadata.callerIP);
  if (ip !== undefined) k8s.source_ips = [ip];
  const agent = str(metadata.callerSuppliedUserAgent);
  if (agent !== undefined) k8s.user_agent = agent;
  const request = obj(payload.request);
  const response = obj(payload.response);
  if (request !== undefined) k8s.request_object = request;
  if (response !== undefined) k8s.response_object = response;
  const code = responseCodeOfGke(payload, response);
  if (code !== undefined) k8s.response_code = code;
  const command = strings(request?.command) ?? commandFromUri(uri);
  if (command !== undefined) k8s.command = command;
  const annotations = annotationsOf(obj(entry.labels));
  if (annotations !== undefined) k8s.annotations = annotations;
  return k8s;
}

function responseCodeOfGke(payload: Json, response: Json | undefined): number | undefined {
  // A Kubernetes Status object in the response carries the HTTP code itself.
  if (str(response?.kind) === 'Status' || str(response?.status) === 'Failure') {
    if (typeof response?.code === 'number') return response.code;
    if (str(response?.status) === 'Failure') return 500;
  }
  const status = obj(payload.status);
  const code = typeof status?.code === 'number' ? status.code : 0;
  if (code !== 0) return RPC_TO_HTTP[code] ?? 500;
  // A denied permission check with no error status (seen in re-exported entries) is still a refusal.
  const checks = Array.isArray(payload.authorizationInfo) ? payload.authorizationInfo : [];
  return checks.some((check) => obj(check)?.granted === false) ? 403 : undefined;
}

/** String-valued keys that look like annotations (`authorization.k8s.io/decision`). */
function annotationsOf(value: Json | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(value))
    if (key.includes('/') && typeof text === 'string') out[key] = text;
  return Object.keys(out).length > 0 ? out : undefined;
}

function userOf(value: unknown): KubernetesUser | undefined {
  const user = obj(value);
  if (user === undefined) return undefined;
  const out: KubernetesUser = {};
  const username = str(user.username);
  if (username !== undefined) out.username = username;
  const uid = str(user.uid);
  if (uid !== undefined) out.uid = uid;
  const groups = strings(user.groups);
  if (groups !== undefined) out.groups = groups;
  return out;
}

/** The audit.k8s.io Event inside a record: the record itself or the AKS `properties.log` text. */
export function auditEventOf(record: Json): Json | undefined {
  if (isAuditEvent(record)) return record;
  const properties = objOrParsed(record.properties) ?? objOrParsed(record.Properties);
  const inner = objOrParsed(properties?.log) ?? objOrParsed(record.log_s);
  return inner !== undefined && isAuditEvent(inner) ? inner : undefined;
}

/** `{"kind":"Event","apiVersion":"audit.k8s.io/v1"...}`, also without the kind (some shippers drop it). */
export function isAuditEvent(value: Json): boolean {
  const version = str(value.apiVersion);
  if (version?.startsWith('audit.k8s.io/')) return value.kind === undefined || value.kind === 'Event';
  return value.kind === 'Event' && typeof value.verb === 'string' && obj(value.user) !== undefined;
}

/** AKS diagnostic categories that carry audit Events. */
export const AKS_AUDIT_CATEGORIES: ReadonlySet<string> = new Set(['kube-audit', 'kube-audit-admin']);

function activityOf(verb: string): ActivityId {
  switch (verb) {
    case 'create':
      return 1;
    case 'get':
    case 'list':
    case 'watch':
      return 2;
    case 'update':
    case 'patch':
      return 3;
    case 'delete':
    case 'deletecollection':
      return 4;
    default:
      return 99;
  }
}

function userTypeOf(username: string | undefined): UserType {
  if (username === undefined || username === 'system:anonymous') return 'Unknown';
  if (username.startsWith('system:serviceaccount:')) return 'ServiceAccount';
  if (username.startsWith('system:')) return 'Application';
  return 'User';
}

/** `system:serviceaccount:ns:name` → `ns/name`, `system:node:n` → `n`, others as they are. */
function shortName(username: string): string {
  if (username.startsWith('system:serviceaccount:')) return username.slice(22).replace(':', '/');
  if (username.startsWith('system:node:')) return username.slice(12);
  return username;
}

/**
 * Which cloud a bare audit Event comes from, from what the API server of each
 * managed service writes: EKS an IAM ARN in `user.extra`, GKE Google accounts.
 */
function placeBareEvent(event: Json): { provider: CloudProvider; account?: string } {
  const extra = obj(obj(event.user)?.extra) ?? {};
  for (const key of ['arn', 'sessionName', 'accessKeyId']) {
    const values = strings(extra[key]);
    if (values === undefined) continue;
    const account = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(values[0] as string)?.[1];
    return account === undefined ? { provider: 'AWS' } : { provider: 'AWS', account };
  }
  const username = str(obj(event.user)?.username) ?? '';
  if (username.startsWith('eks:') || username.startsWith('arn:aws')) return { provider: 'AWS' };
  if (username.endsWith('.gserviceaccount.com')) return { provider: 'GCP' };
  if (str(event.userAgent)?.startsWith('aks-')) return { provider: 'Azure' };
  return { provider: 'Other' };
}

/** The managed cluster a `resourceId` names: `/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.ContainerService/managedClusters/<name>`. */
function aksCluster(resourceId: string | undefined): { subscription?: string; cluster?: string } {
  if (resourceId === undefined) return {};
  const match = /\/subscriptions\/([^/]+)\/.*\/managedclusters\/([^/]+)/i.exec(resourceId);
  const subscription = /\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1]?.toLowerCase();
  const out: { subscription?: string; cluster?: string } = {};
  if (subscription !== undefined) out.subscription = subscription;
  if (match?.[2] !== undefined) out.cluster = match[2];
  return out;
}

/**
 * Normalizes one Kubernetes audit Event (alone or in an AKS `kube-audit`
 * record) to API Activity. The event uid is the Event's `auditID`, shared by
 * the stages of one request (`ResponseStarted`, `ResponseComplete`), which
 * both count: exec and watch are logged at ResponseStarted (exec with 101).
 * Time: `requestReceivedTimestamp`, else `stageTimestamp` (the request's time
 * within its duration), else the AKS record's `time`, else the host's receive time.
 */
export function normalizeKubernetesAudit(record: Json, context?: NormalizeContext): ApiActivity {
  const event = auditEventOf(record);
  if (event === undefined) {
    throw new NormalizationError('not a Kubernetes audit Event (audit.k8s.io)', 'not-kubernetes-audit');
  }
  const verb = str(event.verb);
  if (verb === undefined)
    throw new NormalizationError('Kubernetes audit Event has no verb', 'not-kubernetes-audit');
  const envelope = event === record ? undefined : record;
  const resolved = resolveTime(
    [
      { value: event.requestReceivedTimestamp },
      { value: event.stageTimestamp, source: 'request' },
      { value: envelope?.time ?? envelope?.TimeGenerated, source: 'received' },
    ],
    context,
    'requestReceivedTimestamp',
  );

  const ref = obj(event.objectRef) ?? {};
  const user = userOf(event.user) ?? {};
  const k8s: Kubernetes = { verb, user };
  const aks = aksCluster(str(envelope?.resourceId) ?? str(envelope?._ResourceId));
  const annotations = annotationsOf(obj(event.annotations));
  const cluster = aks.cluster ?? annotations?.['cluster.x-k8s.io/cluster-name'];
  if (cluster !== undefined) k8s.cluster = cluster;
  for (const [from, to] of [
    ['resource', 'resource'],
    ['subresource', 'subresource'],
    ['namespace', 'namespace'],
    ['name', 'name'],
    ['apiGroup', 'api_group'],
    ['apiVersion', 'api_version'],
  ] as const) {
    const value = str(ref[from]);
    if (value !== undefined) k8s[to] = value;
  }
  const uri = str(event.requestURI);
  if (uri !== undefined) {
    k8s.request_uri = uri;
    // Some shippers trim objectRef to resource and name: the path still says the group and version.
    const path = /^\/(?:api\/(v\d\w*)|apis\/([^/]+)\/(v\d\w*))\//.exec(uri);
    if (path !== null && k8s.api_version === undefined) k8s.api_version = (path[1] ?? path[3]) as string;
    if (path?.[2] !== undefined && k8s.api_group === undefined) k8s.api_group = path[2];
  }
  const impersonated = userOf(event.impersonatedUser);
  if (impersonated !== undefined) k8s.impersonated_user = impersonated;
  const ips = strings(event.sourceIPs);
  if (ips !== undefined) k8s.source_ips = ips;
  const agent = str(event.userAgent);
  if (agent !== undefined) k8s.user_agent = agent;
  const status = obj(event.responseStatus);
  const code = typeof status?.code === 'number' ? status.code : undefined;
  if (code !== undefined) k8s.response_code = code;
  const stage = str(event.stage);
  if (stage !== undefined) k8s.stage = stage;
  const request = obj(event.requestObject);
  const response = obj(event.responseObject);
  if (request !== undefined) k8s.request_object = request;
  if (response !== undefined) k8s.response_object = response;
  const command = commandFromUri(uri) ?? strings(request?.command);
  if (command !== undefined) k8s.command = command;
  if (annotations !== undefined) k8s.annotations = annotations;

  const placed =
    envelope !== undefined &&
    (aks.subscription !== undefined || AKS_AUDIT_CATEGORIES.has(str(envelope.category) ?? ''))
      ? {
          provider: 'Azure' as const,
          ...(aks.subscription !== undefined ? { account: aks.subscription } : {}),
        }
      : placeBareEvent(event);
  const operation = kubernetesMethod(k8s);
  const resourceName = kubernetesResourceName(k8s);
  const username = user.username;
  const out: ApiActivity = {
    source: 'kubernetes.audit',
    class_uid: 6003,
    category_uid: 6,
    activity_id: activityOf(verb),
    time: resolved.time,
    // No response yet (stage RequestReceived) or none logged: the outcome is not known.
    status: code === undefined ? 'Unknown' : code >= 400 ? 'Failure' : 'Success',
    cloud: { provider: placed.provider, account: placed.account ?? 'unknown' },
    actor: { user: { type: userTypeOf(username) } },
    api: { service: 'k8s.io', operation, request: {}, response: {} },
    src_endpoint: { is_internal: false },
    resources: [],
    kubernetes: k8s,
    metadata: {
      uid: str(event.auditID) ?? contentHash(event),
      original_time: resolved.originalTime,
      product: envelope === undefined ? 'Kubernetes audit' : 'AKS kube-audit',
      log_name: str(envelope?.category) ?? 'audit',
      version: str(event.apiVersion) ?? 'audit.k8s.io/v1',
      read_only: READ_VERBS.has(verb) && !INTERACTIVE_SUBRESOURCES.has(k8s.subresource ?? ''),
    },
    raw: record,
  };
  if (resolved.source !== undefined) out.metadata.time_source = resolved.source;
  if (username !== undefined) {
    out.actor.user.uid = username;
    out.actor.user.name = shortName(username);
  }
  const auditId = str(event.auditID);
  if (auditId !== undefined) out.api.request.uid = auditId;
  if (code !== undefined && code >= 400) {
    out.api.response.error = str(status?.reason) ?? HTTP_REASONS[code] ?? String(code);
    const message = str(status?.message);
    if (message !== undefined) out.api.response.message = message;
  }
  const ip = ips?.[0];
  if (ip !== undefined && isIpAddress(ip)) out.src_endpoint.ip = ip;
  if (agent !== undefined) out.user_agent = agent;
  if (resourceName !== undefined) {
    const item: ApiActivity['resources'][number] = { uid: resourceName };
    if (k8s.name !== undefined) item.name = k8s.name;
    if (k8s.resource !== undefined) item.type = k8s.resource;
    out.resources.push(item);
  }
  return out;
}

/**
 * For readers: a record this module normalizes, told without parsing the
 * embedded log text: a bare audit Event, or an AKS diagnostic record of a
 * `kube-audit` / `kube-audit-admin` category (the `Category` column of Log Analytics too).
 */
export function isKubernetesAuditRecord(value: Json): boolean {
  if (isAuditEvent(value)) return true;
  const category = str(value.category) ?? str(value.Category);
  return category !== undefined && AKS_AUDIT_CATEGORIES.has(category.toLowerCase());
}
