/**
 * Predicates for the identity rules (initial access, persistence, privilege
 * escalation, credential access): reading IAM policy documents carried in a
 * request, and comparing the target of an IAM call with its caller.
 */
import type { AuditPredicate, Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, asText, isOwnOrTrustedAccount, type Json, parsePolicy } from './json.js';
import { policyDocumentIsPublic } from './policy.js';

const lower = (values: unknown): string[] =>
  asList(values)
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.toLowerCase());

/**
 * A sign-in event whose outcome is a failure. Sign-in events (ConsoleLogin,
 * CheckMfa, PasswordUpdated, ExternalIdPDirectoryLogin…) often report the
 * outcome as `responseElements.<eventName>: "Failure"` with no errorCode, which
 * the normalizer only reads for a few of them.
 */
export function signinOutcomeFailed(event: ApiActivity): boolean {
  if (event.status === 'Failure') return true;
  return asObject(event.raw.responseElements)?.[event.api.operation] === 'Failure';
}

/** Actions that, allowed on every resource, make a principal an administrator (or able to become one). */
const ADMIN_ACTIONS = new Set(['*', '*:*', 'iam:*']);
/** A `NotAction` list that contains one of these keeps IAM out of an "allow everything else" grant. */
const IAM_EXCLUSIONS = new Set(['*', '*:*', 'iam:*']);

/**
 * An Allow statement that grants administrator power on `*`: `Action` `*` / `*:*` / `iam:*`,
 * or `NotAction` that leaves IAM allowed (allow everything except a few services).
 */
export function statementGrantsAdmin(item: unknown): boolean {
  const statement = asObject(item);
  if (statement === undefined || statement.Effect !== 'Allow') return false;
  if (!asList(statement.Resource).includes('*')) return false;
  if (statement.Action !== undefined) return lower(statement.Action).some((a) => ADMIN_ACTIONS.has(a));
  if (statement.NotAction === undefined) return false;
  return !lower(statement.NotAction).some((a) => IAM_EXCLUSIONS.has(a));
}

/** True when the policy document (object or JSON text) has an admin-granting Allow statement. */
export function policyGrantsAdmin(policy: unknown): boolean {
  const document = parsePolicy(policy);
  if (document === undefined) return false;
  return asList(document.Statement).some(statementGrantsAdmin);
}

/** The request's identity policy document (PutUserPolicy, PutRolePolicy, PutGroupPolicy, CreatePolicyVersion, CreatePolicy) grants admin. */
export function requestPolicyGrantsAdmin(event: ApiActivity): boolean {
  const params = asObject(event.raw.requestParameters);
  return params !== undefined && policyGrantsAdmin(params.policyDocument);
}

const ACCOUNT_IN_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/;

/** The account a trust-policy `AWS` principal names: a bare account id or an IAM / STS ARN. */
function principalAccount(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  return ACCOUNT_IN_ARN.exec(principal)?.[1];
}

function allowsAssumeRole(statement: Json): boolean {
  if (statement.Effect !== 'Allow') return false;
  return lower(statement.Action).some((a) => a === '*' || a === 'sts:*' || a.startsWith('sts:assumerole'));
}

/**
 * A role trust policy in the request (UpdateAssumeRolePolicy `policyDocument`,
 * CreateRole `assumeRolePolicyDocument`) lets a principal outside the event's
 * account assume the role: an unscoped `*`, or an AWS principal in another account
 * that is not in the `trusted_accounts` list.
 * Service and federated principals are not counted.
 */
export function trustPolicyAllowsExternalPrincipal(event: ApiActivity, lists: Lists): boolean {
  const params = asObject(event.raw.requestParameters);
  if (params === undefined) return false;
  const document = parsePolicy(params.policyDocument ?? params.assumeRolePolicyDocument);
  if (document === undefined) return false;
  const own = event.cloud.account;
  for (const item of asList(document.Statement)) {
    const statement = asObject(item);
    if (statement === undefined || !allowsAssumeRole(statement)) continue;
    if (policyDocumentIsPublic({ Statement: [statement] })) return true;
    const principals = asObject(statement.Principal);
    for (const principal of asList(principals?.AWS)) {
      if (typeof principal !== 'string') continue;
      const account = principalAccount(principal);
      if (account !== undefined && !isOwnOrTrustedAccount(account, own, lists)) return true;
    }
  }
  return false;
}

function lastSegment(arn: string | undefined): string | undefined {
  if (arn === undefined) return undefined;
  const slash = arn.lastIndexOf('/');
  return slash >= 0 ? arn.slice(slash + 1) : undefined;
}

/** Names the caller goes by: its IAM user name, or its role-session name (and the part before an `@`). */
function callerNames(event: ApiActivity): string[] {
  const { user, session } = event.actor;
  const names: Array<string | undefined> = [];
  if (user.type === 'IAMUser') {
    names.push(user.name, lastSegment(user.uid), asText(asObject(event.raw.userIdentity)?.userName));
  } else if (user.type !== 'Root') {
    const sessionName = session?.name ?? (user.type === 'FederatedUser' ? user.name : undefined);
    names.push(sessionName, sessionName?.split('@')[0]);
  }
  return names.filter((n): n is string => n !== undefined && n.length > 0).map((n) => n.toLowerCase());
}

/**
 * The request names an IAM user (`requestParameters.userName`) other than the
 * caller: an IAM user acting on another user, a role session acting on a user
 * other than the person the session is named after, or the root user acting on
 * any IAM user. IAM user names are case-insensitive, so the comparison is too.
 */
export function targetsOtherUser(event: ApiActivity): boolean {
  const target = asText(asObject(event.raw.requestParameters)?.userName)?.toLowerCase();
  if (target === undefined) return false;
  return !callerNames(event).includes(target);
}

/**
 * A BatchGetSecretValue that selects secrets by filter and whose every filter
 * value is a negation (`!value`): it matches every secret, the "dump them all"
 * call of secret-harvesting tools.
 */
export function batchSecretFilterMatchesAll(event: ApiActivity): boolean {
  const params = asObject(event.raw.requestParameters);
  if (params === undefined || asList(params.secretIdList).length > 0) return false;
  const filters = asList(params.filters).map(asObject);
  if (filters.length === 0) return false;
  return filters.every((filter) => {
    const values = asList(filter?.values);
    return values.length > 0 && values.every((v) => typeof v === 'string' && v.startsWith('!'));
  });
}

/** Predicates for the identity rules. */
export const IDENTITY_PREDICATES: Readonly<Record<string, AuditPredicate>> = {
  signinOutcomeFailed,
  requestPolicyGrantsAdmin,
  trustPolicyAllowsExternalPrincipal,
  targetsOtherUser,
  batchSecretFilterMatchesAll,
};
