import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, type Json, parsePolicy } from './json.js';

/** Condition keys that pin a `*` principal to known callers, making the grant not public. */
const SCOPING_CONDITION_KEYS = [
  'aws:sourceaccount',
  'aws:sourcearn',
  'aws:sourceowner',
  'aws:principalorgid',
  'aws:principalorgpaths',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceip',
  'aws:userid',
];

const PUBLIC_ACL_GROUPS = ['/global/AllUsers', '/global/AuthenticatedUsers'];
const PUBLIC_CANNED_ACLS = new Set(['public-read', 'public-read-write', 'authenticated-read']);

function principalIsEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  const map = asObject(principal);
  if (map === undefined) return false;
  return asList(map.AWS).includes('*') || asList(map.CanonicalUser).includes('*');
}

function conditionScopes(condition: unknown): boolean {
  const operators = asObject(condition);
  if (operators === undefined) return false;
  for (const clause of Object.values(operators)) {
    const keys = Object.keys(asObject(clause) ?? {}).map((k) => k.toLowerCase());
    if (keys.some((k) => SCOPING_CONDITION_KEYS.includes(k))) return true;
  }
  return false;
}

/** True when the policy has an Allow statement for everyone that no condition scopes down. */
export function policyDocumentIsPublic(policy: Json | undefined): boolean {
  if (policy === undefined) return false;
  for (const item of asList(policy.Statement)) {
    const statement = asObject(item);
    if (statement === undefined || statement.Effect !== 'Allow') continue;
    if (principalIsEveryone(statement.Principal) && !conditionScopes(statement.Condition)) return true;
  }
  return false;
}

/** Policy documents a request can carry, under the names the various services use. */
function policiesIn(params: Json): unknown[] {
  const attributes = asObject(params.attributes);
  const candidates = [
    params.bucketPolicy,
    params.policy,
    params.policyDocument,
    params.resourcePolicy,
    params.policyText,
    attributes?.Policy,
    params.attributeName === 'Policy' ? params.attributeValue : undefined,
  ];
  return candidates.flatMap((c) => (Array.isArray(c) ? c : [c])).filter((c) => c !== undefined && c !== '');
}

function aclIsPublic(params: Json): boolean {
  if (asList(params['x-amz-acl']).some((acl) => typeof acl === 'string' && PUBLIC_CANNED_ACLS.has(acl))) {
    return true;
  }
  const acl = asObject(asObject(params.AccessControlPolicy)?.AccessControlList);
  for (const grant of asList(acl?.Grant)) {
    const uri = asObject(asObject(grant)?.Grantee)?.URI;
    if (typeof uri === 'string' && PUBLIC_ACL_GROUPS.some((group) => uri.endsWith(group))) return true;
  }
  return false;
}

/**
 * A request that grants everyone access: a resource policy with an unscoped
 * `*` principal (S3, SQS, SNS, KMS, Secrets Manager, ECR, IAM trust policies),
 * a public S3 ACL, or a Lambda permission for `*` without a source condition.
 */
export function policyGrantsPublicAccess(event: ApiActivity): boolean {
  const params = asObject(event.raw.requestParameters);
  if (params === undefined) return false;
  if (policiesIn(params).some((p) => policyDocumentIsPublic(parsePolicy(p)))) return true;
  if (aclIsPublic(params)) return true;
  if (event.api.operation.startsWith('AddPermission') && params.principal === '*') {
    return (
      params.sourceArn === undefined &&
      params.sourceAccount === undefined &&
      params.principalOrgID === undefined
    );
  }
  return false;
}
