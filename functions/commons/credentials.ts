/**
 * The pull functions' clients for GCP and Azure, with credentials that come
 * from the function's AWS identity wherever the other cloud allows it:
 *
 * - **GCP**: workload identity federation (`GCP_WORKLOAD_IDENTITY_CONFIG`, an
 *   `external_account` configuration with no key material): Google's STS is
 *   shown a GetCallerIdentity request signed with the function's own AWS
 *   credentials (the SDK clients' credential provider). Fallback: a
 *   service-account key JSON from Secrets Manager (`GCP_SA_KEY_SECRET_ARN`).
 *   Both through `adapters/gcp/credentials.ts`.
 * - **Azure**: Entra ID workload identity federation: the client assertion is
 *   an STS web identity token of the function's role (`GetWebIdentityToken`,
 *   audience `api://AzureADTokenExchange`), the app settings (tenant, client
 *   id, optional sovereign-cloud endpoints) a JSON secret. Through
 *   `adapters/azure/credentials.ts`.
 *
 * A client built from a secret is kept while the secret's version stays the
 * same (token caches survive between invocations) and rebuilt after a
 * rotation.
 */

import type { STSClient } from '@aws-sdk/client-sts';
import { GetWebIdentityTokenCommand } from '@aws-sdk/client-sts';
import type { TokenCredential } from '@azure/identity';
import { LogsQueryClient } from '@azure/monitor-query-logs';
import type { Logging } from '@google-cloud/logging';
import { z } from 'zod';
import { createAzureCredential } from '../../adapters/azure/credentials.js';
import { createGcpAuthClient } from '../../adapters/gcp/credentials.js';
import { createLoggingClient } from '../../adapters/gcp/logging-client.js';
import type { SecretJsonReader } from '../../adapters/secrets/secrets-manager.js';
import { exchangeCredential, type OutsideServices } from './clients.js';
import { FunctionError, SecretError } from './errors.js';

/** The audience Entra ID expects in a federated credential's token by default. */
export const AZURE_FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export interface GcpLoggingSourceOptions {
  readonly projectId: string;
  readonly workloadIdentityConfig: Record<string, unknown> | undefined;
  readonly serviceAccountKeySecretArn: string | undefined;
  readonly secrets: SecretJsonReader;
  /** Whose credentials and region sign the federation request. */
  readonly sts: STSClient;
  readonly outside: OutsideServices;
}

/**
 * A Cloud Logging client getter. With federation the client is built here, at
 * init, so a configuration Google would refuse fails the function's start.
 */
export async function gcpLoggingSource(options: GcpLoggingSourceOptions): Promise<() => Promise<Logging>> {
  const endpoint = options.outside.gcpLogging ?? {};
  const client = (authClient: ReturnType<typeof createGcpAuthClient>) =>
    createLoggingClient({ projectId: options.projectId, authClient, ...endpoint });
  if (options.workloadIdentityConfig !== undefined) {
    const sts = options.sts;
    const federated = client(
      createGcpAuthClient({
        externalAccount: options.workloadIdentityConfig,
        aws: { region: await sts.config.region(), credentials: () => sts.config.credentials() },
        ...(options.outside.gcpAllowCustomEndpoints === true ? { allowCustomEndpoints: true } : {}),
      }),
    );
    return async () => federated;
  }
  const arn = options.serviceAccountKeySecretArn;
  if (arn === undefined) throw new FunctionError('no GCP credentials configured');
  let built: { versionId: string; logging: Logging } | undefined;
  return async () => {
    const secret = await options.secrets.read(arn);
    if (built === undefined || built.versionId !== secret.versionId)
      built = {
        versionId: secret.versionId,
        logging: client(createGcpAuthClient({ serviceAccountKey: secret.json })),
      };
    return built.logging;
  };
}

/** What the Azure settings secret holds. Identifiers, not passwords: the app has no client secret. */
export const AzureSettings = z.object({
  /** Directory (tenant) id or verified domain. */
  tenantId: z.string().min(1),
  /** Application (client) id of the app registration with the federated credential. */
  clientId: z.string().min(1),
  /** Another Entra ID authority (sovereign clouds), e.g. `https://login.microsoftonline.us`. */
  authorityHost: z.url().optional(),
  /** Another Log Analytics endpoint, e.g. `https://api.loganalytics.us/v1`. */
  logAnalyticsEndpoint: z.url().optional(),
  /** The token audience Log Analytics is asked for there, e.g. `https://api.loganalytics.us`. */
  logAnalyticsAudience: z.string().min(1).optional(),
  /** The `aud` of the web identity token, as set on the federated credential. */
  assertionAudience: z.string().min(1).optional(),
});
export type AzureSettings = z.infer<typeof AzureSettings>;

/** The function's role as a signed JWT, fresh on every call (Entra ID asks when its token expires). */
export function webIdentityAssertion(sts: STSClient, audience: string): () => Promise<string> {
  return async () => {
    const response = await sts.send(
      new GetWebIdentityTokenCommand({
        Audience: [audience],
        SigningAlgorithm: 'RS256',
        DurationSeconds: 300,
      }),
    );
    if (response.WebIdentityToken === undefined || response.WebIdentityToken === '')
      throw new FunctionError('STS GetWebIdentityToken returned no token');
    return response.WebIdentityToken;
  };
}

export interface AzureLogsSourceOptions {
  readonly settingsSecretArn: string;
  readonly secrets: SecretJsonReader;
  readonly sts: STSClient;
  readonly outside: OutsideServices;
}

/** A Log Analytics client getter: settings from the secret, credential from the function's role. */
export function azureLogsSource(options: AzureLogsSourceOptions): () => Promise<LogsQueryClient> {
  let built: { versionId: string; client: LogsQueryClient } | undefined;
  return async () => {
    const secret = await options.secrets.read(options.settingsSecretArn);
    if (built !== undefined && built.versionId === secret.versionId) return built.client;
    const parsed = AzureSettings.safeParse(secret.json);
    if (!parsed.success)
      throw new SecretError(
        options.settingsSecretArn,
        `is not Azure settings: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
      );
    const settings = parsed.data;
    const assertion = webIdentityAssertion(
      options.sts,
      settings.assertionAudience ?? AZURE_FEDERATION_AUDIENCE,
    );
    // Built (and so validated) whether or not a test stands in for Entra ID's token endpoint.
    let credential: TokenCredential = createAzureCredential({
      kind: 'client-assertion',
      tenantId: settings.tenantId,
      clientId: settings.clientId,
      ...(settings.authorityHost !== undefined ? { authorityHost: settings.authorityHost } : {}),
      assertion,
    });
    if (options.outside.azureTokenExchange !== undefined)
      credential = exchangeCredential(options.outside.azureTokenExchange, assertion);
    const client = new LogsQueryClient(credential, {
      ...(settings.logAnalyticsEndpoint !== undefined ? { endpoint: settings.logAnalyticsEndpoint } : {}),
      ...(settings.logAnalyticsAudience !== undefined ? { audience: settings.logAnalyticsAudience } : {}),
    });
    built = { versionId: secret.versionId, client };
    return client;
  };
}
