/**
 * A ready query for the responder: the audit records behind a finding, and
 * what the same actor did around it, in the query language of the cloud the
 * finding came from — CloudTrail Lake SQL, a Cloud Logging (Logs Explorer)
 * filter, KQL for Log Analytics — plus a Kubernetes audit query when the
 * finding is about a cluster (EKS audit logs in CloudWatch Logs Insights, GKE
 * in Cloud Logging, AKS in Log Analytics, a `jq` filter over the audit log
 * files of a self-managed cluster).
 *
 * Principals, event ids and resource names are attacker-influenced (an IAM
 * user can be named to look like SQL, a UPN can carry quotes), so every value
 * goes into the query only as a quoted string literal, escaped for that
 * language; nothing from a finding is ever pasted in as syntax.
 *
 * Pure: no I/O, no environment.
 */
import type { Finding } from '../../schema/finding.js';
import type { Incident } from '../incident.js';

export type QueryLanguage = 'cloudtrail-lake-sql' | 'cloudwatch-logs-insights' | 'gcp-logging' | 'kql' | 'jq';

export interface ForensicQuery {
  readonly provider: string;
  readonly language: QueryLanguage;
  /** What the query is and where to paste it, e.g. `CloudTrail Lake (SQL)`. */
  readonly title: string;
  readonly text: string;
  /** A console page with the query filled in, where the console takes one in its URL (Logs Explorer). */
  readonly consoleUrl?: string;
}

export interface ForensicQueryOptions {
  /** Widening of the time range on both sides (default one hour). */
  readonly marginMs?: number;
  /** The CloudTrail Lake event data store id the SQL reads `FROM` (a placeholder when absent). */
  readonly cloudTrailLakeEventDataStore?: string;
  /** The EKS cluster's audit log group for the Logs Insights query (a placeholder when absent). */
  readonly eksAuditLogGroup?: string;
}

/** What a query looks for: whose activity, which records, when. */
export interface ForensicSubject {
  readonly provider: string;
  readonly account: string;
  readonly region?: string;
  /** The actor; absent when the incident is grouped by a resource (runtime findings). */
  readonly principal?: string;
  readonly eventUids: readonly string[];
  readonly operations: readonly string[];
  readonly ruleUids: readonly string[];
  /** Epoch ms, before the margin. */
  readonly from: number;
  readonly to: number;
}

export const DEFAULT_QUERY_MARGIN_MS = 60 * 60 * 1000;
/** Event ids put in one query; the finding keeps at most 100. */
const MAX_EVENT_UIDS = 100;

export function subjectOfFinding(finding: Finding): ForensicSubject {
  const subject: ForensicSubject = {
    provider: finding.cloud.provider,
    account: finding.cloud.account,
    principal: finding.actor.principal,
    eventUids: finding.evidence.event_uids,
    operations: finding.evidence.operations,
    ruleUids: [finding.rule.uid],
    from: finding.first_seen,
    to: finding.last_seen,
  };
  return finding.cloud.region !== undefined ? { ...subject, region: finding.cloud.region } : subject;
}

/**
 * The whole incident: its time range and actor, with the event ids of
 * `finding` (the newest) when one is given.
 */
export function subjectOfIncident(incident: Incident, finding?: Finding): ForensicSubject {
  const subject: ForensicSubject = {
    provider: incident.group.provider,
    account: incident.group.account,
    eventUids: finding?.evidence.event_uids ?? [],
    operations: finding?.evidence.operations ?? [],
    ruleUids: incident.rules,
    from: Math.min(incident.opened_at, finding?.first_seen ?? incident.opened_at),
    to: Math.max(incident.last_finding_at, finding?.last_seen ?? incident.last_finding_at),
  };
  const principal = incident.group.kind === 'actor' ? incident.group.value : finding?.actor.principal;
  const region = finding?.cloud.region;
  return {
    ...subject,
    ...(principal !== undefined ? { principal } : {}),
    ...(region !== undefined ? { region } : {}),
  };
}

/** The queries for a subject: the cloud's audit log first, then the Kubernetes audit log when relevant. */
export function forensicQueries(
  subject: ForensicSubject,
  options: ForensicQueryOptions = {},
): ForensicQuery[] {
  const queries: ForensicQuery[] = [];
  const primary = cloudQuery(subject, options);
  if (primary !== undefined) queries.push(primary);
  if (isKubernetes(subject)) {
    const k8s = kubernetesQuery(subject, options);
    if (k8s !== undefined) queries.push(k8s);
  }
  return queries;
}

/** The first of {@link forensicQueries}: the cloud's own audit log. */
export function forensicQuery(
  finding: Finding,
  options: ForensicQueryOptions = {},
): ForensicQuery | undefined {
  return forensicQueries(subjectOfFinding(finding), options)[0];
}

function cloudQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery | undefined {
  switch (subject.provider) {
    case 'AWS':
      return cloudTrailLakeQuery(subject, options);
    case 'GCP':
      return gcpLoggingQuery(subject, options, false);
    case 'Azure':
      return azureQuery(subject, options);
    default:
      return undefined;
  }
}

const K8S_OPERATION = /(^|:)io\.k8s\.|^k8s(\.io)?:/;
const K8S_RULE = /(^|[.-])(gke|eks|aks|k8s|kubernetes)([.-]|$)/;

export function isKubernetes(subject: ForensicSubject): boolean {
  return (
    subject.provider === 'Other' ||
    subject.operations.some((op) => K8S_OPERATION.test(op)) ||
    subject.ruleUids.some((uid) => K8S_RULE.test(uid))
  );
}

function kubernetesQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery | undefined {
  switch (subject.provider) {
    case 'AWS':
      return eksAuditQuery(subject, options);
    case 'GCP':
      return gcpLoggingQuery(subject, options, true);
    case 'Azure':
      return aksAuditQuery(subject, options);
    default:
      return kubernetesAuditFileQuery(subject, options);
  }
}

// --- string literals -------------------------------------------------------------------------

/**
 * A single-quoted SQL literal (CloudTrail Lake is Trino SQL): a quote is
 * doubled, and a backslash is no escape there, so nothing else can end the
 * literal. NUL is dropped (no SQL string can hold it).
 */
export function sqlString(value: string): string {
  return `'${value.replace(/\0/g, '').replace(/'/g, "''")}'`;
}

/**
 * A double-quoted literal with backslash escapes, as KQL, the Cloud Logging
 * query language and Logs Insights read them: `\\`, `\"`, `\n`, `\r`, `\t`.
 * Other control characters have no documented escape in all three and are
 * dropped (no real principal carries them).
 */
export function quotedString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
  return `"${escaped}"`;
}

// --- time ------------------------------------------------------------------------------------

function range(subject: ForensicSubject, options: ForensicQueryOptions): { from: Date; to: Date } {
  const margin = options.marginMs ?? DEFAULT_QUERY_MARGIN_MS;
  return { from: new Date(subject.from - margin), to: new Date(subject.to + margin) };
}

/** `2026-05-04 10:00:00`, the timestamp literal CloudTrail Lake compares `eventTime` with (UTC). */
function sqlTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** RFC 3339 to the second, UTC. */
function isoTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const uidsOf = (subject: ForensicSubject): string[] =>
  [...new Set(subject.eventUids)].slice(0, MAX_EVENT_UIDS);

// --- AWS ---------------------------------------------------------------------------------------

function cloudTrailLakeQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery {
  const { from, to } = range(subject, options);
  const store = options.cloudTrailLakeEventDataStore ?? '<event-data-store-id>';
  const who: string[] = [];
  const uids = uidsOf(subject);
  if (uids.length > 0) who.push(`eventID IN (${uids.map(sqlString).join(', ')})`);
  if (subject.principal !== undefined) {
    const principal = sqlString(subject.principal);
    who.push(
      `userIdentity.arn = ${principal}`,
      `userIdentity.sessionContext.sessionIssuer.arn = ${principal}`,
    );
  }
  const where = [
    `recipientAccountId = ${sqlString(subject.account)}`,
    `eventTime >= ${sqlString(sqlTime(from))}`,
    `eventTime <= ${sqlString(sqlTime(to))}`,
  ];
  if (who.length > 0) where.push(`(\n    ${who.join('\n    OR ')}\n  )`);
  const text = [
    'SELECT eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent,',
    '  userIdentity.arn, errorCode, requestParameters, resources, eventID',
    `FROM ${/^[A-Za-z0-9-]+$/.test(store) ? store : '<event-data-store-id>'}`,
    `WHERE ${where.join('\n  AND ')}`,
    'ORDER BY eventTime',
  ].join('\n');
  return { provider: 'AWS', language: 'cloudtrail-lake-sql', title: 'CloudTrail Lake (SQL)', text };
}

function eksAuditQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery {
  const { from, to } = range(subject, options);
  const who: string[] = [];
  const uids = uidsOf(subject);
  if (uids.length > 0) who.push(`auditID in [${uids.map(quotedString).join(', ')}]`);
  if (subject.principal !== undefined) who.push(`user.username = ${quotedString(subject.principal)}`);
  const text = [
    'fields @timestamp, verb, requestURI, objectRef.resource, objectRef.namespace, objectRef.name,',
    '  user.username, sourceIPs.0, userAgent, responseStatus.code, auditID',
    '| filter @logStream like /^kube-apiserver-audit/',
    ...(who.length > 0 ? [`| filter ${who.join(' or ')}`] : []),
    '| sort @timestamp asc',
  ].join('\n');
  const group = options.eksAuditLogGroup ?? '/aws/eks/<cluster>/cluster';
  return {
    provider: 'AWS',
    language: 'cloudwatch-logs-insights',
    title: `EKS audit log (CloudWatch Logs Insights on ${group}, ${isoTime(from)} to ${isoTime(to)})`,
    text,
  };
}

// --- GCP ---------------------------------------------------------------------------------------

function gcpLoggingQuery(
  subject: ForensicSubject,
  options: ForensicQueryOptions,
  kubernetes: boolean,
): ForensicQuery {
  const { from, to } = range(subject, options);
  const who: string[] = [];
  const uids = uidsOf(subject);
  if (uids.length > 0) who.push(`insertId=(${uids.map(quotedString).join(' OR ')})`);
  if (subject.principal !== undefined)
    who.push(`protoPayload.authenticationInfo.principalEmail=${quotedString(subject.principal)}`);
  const lines = [
    ...(kubernetes ? ['resource.type="k8s_cluster"'] : ['logName:"cloudaudit.googleapis.com"']),
    `timestamp>=${quotedString(isoTime(from))}`,
    `timestamp<=${quotedString(isoTime(to))}`,
    ...(who.length > 0 ? [`(${who.join(' OR ')})`] : []),
  ];
  const text = lines.join('\nAND ');
  const consoleUrl = `https://console.cloud.google.com/logs/query;query=${encodeURIComponent(text)}?project=${encodeURIComponent(subject.account)}`;
  return {
    provider: 'GCP',
    language: 'gcp-logging',
    title: kubernetes ? 'GKE audit log (Logs Explorer)' : 'Cloud Audit Logs (Logs Explorer)',
    text,
    consoleUrl,
  };
}

// --- Azure -------------------------------------------------------------------------------------

/** Which Log Analytics tables the finding's operations come from. */
function azureTables(subject: ForensicSubject): Set<'AzureActivity' | 'AuditLogs' | 'SigninLogs'> {
  const tables = new Set<'AzureActivity' | 'AuditLogs' | 'SigninLogs'>();
  for (const operation of subject.operations) {
    if (/sign-in/i.test(operation)) tables.add('SigninLogs');
    else if (/^microsoft\.[a-z]/.test(operation)) tables.add('AzureActivity');
    else tables.add('AuditLogs');
  }
  if (tables.size === 0) {
    // No operations (a state change): judge by the rules; an Entra rule reads Entra logs.
    if (subject.ruleUids.some((uid) => /entra/.test(uid))) {
      tables.add('SigninLogs');
      tables.add('AuditLogs');
    } else tables.add('AzureActivity');
  }
  return tables;
}

/**
 * Event uids of Azure findings are record ids (`eventDataId`, the Entra `id`)
 * or, for records without one, `<correlationId>:<operation>:<status>`, which
 * are searched by their correlation id.
 */
function azureIds(subject: ForensicSubject): { ids: string[]; correlations: string[] } {
  const ids: string[] = [];
  const correlations: string[] = [];
  for (const uid of uidsOf(subject)) {
    const colon = uid.indexOf(':');
    if (colon < 0) ids.push(uid);
    else if (uid.slice(0, colon) !== 'no-correlation') correlations.push(uid.slice(0, colon));
  }
  return { ids, correlations: [...new Set(correlations)] };
}

function azureQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery {
  const { from, to } = range(subject, options);
  const { ids, correlations } = azureIds(subject);
  const list = (values: readonly string[]) => `(${values.map(quotedString).join(', ')})`;
  const principal = subject.principal !== undefined ? quotedString(subject.principal) : undefined;
  const columns = {
    AzureActivity: { id: 'EventDataId', caller: 'Caller' },
    AuditLogs: { id: 'Id', caller: 'tostring(InitiatedBy.user.userPrincipalName)' },
    SigninLogs: { id: 'Id', caller: 'UserPrincipalName' },
  } as const;
  const parts = [...azureTables(subject)].map((table) => {
    const who: string[] = [];
    if (ids.length > 0) who.push(`${columns[table].id} in ${list(ids)}`);
    if (correlations.length > 0) who.push(`CorrelationId in ${list(correlations)}`);
    if (principal !== undefined) who.push(`${columns[table].caller} =~ ${principal}`);
    const filter = who.length > 0 ? ` | where ${who.join(' or ')}` : '';
    return `(${table} | where TimeGenerated between (start .. end)${filter})`;
  });
  const text = [
    `let start = datetime(${isoTime(from)});`,
    `let end = datetime(${isoTime(to)});`,
    parts.length === 1 ? parts[0]!.slice(1, -1) : `union withsource=SourceTable\n  ${parts.join(',\n  ')}`,
    '| order by TimeGenerated asc',
  ].join('\n');
  return { provider: 'Azure', language: 'kql', title: 'Log Analytics (KQL)', text };
}

function aksAuditQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery {
  const { from, to } = range(subject, options);
  const who: string[] = [];
  const uids = uidsOf(subject).filter((uid) => !uid.includes(':'));
  if (uids.length > 0) who.push(`AuditId in (${uids.map(quotedString).join(', ')})`);
  if (subject.principal !== undefined)
    who.push(`tostring(User.username) =~ ${quotedString(subject.principal)}`);
  const text = [
    `AKSAudit`,
    `| where TimeGenerated between (datetime(${isoTime(from)}) .. datetime(${isoTime(to)}))`,
    ...(who.length > 0 ? [`| where ${who.join(' or ')}`] : []),
    '| project TimeGenerated, Verb, RequestUri, ObjectRef, User, SourceIps, UserAgent, ResponseStatus, AuditId',
    '| order by TimeGenerated asc',
  ].join('\n');
  return { provider: 'Azure', language: 'kql', title: 'AKS audit log (KQL, resource-specific table)', text };
}

/**
 * A self-managed cluster (provider `Other`): a `jq` filter over the API
 * server's audit log (JSON Lines). Values are JSON string literals, which is
 * what jq reads.
 */
function kubernetesAuditFileQuery(subject: ForensicSubject, options: ForensicQueryOptions): ForensicQuery {
  const { from, to } = range(subject, options);
  const who: string[] = [];
  const uids = uidsOf(subject);
  if (uids.length > 0) who.push(`(.auditID | IN(${uids.map((u) => JSON.stringify(u)).join(', ')}))`);
  if (subject.principal !== undefined) who.push(`.user.username == ${JSON.stringify(subject.principal)}`);
  const when = `.requestReceivedTimestamp >= ${JSON.stringify(isoTime(from))} and .requestReceivedTimestamp <= ${JSON.stringify(isoTime(to))}`;
  const filter = who.length > 0 ? `${when} and (${who.join(' or ')})` : when;
  return {
    provider: subject.provider,
    language: 'jq',
    title: 'Kubernetes audit log files (jq)',
    text: `jq -c 'select(${filter.replace(/'/g, "'\\''")})' audit.log`,
  };
}
