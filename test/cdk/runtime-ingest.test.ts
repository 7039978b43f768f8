import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { RUNTIME_SUBSCRIPTION_FILTER_PATTERN } from '../../cdk/constructs/runtime-ingest.js';
import {
  ACCOUNT,
  FULL_CONTEXT,
  ORG_ID,
  policyStatements,
  REGION,
  statementFor,
  synthesize,
} from './synth.js';

const ENABLED = { runtimeCollector: { enabled: true } };
// Every source on and an organization: the most the app can deploy.
const full = synthesize({ ...FULL_CONTEXT, ...ENABLED });
const template = full.detectionTemplate;

/** The storage stack's key, as the detection stack reads it. */
const storageKeyArn = {
  'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/TrailhoundKeyArn/) }),
};

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`${ids.length} ${type} resources start with ${prefix}`);
  return ids[0] as string;
}

/** The Allow statements of the policy of queue `queueId`. */
function queueAllows(t: Template, queueId: string): Record<string, unknown>[] {
  const policy = Object.values(t.findResources('AWS::SQS::QueuePolicy')).find(
    (p) => p.Properties.Queues[0].Ref === queueId,
  );
  return policy?.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow');
}

const queue = logicalId(template, 'AWS::SQS::Queue', 'RuntimeIngestQueue');
const deadLetters = logicalId(template, 'AWS::SQS::Queue', 'RuntimeIngestDeadLetterQueue');
const fn = logicalId(template, 'AWS::Lambda::Function', 'RuntimeIngestHandlerFunction');

describe('RuntimeIngest', () => {
  it('is deployed with the runtime collector only', () => {
    const { detectionTemplate } = synthesize(FULL_CONTEXT);
    expect(
      Object.keys(detectionTemplate.findResources('AWS::Lambda::Function')).filter((id) =>
        id.startsWith('RuntimeIngest'),
      ),
    ).toEqual([]);
    expect(Object.keys(detectionTemplate.findOutputs('*'))).not.toContain('RuntimeRecordsQueueUrl');
  });

  it('has a queue of a fixed name, SQS-managed encryption (senders need no key), TLS only, a dead-letter queue under the key', () => {
    const resources = template.toJSON().Resources;
    expect(resources[queue].Properties).toEqual(
      expect.objectContaining({
        QueueName: 'trailhound-runtime-records',
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        VisibilityTimeout: 6 * 120,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] }, maxReceiveCount: 5 },
      }),
    );
    expect(resources[queue].Properties.KmsMasterKeyId).toBeUndefined();
    expect(resources[deadLetters].Properties.KmsMasterKeyId).toEqual(storageKeyArn);
    for (const id of [queue, deadLetters])
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
  });

  it("lets the organization's accounts send records, and nothing else", () => {
    expect(queueAllows(template, queue)).toEqual([
      {
        Sid: 'CollectedFunctionsSendRuntimeRecords',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG_ID } },
      },
    ]);
  });

  it('lets only this account send without an organization', () => {
    const { detectionTemplate } = synthesize(ENABLED);
    const id = logicalId(detectionTemplate, 'AWS::SQS::Queue', 'RuntimeIngestQueue');
    expect(queueAllows(detectionTemplate, id)).toEqual([
      expect.objectContaining({
        Action: 'sqs:SendMessage',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      }),
    ]);
    expect(queueAllows(detectionTemplate, id)[0]?.Condition).toBeUndefined();
  });

  it("lets CloudWatch Logs invoke the function for this account's log groups only", () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === fn,
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
        Principal: 'logs.amazonaws.com',
        SourceAccount: ACCOUNT,
        SourceArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:*`,
      },
    ]);
  });

  it('consumes the queue in batches of up to 1,000 and sends failed subscriptions to the dead letters', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: fn },
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [deadLetters, 'Arn'] } } },
    });
    const statements = policyStatements(template, 'RuntimeIngestHandlerRole');
    expect(statementFor(statements, 'sqs:SendMessage').Resource).toEqual({
      'Fn::GetAtt': [deadLetters, 'Arn'],
    });
    expect(statementFor(statements, 'sqs:ReceiveMessage').Resource).toEqual({ 'Fn::GetAtt': [queue, 'Arn'] });
  });

  it('runs runtime-ingest with the quarantine bucket, like the other ingests', () => {
    const environment = template.toJSON().Resources[fn].Properties.Environment.Variables;
    expect(environment).toEqual(
      expect.objectContaining({
        QUARANTINE_BUCKET: expect.anything(),
        QUARANTINE_PREFIX: 'quarantine/',
        FINDINGS_BUS_NAME: expect.anything(),
        RULES_DIR: '/opt/trailhound/rules',
      }),
    );
  });

  it('outputs the queue URL and the function ARN, saying how to use each', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.RuntimeRecordsQueueUrl).toEqual({
      Description: expect.stringContaining('TRAILHOUND_SQS_URL'),
      Value: { Ref: queue },
    });
    expect(outputs.RuntimeIngestFunctionArn).toEqual({
      Description: expect.stringContaining(RUNTIME_SUBSCRIPTION_FILTER_PATTERN),
      Value: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    expect(RUNTIME_SUBSCRIPTION_FILTER_PATTERN).toBe('{ $.trailhound_runtime = 1 }');
  });

  it('is watched by the source-health alarms: errors, throttles, queue age, dead letters', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const on = (metric: string) =>
      alarms.filter((a) => a.MetricName === metric).map((a) => JSON.stringify(a.Dimensions));
    expect(on('Errors').some((d) => d.includes(fn))).toBe(true);
    expect(on('Throttles').some((d) => d.includes(fn))).toBe(true);
    expect(on('ApproximateAgeOfOldestMessage').some((d) => d.includes(queue))).toBe(true);
    expect(on('ApproximateNumberOfMessagesVisible').some((d) => d.includes(deadLetters))).toBe(true);
    // No dead-man alarm: an idle collected function ships nothing.
    expect(on('EventsIn').some((d) => d.includes('lambda-runtime'))).toBe(false);
  });

  it.each([
    ['with an organization', full.detection],
    ['without one', synthesize(ENABLED).detection],
  ])('leaves cdk-nag nothing unacknowledged %s', (_what, stack) => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(
      report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
  });
});
