/**
 * The Azure credential factory: which @azure/identity credential it builds and
 * what it refuses. (No Entra ID endpoint runs here: the pull tests hand the
 * client a TokenCredential of their own.)
 */
import { ClientAssertionCredential, WorkloadIdentityCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createAzureCredential } from '../../../../adapters/azure/credentials.js';
import { AzureCredentialsError } from '../../../../adapters/azure/errors.js';
import { stringLiteral } from '../../../../adapters/azure/kql.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0f6a2c4e-1b3d-4e5f-8a9b-0c1d2e3f4a5b';

describe('createAzureCredential', () => {
  it('federates with a client assertion (a token AWS issued) or a token file', () => {
    const assertion = createAzureCredential({
      kind: 'client-assertion',
      tenantId: TENANT,
      clientId: CLIENT,
      assertion: async () => 'eyJ...',
    });
    expect(assertion).toBeInstanceOf(ClientAssertionCredential);
    const file = createAzureCredential({
      kind: 'workload-identity',
      tenantId: 'contoso.onmicrosoft.com',
      clientId: CLIENT,
      tokenFilePath: '/var/run/secrets/azure/tokens/azure-identity-token',
    });
    expect(file).toBeInstanceOf(WorkloadIdentityCredential);
  });

  it('refuses identifiers that are not ids and an authority that is not https', () => {
    const base = {
      kind: 'client-assertion' as const,
      tenantId: TENANT,
      clientId: CLIENT,
      assertion: async () => 'x',
    };
    expect(() => createAzureCredential({ ...base, tenantId: 'not a tenant' })).toThrow(AzureCredentialsError);
    expect(() => createAzureCredential({ ...base, clientId: 'app' })).toThrow(/clientId/);
    expect(() => createAzureCredential({ ...base, authorityHost: 'http://login.example' })).toThrow(/https/);
  });
});

describe('KQL string literals', () => {
  it('cannot be ended early by a record key', () => {
    expect(stringLiteral('plain')).toBe('@"plain"');
    expect(stringLiteral('a"b) or true | take 1000000 //')).toBe('@"a""b) or true | take 1000000 //"');
    expect(stringLiteral('back\\slash')).toBe('@"back\\slash"');
  });
});
