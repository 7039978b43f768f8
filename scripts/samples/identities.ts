/**
 * Principals and the `userIdentity` element each kind of principal produces.
 * Shapes: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
 *
 * Ids end in `EXAMPLE`, the convention of AWS's own documentation, so secret
 * scanners and readers can tell at a glance they are not real credentials.
 */
import { isoSeconds } from './clock.js';
import { Random } from './random.js';
import type { UserIdentity } from './record.js';

/** A stable id for a named principal: the same ARN always gets the same id, whatever the seed. */
function stableId(prefix: 'AIDA' | 'AROA' | 'AKIA', name: string): string {
  const body = Random.from(`principal-id:${name}`).upperAlnum(prefix === 'AKIA' ? 9 : 10);
  return `${prefix}${body}EXAMPLE`;
}

/** A fresh temporary access key id (`ASIA…`), as STS issues for every session. */
export const temporaryKeyId = (rng: Random): string => `ASIA${rng.upperAlnum(9)}EXAMPLE`;

/** A fresh long-term access key id (`AKIA…`), as `CreateAccessKey` returns. */
export const longTermKeyId = (rng: Random): string => `AKIA${rng.upperAlnum(9)}EXAMPLE`;

export interface IamUser {
  readonly account: string;
  readonly name: string;
  readonly arn: string;
  readonly userId: string;
  /** The user's active long-term key. */
  readonly accessKeyId: string;
}

export function iamUser(account: string, name: string): IamUser {
  const arn = `arn:aws:iam::${account}:user/${name}`;
  return { account, name, arn, userId: stableId('AIDA', arn), accessKeyId: stableId('AKIA', arn) };
}

export interface Role {
  readonly account: string;
  readonly name: string;
  readonly arn: string;
  readonly roleId: string;
}

/** `path` like `/aws-reserved/sso.amazonaws.com/` or `/aws-service-role/config.amazonaws.com/`. */
export function role(account: string, name: string, path = '/'): Role {
  const arn = `arn:aws:iam::${account}:role${path}${name}`;
  return { account, name, arn, roleId: stableId('AROA', arn) };
}

/** One set of temporary credentials for a role. */
export interface RoleSession {
  readonly role: Role;
  readonly name: string;
  readonly accessKeyId: string;
  /** When STS issued the credentials (epoch ms). */
  readonly created: number;
  readonly mfa: boolean;
}

export function startSession(
  rng: Random,
  role: Role,
  name: string,
  created: number,
  mfa = false,
): RoleSession {
  return { role, name, accessKeyId: temporaryKeyId(rng), created, mfa };
}

export const sessionArn = (session: RoleSession): string =>
  `arn:aws:sts::${session.role.account}:assumed-role/${session.role.name}/${session.name}`;

export interface AssumedRoleOptions {
  /** The AWS service acting with the session (CloudFormation for a stack's calls). */
  readonly invokedBy?: string;
  /** EC2 instance-profile credentials delivered through IMDSv2. */
  readonly ec2Instance?: boolean;
}

export function assumedRoleIdentity(session: RoleSession, options: AssumedRoleOptions = {}): UserIdentity {
  const { role } = session;
  const identity: UserIdentity = {
    type: 'AssumedRole',
    principalId: `${role.roleId}:${session.name}`,
    arn: sessionArn(session),
    accountId: role.account,
    accessKeyId: session.accessKeyId,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: role.roleId,
        arn: role.arn,
        accountId: role.account,
        userName: role.name,
      },
      webIdFederationData: {},
      attributes: {
        creationDate: isoSeconds(session.created),
        mfaAuthenticated: session.mfa ? 'true' : 'false',
      },
    },
  };
  if (options.ec2Instance && identity.sessionContext) identity.sessionContext.ec2RoleDelivery = '2.0';
  if (options.invokedBy !== undefined) identity.invokedBy = options.invokedBy;
  return identity;
}

/**
 * An IAM user signing with its long-term key, or (with `console`) with console
 * session credentials. `accessKeyId: null` for sign-in itself, which uses no key.
 */
export function iamUserIdentity(
  user: IamUser,
  options: {
    accessKeyId?: string | null;
    console?: { created: number; mfa: boolean };
    invokedBy?: string;
  } = {},
): UserIdentity {
  const identity: UserIdentity = {
    type: 'IAMUser',
    principalId: user.userId,
    arn: user.arn,
    accountId: user.account,
  };
  if (options.accessKeyId !== null) identity.accessKeyId = options.accessKeyId ?? user.accessKeyId;
  identity.userName = user.name;
  if (options.console !== undefined) {
    identity.sessionContext = {
      sessionIssuer: {},
      webIdFederationData: {},
      attributes: {
        creationDate: isoSeconds(options.console.created),
        mfaAuthenticated: options.console.mfa ? 'true' : 'false',
      },
    };
  }
  if (options.invokedBy !== undefined) identity.invokedBy = options.invokedBy;
  return identity;
}

/** The account root user; `console` for calls made in a console session after sign-in. */
export function rootIdentity(
  account: string,
  options: { accessKeyId?: string; console?: { created: number; mfa: boolean } } = {},
): UserIdentity {
  const identity: UserIdentity = {
    type: 'Root',
    principalId: account,
    arn: `arn:aws:iam::${account}:root`,
    accountId: account,
    accessKeyId: options.accessKeyId ?? '',
  };
  if (options.console !== undefined) {
    identity.sessionContext = {
      sessionIssuer: {},
      webIdFederationData: {},
      attributes: {
        creationDate: isoSeconds(options.console.created),
        mfaAuthenticated: options.console.mfa ? 'true' : 'false',
      },
    };
  }
  return identity;
}

/** An AWS service calling on its own account's behalf (e.g. assuming a role for Lambda). */
export const awsServiceIdentity = (service: string): UserIdentity => ({
  type: 'AWSService',
  invokedBy: service,
});

/** The identity of an `AwsServiceEvent`: no type, only the account and the service. */
export const serviceEventIdentity = (account: string, service: string): UserIdentity => ({
  accountId: account,
  invokedBy: service,
});

/** The caller of `AssumeRoleWithSAML`, e.g. IAM Identity Center signing a user into an account. */
export function samlUserIdentity(nameQualifier: string, subject: string, provider: string): UserIdentity {
  return {
    type: 'SAMLUser',
    principalId: `${nameQualifier}:${subject}`,
    userName: subject,
    identityProvider: provider,
  };
}

/** The caller of `AssumeRoleWithWebIdentity`, e.g. a GitHub Actions workflow's OIDC token. */
export function webIdentityUserIdentity(provider: string, audience: string, subject: string): UserIdentity {
  return {
    type: 'WebIdentityUser',
    principalId: `${provider}:${audience}:${subject}`,
    userName: subject,
    identityProvider: provider,
  };
}

/** An unauthenticated caller, as S3 logs requests that a public bucket policy let through. */
export const anonymousIdentity = (): UserIdentity => ({
  type: 'AWSAccount',
  principalId: '',
  accountId: 'ANONYMOUS_PRINCIPAL',
});
