/**
 * What a behavioural profile remembers of one event: the subjects it belongs
 * to (each resource gets its own profile) and the feature values observed.
 * Pure and cheap: it runs once per event when baselines are on.
 */
import type { ApiActivity } from '../schema/api-activity.js';
import type { NormalizedEvent } from '../schema/event.js';
import type { RuntimeActivity } from '../schema/runtime-activity.js';

/** Kinds of subject that get a profile of their own. */
export type SubjectKind = 'principal' | 'access-key' | 'function' | 'account';

/**
 * Feature groups a profile counts values of. `executable`, `destination` and
 * `path` are learned from runtime events, per function version: programs
 * launched, places connected to (`ip:port`, DNS names) and sensitive or
 * executable files touched; for a connection, `network` holds the destination
 * network and port (`AS16509:443`, `private:5432`), which stays stable while
 * the addresses behind a service rotate.
 */
export const FEATURES = [
  'operation',
  'region',
  'network',
  'country',
  'client',
  'resource',
  'executable',
  'destination',
  'path',
] as const;
export type FeatureName = (typeof FEATURES)[number];

export interface EventFeatures {
  /** Profile keys this event updates and is scored against, e.g. `principal:arn:aws:iam::1:role/x`. */
  readonly subjects: {
    readonly principal?: string;
    readonly accessKey?: string;
    /**
     * `function:<account>:<name>` when an API call came from inside a Lambda function;
     * `function:<account>:<name>:<version>` for a runtime event, scored against it.
     */
    readonly function?: string;
    /** The account as the peer group; absent for runtime events, which are learned per function version only. */
    readonly account?: string;
  };
  readonly values: Partial<Record<FeatureName, string[]>>;
  /** Hour of the week, 0 = Monday 00:00 UTC … 167. */
  readonly hourOfWeek: number;
  readonly failed: boolean;
  readonly denied: boolean;
  readonly sensitive: boolean;
}

/** Enrichment the host may provide (offline ASN / country lookups); pure data in, pure data out. */
export interface NetworkInfo {
  readonly asn?: number;
  readonly asnName?: string;
  readonly country?: string;
}
export type NetworkLookup = (ip: string) => NetworkInfo | undefined;

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'Client.UnauthorizedOperation',
  'UnauthorizedOperation',
  'UnauthorizedAccess',
  'AuthorizationError',
  'PERMISSION_DENIED',
  'AuthorizationFailed',
  // Kubernetes API server (HTTP reasons of 403 / 401).
  'Forbidden',
  'Unauthorized',
]);

/** Kubernetes resources whose writes weigh like identity and secret writes; exec and attach too. */
const SENSITIVE_KUBERNETES = new Set([
  'secrets',
  'serviceaccounts',
  'roles',
  'clusterroles',
  'rolebindings',
  'clusterrolebindings',
  'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations',
  'certificatesigningrequests',
  'exec',
  'attach',
]);

/**
 * The principal subject of an event. A Kubernetes identity of the cluster
 * itself (`system:serviceaccount:…`, `system:node:…`, `system:anonymous`) has
 * the same name in every cluster but its own habits in each, so it is learned
 * per cluster; people and cloud identities are learned once across clusters.
 */
function principalSubject(event: ApiActivity, uid: string): string {
  const k8s = event.kubernetes;
  if (k8s === undefined || !uid.startsWith('system:')) return `principal:${personalSession(event) ?? uid}`;
  return `principal:k8s:${event.cloud.account}/${k8s.cluster ?? 'cluster'}:${uid}`;
}

/** Services whose write operations weigh more: identity, keys, logging, secrets, sharing. */
const SENSITIVE_SERVICES = new Set([
  'iam',
  'sts',
  'kms',
  'secretsmanager',
  'cloudtrail',
  'config',
  'guardduty',
  'securityhub',
  'organizations',
  'sso',
  'ssm',
  'logs',
  'lambda',
]);

const PRIVATE_V4 =
  /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|127\.|169\.254\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;

const shortServices = new Map<string, string>();
export function shortService(service: string): string {
  let short = shortServices.get(service);
  if (short === undefined) {
    short = service.replace(/\.amazonaws\.com$|\.googleapis\.com$/, '');
    if (shortServices.size < 10_000) shortServices.set(service, short);
  }
  return short;
}

/**
 * The family of a user agent: the tool, not its version (`aws-cli`, `boto3`,
 * `console`, `terraform`, `python-requests`…). New families are a signal; new
 * versions are not.
 */
export function clientFamily(userAgent: string | undefined): string {
  if (userAgent === undefined || userAgent === '') return 'none';
  const ua = userAgent.startsWith('[') ? userAgent.slice(1) : userAgent;
  const lower = ua.toLowerCase();
  if (lower.endsWith('.amazonaws.com') || lower === 'aws internal') return 'aws-service';
  if (
    lower.startsWith('signin.amazonaws.com') ||
    lower.includes('console.amazonaws.com') ||
    lower.startsWith('mozilla/')
  ) {
    return 'console';
  }
  for (const [needle, family] of CLIENT_MARKERS) if (lower.includes(needle)) return family;
  const token = lower.split(/[/ ]/, 1)[0] ?? 'other';
  return token.length > 0 && token.length <= 40 ? token : 'other';
}

/** Substrings that name a tool wherever it sits in the agent (SDKs put their own name after the framework's). */
const CLIENT_MARKERS: ReadonlyArray<readonly [string, string]> = [
  ['terraform', 'terraform'],
  ['pulumi', 'pulumi'],
  ['aws-cdk', 'aws-cdk'],
  ['cloudformation', 'cloudformation'],
  ['aws-cli', 'aws-cli'],
  ['boto3', 'boto3'],
  ['botocore', 'boto3'],
  ['aws-sdk-js', 'aws-sdk-js'],
  ['aws-sdk-java', 'aws-sdk-java'],
  ['aws-sdk-go', 'aws-sdk-go'],
  ['aws-sdk-dotnet', 'aws-sdk-dotnet'],
  ['aws-sdk-ruby', 'aws-sdk-ruby'],
  ['aws-sdk-rust', 'aws-sdk-rust'],
  ['python-requests', 'python-requests'],
  ['curl/', 'curl'],
  ['powershell', 'powershell'],
];

/** Where the call came from, as a network: `aws` (inside AWS), `private`, `AS<n>`, or `unknown`. */
export function networkOf(
  event: ApiActivity,
  lookup: NetworkLookup | undefined,
): { network: string; country?: string } {
  const { ip, is_internal: internal } = event.src_endpoint;
  if (internal || ip === undefined) return { network: internal ? 'aws' : 'unknown' };
  if (PRIVATE_V4.test(ip) || ip.startsWith('fd') || ip.startsWith('fe80')) return { network: 'private' };
  const info = lookup?.(ip);
  if (info?.asn === undefined)
    return { network: 'unknown', ...(info?.country ? { country: info.country } : {}) };
  return { network: `AS${info.asn}`, ...(info.country ? { country: info.country } : {}) };
}

const WEEK_MS = 7 * 24 * 3_600_000;
/** 1970-01-01 was a Thursday; shift so 0 is Monday 00:00 UTC. */
const MONDAY_OFFSET_MS = 3 * 24 * 3_600_000;

export function hourOfWeek(time: number): number {
  return Math.floor(((((time + MONDAY_OFFSET_MS) % WEEK_MS) + WEEK_MS) % WEEK_MS) / 3_600_000);
}

/** Read-ish operations: never sensitive by themselves. */
const READ_PREFIXES = ['Get', 'List', 'Describe', 'Head', 'Lookup', 'Search', 'Check'];

export function extractFeatures(event: NormalizedEvent, lookup?: NetworkLookup): EventFeatures | undefined {
  if (event.source === 'aws.lambda.runtime') return runtimeFeatures(event, lookup);
  const user = event.actor.user;
  // Calls AWS makes on its own have no behaviour of their own to learn.
  if (user.type === 'AWSService' || user.uid === undefined) return undefined;
  const service = shortService(event.api.service);
  const operation = `${service}:${event.api.operation}`;
  const { network, country } = networkOf(event, lookup);
  const values: Partial<Record<FeatureName, string[]>> = {
    operation: [operation],
    network: [network],
    client: [clientFamily(event.user_agent)],
  };
  if (event.cloud.region !== undefined) values.region = [event.cloud.region];
  if (country !== undefined) values.country = [country];
  const k8s = event.kubernetes;
  const isRead =
    k8s !== undefined
      ? event.activity_id === 2 && k8s.subresource !== 'exec' && k8s.subresource !== 'attach'
      : READ_PREFIXES.some((prefix) => event.api.operation.startsWith(prefix));
  const sensitive =
    !isRead &&
    (k8s !== undefined
      ? SENSITIVE_KUBERNETES.has(k8s.subresource ?? k8s.resource ?? '')
      : SENSITIVE_SERVICES.has(service));
  if (sensitive || service === 's3' || service === 'secretsmanager' || service === 'kms') {
    const touched = event.resources.map((r) => r.uid ?? r.name).filter((r): r is string => r !== undefined);
    if (touched.length > 0) values.resource = touched.slice(0, 5);
  }
  const keyId = user.credential_uid;
  const error = event.api.response.error;
  // Lambda names its execution-role sessions after the function and stamps its SDK calls.
  const sessionName = event.actor.session?.name;
  const inLambda = sessionName !== undefined && event.user_agent?.includes('exec-env/AWS_Lambda') === true;
  return {
    subjects: {
      principal: principalSubject(event, user.uid),
      // Long-term keys only: temporary (ASIA…) keys live for one session and have no habits.
      ...(keyId?.startsWith('AKIA') ? { accessKey: `key:${keyId}` } : {}),
      ...(inLambda ? { function: `function:${event.cloud.account}:${sessionName}` } : {}),
      account: `account:${event.cloud.provider}:${event.cloud.account}`,
    },
    values,
    hourOfWeek: hourOfWeek(event.time),
    failed: event.status === 'Failure',
    denied: error !== undefined && DENIED.has(error),
    sensitive,
  };
}

/**
 * A role whose sessions are people (Identity Center permission sets, sessions
 * named after an e-mail address) is shared by everyone who may assume it, so
 * its habits are the sum of several people's: each person gets their own
 * profile, `<role ARN>#<session name>`, instead.
 */
function personalSession(event: ApiActivity): string | undefined {
  const { user, session } = event.actor;
  if (user.type !== 'AssumedRole' || session?.name === undefined) return undefined;
  const shared = user.name?.startsWith('AWSReservedSSO_') === true || session.name.includes('@');
  return shared ? `${user.uid}#${session.name}` : undefined;
}

/** Every subject an event's features belong to, each once. */
export function subjectsOf(features: EventFeatures): string[] {
  const { principal, accessKey, function: fn, account } = features.subjects;
  const subjects: string[] = [];
  for (const subject of [principal, accessKey, fn, account])
    if (subject !== undefined) subjects.push(subject);
  return subjects;
}

/** The profile of one function version: `function:<account>:<name>:<version>`. */
export function functionVersionSubject(event: RuntimeActivity): string {
  const fn = event.runtime.function;
  return `function:${event.cloud.account}:${fn.name}:${fn.version}`;
}

/** Digits and hex runs in a path (temporary names, pids) folded, so `/tmp/tmpa81f3c` is learned as one value. */
function pathShape(path: string): string {
  return path.replace(/\/proc\/\d+\//, '/proc/<pid>/').replace(/[0-9a-f]{6,}|\d+/gi, '*');
}

/** Where a connection went as a network and port: `AS16509:443`, `private:5432`, `unknown:4444`. */
function destinationNetwork(
  ip: string,
  port: number | undefined,
  isPrivate: boolean,
  lookup?: NetworkLookup,
): string {
  const asn = isPrivate ? undefined : lookup?.(ip)?.asn;
  const network = isPrivate ? 'private' : asn !== undefined ? `AS${asn}` : 'unknown';
  return `${network}:${port ?? '-'}`;
}

/**
 * Features of a runtime event: only behaviour worth a baseline (programs,
 * destinations, files) is learned; platform and collector-health records are
 * kept as events but teach nothing, and denied calls (enforce mode) never
 * happened, so they are not learned as habits either.
 */
function runtimeFeatures(event: RuntimeActivity, lookup?: NetworkLookup): EventFeatures | undefined {
  const { kind, denied } = event.runtime;
  if (kind === 'platform.event' || kind === 'collector.health' || denied) return undefined;
  const values: Partial<Record<FeatureName, string[]>> = {};
  if (event.class_uid === 1007) {
    const executable = event.process?.file?.path;
    if (executable === undefined) return undefined;
    values.executable = [executable];
  } else if (event.class_uid === 4001) {
    const endpoint = event.dst_endpoint;
    if (endpoint?.ip === undefined || endpoint.family === 'unix') return undefined;
    values.destination = [`${endpoint.ip}:${endpoint.port ?? '-'}`];
    values.network = [destinationNetwork(endpoint.ip, endpoint.port, endpoint.is_private, lookup)];
  } else if (event.class_uid === 4003) {
    if (event.query === undefined) return undefined;
    values.destination = [event.query.hostname];
  } else if (event.class_uid === 1001) {
    if (event.file === undefined) return undefined;
    values.path = [pathShape(event.file.path)];
  } else return undefined;
  return {
    subjects: { function: functionVersionSubject(event) },
    values,
    hourOfWeek: hourOfWeek(event.time),
    failed: event.status === 'Failure',
    denied: false,
    sensitive: kind === 'file.read-sensitive',
  };
}
