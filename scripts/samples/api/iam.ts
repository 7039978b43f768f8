/** IAM: global, logged in us-east-1 with host iam.amazonaws.com. */
import { javaDate } from '../clock.js';
import { GLOBAL_REGION } from '../estate.js';
import type { IamUser, Role } from '../identities.js';
import type { ApiCall, JsonObject } from '../record.js';
import { apiCall } from './call.js';

const iam = (operation: string, request: JsonObject | null = null, response?: JsonObject): ApiCall =>
  apiCall('iam', operation, GLOBAL_REGION, request, {
    host: 'iam.amazonaws.com',
    ...(response === undefined ? {} : { response }),
  });

export const ADMINISTRATOR_ACCESS = 'arn:aws:iam::aws:policy/AdministratorAccess';
export const LAMBDA_BASIC_EXECUTION = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

export const listUsers = (): ApiCall => iam('ListUsers');
export const listRoles = (): ApiCall => iam('ListRoles');
export const listGroups = (): ApiCall => iam('ListGroups');
export const listPolicies = (): ApiCall => iam('ListPolicies', { scope: 'Local', onlyAttached: false });
export const getAccountSummary = (): ApiCall => iam('GetAccountSummary');
export const getAccountAuthorizationDetails = (): ApiCall =>
  iam('GetAccountAuthorizationDetails', {
    filter: ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'],
  });
export const getUser = (userName?: string): ApiCall =>
  iam('GetUser', userName === undefined ? null : { userName });
export const listAttachedUserPolicies = (userName: string): ApiCall =>
  iam('ListAttachedUserPolicies', { userName });
export const listUserPolicies = (userName: string): ApiCall => iam('ListUserPolicies', { userName });
export const listGroupsForUser = (userName: string): ApiCall => iam('ListGroupsForUser', { userName });
export const listAccessKeys = (userName: string): ApiCall => iam('ListAccessKeys', { userName });
export const getRole = (roleName: string): ApiCall => iam('GetRole', { roleName });
export const listRolePolicies = (roleName: string): ApiCall => iam('ListRolePolicies', { roleName });
export const listAttachedRolePolicies = (roleName: string): ApiCall =>
  iam('ListAttachedRolePolicies', { roleName });

export function createUser(user: IamUser, at: number): ApiCall {
  return iam(
    'CreateUser',
    { userName: user.name },
    {
      user: { path: '/', userName: user.name, userId: user.userId, arn: user.arn, createDate: javaDate(at) },
    },
  );
}

/** The secret key never appears in CloudTrail; only the key id and its status do. */
export function createAccessKey(userName: string, accessKeyId: string, at: number): ApiCall {
  return iam(
    'CreateAccessKey',
    { userName },
    { accessKey: { userName, accessKeyId, status: 'Active', createDate: javaDate(at) } },
  );
}

export const updateAccessKey = (
  userName: string,
  accessKeyId: string,
  status: 'Active' | 'Inactive',
): ApiCall => iam('UpdateAccessKey', { userName, accessKeyId, status });
export const deleteAccessKey = (userName: string, accessKeyId: string): ApiCall =>
  iam('DeleteAccessKey', { userName, accessKeyId });
export const attachUserPolicy = (userName: string, policyArn: string): ApiCall =>
  iam('AttachUserPolicy', { userName, policyArn });
export const attachRolePolicy = (roleName: string, policyArn: string): ApiCall =>
  iam('AttachRolePolicy', { roleName, policyArn });

/** IAM logs policy documents URL-encoded, exactly as the request carried them. */
const encodePolicy = (document: JsonObject): string => encodeURIComponent(JSON.stringify(document));

export function createRole(newRole: Role, trustPolicy: JsonObject, at: number, description: string): ApiCall {
  return iam(
    'CreateRole',
    { roleName: newRole.name, description, assumeRolePolicyDocument: JSON.stringify(trustPolicy) },
    {
      role: {
        path: '/',
        roleName: newRole.name,
        roleId: newRole.roleId,
        arn: newRole.arn,
        createDate: javaDate(at),
        assumeRolePolicyDocument: encodePolicy(trustPolicy),
      },
    },
  );
}

export const deleteRole = (roleName: string): ApiCall => iam('DeleteRole', { roleName });
export const detachRolePolicy = (roleName: string, policyArn: string): ApiCall =>
  iam('DetachRolePolicy', { roleName, policyArn });

export const putRolePolicy = (roleName: string, policyName: string, document: JsonObject): ApiCall =>
  iam('PutRolePolicy', { roleName, policyName, policyDocument: JSON.stringify(document) });

export const serviceTrustPolicy = (service: string): JsonObject => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
});
