/**
 * The Azure credential of the Log Analytics pull: Entra ID workload identity
 * federation, so that an AWS-hosted function reads Azure logs without an
 * Azure secret. The app registration (or user-assigned managed identity)
 * gets a federated identity credential trusting an OIDC issuer AWS controls,
 * and the function presents a token of that issuer as a client assertion:
 *
 * - `client-assertion`: `assertion()` returns the token, e.g. from IAM
 *   outbound identity federation (`sts:GetWebIdentityToken`) or from an
 *   Amazon Cognito identity pool (`GetOpenIdTokenForDeveloperIdentity`); it is
 *   called whenever Entra ID needs a fresh one, so it must not cache past the
 *   token's expiry;
 * - `workload-identity`: the token sits in a file (rewritten by whoever
 *   rotates it), read again on every exchange.
 *
 * Tests hand the client a `TokenCredential` of their own instead.
 */
import { ClientAssertionCredential, type TokenCredential, WorkloadIdentityCredential } from '@azure/identity';
import { AzureCredentialsError } from './errors.js';

interface Common {
  /** Directory (tenant) id of the app registration. */
  readonly tenantId: string;
  /** Application (client) id of the app registration or managed identity. */
  readonly clientId: string;
  /** Another Entra ID authority (a sovereign cloud): `https://login.microsoftonline.us`. */
  readonly authorityHost?: string;
}

export type AzureCredentialOptions =
  | (Common & { readonly kind: 'client-assertion'; readonly assertion: () => Promise<string> })
  | (Common & { readonly kind: 'workload-identity'; readonly tokenFilePath: string });

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant is named by its id or one of its verified domains. */
const TENANT =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

export function createAzureCredential(options: AzureCredentialOptions): TokenCredential {
  if (!TENANT.test(options.tenantId))
    throw new AzureCredentialsError(`tenantId ${options.tenantId} is neither a tenant id nor a domain`);
  if (!GUID.test(options.clientId))
    throw new AzureCredentialsError(`clientId ${options.clientId} is not an id`);
  if (options.authorityHost !== undefined && !options.authorityHost.startsWith('https://'))
    throw new AzureCredentialsError(`authorityHost ${options.authorityHost} must be https`);
  const common = options.authorityHost !== undefined ? { authorityHost: options.authorityHost } : {};
  switch (options.kind) {
    case 'client-assertion': {
      const assertion = options.assertion;
      return new ClientAssertionCredential(
        options.tenantId,
        options.clientId,
        async () => {
          try {
            return await assertion();
          } catch (error) {
            throw new AzureCredentialsError(
              `the federated token for Azure app ${options.clientId} could not be had: ${(error as Error).message}`,
              { cause: error },
            );
          }
        },
        common,
      );
    }
    case 'workload-identity':
      if (options.tokenFilePath === '') throw new AzureCredentialsError('tokenFilePath is empty');
      return new WorkloadIdentityCredential({
        tenantId: options.tenantId,
        clientId: options.clientId,
        tokenFilePath: options.tokenFilePath,
        ...common,
      });
    default:
      throw new AzureCredentialsError(`unknown credential kind ${(options as { kind?: unknown }).kind}`);
  }
}
