/**
 * The functions' environment readers: typed values and defaults, and one
 * ConfigurationError listing every problem, raised when a handler module is
 * imported (its init), not at its first invocation.
 */
import { describe, expect, it } from 'vitest';
import { readAzurePullEnv, readGcpPullEnv, readGcpPushEnv } from '../../../../functions/commons/env.js';
import { ConfigurationError } from '../../../../functions/commons/errors.js';
import { loadFunction } from '../../../helpers/lambda.js';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/gcp-key-AbCdEf';

function problems(read: () => unknown): Record<string, string> {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return Object.fromEntries((error as ConfigurationError).problems.map((p) => [p.variable, p.problem]));
  }
  throw new Error('expected a ConfigurationError');
}

describe('readGcpPushEnv', () => {
  it('reads the push settings', () => {
    expect(
      readGcpPushEnv({
        PROFILE_TABLE_NAME: 'trailhound-profiles',
        GCP_PUSH_AUDIENCE: 'https://abc.lambda-url.eu-west-1.on.aws/',
        GCP_PUSH_SERVICE_ACCOUNT: 'pubsub-push@acme-logging.iam.gserviceaccount.com',
        RULES_DIR: '/var/task/rules',
      }),
    ).toEqual({
      tableName: 'trailhound-profiles',
      rulesDir: '/var/task/rules',
      pushAudience: 'https://abc.lambda-url.eu-west-1.on.aws/',
      pushServiceAccountEmail: 'pubsub-push@acme-logging.iam.gserviceaccount.com',
    });
  });

  it('lists every missing or malformed variable at once', () => {
    expect(
      problems(() => readGcpPushEnv({ GCP_PUSH_SERVICE_ACCOUNT: 'not-an-email', PROFILE_TABLE_NAME: ' ' })),
    ).toEqual({
      PROFILE_TABLE_NAME: 'is not set',
      GCP_PUSH_AUDIENCE: 'is not set',
      GCP_PUSH_SERVICE_ACCOUNT: 'is not an email address',
    });
  });
});

describe('readGcpPullEnv', () => {
  const base = { PROFILE_TABLE_NAME: 'trailhound-profiles', GCP_RESOURCE_NAME: 'projects/acme-prod-123' };

  it('has defaults for the pull settings and bills the project it reads', () => {
    expect(readGcpPullEnv({ ...base, GCP_SA_KEY_SECRET_ARN: SECRET })).toEqual({
      tableName: 'trailhound-profiles',
      rulesDir: undefined,
      resourceName: 'projects/acme-prod-123',
      projectId: 'acme-prod-123',
      filter: undefined,
      workloadIdentityConfig: undefined,
      serviceAccountKeySecretArn: SECRET,
      overlapMs: 10 * 60_000,
      initialLookbackMs: 60 * 60_000,
      deadlineMarginMs: 30_000,
      pageSize: undefined,
    });
  });

  it('takes a federation configuration as JSON, and says what is wrong without quoting it', () => {
    const config = { type: 'external_account', audience: '//iam.googleapis.com/x' };
    expect(
      readGcpPullEnv({ ...base, GCP_WORKLOAD_IDENTITY_CONFIG: JSON.stringify(config) })
        .workloadIdentityConfig,
    ).toEqual(config);
    const found = problems(() =>
      readGcpPullEnv({
        ...base,
        GCP_RESOURCE_NAME: 'organizations/123456789012',
        GCP_WORKLOAD_IDENTITY_CONFIG: '{"type": "service_account", "private_key": "-----BEGIN',
        PULL_OVERLAP_MINUTES: 'ten',
        PULL_PAGE_SIZE: '5000',
      }),
    );
    expect(found).toEqual({
      GCP_PROJECT_ID: 'is not set, and organizations/123456789012 is not a project to bill the reads to',
      GCP_WORKLOAD_IDENTITY_CONFIG: 'is not JSON',
      PULL_OVERLAP_MINUTES: 'must be a whole number from 0 to 1440',
      PULL_PAGE_SIZE: 'must be a whole number from 1 to 1000',
    });
    expect(JSON.stringify(found)).not.toContain('BEGIN');
  });

  it('needs credentials of one kind or the other', () => {
    expect(problems(() => readGcpPullEnv(base))).toEqual({
      GCP_WORKLOAD_IDENTITY_CONFIG:
        'is not set, and neither is GCP_SA_KEY_SECRET_ARN: the pull has no credentials',
    });
    expect(problems(() => readGcpPullEnv({ ...base, GCP_SA_KEY_SECRET_ARN: 'my-secret' }))).toEqual({
      GCP_SA_KEY_SECRET_ARN: 'is not a Secrets Manager secret ARN',
    });
  });
});

describe('readAzurePullEnv', () => {
  const base = {
    PROFILE_TABLE_NAME: 'trailhound-profiles',
    AZURE_WORKSPACE_ID: '3c9f2a1b-7d4e-4f5a-8b6c-0d1e2f3a4b5c',
    AZURE_SETTINGS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailhound/azure-QwErTy',
  };

  it('pulls every table unless told which', () => {
    expect(readAzurePullEnv(base).tables).toEqual(['AzureActivity', 'AuditLogs', 'SigninLogs']);
    expect(readAzurePullEnv({ ...base, AZURE_TABLES: 'SigninLogs, AuditLogs' }).tables).toEqual([
      'SigninLogs',
      'AuditLogs',
    ]);
    expect(
      problems(() =>
        readAzurePullEnv({
          ...base,
          AZURE_TABLES: 'AzureActivity,SecurityEvent',
          AZURE_WORKSPACE_ID: 'prod',
        }),
      ),
    ).toEqual({
      AZURE_TABLES: 'names unknown tables SecurityEvent',
      AZURE_WORKSPACE_ID: 'is not a workspace id (a GUID)',
    });
  });
});

describe('a function with a bad environment', () => {
  it('fails at init, when its module is imported', async () => {
    const error = await loadFunction('gcp-pubsub-push', {
      env: { PROFILE_TABLE_NAME: 'trailhound-profiles' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'ConfigurationError',
      message:
        "the function's environment is not usable: GCP_PUSH_AUDIENCE is not set; GCP_PUSH_SERVICE_ACCOUNT is not set",
    });
  });
});
