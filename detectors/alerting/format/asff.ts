/**
 * An incident as one AWS Security Finding Format (ASFF) finding, for Security
 * Hub's `BatchImportFindings`. One incident is one finding: its `Id` is the
 * incident key, so every later update of the incident (a finding joins, it
 * escalates, someone resolves it) replaces the same Security Hub finding in
 * place instead of adding another.
 *
 * What Security Hub does with a provider's updates decides the shape:
 *
 * - An update replaces the stored finding only when its `UpdatedAt` is later
 *   than the stored one (an older one is ignored). `UpdatedAt` is therefore
 *   the incident's processing time with its revision in the sub-millisecond
 *   digits: strictly increasing per revision, and the same for a replay.
 * - After creation, `Severity`, `Types`, `Confidence`, `Criticality` and
 *   `RelatedFindings` at the top level are the customer's (BatchUpdateFindings);
 *   a provider updates them through `FindingProviderFields`. Both are sent:
 *   top-level `Severity` and `Types` are required at creation.
 * - `Workflow` is ignored on updates (it is the customer's too), so a resolved
 *   incident is also `RecordState: ARCHIVED`, which a provider may set.
 * - The caller must be the finding's `AwsAccountId` when the product is the
 *   account's default custom integration, so `AwsAccountId` is the deploying
 *   account whenever the incident happened elsewhere (another AWS account of
 *   the organization, a GCP project, an Azure subscription); the cloud account
 *   is then in `ProductFields` and the resources' `Other` details.
 *
 * Pure: no SDK import (the shape is declared here), no environment.
 */
import { isIP } from 'node:net';
import type { Finding, Severity } from '../../schema/finding.js';
import type { Incident, IncidentUpdate } from '../incident.js';

// ── The ASFF subset Trailhound writes ───────────────────────────────────────

export type AsffSeverityLabel = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export type AsffRecordState = 'ACTIVE' | 'ARCHIVED';
export type AsffWorkflowStatus = 'NEW' | 'NOTIFIED' | 'RESOLVED' | 'SUPPRESSED';
export type AsffResourceType =
  | 'AwsIamRole'
  | 'AwsIamUser'
  | 'AwsIamAccessKey'
  | 'AwsS3Bucket'
  | 'AwsLambdaFunction'
  | 'AwsEc2Instance'
  | 'AwsKmsKey'
  | 'Other';
export type AsffPartition = 'aws' | 'aws-cn' | 'aws-us-gov';

export interface AsffSeverity {
  Label: AsffSeverityLabel;
  Original?: string;
}

export interface AsffResource {
  Type: AsffResourceType;
  Id: string;
  Partition?: AsffPartition;
  Region?: string;
  Details?: { Other?: Record<string, string> };
}

export interface AsffFinding {
  SchemaVersion: '2018-10-08';
  Id: string;
  ProductArn: string;
  ProductName?: string;
  CompanyName?: string;
  GeneratorId: string;
  AwsAccountId: string;
  Region?: string;
  Types: string[];
  CreatedAt: string;
  UpdatedAt: string;
  FirstObservedAt?: string;
  LastObservedAt?: string;
  Severity: AsffSeverity;
  FindingProviderFields: { Severity: AsffSeverity; Types: string[] };
  Title: string;
  Description: string;
  Remediation?: { Recommendation: { Text?: string; Url?: string } };
  SourceUrl?: string;
  ProductFields: Record<string, string>;
  Resources: AsffResource[];
  Network?: { Direction: 'IN' | 'OUT'; SourceIpV4?: string; SourceIpV6?: string };
  Action?: {
    ActionType: 'AWS_API_CALL';
    AwsApiCallAction: {
      Api?: string;
      ServiceName?: string;
      CallerType?: string;
      RemoteIpDetails?: { IpAddressV4?: string };
      FirstSeen?: string;
      LastSeen?: string;
    };
  };
  RecordState: AsffRecordState;
  Workflow: { Status: AsffWorkflowStatus };
}

/** ASFF limits (Security Hub API reference, AwsSecurityFinding and its parts). */
export const ASFF_LIMITS = {
  id: 512,
  generatorId: 512,
  title: 256,
  description: 1024,
  recommendationText: 512,
  url: 2048,
  types: 50,
  type: 128,
  productFields: 50,
  productFieldKey: 128,
  productFieldValue: 2048,
  resources: 32,
  resourceId: 512,
  otherEntries: 50,
  otherKey: 127,
  otherValue: 1023,
  /** Bytes of one finding's JSON. */
  findingBytes: 240 * 1024,
} as const;

export interface AsffOptions {
  /** The region Security Hub is called in (the product ARN's region). */
  readonly region: string;
  /** The deploying account: the product ARN's account, and the caller. */
  readonly accountId: string;
  /** `aws` (default), `aws-cn` or `aws-us-gov`. */
  readonly partition?: AsffPartition;
  /** Runbooks are at `<runbookBaseUrl>/<rule id>`; without it, no URL in the recommendation. */
  readonly runbookBaseUrl?: string;
  /** Where a responder reads the incident (`<sourceUrlBase>/<incident key>`); without it, no `SourceUrl`. */
  readonly sourceUrlBase?: string;
}

/** The product ARN of the account's default custom integration. */
export function defaultProductArn(options: Pick<AsffOptions, 'region' | 'accountId' | 'partition'>): string {
  const partition = options.partition ?? 'aws';
  return `arn:${partition}:securityhub:${options.region}:${options.accountId}:product/${options.accountId}/default`;
}

// ── Severity, workflow, timestamps ──────────────────────────────────────────

const SEVERITY_LABELS: Record<Severity, AsffSeverityLabel> = {
  info: 'INFORMATIONAL',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
};

export function asffSeverityLabel(severity: Severity): AsffSeverityLabel {
  return SEVERITY_LABELS[severity];
}

function workflowOf(incident: Incident): AsffWorkflowStatus {
  if (incident.state === 'resolved') return 'RESOLVED';
  if (incident.state === 'acknowledged') return 'NOTIFIED';
  return 'NEW';
}

/** Revisions kept in the sub-millisecond digits of `UpdatedAt`. */
const REVISION_DIGITS = 6;

/** An epoch-ms time as an RFC 3339 UTC timestamp, optionally with nanosecond digits after the milliseconds. */
export function asffTimestamp(ms: number, subMillisecond?: number): string {
  const iso = new Date(ms).toISOString();
  if (subMillisecond === undefined) return iso;
  const extra = String(Math.min(Math.max(0, Math.trunc(subMillisecond)), 10 ** REVISION_DIGITS - 1));
  return `${iso.slice(0, -1)}${extra.padStart(REVISION_DIGITS, '0')}Z`;
}

/**
 * `UpdatedAt` for a revision: the processing time in milliseconds and the
 * revision below them, so that two revisions processed in the same
 * millisecond still order, and a replayed revision is not newer than itself.
 */
export function asffUpdatedAt(incident: Incident): string {
  return asffTimestamp(Math.max(incident.updated_at, 0), incident.revision);
}

// ── ATT&CK → ASFF Types ─────────────────────────────────────────────────────

/** ATT&CK tactics as ASFF `namespace/category`. */
const TACTIC_TYPES: Record<string, string> = {
  reconnaissance: 'TTPs/Discovery',
  discovery: 'TTPs/Discovery',
  'initial access': 'TTPs/Initial Access',
  'resource development': 'TTPs/Initial Access',
  execution: 'TTPs/Execution',
  persistence: 'TTPs/Persistence',
  'privilege escalation': 'TTPs/Privilege Escalation',
  'defense evasion': 'TTPs/Defense Evasion',
  'credential access': 'TTPs/Credential Access',
  'lateral movement': 'TTPs/Lateral Movement',
  collection: 'TTPs/Collection',
  'command and control': 'TTPs/Command and Control',
  exfiltration: 'Effects/Data Exfiltration',
  impact: 'Effects/Data Destruction',
};

/** Impact techniques that are not data destruction. */
const IMPACT_TECHNIQUE_TYPES: Record<string, string> = {
  T1496: 'Effects/Resource Consumption',
  T1498: 'Effects/Denial of Service',
  T1499: 'Effects/Denial of Service',
  T1531: 'Effects/Denial of Service',
  T1489: 'Effects/Denial of Service',
};

export const BASELINE_TYPE = 'Unusual Behaviors/User';
const FALLBACK_TYPE = 'Unusual Behaviors/User';

/** ASFF `namespace/category` of an ATT&CK tactic (and technique, for Impact), or undefined. */
export function tacticType(tactic: string, techniqueId?: string): string | undefined {
  const key = tactic.trim().toLowerCase();
  if (key === 'impact' && techniqueId !== undefined) {
    const specific = IMPACT_TECHNIQUE_TYPES[techniqueId.split('.')[0] ?? techniqueId];
    if (specific !== undefined) return specific;
  }
  return TACTIC_TYPES[key];
}

/**
 * `namespace/category/classifier` of one ATT&CK technique: the classifier is
 * `<id> <name>`, with `/` (the separator) replaced and the whole cut to the
 * ASFF type length.
 */
export function techniqueType(attack: Finding['attack'][number]): string | undefined {
  const base = tacticType(attack.tactic, attack.technique_id);
  if (base === undefined) return undefined;
  const classifier = `${attack.technique_id} ${attack.technique_name}`.replace(/\//g, '-').trim();
  return truncate(`${base}/${classifier}`, ASFF_LIMITS.type);
}

function isBaseline(finding: Finding | undefined): boolean {
  if (finding === undefined) return false;
  return (finding.anomaly_analyses?.length ?? 0) > 0 || (finding.rule.tags ?? []).includes('baseline');
}

// ── Types ───────────────────────────────────────────────────────────────────

/** Technique-level types of every finding so far, and the behaviour type of baseline findings. */
function extraTypes(update: IncidentUpdate): string[] {
  const types: string[] = [];
  for (const attack of [...update.incident.attack, ...(update.finding?.attack ?? [])]) {
    const type = techniqueType(attack);
    if (type !== undefined) types.push(type);
  }
  if (update.incident.tags.includes('baseline') || isBaseline(update.finding)) types.push(BASELINE_TYPE);
  return types;
}

function resourceIdsOf(finding: Finding | undefined): string[] {
  return (finding?.resources ?? []).flatMap((r) => (r.uid !== undefined && r.uid !== '' ? [r.uid] : []));
}

// ── Resources ───────────────────────────────────────────────────────────────

const ARN = /^arn:(aws|aws-cn|aws-us-gov):([^:]*):([^:]*):(\d{12}|aws)?:(.+)$/;
const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

/** An AWS resource id (ARN, access key id) as an ASFF resource of its type; anything else as `Other`. */
export function asffResource(id: string, context: { provider: string; account: string }): AsffResource {
  const resourceId = truncate(id, ASFF_LIMITS.resourceId);
  const match = ARN.exec(id);
  if (match !== null) {
    const [, partition, service, region, , rest] = match as unknown as [
      string,
      AsffPartition,
      string,
      string,
      string,
      string,
    ];
    const base = { Id: resourceId, Partition: partition, ...(region !== '' ? { Region: region } : {}) };
    if (service === 'iam' && rest.startsWith('role/')) return { Type: 'AwsIamRole', ...base };
    if (service === 'iam' && rest.startsWith('user/')) return { Type: 'AwsIamUser', ...base };
    if (service === 'sts' && rest.startsWith('assumed-role/')) return { Type: 'AwsIamRole', ...base };
    if (service === 's3' && !rest.includes('/')) return { Type: 'AwsS3Bucket', ...base };
    if (service === 'lambda' && rest.startsWith('function:')) return { Type: 'AwsLambdaFunction', ...base };
    if (service === 'ec2' && rest.startsWith('instance/')) return { Type: 'AwsEc2Instance', ...base };
    if (service === 'kms' && rest.startsWith('key/')) return { Type: 'AwsKmsKey', ...base };
    return { Type: 'Other', ...base, Details: { Other: otherDetails({ arn: id }) } };
  }
  if (ACCESS_KEY_ID.test(id)) return { Type: 'AwsIamAccessKey', Id: resourceId, Partition: 'aws' };
  return {
    Type: 'Other',
    Id: resourceId,
    Details: {
      Other: otherDetails({ 'cloud.provider': context.provider, 'cloud.account': context.account, id }),
    },
  };
}

function otherDetails(entries: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries).slice(0, ASFF_LIMITS.otherEntries))
    if (value !== '') out[truncate(key, ASFF_LIMITS.otherKey)] = truncate(value, ASFF_LIMITS.otherValue);
  return out;
}

function resourcesOf(update: IncidentUpdate): AsffResource[] {
  const { incident, finding } = update;
  const context = { provider: incident.group.provider, account: incident.group.account };
  const actor = finding?.actor.principal;
  const ids = unique(
    [
      incident.group.value,
      actor ?? '',
      ...resourceIdsOf(finding),
      ...incident.resources.flatMap((r) => (r.uid !== undefined ? [r.uid] : [])).reverse(),
    ].filter((id) => id !== ''),
  );
  const resources = ids.slice(0, ASFF_LIMITS.resources).map((id) => asffResource(id, context));
  // ASFF needs at least one resource; an incident always has its group, but keep the promise.
  if (resources.length === 0)
    resources.push({ Type: 'Other', Id: incident.key, Details: { Other: otherDetails(context) } });
  return resources;
}

// ── The finding ─────────────────────────────────────────────────────────────

/** `service:Operation` of Trailhound evidence as ASFF's API call. */
function apiCallOf(finding: Finding): { Api: string; ServiceName: string } | undefined {
  const operation = finding.evidence.operations[0];
  if (operation === undefined) return undefined;
  const at = operation.indexOf(':');
  if (at <= 0) return { Api: operation, ServiceName: 'unknown' };
  const service = operation.slice(0, at);
  return {
    Api: operation.slice(at + 1),
    ServiceName: service.includes('.') ? service : `${service}.amazonaws.com`,
  };
}

function networkAndAction(update: IncidentUpdate): Pick<AsffFinding, 'Network' | 'Action'> {
  const finding = update.finding;
  if (finding === undefined) return {};
  const ip = finding.actor.ip;
  const version = ip !== undefined ? isIP(ip) : 0;
  const out: Pick<AsffFinding, 'Network' | 'Action'> = {};
  if (version === 4) out.Network = { Direction: 'IN', SourceIpV4: ip };
  if (version === 6) out.Network = { Direction: 'IN', SourceIpV6: ip };
  const call = finding.cloud.provider === 'AWS' ? apiCallOf(finding) : undefined;
  if (call !== undefined)
    out.Action = {
      ActionType: 'AWS_API_CALL',
      AwsApiCallAction: {
        ...call,
        ...(version !== 0 ? { CallerType: 'remoteIp' } : {}),
        ...(version === 4 ? { RemoteIpDetails: { IpAddressV4: ip } } : {}),
        FirstSeen: asffTimestamp(finding.first_seen),
        LastSeen: asffTimestamp(finding.last_seen),
      },
    };
  return out;
}

function descriptionOf(incident: Incident): string {
  const newest = [...incident.timeline].reverse();
  const lines = newest.map((e) => `${e.rule_name}: ${e.explanation}`);
  const head = `${incident.findings_total} finding(s) by ${incident.group.value} in ${incident.group.provider} account ${incident.group.account}; tactics: ${incident.tactics.join(', ') || 'none'}.`;
  return truncate([head, ...lines].join(' '), ASFF_LIMITS.description);
}

function recommendationOf(update: IncidentUpdate, options: AsffOptions): AsffFinding['Remediation'] {
  const rule = update.finding?.rule.uid ?? update.incident.rules[0];
  const text =
    update.finding?.runbook ??
    `Follow the runbook of each rule (${update.incident.rules.join(', ')}); start from the incident timeline in ProductFields.`;
  const url =
    options.runbookBaseUrl !== undefined && rule !== undefined
      ? `${options.runbookBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(rule)}`
      : undefined;
  return {
    Recommendation: {
      Text: truncate(text, ASFF_LIMITS.recommendationText),
      ...(url !== undefined && url.length <= ASFF_LIMITS.url ? { Url: url } : {}),
    },
  };
}

/** Characters Trailhound allows in a ProductFields key (AWS's own keys use the same set). */
const PRODUCT_FIELD_KEY = /[^A-Za-z0-9_.:/=+@-]/g;

/** ProductFields within ASFF limits: keys cleaned and cut, empty values dropped, values cut, at most 50. */
export function sanitizeProductFields(fields: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawKey, rawValue] of Object.entries(fields)) {
    if (Object.keys(out).length >= ASFF_LIMITS.productFields) break;
    if (rawValue === undefined || rawValue === '') continue;
    const key = truncate(rawKey.replace(PRODUCT_FIELD_KEY, '_'), ASFF_LIMITS.productFieldKey);
    if (key === '') continue;
    out[key] = truncate(rawValue, ASFF_LIMITS.productFieldValue);
  }
  return out;
}

function productFieldsOf(update: IncidentUpdate): Record<string, string> {
  const { incident, finding } = update;
  return sanitizeProductFields({
    'trailhound/incident': incident.key,
    'trailhound/revision': String(incident.revision),
    'trailhound/change': update.change,
    'trailhound/state': incident.state,
    'trailhound/state_changed_by': incident.state_changed_by,
    'trailhound/severity': incident.severity,
    'trailhound/risk_score': String(incident.risk_score),
    'trailhound/rules': incident.rules.join(','),
    'trailhound/tactics': incident.tactics.join(','),
    'trailhound/findings_total': String(incident.findings_total),
    'trailhound/group/kind': incident.group.kind,
    'trailhound/actor': incident.group.kind === 'actor' ? incident.group.value : finding?.actor.principal,
    'trailhound/resource': incident.group.kind === 'resource' ? incident.group.value : undefined,
    'trailhound/cloud/provider': incident.group.provider,
    'trailhound/cloud/account': incident.group.account,
    'trailhound/cloud/region': finding?.cloud.region,
    'trailhound/finding/uid': finding?.finding_uid,
    'trailhound/finding/rule': finding?.rule.uid,
    'trailhound/actor/session': finding?.actor.session,
    'trailhound/actor/user_agent': finding?.actor.user_agent,
    'trailhound/evidence/event_uids': finding?.evidence.event_uids.slice(0, 20).join(','),
    'trailhound/evidence/operations': finding?.evidence.operations.slice(0, 20).join(','),
  });
}

/** The ASFF finding of one incident update. */
export function toAsffFinding(update: IncidentUpdate, options: AsffOptions): AsffFinding {
  const { incident } = update;
  const tacticTypes = incident.tactics.flatMap((t) => {
    const type = tacticType(t);
    return type !== undefined ? [type] : [];
  });
  let types = unique([...tacticTypes, ...extraTypes(update)]).slice(0, ASFF_LIMITS.types);
  if (types.length === 0) types = [FALLBACK_TYPE];
  const severity: AsffSeverity = { Label: asffSeverityLabel(incident.severity), Original: incident.severity };
  const rule = incident.rules[0] ?? incident.timeline[0]?.rule_uid;
  const sourceUrl =
    options.sourceUrlBase !== undefined
      ? `${options.sourceUrlBase.replace(/\/+$/, '')}/${encodeURIComponent(incident.key)}`
      : undefined;
  const finding: AsffFinding = {
    SchemaVersion: '2018-10-08',
    Id: truncate(incident.key, ASFF_LIMITS.id),
    ProductArn: defaultProductArn(options),
    ProductName: 'Trailhound',
    CompanyName: 'Trailhound',
    GeneratorId: truncate(`trailhound/${rule ?? `group/${incident.group.kind}`}`, ASFF_LIMITS.generatorId),
    // With the default product ARN the caller must be the finding's account: the deploying one, always
    // (an incident of another account, project or subscription names that in ProductFields and Resources).
    AwsAccountId: options.accountId,
    Region: options.region,
    Types: types,
    CreatedAt: asffTimestamp(incident.opened_at),
    UpdatedAt: asffUpdatedAt(incident),
    FirstObservedAt: asffTimestamp(incident.opened_at),
    LastObservedAt: asffTimestamp(Math.max(incident.last_finding_at, incident.opened_at)),
    Severity: severity,
    FindingProviderFields: { Severity: { ...severity }, Types: [...types] },
    Title: truncate(incident.title, ASFF_LIMITS.title),
    Description: descriptionOf(incident),
    Remediation: recommendationOf(update, options),
    ...(sourceUrl !== undefined && sourceUrl.length <= ASFF_LIMITS.url ? { SourceUrl: sourceUrl } : {}),
    ProductFields: productFieldsOf(update),
    Resources: resourcesOf(update),
    ...networkAndAction(update),
    RecordState: incident.state === 'resolved' ? 'ARCHIVED' : 'ACTIVE',
    Workflow: { Status: workflowOf(incident) },
  };
  return shrinkToLimit(finding);
}

/** Bytes of a finding's JSON as sent. */
export function asffSize(finding: AsffFinding): number {
  return Buffer.byteLength(JSON.stringify(finding), 'utf8');
}

/** A finding over 240 KB loses its bulkiest optional parts until it fits (it practically never does). */
function shrinkToLimit(finding: AsffFinding): AsffFinding {
  if (asffSize(finding) <= ASFF_LIMITS.findingBytes) return finding;
  const smaller: AsffFinding = {
    ...finding,
    Resources: finding.Resources.slice(0, 4),
    ProductFields: Object.fromEntries(
      Object.entries(finding.ProductFields).map(([k, v]) => [k, truncate(v, 256)]),
    ),
  };
  return smaller;
}

// ── Helpers ─────────────────────────────────────────────────────────────────

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Cuts to `max` UTF-16 units, marking the cut, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
