import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AZURE_SECRET_ARN, GCP_KEY_SECRET_ARN, policyStatements, statementFor, synthesize } from './synth.js';

const { detectionTemplate: template } = synthesize();

/** The environment variables of the function whose description matches `description`. */
function environmentOf(description: RegExp): Record<string, unknown> {
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
    description.test(f.Properties.Description),
  );
  if (fn === undefined) throw new Error(`no function ${description}`);
  return fn.Properties.Environment.Variables;
}

describe('GcpAuditIngest', () => {
  it('push: a function URL without IAM auth (the handler verifies Google OIDC tokens), capped concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('pushed by Pub/Sub'),
      ReservedConcurrentExecutions: 10,
      Timeout: 30,
    });
    expect(environmentOf(/pushed by Pub\/Sub/)).toMatchObject({
      GCP_PUSH_AUDIENCE: 'trailhound-push',
      GCP_PUSH_SERVICE_ACCOUNT: 'pusher@sec-proj-1.iam.gserviceaccount.com',
    });
    expect(template.findOutputs('GcpPushUrl')).toEqual({
      GcpPushUrl: expect.objectContaining({ Value: { 'Fn::GetAtt': [expect.any(String), 'FunctionUrl'] } }),
    });
  });

  it('pull: the resource and billing project, and the key secret by ARN only', () => {
    expect(environmentOf(/pulled from Cloud Logging/)).toMatchObject({
      GCP_RESOURCE_NAME: 'organizations/123456789012',
      GCP_PROJECT_ID: 'sec-proj-1',
      GCP_SA_KEY_SECRET_ARN: GCP_KEY_SECRET_ARN,
    });
    expect(
      statementFor(policyStatements(template, 'GcpAuditIngestPullRole'), 'secretsmanager:GetSecretValue'),
    ).toEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: GCP_KEY_SECRET_ARN });
  });

  it('pull with workload identity federation: the configuration as JSON, no secret', () => {
    const wif = { type: 'external_account', audience: '//iam.googleapis.com/projects/1/locations/global/x' };
    const gcpOnly = synthesize({
      gcp: { pull: { resourceName: 'projects/sec-proj-1', workloadIdentityConfig: wif } },
    });
    const fn = Object.values(gcpOnly.detectionTemplate.findResources('AWS::Lambda::Function')).find((f) =>
      /Cloud Logging/.test(f.Properties.Description),
    );

    expect(JSON.parse(fn?.Properties.Environment.Variables.GCP_WORKLOAD_IDENTITY_CONFIG)).toEqual(wif);
    expect(fn?.Properties.Environment.Variables.GCP_SA_KEY_SECRET_ARN).toBeUndefined();
    expect(
      policyStatements(gcpOnly.detectionTemplate, 'GcpAuditIngestPullRole').some((s) =>
        JSON.stringify(s).includes('secretsmanager'),
      ),
    ).toBe(false);
    gcpOnly.detectionTemplate.resourceCountIs('AWS::Lambda::Url', 0);
  });
});

describe('AzureActivityIngest', () => {
  const statements = policyStatements(template, 'AzureActivityIngestPullRole');

  it('names the workspace, the tables and the settings secret', () => {
    expect(environmentOf(/Log Analytics/)).toMatchObject({
      AZURE_WORKSPACE_ID: '11111111-2222-3333-4444-555555555555',
      AZURE_TABLES: 'AzureActivity,SigninLogs',
      AZURE_SETTINGS_SECRET_ARN: AZURE_SECRET_ARN,
    });
    expect(statementFor(statements, 'secretsmanager:GetSecretValue').Resource).toBe(AZURE_SECRET_ARN);
  });

  it('may request STS web identity tokens for the Entra ID exchange audience only', () => {
    expect(statementFor(statements, 'sts:GetWebIdentityToken')).toEqual({
      Effect: 'Allow',
      Action: 'sts:GetWebIdentityToken',
      Resource: '*',
      Condition: {
        'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': 'api://AzureADTokenExchange' },
      },
    });
  });
});

describe('ScheduledPull', () => {
  it('runs each pull (and the alerting housekeeping) every 5 minutes with the schedule context as input', () => {
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));

    expect(schedules).toHaveLength(3);
    for (const schedule of schedules) {
      expect(schedule.Properties).toMatchObject({
        ScheduleExpression: 'rate(5 minutes)',
        State: 'ENABLED',
        Target: {
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetterQueue/), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 300 },
        },
      });
      expect(JSON.parse(schedule.Properties.Target.Input)).toEqual({
        scheduleArn: '<aws.scheduler.schedule-arn>',
        scheduledTime: '<aws.scheduler.scheduled-time>',
        executionId: '<aws.scheduler.execution-id>',
        attemptNumber: '<aws.scheduler.attempt-number>',
      });
    }
  });

  it('keeps runs from overlapping or being retried: concurrency 1, a timeout below the period, no async retries', () => {
    for (const description of [/Cloud Logging/, /Log Analytics/, /alert redrive/])
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(description.source),
        ReservedConcurrentExecutions: 1,
        Timeout: 240,
      });
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(configs.map((c) => c.Properties)).toEqual(
      Array(3).fill(expect.objectContaining({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 })),
    );
  });

  it('gives the scheduler a role that invokes its function and dead-letters to its queue, nothing else', () => {
    const statements = policyStatements(template, 'AzureActivityIngestScheduleSchedulerRole');

    expect(statements.map((s) => s.Action)).toEqual([
      'sqs:SendMessage',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      'lambda:InvokeFunction',
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } },
          }),
        ],
      },
    });
  });
});
