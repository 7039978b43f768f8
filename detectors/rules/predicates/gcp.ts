/**
 * Predicates for the GCP rules (`rules/gcp/`): reading the IAM policy change an
 * audit entry carries, a VPC firewall rule, a Kubernetes workload spec, a
 * serverless deployment's runtime identity, the destination of a BigQuery job
 * or a Cloud Storage copy, and a Workspace admin event's parameters. Each is
 * pure and total: odd input gives `false`, never an exception.
 *
 * Record format: https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/AuditLog
 */
import type { AuditPredicate, Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, asText, isOwnOrTrustedAccount, type Json } from './json.js';
import { k8sWorkloadEscapesContainer } from './kubernetes.js';

const strings = (list: ReadonlyArray<unknown> | undefined): string[] =>
  (list ?? []).filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase());

const payloadOf = (event: ApiActivity): Json => asObject(event.raw.protoPayload) ?? {};
const requestOf = (event: ApiActivity): Json => asObject(payloadOf(event).request) ?? {};

// ---------------------------------------------------------------------------
// IAM policy changes
// ---------------------------------------------------------------------------

/** One role given to one member by a policy change. */
export interface Grant {
  readonly role: string;
  readonly member: string;
}

function bindingsToGrants(bindings: unknown): Grant[] {
  const grants: Grant[] = [];
  for (const item of asList(bindings)) {
    const binding = asObject(item);
    const role = asText(binding?.role);
    if (role === undefined) continue;
    for (const member of asList(binding?.members)) {
      const name = asText(member);
      if (name !== undefined) grants.push({ role, member: name });
    }
  }
  return grants;
}

/**
 * What an IAM policy change granted. The `policyDelta` that most services log
 * (`serviceData.policyDelta.bindingDeltas`, action ADD) is exact. Services that
 * log no delta (Compute disks and images, Cloud Run, Cloud Functions, BigQuery)
 * only carry the whole policy as sent, so bindings that already existed count
 * as granted again: the rules say so in their false positives.
 */
export function grantsOf(event: ApiActivity): Grant[] {
  const payload = payloadOf(event);
  const delta = asObject(asObject(payload.serviceData)?.policyDelta);
  if (delta !== undefined && Array.isArray(delta.bindingDeltas)) {
    const grants: Grant[] = [];
    for (const item of delta.bindingDeltas) {
      const change = asObject(item);
      const action = change?.action;
      if (action !== 'ADD' && action !== 1) continue;
      const role = asText(change?.role);
      const member = asText(change?.member);
      if (role !== undefined && member !== undefined) grants.push({ role, member });
    }
    return grants;
  }
  const requested = bindingsToGrants(asObject(asObject(payload.request)?.policy)?.bindings);
  if (requested.length > 0) return requested;
  // BigQuery dataset updates: the dataset's IAM policy after the change.
  const dataset = asObject(asObject(asObject(payload.metadata)?.datasetChange)?.dataset);
  return bindingsToGrants(asObject(asObject(dataset?.acl)?.policy)?.bindings);
}

const PUBLIC_MEMBERS = new Set(['allusers', 'allauthenticatedusers']);

/** A policy change that grants a role to `allUsers` or `allAuthenticatedUsers` (anyone, or any Google account). */
export function gcpPolicyGrantsPublicMember(event: ApiActivity): boolean {
  return grantsOf(event).some((grant) => PUBLIC_MEMBERS.has(grant.member.toLowerCase()));
}

/** The e-mail domain of a `user:` / `group:` member, or the domain of a `domain:` member. */
export function memberDomain(member: string): string | undefined {
  const colon = member.indexOf(':');
  if (colon < 0) return undefined;
  const kind = member.slice(0, colon).toLowerCase();
  const rest = member
    .slice(colon + 1)
    .split('?')[0]
    ?.toLowerCase();
  if (rest === undefined || rest === '') return undefined;
  if (kind === 'domain') return rest;
  if (kind !== 'user' && kind !== 'group') return undefined;
  const at = rest.lastIndexOf('@');
  return at < 0 ? undefined : rest.slice(at + 1);
}

const domainIn = (domain: string, domains: string[]): boolean =>
  domains.some((trusted) => domain === trusted || domain.endsWith(`.${trusted}`));

/**
 * A member outside the organization: a consumer Google account
 * (`gcp_consumer_domains`: gmail.com, googlemail.com) always; any other user,
 * group or domain whose domain is not in `gcp_trusted_domains` once that list
 * is filled in (empty, it cannot tell your domains from others).
 */
export function isExternalMember(member: string, lists: Lists): boolean {
  const domain = memberDomain(member);
  if (domain === undefined) return false;
  if (domainIn(domain, strings(lists.gcp_consumer_domains))) return true;
  const trusted = strings(lists.gcp_trusted_domains);
  return trusted.length > 0 && !domainIn(domain, trusted);
}

/** A policy change that grants a role to a member outside the organization (see `isExternalMember`). */
export function gcpPolicyGrantsExternalMember(event: ApiActivity, lists: Lists): boolean {
  return grantsOf(event).some((grant) => isExternalMember(grant.member, lists));
}

/** A policy change that grants one of `gcp_privileged_roles` to anyone but a Google service agent. */
export function gcpPolicyGrantsPrivilegedRole(event: ApiActivity, lists: Lists): boolean {
  const privileged = new Set(strings(lists.gcp_privileged_roles));
  return grantsOf(event).some(
    (grant) => privileged.has(grant.role.toLowerCase()) && !isServiceAgentMember(grant.member),
  );
}

/** `serviceAccount:service-123@gcp-sa-foo.iam.gserviceaccount.com` and the other Google-owned agents. */
function isServiceAgentMember(member: string): boolean {
  const email = member.toLowerCase().replace(/^serviceaccount:/, '');
  return (
    /^service-(org-|folder-)?\d+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/.test(email) ||
    email.endsWith('@cloudservices.gserviceaccount.com') ||
    email.endsWith('@system.gserviceaccount.com')
  );
}

/**
 * A policy change that reduces audit logging: an audit config removed (a
 * DATA_READ / DATA_WRITE / ADMIN_READ log type turned off) or a member exempted
 * from one (`serviceData.policyDelta.auditConfigDeltas`).
 */
export function gcpAuditLoggingReduced(event: ApiActivity): boolean {
  const delta = asObject(asObject(payloadOf(event).serviceData)?.policyDelta);
  for (const item of asList(delta?.auditConfigDeltas)) {
    const change = asObject(item);
    if (change?.action === 'REMOVE' || change?.action === 2) return true;
    if ((change?.action === 'ADD' || change?.action === 1) && asText(change.exemptedMember) !== undefined)
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// VPC firewall
// ---------------------------------------------------------------------------

const WORLD = new Set(['0.0.0.0/0', '::/0']);

/** A port spec ("22", "20-25") covers one of the ports. */
function portSpecCovers(spec: string, ports: number[]): boolean {
  const match = /^(\d+)(?:-(\d+))?$/.exec(spec.trim());
  if (match === null) return false;
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  return ports.some((port) => port >= low && port <= high);
}

/**
 * A VPC firewall rule, as inserted or patched, that allows ingress from
 * 0.0.0.0/0 (or ::/0) to one of `gcp_admin_ports` (all ports, or a range that
 * covers one). An inserted ingress rule with no source at all is open to the
 * world too: that is Compute Engine's default. A patch that opens the sources
 * without restating the allowed ports counts: its ports are not in the request.
 */
export function gcpFirewallOpensAdminPortToWorld(event: ApiActivity, lists: Lists): boolean {
  const request = requestOf(event);
  if (request.disabled === true) return false;
  const direction = asText(request.direction)?.toUpperCase();
  if (direction !== undefined && direction !== 'INGRESS') return false;
  const sources = strings(asList(request.sourceRanges));
  const noSource =
    sources.length === 0 &&
    request.sourceTags === undefined &&
    request.sourceServiceAccounts === undefined &&
    event.api.operation.endsWith('.firewalls.insert');
  if (!noSource && !sources.some((range) => WORLD.has(range))) return false;
  const allowedRules = [...asList(request.alloweds), ...asList(request.allowed)];
  // A patch that only widens the sources of an existing rule: its ports are not in the request.
  if (allowedRules.length === 0) return !event.api.operation.endsWith('.firewalls.insert');
  const adminPorts = (lists.gcp_admin_ports ?? []).map(Number).filter((n) => Number.isInteger(n));
  for (const item of allowedRules) {
    const allowed = asObject(item);
    if (allowed === undefined) continue;
    const protocol = (asText(allowed.IPProtocol) ?? asText(allowed.ipProtocol) ?? '').toLowerCase();
    if (protocol === 'all') return true;
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== '6' && protocol !== '17') continue;
    const ports = asList(allowed.ports)
      .map((p) => (typeof p === 'number' ? String(p) : asText(p)))
      .filter((p): p is string => p !== undefined);
    if (ports.length === 0 || ports.some((spec) => portSpecCovers(spec, adminPorts))) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Cloud Functions / Cloud Run runtime identity
// ---------------------------------------------------------------------------

/** The service account a function, service or job deployment asks to run as, when the request names one. */
export function serverlessRuntimeServiceAccount(request: Json): string | undefined {
  const fn = asObject(request.function);
  const service = asObject(request.service);
  const job = asObject(request.job);
  return (
    asText(fn?.serviceAccountEmail) ??
    asText(asObject(fn?.serviceConfig)?.serviceAccountEmail) ??
    asText(asObject(asObject(asObject(service?.spec)?.template)?.spec)?.serviceAccountName) ??
    asText(asObject(service?.template)?.serviceAccount) ??
    asText(asObject(asObject(job?.template)?.template)?.serviceAccount)
  );
}

function updateMaskOf(request: Json): string {
  const mask = request.updateMask ?? request.update_mask;
  if (typeof mask === 'string') return mask;
  return asList(asObject(mask)?.paths)
    .filter((p): p is string => typeof p === 'string')
    .join(',');
}

/**
 * A Cloud Functions or Cloud Run deployment that gives the code a new
 * identity: an update whose field mask changes the runtime service account,
 * or a deployment running as a service account of another project (not listed
 * in `trusted_accounts`) or as one listed in `gcp_privileged_service_accounts`.
 */
export function gcpServerlessRunsAsNewIdentity(event: ApiActivity, lists: Lists): boolean {
  const request = requestOf(event);
  const account = serverlessRuntimeServiceAccount(request);
  if (account === undefined) return false;
  if (/service_?account/i.test(updateMaskOf(request))) return true;
  if (strings(lists.gcp_privileged_service_accounts).includes(account.toLowerCase())) return true;
  const project = /@([a-z0-9-]+)\.iam\.gserviceaccount\.com$/i.exec(account)?.[1];
  return project !== undefined && !isOwnOrTrustedAccount(project, event.cloud.account, lists);
}

// ---------------------------------------------------------------------------
// BigQuery
// ---------------------------------------------------------------------------

/** `projects/p/datasets/d/tables/t` → `p`. */
const tableProject = (name: unknown): string | undefined =>
  /^projects\/([^/]+)\//.exec(asText(name) ?? '')?.[1];

/**
 * A BigQuery copy or query job that writes its result into a table of another
 * project (not the job's own, not in `trusted_accounts`): a table copied out.
 * Reads the v2 `BigQueryAuditMetadata` (`metadata.jobChange` / `jobInsertion`)
 * and the legacy `AuditData` (`serviceData.jobCompletedEvent`).
 */
export function bigQueryJobWritesToOtherProject(event: ApiActivity, lists: Lists): boolean {
  const payload = payloadOf(event);
  const metadata = asObject(payload.metadata);
  const job = asObject(asObject(metadata?.jobChange)?.job) ?? asObject(asObject(metadata?.jobInsertion)?.job);
  const destinations: Array<string | undefined> = [];
  let own = event.cloud.account;
  if (job !== undefined) {
    own = /^projects\/([^/]+)\//.exec(asText(job.jobName) ?? '')?.[1] ?? own;
    const config = asObject(job.jobConfig);
    destinations.push(
      tableProject(asObject(config?.tableCopyConfig)?.destinationTable),
      tableProject(asObject(config?.queryConfig)?.destinationTable),
    );
  }
  const legacy = asObject(asObject(asObject(payload.serviceData)?.jobCompletedEvent)?.job);
  if (legacy !== undefined) {
    own = asText(asObject(legacy.jobName)?.projectId) ?? own;
    const config = asObject(legacy.jobConfiguration);
    for (const kind of ['tableCopy', 'query']) {
      destinations.push(asText(asObject(asObject(config?.[kind])?.destinationTable)?.projectId));
    }
  }
  return destinations.some((project) => project !== undefined && !isOwnOrTrustedAccount(project, own, lists));
}

// ---------------------------------------------------------------------------
// Cloud Storage objects
// ---------------------------------------------------------------------------

/**
 * An object written to Cloud Storage whose name (after `/objects/`) matches one
 * of `gcp_ransom_note_patterns` (case-insensitive regular expressions; a
 * pattern that does not compile is skipped).
 */
export function gcsObjectNamedLikeRansomNote(event: ApiActivity, lists: Lists): boolean {
  const resource = asText(payloadOf(event).resourceName) ?? '';
  const at = resource.indexOf('/objects/');
  if (at < 0) return false;
  const name = resource.slice(at + '/objects/'.length);
  for (const pattern of lists.gcp_ransom_note_patterns ?? []) {
    if (typeof pattern !== 'string') continue;
    let regex: RegExp;
    try {
      regex = new RegExp(pattern, 'i');
    } catch {
      continue;
    }
    if (regex.test(name)) return true;
  }
  return false;
}

/** `projects/p/buckets/b/objects/o` → `p`; `undefined` for `projects/_/…` (GCS names no project there). */
const gcsObjectProject = (name: unknown): string | undefined => {
  const project = /^projects\/([^/]+)\/buckets\/[^/]+\/objects\//.exec(asText(name) ?? '')?.[1];
  return project === '_' ? undefined : project;
};

/**
 * A Cloud Storage read, copy or rewrite whose destination
 * (`protoPayload.metadata.destination`) names a project explicitly, and that
 * project is neither the entry's own (`cloud.account`), nor in
 * `trusted_accounts`, nor in `gcp_trusted_copy_destinations`. Cloud Storage
 * normally writes `projects/_/buckets/…`, which names no project: such a
 * destination, or an entry whose own project is unknown, gives `false`.
 */
export function gcsObjectCopiedToOtherProject(event: ApiActivity, lists: Lists): boolean {
  const own = event.cloud.account;
  if (own === 'unknown' || own === '') return false;
  const destination = gcsObjectProject(asObject(payloadOf(event).metadata)?.destination);
  if (destination === undefined || isOwnOrTrustedAccount(destination, own, lists)) return false;
  return !strings(lists.gcp_trusted_copy_destinations).includes(destination.toLowerCase());
}

// ---------------------------------------------------------------------------
// Google Workspace admin events (admin.googleapis.com)
// ---------------------------------------------------------------------------

/** The value of a named parameter in a Workspace admin audit event (`metadata.event[].parameter[]`). */
function workspaceParameter(event: ApiActivity, name: string): string[] {
  const values: string[] = [];
  for (const item of asList(asObject(payloadOf(event).metadata)?.event)) {
    for (const parameter of asList(asObject(item)?.parameter)) {
      const p = asObject(parameter);
      const value = asText(p?.value);
      if (p?.name === name && value !== undefined) values.push(value.toLowerCase());
    }
  }
  return values;
}

/** A member added to a group listed in `gcp_privileged_groups` or whose name has an `admin(s)` word (gcp-admins@, org-admin@). */
export function workspaceGroupIsPrivileged(event: ApiActivity, lists: Lists): boolean {
  const privileged = strings(lists.gcp_privileged_groups);
  return workspaceParameter(event, 'GROUP_EMAIL').some(
    (group) => privileged.includes(group) || /(^|[-_.])admins?([-_.]|$)/.test(group.split('@')[0] ?? ''),
  );
}

export const GCP_PREDICATES: Readonly<Record<string, AuditPredicate>> = {
  gcpPolicyGrantsPublicMember,
  gcpPolicyGrantsExternalMember,
  gcpPolicyGrantsPrivilegedRole,
  gcpAuditLoggingReduced,
  gcpFirewallOpensAdminPortToWorld,
  // Kept for the deprecated GKE rule's id: the cross-cloud predicate reads the same GKE request.
  gkeWorkloadEscapesContainer: k8sWorkloadEscapesContainer,
  gcpServerlessRunsAsNewIdentity,
  bigQueryJobWritesToOtherProject,
  gcsObjectNamedLikeRansomNote,
  gcsObjectCopiedToOtherProject,
  workspaceGroupIsPrivileged,
};
