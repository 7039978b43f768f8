/**
 * Google credentials for the GCP adapters, built from a credentials JSON:
 *
 * - **Workload identity federation** (preferred): an `external_account`
 *   configuration (`gcloud iam workload-identity-pools create-cred-config`).
 *   From AWS, the library signs an STS GetCallerIdentity request with the
 *   function's AWS credentials, exchanges it at Google's STS for a federated
 *   token and, when the configuration names a service account, impersonates
 *   it. No Google secret is stored anywhere. By default the library takes the
 *   AWS credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
 *   `AWS_SESSION_TOKEN` (set in Lambda) or the EC2 metadata endpoints of the
 *   configuration; `aws` hands it any other source (an AWS SDK credential
 *   provider, for a role assumed in code).
 * - **Service-account key** (fallback, where federation is not set up): the
 *   key JSON. The library then signs its own short-lived JWTs with the key.
 *
 * The client only ever needs to read logs: the scope defaults to `logging.read`.
 *
 * A federation configuration names the URLs credentials are sent to, and the
 * library does not check them (it warns so much). We do: Google's STS and IAM
 * endpoints over https, AWS's metadata addresses and regional STS, nothing
 * else, unless `allowCustomEndpoints` (a local test server). Only AWS
 * federation is accepted: the other kinds (a token file, a URL, an executable)
 * have no use in an AWS-hosted deployment.
 */
import { type AuthClient, AwsClient, type AwsClientOptions, JWT } from 'google-auth-library';
import { GcpCredentialsError } from './errors.js';

export const LOGGING_READ_SCOPE = 'https://www.googleapis.com/auth/logging.read';

/** The shape of the AWS SDK's credential providers (`fromNodeProviderChain()`, `fromTemporaryCredentials()`…). */
export type AwsCredentialProvider = () => Promise<{
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}>;

export interface GcpAuthOptions {
  /** An `external_account` configuration, as JSON text or parsed. Used when present. */
  readonly externalAccount?: string | Record<string, unknown>;
  /** A `service_account` key, as JSON text or parsed: the fallback when there is no `externalAccount`. */
  readonly serviceAccountKey?: string | Record<string, unknown>;
  /** For an AWS `external_account`: the AWS region and credentials to sign with, instead of the library's own lookup. */
  readonly aws?: { readonly region: string; readonly credentials: AwsCredentialProvider };
  /** Default: `logging.read`. */
  readonly scopes?: readonly string[];
  /** Accept token and impersonation URLs outside Google (tests against a local server only). */
  readonly allowCustomEndpoints?: boolean;
}

/** An `AuthClient` for `createLoggingClient` from a federation configuration, else from a key. */
export function createGcpAuthClient(options: GcpAuthOptions): AuthClient {
  const scopes = [...(options.scopes ?? [LOGGING_READ_SCOPE])];
  if (options.externalAccount !== undefined)
    return externalAccountClient(
      parse(options.externalAccount, 'externalAccount'),
      scopes,
      options.aws,
      options.allowCustomEndpoints === true,
    );
  if (options.serviceAccountKey !== undefined)
    return serviceAccountClient(parse(options.serviceAccountKey, 'serviceAccountKey'), scopes);
  throw new GcpCredentialsError(
    'no GCP credentials: give an external_account configuration or a service_account key',
  );
}

function externalAccountClient(
  config: Record<string, unknown>,
  scopes: string[],
  aws: GcpAuthOptions['aws'],
  allowCustomEndpoints: boolean,
): AuthClient {
  if (config.type !== 'external_account')
    throw new GcpCredentialsError(
      `externalAccount has type ${String(config.type)}, expected external_account`,
    );
  for (const field of ['audience', 'subject_token_type'])
    if (typeof config[field] !== 'string' || config[field] === '')
      throw new GcpCredentialsError(`the external_account configuration has no ${field}`);
  if (config.subject_token_type !== AWS_SUBJECT_TOKEN_TYPE)
    throw new GcpCredentialsError(
      `the external_account configuration is for ${String(config.subject_token_type)}; only AWS federation (${AWS_SUBJECT_TOKEN_TYPE}) is supported`,
    );
  if (!allowCustomEndpoints) checkEndpoints(config);
  let awsOptions = { ...config, scopes } as unknown as AwsClientOptions;
  if (aws !== undefined) {
    // A supplier replaces the configuration's credential_source (the library refuses both).
    const { credential_source: _ignored, ...rest } = awsOptions;
    awsOptions = {
      ...rest,
      aws_security_credentials_supplier: {
        getAwsRegion: async () => aws.region,
        getAwsSecurityCredentials: async () => {
          const credentials = await aws.credentials();
          return {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            ...(credentials.sessionToken !== undefined ? { token: credentials.sessionToken } : {}),
          };
        },
      },
    };
  }
  try {
    return new AwsClient(awsOptions);
  } catch (error) {
    throw new GcpCredentialsError(
      `the external_account configuration cannot be used: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

const AWS_SUBJECT_TOKEN_TYPE = 'urn:ietf:params:aws:token-type:aws4_request';
/** EC2 instance metadata, IPv4 and IPv6. */
const AWS_METADATA_HOSTS = new Set(['169.254.169.254', '[fd00:ec2::254]']);

/** Credentials and tokens go only to Google's and AWS's own endpoints. */
function checkEndpoints(config: Record<string, unknown>): void {
  const check = (field: string, value: unknown, ok: (url: URL) => boolean) => {
    if (value === undefined) return;
    let url: URL | undefined;
    try {
      url = new URL(String(value));
    } catch {
      url = undefined;
    }
    if (url === undefined || !ok(url))
      throw new GcpCredentialsError(
        `${field} ${String(value)} is not a Google or AWS endpoint this adapter trusts`,
      );
  };
  const google = (url: URL) => url.protocol === 'https:' && url.hostname.endsWith('.googleapis.com');
  check('token_url', config.token_url, google);
  check('service_account_impersonation_url', config.service_account_impersonation_url, google);
  const source = (config.credential_source ?? {}) as Record<string, unknown>;
  const metadata = (url: URL) => url.protocol === 'http:' && AWS_METADATA_HOSTS.has(url.host);
  for (const field of ['region_url', 'url', 'imdsv2_session_token_url'])
    check(`credential_source.${field}`, source[field], metadata);
  check(
    'credential_source.regional_cred_verification_url',
    typeof source.regional_cred_verification_url === 'string'
      ? source.regional_cred_verification_url.replace('{region}', 'us-east-1')
      : undefined,
    (url) => url.protocol === 'https:' && /^sts\.[a-z0-9-]+\.amazonaws\.com$/.test(url.hostname),
  );
}

function serviceAccountClient(key: Record<string, unknown>, scopes: string[]): AuthClient {
  if (key.type !== 'service_account')
    throw new GcpCredentialsError(`serviceAccountKey has type ${String(key.type)}, expected service_account`);
  for (const field of ['client_email', 'private_key'])
    if (typeof key[field] !== 'string' || key[field] === '')
      throw new GcpCredentialsError(`the service-account key has no ${field}`);
  return new JWT({
    email: key.client_email as string,
    key: key.private_key as string,
    ...(typeof key.private_key_id === 'string' ? { keyId: key.private_key_id } : {}),
    scopes,
  });
}

function parse(value: string | Record<string, unknown>, name: string): Record<string, unknown> {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch (error) {
    throw new GcpCredentialsError(`${name} is not JSON`, { cause: error });
  }
  throw new GcpCredentialsError(`${name} is not a JSON object`);
}
