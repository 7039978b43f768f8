/**
 * Predicates for the Azure rules (Activity Log and Entra ID audit / sign-in
 * records). They read what YAML cannot: the JSON request body an Activity Log
 * write carries as text (`properties.requestbody`), and the before / after
 * values Entra writes into `targetResources[].modifiedProperties` (JSON text,
 * often quoted twice). Every record shape the normalizers accept is read: the
 * diagnostic-settings export (`properties.*`), the REST / Graph shape (fields at
 * the top) and Log Analytics rows (PascalCase columns holding JSON text).
 * Each predicate is pure and total: odd input gives `false`, never an exception.
 */
import type { AuditPredicate, Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, asText, type Json } from './json.js';

/** A value that may be an object / array or JSON text of one (Azure nests JSON in strings, sometimes twice). */
function decoded(value: unknown): unknown {
  let current = value;
  for (let depth = 0; depth < 3 && typeof current === 'string'; depth++) {
    const trimmed = current.trim();
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[') && !trimmed.startsWith('"')) return current;
    try {
      current = JSON.parse(trimmed);
    } catch {
      return current;
    }
  }
  return current;
}

const objectOf = (value: unknown): Json | undefined => asObject(decoded(value));
const listOf = (value: unknown): unknown[] => asList(decoded(value));

/** `object[key]` whatever the case of the key (Activity Log bodies mix `Properties` and `properties`). */
function get(object: Json | undefined, key: string): unknown {
  if (object === undefined) return undefined;
  if (key in object) return object[key];
  const wanted = key.toLowerCase();
  for (const name of Object.keys(object)) if (name.toLowerCase() === wanted) return object[name];
  return undefined;
}

const lowerSet = (values: ReadonlyArray<unknown> | undefined): Set<string> =>
  new Set((values ?? []).map((v) => String(v).toLowerCase()));

const raw = (event: ApiActivity): Json => asObject(event.raw) ?? {};

// ---------------------------------------------------------------------------
// Activity Log

/** The record's `properties` bag: export and REST shapes (`properties`), Log Analytics (`Properties_d`). */
function activityProperties(event: ApiActivity): Json | undefined {
  const record = raw(event);
  return objectOf(record.properties) ?? objectOf(record.Properties_d) ?? objectOf(record.Properties);
}

/**
 * The JSON body of the ARM request (`requestbody`). The Activity Log writes it on
 * the request's first record; the outcome record of the same operation carries
 * `responseBody` instead, read by {@link requestBody} when the request's is absent.
 */
function requestOnlyBody(event: ApiActivity): Json | undefined {
  return objectOf(get(activityProperties(event), 'requestbody'));
}

/** The request body, or the response body (the resource as it stands after the call) when the record has no request body. */
export function requestBody(event: ApiActivity): Json | undefined {
  return requestOnlyBody(event) ?? objectOf(get(activityProperties(event), 'responseBody'));
}

/** The `properties` object of an ARM request body (`{"properties": {...}}`, any casing). */
function bodyProperties(event: ApiActivity): Json | undefined {
  const body = requestBody(event);
  return objectOf(get(body, 'properties')) ?? undefined;
}

const isFalse = (value: unknown): boolean => value === false || String(value).toLowerCase() === 'false';
const isTrue = (value: unknown): boolean => value === true || String(value).toLowerCase() === 'true';

/** The last segment of a role definition id (`/subscriptions/…/roleDefinitions/<guid>` → guid). */
function roleDefinitionGuid(event: ApiActivity): string | undefined {
  const id = asText(get(bodyProperties(event), 'roleDefinitionId'));
  if (id === undefined) return undefined;
  return id.slice(id.lastIndexOf('/') + 1).toLowerCase();
}

/** Scope of a role assignment: the request's own, else the part of the resource id before the assignment. */
function roleAssignmentScope(event: ApiActivity): string | undefined {
  const scope = asText(get(bodyProperties(event), 'scope'));
  if (scope !== undefined) return scope;
  const id = event.resources[0]?.uid;
  if (id === undefined) return undefined;
  const at = id.toLowerCase().indexOf('/providers/microsoft.authorization/roleassignments/');
  return at < 0 ? undefined : id.slice(0, at) || '/';
}

const BROAD_SCOPE =
  /^(\/|\/subscriptions\/[^/]+\/?|\/providers\/microsoft\.management\/managementgroups\/[^/]+\/?)$/i;

/**
 * A role assignment (Microsoft.Authorization/roleAssignments/write) that grants
 * one of `azure_privileged_rbac_roles` (Owner, Contributor, User Access
 * Administrator…) at the root, a management group or a whole subscription.
 */
export function azureRoleAssignmentPrivilegedAtBroadScope(event: ApiActivity, lists: Lists): boolean {
  const role = roleDefinitionGuid(event);
  const scope = roleAssignmentScope(event);
  if (role === undefined || scope === undefined) return false;
  return lowerSet(lists.azure_privileged_rbac_roles).has(role) && BROAD_SCOPE.test(scope);
}

/** A role assignment granting one of `azure_data_plane_admin_roles` (data owner / secrets roles) at any scope. */
export function azureRoleAssignmentDataPlaneAdmin(event: ApiActivity, lists: Lists): boolean {
  const role = roleDefinitionGuid(event);
  return role !== undefined && lowerSet(lists.azure_data_plane_admin_roles).has(role);
}

const ESCALATING_ACTIONS = new Set([
  '*',
  '*/write',
  'microsoft.authorization/*',
  'microsoft.authorization/*/write',
  'microsoft.authorization/roleassignments/*',
  'microsoft.authorization/roleassignments/write',
  'microsoft.authorization/roledefinitions/*',
  'microsoft.authorization/roledefinitions/write',
  'microsoft.authorization/elevateaccess/action',
]);

/**
 * A custom role definition (Microsoft.Authorization/roleDefinitions/write) whose
 * `actions` allow everything (`*`) or let the holder grant roles — the
 * Owner-equivalent custom roles attackers create to hide a privilege grant.
 */
export function azureCustomRoleGrantsEscalation(event: ApiActivity): boolean {
  const permissions = listOf(get(bodyProperties(event), 'permissions'));
  return permissions.some((item) =>
    listOf(get(objectOf(item), 'actions')).some(
      (action) => typeof action === 'string' && ESCALATING_ACTIONS.has(action.trim().toLowerCase()),
    ),
  );
}

const OPEN_SOURCES = new Set(['*', '0.0.0.0/0', '0.0.0.0', 'internet', 'any', '::/0', '0.0.0.0/0,::/0']);

/** Whether a port spec (`22`, `3380-3390`, `*`) covers one of `ports`. */
function portSpecCovers(spec: string, ports: ReadonlyArray<number>): boolean {
  const value = spec.trim();
  if (value === '*' || value.toLowerCase() === 'any') return true;
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(value);
  if (range) {
    const low = Number(range[1]);
    const high = Number(range[2]);
    return ports.some((port) => port >= low && port <= high);
  }
  return /^\d+$/.test(value) && ports.includes(Number(value));
}

/** One NSG security rule's properties: inbound allow from the internet to an admin port. */
function nsgRuleOpensAdminPort(rule: Json | undefined, ports: ReadonlyArray<number>): boolean {
  if (rule === undefined) return false;
  if (String(get(rule, 'access') ?? '').toLowerCase() !== 'allow') return false;
  if (String(get(rule, 'direction') ?? '').toLowerCase() !== 'inbound') return false;
  const sources = [get(rule, 'sourceAddressPrefix'), ...listOf(get(rule, 'sourceAddressPrefixes'))]
    .map((v) => asText(v)?.trim().toLowerCase())
    .filter((v): v is string => v !== undefined);
  if (!sources.some((source) => OPEN_SOURCES.has(source))) return false;
  const portSpecs = [get(rule, 'destinationPortRange'), ...listOf(get(rule, 'destinationPortRanges'))]
    .map(asText)
    .filter((v): v is string => v !== undefined);
  return portSpecs.some((spec) => portSpecCovers(spec, ports));
}

/**
 * An NSG write (a security rule, or a whole group with its rules) that allows
 * inbound traffic from any address / the `Internet` tag to an administration or
 * database port of `azure_admin_ports`, or to every port.
 */
export function azureNsgAdminPortOpenToInternet(event: ApiActivity, lists: Lists): boolean {
  const ports = (lists.azure_admin_ports ?? []).map(Number).filter((n) => Number.isInteger(n));
  const properties = bodyProperties(event);
  if (properties === undefined) return false;
  if (nsgRuleOpensAdminPort(properties, ports)) return true;
  return listOf(get(properties, 'securityRules')).some((rule) => {
    const ruleObject = objectOf(rule);
    return nsgRuleOpensAdminPort(objectOf(get(ruleObject, 'properties')) ?? ruleObject, ports);
  });
}

function ipv4ToNumber(address: string): number | undefined {
  const parts = address.trim().split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/**
 * A database / analytics firewall rule (SQL, PostgreSQL, MySQL, Synapse…) whose
 * address range spans at least a /8 — `0.0.0.0`–`255.255.255.255` is the usual
 * "allow everyone". The special `0.0.0.0`–`0.0.0.0` rule ("allow Azure services") is not counted.
 */
export function azureFirewallRuleOpensWideRange(event: ApiActivity): boolean {
  const properties = bodyProperties(event);
  const start = ipv4ToNumber(asText(get(properties, 'startIpAddress')) ?? '');
  const end = ipv4ToNumber(asText(get(properties, 'endIpAddress')) ?? '');
  if (start === undefined || end === undefined) return false;
  return end - start + 1 >= 2 ** 24;
}

/**
 * A storage account write that weakens its network or transport protections:
 * HTTPS-only turned off, TLS 1.0/1.1 allowed, or — in an update of an existing
 * account rather than a full (re)deployment, which also carries `location` —
 * public network access opened to all networks or shared-key access re-enabled.
 */
export function azureStorageAccountProtectionsWeakened(event: ApiActivity): boolean {
  const properties = bodyProperties(event);
  if (properties === undefined) return false;
  if (isFalse(get(properties, 'supportsHttpsTrafficOnly'))) return true;
  const tls = String(get(properties, 'minimumTlsVersion') ?? '').toUpperCase();
  if (tls === 'TLS1_0' || tls === 'TLS1_1') return true;
  // A full deployment, or the resource as returned, restates every setting: only the body of an
  // update request (no `location`) tells that access was just opened.
  const request = requestOnlyBody(event);
  if (request === undefined || get(request, 'location') !== undefined) return false;
  const changed = objectOf(get(request, 'properties')) ?? {};
  const defaultAction = String(get(objectOf(get(changed, 'networkAcls')), 'defaultAction') ?? '');
  const publicAccess = String(get(changed, 'publicNetworkAccess') ?? 'Enabled');
  if (defaultAction.toLowerCase() === 'allow' && publicAccess.toLowerCase() !== 'disabled') return true;
  return isTrue(get(changed, 'allowSharedKeyAccess'));
}

/** A storage account write that sets `allowBlobPublicAccess: true`. */
export function azureStorageAccountAllowsPublicBlobAccess(event: ApiActivity): boolean {
  return isTrue(get(bodyProperties(event), 'allowBlobPublicAccess'));
}

/** A blob container write that sets `publicAccess` to `Blob` or `Container` (anonymous read). */
export function azureStorageContainerMadePublic(event: ApiActivity): boolean {
  const access = String(get(bodyProperties(event), 'publicAccess') ?? '').toLowerCase();
  return access === 'blob' || access === 'container';
}

/**
 * A blob / file service write that turns off a recovery feature: blob or
 * container soft delete, share soft delete, versioning, point-in-time restore.
 */
export function azureStorageRecoveryFeatureDisabled(event: ApiActivity): boolean {
  const properties = bodyProperties(event);
  if (properties === undefined) return false;
  for (const policy of [
    'deleteRetentionPolicy',
    'containerDeleteRetentionPolicy',
    'shareDeleteRetentionPolicy',
    'restorePolicy',
  ]) {
    const enabled = get(objectOf(get(properties, policy)), 'enabled');
    if (enabled !== undefined && isFalse(enabled)) return true;
  }
  const versioning = get(properties, 'isVersioningEnabled');
  return versioning !== undefined && isFalse(versioning);
}

const CUSTOM_SCRIPT_TYPES = new Set(['customscriptextension', 'customscript', 'customscriptforlinux']);

/**
 * A VM / scale-set extension write that installs the Custom Script extension
 * (Windows `CustomScriptExtension`, Linux `CustomScript`); without a request
 * body, an extension named after it.
 */
export function azureVmExtensionIsCustomScript(event: ApiActivity): boolean {
  const properties = bodyProperties(event);
  const type = asText(get(properties, 'type'));
  if (type !== undefined) return CUSTOM_SCRIPT_TYPES.has(type.toLowerCase());
  const name = event.resources[0]?.name ?? '';
  return /customscript/i.test(name);
}

/** A Defender for Cloud plan (Microsoft.Security/pricings/write) set to the `Free` tier, i.e. turned off. */
export function azureDefenderPlanSetToFree(event: ApiActivity): boolean {
  return String(get(bodyProperties(event), 'pricingTier') ?? '').toLowerCase() === 'free';
}

/** Access-policy permissions that hand out secret material (a key's `get` only returns its public part). */
const READ_PERMISSIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  secrets: new Set(['get', 'list', 'all', 'backup']),
  keys: new Set(['all', 'backup', 'release', 'export']),
  certificates: new Set(['all', 'backup']),
};

/**
 * A Key Vault access-policy change (`accessPolicies/write` add or replace, or a
 * vault write carrying policies) that lets some principal read secrets, or back up / export keys and certificates.
 */
export function azureKeyVaultPolicyGrantsRead(event: ApiActivity): boolean {
  const name = (event.resources[0]?.name ?? '').toLowerCase();
  if (name === 'remove') return false;
  const policies = listOf(get(bodyProperties(event), 'accessPolicies'));
  return policies.some((item) => {
    const permissions = objectOf(get(objectOf(item), 'permissions'));
    return Object.entries(READ_PERMISSIONS).some(([kind, allowed]) =>
      listOf(get(permissions, kind)).some(
        (permission) => typeof permission === 'string' && allowed.has(permission.toLowerCase()),
      ),
    );
  });
}

/** RFC 1918, loopback, link-local and carrier-grade NAT addresses (IPv4), and IPv6 ULA / link-local / loopback. */
function isPrivateAddress(address: string): boolean {
  const n = ipv4ToNumber(address);
  if (n !== undefined) {
    const inBlock = (base: string, bits: number): boolean => {
      const start = ipv4ToNumber(base) as number;
      const size = 2 ** (32 - bits);
      return n >= start && n < start + size;
    };
    return (
      inBlock('10.0.0.0', 8) ||
      inBlock('172.16.0.0', 12) ||
      inBlock('192.168.0.0', 16) ||
      inBlock('127.0.0.0', 8) ||
      inBlock('169.254.0.0', 16) ||
      inBlock('100.64.0.0', 10)
    );
  }
  const lower = address.toLowerCase();
  return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80');
}

/**
 * A storage resource-log record (StorageRead / StorageWrite / StorageDelete)
 * whose caller address — written `ip:port`, or `[v6]:port` — is a public one.
 */
export function azureStorageCallerIsPublic(event: ApiActivity): boolean {
  const value = asText(raw(event).callerIpAddress) ?? asText(raw(event).CallerIpAddress);
  if (value === undefined) return false;
  let address = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1] as string;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  if (ipv4ToNumber(address) === undefined && !address.includes(':')) return false;
  return !isPrivateAddress(address);
}

/**
 * A blob container write (Activity Log) that carries neither a request nor a
 * response body, so the access level it set cannot be read. Records whose body
 * is present are judged by {@link azureStorageContainerMadePublic} instead.
 */
export function azureContainerWriteWithoutBody(event: ApiActivity): boolean {
  return requestBody(event) === undefined;
}

/** Built-in policy definitions live at the root: `/providers/Microsoft.Authorization/policyDefinitions/<guid>`. */
const BUILT_IN_POLICY = /^\/providers\/microsoft\.authorization\/policy(set)?definitions\//i;

/**
 * A `deployIfNotExists` deployment (Activity Log, Policy category) made for a
 * custom policy definition that is not in `azure_trusted_policy_definitions`.
 * The definitions are in `properties.policies` (JSON text, one entry per
 * policy that applied). A record that does not name its definition is
 * reported: a deployment the log cannot tie to a known definition is unknown.
 */
export function azurePolicyDeploymentByUntrustedDefinition(event: ApiActivity, lists: Lists): boolean {
  const policies = listOf(get(activityProperties(event), 'policies'))
    .map((item) => objectOf(item))
    .filter((item): item is Json => item !== undefined);
  const trusted = lowerSet(lists.azure_trusted_policy_definitions);
  const definitions = policies
    .map((policy) => asText(get(policy, 'policyDefinitionId')))
    .filter((id): id is string => id !== undefined);
  if (definitions.length === 0) return true;
  return definitions.some((id) => {
    const normalized = id.replace(/\/+$/, '').toLowerCase();
    if (BUILT_IN_POLICY.test(normalized)) return false;
    return !trusted.has(normalized) && !trusted.has(normalized.slice(normalized.lastIndexOf('/') + 1));
  });
}

/**
 * A policy assignment write whose assignment gets a managed identity
 * (`identity.type` SystemAssigned / UserAssigned): only `deployIfNotExists`
 * and `modify` assignments need one, because the identity is what deploys or
 * changes resources on the policy's behalf.
 */
export function azurePolicyAssignmentHasIdentity(event: ApiActivity): boolean {
  const kind = String(get(objectOf(get(requestBody(event), 'identity')), 'type') ?? '').toLowerCase();
  return kind !== '' && kind !== 'none';
}

// ---------------------------------------------------------------------------
// Entra ID audit logs

/** The audit record itself: the export nests it in `properties`, Graph and Log Analytics do not. */
function auditRecord(event: ApiActivity): Json {
  const record = raw(event);
  return objectOf(record.properties) ?? record;
}

function targetResources(event: ApiActivity): Json[] {
  return listOf(get(auditRecord(event), 'targetResources'))
    .map((item) => objectOf(item))
    .filter((item): item is Json => item !== undefined);
}

interface ModifiedProperty {
  name: string;
  oldValue: string;
  newValue: string;
}

/** Every `modifiedProperties` entry of every target, values as text (Entra writes them JSON-quoted). */
function modifiedProperties(event: ApiActivity): ModifiedProperty[] {
  const out: ModifiedProperty[] = [];
  for (const target of targetResources(event)) {
    for (const item of listOf(get(target, 'modifiedProperties'))) {
      const property = objectOf(item);
      const name = asText(get(property, 'displayName'));
      if (name === undefined) continue;
      const value = (v: unknown): string =>
        typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
      out.push({
        name,
        oldValue: value(get(property, 'oldValue')),
        newValue: value(get(property, 'newValue')),
      });
    }
  }
  return out;
}

/** A modified value with its JSON quoting removed: `"\"Global Administrator\""` → `Global Administrator`. */
function unquoted(value: string): string {
  const decodedValue = decoded(value);
  return typeof decodedValue === 'string' ? decodedValue.trim() : value.trim();
}

function additionalDetail(event: ApiActivity, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const item of listOf(get(auditRecord(event), 'additionalDetails'))) {
    const detail = objectOf(item);
    if (String(get(detail, 'key') ?? '').toLowerCase() === wanted) return asText(get(detail, 'value'));
  }
  return undefined;
}

/** The directory role a role-management record is about: its `Role` target, or `Role.DisplayName` / `Role.TemplateId`. */
function entraRolesOf(event: ApiActivity): string[] {
  const roles: string[] = [];
  for (const target of targetResources(event)) {
    if (String(get(target, 'type') ?? '').toLowerCase() === 'role') {
      const name = asText(get(target, 'displayName'));
      if (name !== undefined) roles.push(name);
    }
  }
  for (const property of modifiedProperties(event)) {
    const name = property.name.toLowerCase();
    if (name === 'role.displayname' || name === 'role.templateid' || name === 'templateid')
      roles.push(unquoted(property.newValue));
  }
  return roles.filter((role) => role !== '');
}

/** The role of an Entra role assignment is one of `entra_privileged_roles` (names or template ids). */
export function entraPrivilegedRoleAssigned(event: ApiActivity, lists: Lists): boolean {
  const privileged = lowerSet(lists.entra_privileged_roles);
  return entraRolesOf(event).some((role) => privileged.has(role.toLowerCase()));
}

const controlsOf = (policy: Json | undefined): Set<string> => {
  const grant = objectOf(get(policy, 'grantControls'));
  const controls = lowerSet(listOf(get(grant, 'builtInControls')));
  if (objectOf(get(grant, 'authenticationStrength')) !== undefined) controls.add('authenticationstrength');
  return controls;
};

function exclusionsOf(policy: Json | undefined): Set<string> {
  const conditions = objectOf(get(policy, 'conditions'));
  const users = objectOf(get(conditions, 'users'));
  const out = new Set<string>();
  for (const key of ['excludeUsers', 'excludeGroups', 'excludeRoles', 'excludeGuestsOrExternalUsers']) {
    for (const value of listOf(get(users, key))) out.add(`${key}:${JSON.stringify(value)}`);
  }
  return out;
}

/**
 * A conditional access change that lowers enforcement: the policy deleted,
 * switched off or to report-only, its MFA / authentication-strength / block
 * control removed, or new users, groups or roles excluded from it.
 */
export function entraConditionalAccessWeakened(event: ApiActivity): boolean {
  if (event.api.operation.toLowerCase() === 'delete conditional access policy') return true;
  for (const property of modifiedProperties(event)) {
    if (property.name.toLowerCase() !== 'conditionalaccesspolicy') continue;
    const before = objectOf(property.oldValue);
    const after = objectOf(property.newValue);
    if (before === undefined || after === undefined) continue;
    const wasOn = String(get(before, 'state') ?? '').toLowerCase() === 'enabled';
    if (wasOn && String(get(after, 'state') ?? '').toLowerCase() !== 'enabled') return true;
    const oldControls = controlsOf(before);
    const newControls = controlsOf(after);
    for (const control of [
      'mfa',
      'block',
      'authenticationstrength',
      'compliantdevice',
      'domainjoineddevice',
    ]) {
      if (oldControls.has(control) && !newControls.has(control)) return true;
    }
    const oldExclusions = exclusionsOf(before);
    for (const exclusion of exclusionsOf(after)) if (!oldExclusions.has(exclusion)) return true;
  }
  return false;
}

/** OpenID Connect discovery URLs named in a modified value, JSON-escaped or not. */
function discoveryUrls(value: string): Set<string> {
  const urls = new Set<string>();
  for (const match of value.matchAll(/discoveryUrl\\*"?\s*[:=]\s*\\*"?([^"\\\s,}]+)/gi))
    urls.add((match[1] ?? '').toLowerCase());
  return urls;
}

/**
 * An authentication methods policy change that adds or repoints an external
 * authentication provider — an OpenID Connect discovery URL that the old value
 * did not have: whoever runs that provider can then satisfy MFA for the tenant's users.
 */
export function entraExternalAuthProviderChanged(event: ApiActivity): boolean {
  return modifiedProperties(event).some((property) => {
    const before = discoveryUrls(property.oldValue);
    for (const url of discoveryUrls(property.newValue)) if (!before.has(url)) return true;
    return false;
  });
}

/**
 * Per-user MFA turned off: the legacy `Disable Strong Authentication` activity,
 * or an `Update user` whose StrongAuthenticationRequirement went from set to empty / state 0.
 */
export function entraPerUserMfaDisabled(event: ApiActivity): boolean {
  if (event.api.operation.toLowerCase() === 'disable strong authentication') return true;
  return modifiedProperties(event).some((property) => {
    if (property.name.toLowerCase() !== 'strongauthenticationrequirement') return false;
    const before = listOf(property.oldValue);
    const after = listOf(property.newValue);
    const state = (items: unknown[]): number[] =>
      items.map((item) => Number(get(objectOf(item), 'State'))).filter((n) => !Number.isNaN(n));
    const wasOn = state(before).some((s) => s > 0);
    return wasOn && (after.length === 0 || state(after).every((s) => s === 0));
  });
}

/** Scopes / app roles named in consent and permission-grant records. */
function grantedPermissions(event: ApiActivity): string[] {
  const out: string[] = [];
  for (const property of modifiedProperties(event)) {
    const name = property.name.toLowerCase();
    if (name === 'approle.value' || name === 'delegatedpermissiongrant.scope') {
      out.push(...unquoted(property.newValue).split(/\s+/));
    } else if (name === 'consentaction.permissions') {
      // "[] => [[Id: …, ConsentType: AllPrincipals, Scope:  Mail.Read offline_access, CreatedDateTime: …]]"
      for (const match of property.newValue.matchAll(/Scope:\s*([^,\]]*)/g))
        out.push(...(match[1] ?? '').split(/\s+/));
    }
  }
  return out.filter((permission) => permission !== '');
}

/**
 * A consent or permission grant that hands an application one of
 * `entra_risky_permissions` (mail, files, directory or role write, full access as app…).
 */
export function entraRiskyPermissionGranted(event: ApiActivity, lists: Lists): boolean {
  const risky = lowerSet(lists.entra_risky_permissions);
  return grantedPermissions(event).some((permission) => risky.has(permission.toLowerCase()));
}

const domainOf = (address: string | undefined): string | undefined => {
  const at = address?.lastIndexOf('@') ?? -1;
  return address !== undefined && at >= 0 ? address.slice(at + 1).toLowerCase() : undefined;
};

/**
 * A guest invitation to an address whose domain is neither the inviter's nor
 * one of `trusted_partner_domains`.
 */
export function entraInviteToExternalDomain(event: ApiActivity, lists: Lists): boolean {
  const invited = domainOf(additionalDetail(event, 'invitedUserEmailAddress'));
  if (invited === undefined) return false;
  const inviter = domainOf(event.actor.user.uid);
  if (inviter !== undefined && inviter === invited) return false;
  return !lowerSet(lists.trusted_partner_domains).has(invited);
}

/** Whether a user name's local part carries a marker as one of its parts (`admin.jsmith`, `jsmith-adm`, `breakglass01`). */
function nameHasMarker(local: string, markers: readonly string[]): boolean {
  const parts = local.split(/[._+-]/).filter((part) => part !== '');
  const compact = parts.join('');
  return markers.some(
    (marker) =>
      parts.some(
        (part) =>
          part === marker || (marker.length >= 5 && (part.startsWith(marker) || part.endsWith(marker))),
      ) ||
      (marker.length >= 8 && compact.includes(marker)),
  );
}

/**
 * The target user of a user-management record is privileged: listed in
 * `entra_privileged_accounts`, or its name carries one of
 * `entra_privileged_account_markers` as a part (admin-…, …-adm, breakglass…).
 * Changes a user makes to their own account are not counted.
 */
export function entraTargetIsPrivilegedAccount(event: ApiActivity, lists: Lists): boolean {
  const accounts = lowerSet(lists.entra_privileged_accounts);
  const markers = [...lowerSet(lists.entra_privileged_account_markers)];
  const actor = event.actor.user.uid?.toLowerCase();
  return targetResources(event).some((target) => {
    if (String(get(target, 'type') ?? 'user').toLowerCase() !== 'user') return false;
    const upn = asText(get(target, 'userPrincipalName'))?.toLowerCase();
    const id = asText(get(target, 'id'))?.toLowerCase();
    if (upn !== undefined && upn === actor) return false;
    if ((upn !== undefined && accounts.has(upn)) || (id !== undefined && accounts.has(id))) return true;
    return upn !== undefined && nameHasMarker(upn.split('@')[0] ?? '', markers);
  });
}

/** The entries of a list-valued modified property (`KeyDescription`: `["[KeyIdentifier=…,KeyType=Password,…]"]`). */
const entriesOf = (value: string): string[] => listOf(value).map((item) => JSON.stringify(item));

/**
 * A credential (client secret or certificate) was added to an application or
 * service principal: `Add service principal credentials`, or a certificates-and-
 * secrets update whose key list gained an entry (the same activity also logs removals).
 */
export function entraCredentialAdded(event: ApiActivity): boolean {
  if (event.api.operation.toLowerCase().startsWith('add ')) return true;
  const keyLists = modifiedProperties(event).filter((property) =>
    ['keydescription', 'keycredentials', 'passwordcredentials'].includes(property.name.toLowerCase()),
  );
  if (keyLists.length === 0) return true;
  return keyLists.some((property) => {
    const before = new Set(entriesOf(property.oldValue));
    return entriesOf(property.newValue).some((entry) => !before.has(entry));
  });
}

/** An application update that added or changed a federated identity credential. */
export function entraFederatedCredentialAdded(event: ApiActivity): boolean {
  return modifiedProperties(event).some((property) => {
    if (!property.name.toLowerCase().includes('federatedidentitycredential')) return false;
    const before = new Set(entriesOf(property.oldValue));
    return entriesOf(property.newValue).some((credential) => !before.has(credential));
  });
}

// ---------------------------------------------------------------------------
// Entra ID sign-in logs

/** The sign-in record: nested under `properties` in exports, at the top in Graph and Log Analytics. */
function signInRecord(event: ApiActivity): Json {
  return auditRecord(event);
}

/** A sign-in field under its camelCase or PascalCase name. */
function signInField(event: ApiActivity, name: string): unknown {
  return get(signInRecord(event), name);
}

/**
 * Entra ID Protection rated the sign-in high risk (in real time or in
 * aggregate), and the risk was not dismissed, remediated or confirmed safe.
 */
export function entraSignInHighRisk(event: ApiActivity): boolean {
  const during = String(signInField(event, 'riskLevelDuringSignIn') ?? '').toLowerCase();
  const aggregated = String(signInField(event, 'riskLevelAggregated') ?? '').toLowerCase();
  if (during !== 'high' && aggregated !== 'high') return false;
  const state = String(signInField(event, 'riskState') ?? '').toLowerCase();
  return !['dismissed', 'remediated', 'confirmedsafe'].includes(state);
}

/** A sign-in whose client app is a legacy protocol (`entra_legacy_auth_clients`: IMAP, POP, SMTP AUTH, EAS…). */
export function entraSignInLegacyClient(event: ApiActivity, lists: Lists): boolean {
  const client = asText(signInField(event, 'clientAppUsed'));
  return client !== undefined && lowerSet(lists.entra_legacy_auth_clients).has(client.toLowerCase());
}

/** The sign-in used the given protocol (`deviceCode`, `ropc`…), from `authenticationProtocol`. */
function signInProtocol(event: ApiActivity): string {
  return String(signInField(event, 'authenticationProtocol') ?? '').toLowerCase();
}

/** A device-code sign-in whose client is the Microsoft Authentication Broker (device registration / PRT). */
export function entraDeviceCodeToBroker(event: ApiActivity, lists: Lists): boolean {
  if (signInProtocol(event) !== 'devicecode') return false;
  const app = String(signInField(event, 'appId') ?? '').toLowerCase();
  return lowerSet(lists.entra_device_code_sensitive_clients).has(app);
}

/** A resource-owner password credentials (ROPC) sign-in that was satisfied with a single factor. */
export function entraRopcSingleFactor(event: ApiActivity): boolean {
  if (signInProtocol(event) !== 'ropc') return false;
  return (
    String(signInField(event, 'authenticationRequirement') ?? '').toLowerCase() !==
    'multifactorauthentication'
  );
}

/** An interactive sign-in (the user typed or clicked), as opposed to a token refresh by a client. */
export function entraSignInInteractive(event: ApiActivity): boolean {
  const value = signInField(event, 'isInteractive');
  if (value !== undefined) return isTrue(value);
  return /^signinlogs$/i.test(event.metadata.log_name);
}

/** A sign-in by the Visual Studio Code client (`entra_vscode_client_ids`) for Microsoft Graph. */
export function entraVsCodeTokenForGraph(event: ApiActivity, lists: Lists): boolean {
  const app = String(signInField(event, 'appId') ?? '').toLowerCase();
  if (!lowerSet(lists.entra_vscode_client_ids).has(app)) return false;
  const resource = String(signInField(event, 'resourceDisplayName') ?? '').toLowerCase();
  const resourceId = String(signInField(event, 'resourceId') ?? '').toLowerCase();
  return resource === 'microsoft graph' || resourceId === '00000003-0000-0000-c000-000000000000';
}

export const AZURE_PREDICATES: Readonly<Record<string, AuditPredicate>> = {
  azureRoleAssignmentPrivilegedAtBroadScope,
  azureRoleAssignmentDataPlaneAdmin,
  azureCustomRoleGrantsEscalation,
  azureNsgAdminPortOpenToInternet,
  azureFirewallRuleOpensWideRange,
  azureStorageAccountProtectionsWeakened,
  azureStorageAccountAllowsPublicBlobAccess,
  azureStorageContainerMadePublic,
  azureStorageRecoveryFeatureDisabled,
  azureVmExtensionIsCustomScript,
  azureDefenderPlanSetToFree,
  azureKeyVaultPolicyGrantsRead,
  azureStorageCallerIsPublic,
  azureContainerWriteWithoutBody,
  azurePolicyDeploymentByUntrustedDefinition,
  azurePolicyAssignmentHasIdentity,
  entraPrivilegedRoleAssigned,
  entraConditionalAccessWeakened,
  entraExternalAuthProviderChanged,
  entraPerUserMfaDisabled,
  entraRiskyPermissionGranted,
  entraInviteToExternalDomain,
  entraTargetIsPrivilegedAccount,
  entraFederatedCredentialAdded,
  entraCredentialAdded,
  entraSignInHighRisk,
  entraSignInLegacyClient,
  entraDeviceCodeToBroker,
  entraRopcSingleFactor,
  entraSignInInteractive,
  entraVsCodeTokenForGraph,
};
