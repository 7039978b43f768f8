/** STS and console sign-in: where sessions begin. */
import { HOUR, javaDate } from '../clock.js';
import { GITHUB_OIDC, GLOBAL_REGION, SSO_SAML } from '../estate.js';
import { type RoleSession, sessionArn } from '../identities.js';
import type { Random } from '../random.js';
import type { ApiCall, JsonObject } from '../record.js';
import { apiCall, resource } from './call.js';

/** `region` undefined: the global endpoint `sts.amazonaws.com`, logged in us-east-1. */
export function getCallerIdentity(region?: string): ApiCall {
  return apiCall('sts', 'GetCallerIdentity', region ?? GLOBAL_REGION, null, {
    host: region === undefined ? 'sts.amazonaws.com' : `sts.${region}.amazonaws.com`,
  });
}

/** What every Assume* call returns: the new session's key, a token, its expiry and its ARN. */
function issuedCredentials(rng: Random, session: RoleSession, durationSeconds: number): JsonObject {
  return {
    credentials: {
      accessKeyId: session.accessKeyId,
      sessionToken: `IQoJb3JpZ2luX2VjE${rng.mixedAlnum(79)}`,
      expiration: javaDate(session.created + durationSeconds * 1000),
    },
    assumedRoleUser: { assumedRoleId: `${session.role.roleId}:${session.name}`, arn: sessionArn(session) },
  };
}

const roleResource = (session: RoleSession) =>
  resource('AWS::IAM::Role', session.role.arn, session.role.account);

/** `sts:AssumeRole` issuing `session`. Services assuming roles (Lambda, EC2, Config) log it to both sides. */
export function assumeRole(
  rng: Random,
  session: RoleSession,
  options: { durationSeconds?: number; region?: string; byService?: boolean } = {},
): ApiCall {
  const durationSeconds = options.durationSeconds ?? HOUR / 1000;
  const request: JsonObject = { roleArn: session.role.arn, roleSessionName: session.name };
  if (options.durationSeconds !== undefined) request.durationSeconds = durationSeconds;
  const region = options.region ?? GLOBAL_REGION;
  return apiCall('sts', 'AssumeRole', region, request, {
    response: issuedCredentials(rng, session, durationSeconds),
    resources: [roleResource(session)],
    recipientAccountId: session.role.account,
    shared: options.byService === true,
    host: options.region === undefined ? 'sts.amazonaws.com' : `sts.${region}.amazonaws.com`,
  });
}

/** IAM Identity Center signing `subject` into a permission-set role (console access). */
export function assumeRoleWithSaml(rng: Random, session: RoleSession, subject: string): ApiCall {
  const { account } = session.role;
  const durationSeconds = 12 * 3600;
  return apiCall(
    'sts',
    'AssumeRoleWithSAML',
    GLOBAL_REGION,
    {
      sAMLAssertionID: `_${rng.uuid()}`,
      roleSessionName: session.name,
      roleArn: session.role.arn,
      principalArn: SSO_SAML.provider(account),
      durationSeconds,
    },
    {
      response: {
        ...issuedCredentials(rng, session, durationSeconds),
        subject,
        subjectType: 'persistent',
        issuer: SSO_SAML.issuer,
        audience: 'https://signin.aws.amazon.com/saml',
        nameQualifier: SSO_SAML.nameQualifier,
      },
      resources: [
        roleResource(session),
        resource('AWS::IAM::SAMLProvider', SSO_SAML.provider(account), account),
      ],
      host: 'sts.amazonaws.com',
    },
  );
}

/** A GitHub Actions workflow exchanging its OIDC token for the deploy role. */
export function assumeRoleWithWebIdentity(rng: Random, session: RoleSession, region: string): ApiCall {
  const { account } = session.role;
  return apiCall(
    'sts',
    'AssumeRoleWithWebIdentity',
    region,
    { roleArn: session.role.arn, roleSessionName: session.name },
    {
      response: {
        ...issuedCredentials(rng, session, 3600),
        subjectFromWebIdentityToken: GITHUB_OIDC.subject,
        provider: GITHUB_OIDC.provider(account),
        audience: GITHUB_OIDC.audience,
      },
      additionalEventData: { identityProviderConnectionVerificationMethod: 'IAMTrustStore' },
      resources: [
        roleResource(session),
        resource('AWS::IAM::OidcProvider', GITHUB_OIDC.provider(account), account),
      ],
      host: `sts.${region}.amazonaws.com`,
    },
  );
}

export interface ConsoleLoginOptions {
  readonly success?: boolean;
  readonly mfaUsed: boolean;
  /** The MFA device ARN, written when MFA was used. */
  readonly mfaDevice?: string;
  readonly region?: string;
}

/** `ConsoleLogin`: sign-in logs success or failure in the response, and MFA in additional data. */
export function consoleLogin(options: ConsoleLoginOptions): ApiCall {
  const region = options.region ?? GLOBAL_REGION;
  const success = options.success ?? true;
  const additional: JsonObject = {
    LoginTo: `https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_${region}_${region === GLOBAL_REGION ? 'a1b2c3d4e5f60718' : 'b2c3d4e5f6071829'}`,
    MobileVersion: 'No',
  };
  if (options.mfaDevice !== undefined && options.mfaUsed) additional.MFAIdentifier = options.mfaDevice;
  additional.MFAUsed = options.mfaUsed ? 'Yes' : 'No';
  return apiCall('signin', 'ConsoleLogin', region, null, {
    response: { ConsoleLogin: success ? 'Success' : 'Failure' },
    additionalEventData: additional,
    requestId: null,
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    host: 'signin.aws.amazon.com',
    ...(success ? {} : { failureMessage: 'Failed authentication' }),
  });
}

/** The root user's "Forgot password" flow: a reset link by e-mail, then a new password. */
export function passwordRecovery(stage: 'PasswordRecoveryRequested' | 'PasswordRecoveryCompleted'): ApiCall {
  return apiCall('signin', stage, GLOBAL_REGION, null, {
    response: { [stage]: 'Success' },
    additionalEventData: { MobileVersion: 'No' },
    requestId: null,
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    host: 'signin.aws.amazon.com',
  });
}
