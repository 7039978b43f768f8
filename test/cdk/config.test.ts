import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../cdk/config.js';
import { repoPath } from '../../cdk/paths.js';
import { AZURE_SECRET_ARN, FULL_CONTEXT, testApp } from './synth.js';

function problemsOf(raw: Record<string, unknown>): readonly string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  it('has defaults for everything: CloudTrail from EventBridge in this account', () => {
    const config = parseConfig({});

    expect(config.alertingDir.path).toBe(repoPath('samples/alerting'));
    expect(config.alertingDir.settings.destinations.map((d) => d.name)).toEqual([
      'slack-soc',
      'pagerduty',
      'securityhub',
    ]);
    expect({ ...config, alertingDir: undefined }).toEqual({
      alertingDir: undefined,
      prefix: 'trailhound',
      trailBuckets: [],
      deadManMinutes: {
        'cloudtrail-s3': 30,
        'cloudtrail-eventbridge': 30,
        'gcp-push': 30,
        'gcp-pull': 30,
        'azure-pull': 30,
      },
      logRetentionDays: 365,
      quarantineExpirationDays: 90,
      findingsArchiveDays: 365,
      runtimeCollector: { enabled: false, architectures: ['arm64', 'x86_64'] },
    });
  });

  it('reads the context and the target account and region of the CLI', () => {
    const app = testApp(FULL_CONTEXT);

    const config = loadConfig(app, { CDK_DEFAULT_ACCOUNT: '111122223333', CDK_DEFAULT_REGION: 'eu-west-1' });

    expect(config.account).toBe('111122223333');
    expect(config.region).toBe('eu-west-1');
    expect(config.trailBuckets).toEqual(FULL_CONTEXT.trailBuckets);
    expect(config.organizationId).toBe('o-abc123def4');
    expect(config.deadManMinutes['gcp-pull']).toBe(60);
    expect(config.deadManMinutes['gcp-push']).toBe(30);
    expect(config.gcp?.push?.audience).toBe('trailhound-push');
    expect(config.azure).toEqual({ ...FULL_CONTEXT.azure, assertionAudience: 'api://AzureADTokenExchange' });
  });

  it('takes lists, objects and numbers from -c as JSON text', () => {
    const app = testApp({
      trailBuckets: '[{"bucketName":"org-trail-logs","prefix":"AWSLogs/"}]',
      logRetentionDays: '90',
      deadManMinutes: '{"cloudtrail-s3": 60}',
      azure: JSON.stringify({
        workspaceId: '11111111-2222-3333-4444-555555555555',
        settingsSecretArn: AZURE_SECRET_ARN,
      }),
    });

    const config = loadConfig(app, {});

    expect(config.trailBuckets).toEqual([{ bucketName: 'org-trail-logs', prefix: 'AWSLogs/' }]);
    expect(config.logRetentionDays).toBe(90);
    expect(config.deadManMinutes['cloudtrail-s3']).toBe(60);
    expect(config.azure?.workspaceId).toBe('11111111-2222-3333-4444-555555555555');
    expect(config.account).toBeUndefined();
  });

  it('lists every problem, each with its path, in one error', () => {
    const problems = problemsOf({
      trailBuckets: [{ bucketName: 'Trail_Logs' }, { bucketName: 'ok-bucket', kmsKeyArn: 'alias/trail' }],
      organizationId: 'org-123',
      gcp: { push: { serviceAccountEmail: 'pusher@sec-proj-1.iam.gserviceaccount.com' } },
      logRetentionDays: 42,
    });

    expect(problems).toEqual([
      'trailBuckets[0].bucketName: is not an S3 bucket name',
      'trailBuckets[1].kmsKeyArn: is not a KMS key ARN',
      'organizationId: is not an AWS Organizations id (o- and 10-32 lowercase letters or digits)',
      expect.stringMatching(/^logRetentionDays: is not one of 1, 3, 5, 7, 14, 30, .*, 3653$/),
      'gcp.push.audience: is required',
    ]);
  });

  it('says what it expected in the message', () => {
    expect(() => parseConfig({ organizationId: 'org-123' })).toThrow(
      /^Invalid Trailhound configuration.*\n {2}- organizationId: is not an AWS Organizations id/,
    );
  });

  it('refuses a pull without credentials or billing project, and unknown keys', () => {
    const problems = problemsOf({
      gcp: { pull: { resourceName: 'folders/1234' } },
      azure: { workspaceId: 'not-a-guid', settingsSecretArn: AZURE_SECRET_ARN, table: ['AzureActivity'] },
      trailBuckets: [{ bucketName: 'dup-bucket' }, { bucketName: 'dup-bucket' }],
      deadManMinutes: { 'cloudtrail-s4': 10 },
    });

    expect(problems).toEqual([
      'trailBuckets[1].bucketName: dup-bucket is listed twice',
      'deadManMinutes: has unknown keys: cloudtrail-s4',
      'gcp.pull.workloadIdentityConfig: is not set, and neither is serviceAccountKeySecretArn: the pull has no credentials',
      'gcp.pull.projectId: is required: folders/1234 is not a project to bill the reads to',
      'azure.workspaceId: is not a Log Analytics workspace id (a GUID)',
      'azure: has unknown keys: table',
    ]);
  });

  describe('alertingDir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailhound-alerting-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is parsed at synthesis: a missing alerting.yml is a problem like any other', () => {
      const problems = problemsOf({ alertingDir: join(dir, 'absent'), organizationId: 'org-123' });

      expect(problems).toEqual([
        'organizationId: is not an AWS Organizations id (o- and 10-32 lowercase letters or digits)',
        `alertingDir: ${join(dir, 'absent', 'alerting.yml')}: no such file`,
      ]);
    });

    it('reports what is wrong inside alerting.yml, with the file', () => {
      writeFileSync(
        join(dir, 'alerting.yml'),
        'destinations:\n  - { name: soc, kind: slack, secret: soc }\nroutes:\n  - { destination: pager }\n',
      );

      const [problem, ...others] = problemsOf({ alertingDir: dir });

      expect(others).toEqual([]);
      expect(problem).toMatch(new RegExp(`^alertingDir: ${join(dir, 'alerting.yml')}: `));
      expect(problem).toContain('"pager", which is not declared');
    });

    it('takes paths relative to the repository, wherever cdk runs', () => {
      expect(parseConfig({ alertingDir: 'samples/alerting' }).alertingDir.path).toBe(
        repoPath('samples/alerting'),
      );
    });
  });

  it('refuses -c text that is not JSON where a list is expected', () => {
    expect(problemsOf({ trailBuckets: 'org-trail-logs' })).toEqual([
      'trailBuckets: is not JSON (-c passes text: give numbers, lists and objects as JSON)',
    ]);
  });
});
