import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERTING_DIR, AlertingConfigLayer } from '../../cdk/constructs/data-layer.js';
import { repoPath } from '../../cdk/paths.js';
import {
  actionsOf,
  FULL_CONTEXT,
  policyStatements,
  type Statement,
  statementFor,
  synthesize,
} from './synth.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A folder with this `alerting.yml` (and `suppressions.yml` when given). */
function alertingFolder(alertingYml: string, suppressionsYml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'trailhound-alerting-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, 'alerting.yml'), alertingYml);
  if (suppressionsYml !== undefined) writeFileSync(join(dir, 'suppressions.yml'), suppressionsYml);
  return dir;
}

const { detectionTemplate: template } = synthesize();
const resources = template.toJSON().Resources;

function logicalId(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`${ids.length} ${type} starting with ${prefix}`);
  return ids[0] as string;
}

const dispatchId = logicalId(template, 'AWS::Lambda::Function', 'AlertingDispatchFunction');
const housekeepingId = logicalId(template, 'AWS::Lambda::Function', 'AlertingHousekeepingFunction');
const queueId = logicalId(template, 'AWS::SQS::Queue', 'AlertingFindingsQueue');
const deadLetterId = logicalId(template, 'AWS::SQS::Queue', 'AlertingFindingsDeadLetterQueue');
const undeliveredId = logicalId(template, 'AWS::SQS::Queue', 'AlertingUndelivered');
const undeliveredArn = { 'Fn::GetAtt': [undeliveredId, 'Arn'] };

const dispatchStatements = policyStatements(template, 'AlertingDispatchRole');
const housekeepingStatements = policyStatements(template, 'AlertingHousekeepingRole');
const both: [string, Statement[]][] = [
  ['dispatch', dispatchStatements],
  ['housekeeping', housekeepingStatements],
];

const secretArn = (name: string) => `arn:aws:secretsmanager:eu-west-1:111122223333:secret:${name}-??????`;
const productArn = (region: string) =>
  `arn:aws:securityhub:${region}:111122223333:product/111122223333/default`;

describe('Alerting', () => {
  it('subscribes an encrypted, TLS-only queue to every finding on the findings bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(template, 'AWS::Events::EventBus', 'FindingsBus') },
      EventPattern: { source: ['trailhound'], 'detail-type': ['Trailhound Finding'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] } },
        }),
      ],
    });
    expect(resources[queueId].Properties).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetStackOutput': expect.anything() },
      MessageRetentionPeriod: 14 * 86_400,
      // Six times the dispatcher's timeout.
      VisibilityTimeout: 6 * resources[dispatchId].Properties.Timeout,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] }, maxReceiveCount: 5 },
    });
    for (const id of [queueId, deadLetterId, undeliveredId])
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
  });

  it('feeds the dispatcher in batches of 25 with partial failures, at most two at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: dispatchId },
      BatchSize: 25,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(resources[dispatchId].Properties).toMatchObject({
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Timeout: 120,
      MemorySize: 512,
      // Equal to the mapping's cap: the cap never turns into throttles.
      ReservedConcurrentExecutions: 2,
    });
  });

  it('gives both functions the alerting environment and the alerting layer, not the detection data', () => {
    for (const id of [dispatchId, housekeepingId]) {
      const { Environment, Layers } = resources[id].Properties;
      expect(Environment.Variables).toEqual({
        POWERTOOLS_SERVICE_NAME: 'trailhound',
        POWERTOOLS_METRICS_NAMESPACE: 'Trailhound',
        NODE_OPTIONS: '--enable-source-maps',
        PROFILE_TABLE_NAME: {
          'Fn::GetStackOutput': expect.objectContaining({ StackName: 'trailhound-storage' }),
        },
        ALERTING_DIR: '/opt/trailhound/alerting',
        DEAD_LETTER_QUEUE_URL: { Ref: undeliveredId },
        DEPLOYMENT_ACCOUNT_ID: '111122223333',
      });
      expect(Layers).toEqual([{ Ref: expect.stringMatching(/^AlertingConfigLayer/) }]);
    }
  });

  it('keeps undelivered updates 14 days, encrypted, and outputs the queue URL', () => {
    expect(resources[undeliveredId].Properties).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetStackOutput': expect.anything() },
      MessageRetentionPeriod: 14 * 86_400,
      // A letter received by a redrive stays hidden until that run has ended.
      VisibilityTimeout: resources[housekeepingId].Properties.Timeout,
    });
    expect(template.findOutputs('AlertingUndeliveredQueueUrl')).toEqual({
      AlertingUndeliveredQueueUrl: expect.objectContaining({ Value: { Ref: undeliveredId } }),
    });
  });

  it('runs the housekeeping every 5 minutes, one run at a time, never retried', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [housekeepingId, 'Arn'] },
        DeadLetterConfig: {
          Arn: {
            'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AlertingScheduleDeadLetterQueue'), 'Arn'],
          },
        },
      }),
    });
    expect(resources[housekeepingId].Properties).toMatchObject({
      Timeout: 240,
      ReservedConcurrentExecutions: 1,
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: housekeepingId },
      MaximumRetryAttempts: 0,
    });
  });

  it.each(both)(
    'lets the %s function use the profile table as the incident store, nothing more',
    (_, statements) => {
      expect(statementFor(statements, 'dynamodb:Query')).toEqual({
        Effect: 'Allow',
        Action: [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: {
          'Fn::GetStackOutput': expect.objectContaining({
            OutputName: expect.stringMatching(/BaselinesTableArn/),
          }),
        },
      });
      const all = statements.flatMap(actionsOf);
      expect(all.filter((a) => a.startsWith('dynamodb:'))).toHaveLength(5);
      // It consumes findings; it does not publish them.
      expect(all).not.toContain('events:PutEvents');
    },
  );

  it.each(both)('lets the %s function read exactly the secrets alerting.yml names', (_, statements) => {
    expect(statementFor(statements, 'secretsmanager:GetSecretValue')).toEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: [secretArn('trailhound/pagerduty'), secretArn('trailhound/slack-soc')],
    });
    expect(JSON.stringify(statements)).not.toMatch(/secret:[^"]*\*/);
  });

  it.each(both)('lets the %s function import into Security Hub only as this account', (_, statements) => {
    expect(statementFor(statements, 'securityhub:BatchImportFindings')).toEqual({
      Effect: 'Allow',
      Action: 'securityhub:BatchImportFindings',
      Resource: productArn('eu-west-1'),
    });
  });

  it('lets the dispatcher only send undelivered updates, and the housekeeping receive, delete and send them', () => {
    expect(statementFor(dispatchStatements, 'sqs:SendMessage')).toEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: undeliveredArn,
    });
    expect(dispatchStatements.filter((s) => JSON.stringify(s.Resource).includes(undeliveredId))).toHaveLength(
      1,
    );
    expect(statementFor(housekeepingStatements, 'sqs:ReceiveMessage')).toEqual({
      Effect: 'Allow',
      Action: ['sqs:DeleteMessage', 'sqs:ReceiveMessage', 'sqs:SendMessage'],
      Resource: undeliveredArn,
    });
  });

  it('alarms on the dispatcher and housekeeping failing, dead letters, and undelivered updates older than an hour', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const on = (metric: string, ref: unknown) =>
      alarms.filter(
        (a) => a.MetricName === metric && JSON.stringify(a.Dimensions[0]?.Value) === JSON.stringify(ref),
      );

    for (const id of [dispatchId, housekeepingId]) expect(on('Errors', { Ref: id })).toHaveLength(1);
    const queueName = (id: string) => ({ 'Fn::GetAtt': [id, 'QueueName'] });
    expect(on('ApproximateNumberOfMessagesVisible', queueName(deadLetterId))).toEqual([
      expect.objectContaining({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }),
    ]);
    expect(on('ApproximateAgeOfOldestMessage', queueName(undeliveredId))).toEqual([
      expect.objectContaining({ Threshold: 3600, Statistic: 'Maximum' }),
    ]);
  });
});

describe('Alerting with another alerting.yml', () => {
  const dir = alertingFolder(
    [
      'destinations:',
      '  - { name: soc, kind: slack, secret: soc/webhook }',
      '  - { name: oncall, kind: pagerduty, secret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:oncall-AbCdEf" }',
      '  - { name: soc-copy, kind: slack, secret: soc/webhook }',
      'routes:',
      '  - { destination: soc, min_severity: medium }',
      '  - { destination: oncall, min_severity: high }',
      '',
    ].join('\n'),
  );
  const other = synthesize({ ...FULL_CONTEXT, alertingDir: dir }).detectionTemplate;

  it.each(['AlertingDispatchRole', 'AlertingHousekeepingRole'])(
    '%s: reads each named secret once (a name by its ARN pattern, an ARN as given); no Security Hub',
    (role) => {
      const statements = policyStatements(other, role);

      expect(statementFor(statements, 'secretsmanager:GetSecretValue').Resource).toEqual([
        'arn:aws:secretsmanager:eu-west-1:111122223333:secret:oncall-AbCdEf',
        secretArn('soc/webhook'),
      ]);
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('securityhub:'))).toEqual([]);
      // No eventbridge destination: no bus to put on.
      expect(statements.flatMap(actionsOf)).not.toContain('events:PutEvents');
    },
  );

  it.each(['AlertingDispatchRole', 'AlertingHousekeepingRole'])(
    '%s: puts events only on the buses the eventbridge destinations name (a name as its ARN here, an ARN as given)',
    (role) => {
      const withBuses = alertingFolder(
        [
          'destinations:',
          '  - { name: soc, kind: slack, secret: soc/webhook }',
          '  - { name: incidents, kind: eventbridge, bus: trailhound-incidents }',
          '  - { name: lake, kind: eventbridge, bus: "arn:aws:events:us-east-1:444455556666:event-bus/security-lake", format: ocsf }',
          '  - { name: incidents-again, kind: eventbridge, bus: trailhound-incidents }',
          'routes:',
          '  - { destination: incidents }',
          '  - { destination: lake, min_severity: high }',
          '',
        ].join('\n'),
      );
      const statements = policyStatements(
        synthesize({ ...FULL_CONTEXT, alertingDir: withBuses }).detectionTemplate,
        role,
      );

      expect(statementFor(statements, 'events:PutEvents')).toEqual({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: [
          'arn:aws:events:eu-west-1:111122223333:event-bus/trailhound-incidents',
          'arn:aws:events:us-east-1:444455556666:event-bus/security-lake',
        ],
      });
      expect(JSON.stringify(statements)).not.toMatch(/event-bus\/\*/);
    },
  );

  it('grants no secret at all when only Security Hub is configured, in the region it names', () => {
    const hubOnly = alertingFolder(
      'destinations:\n  - { name: hub, kind: securityhub, region: us-east-1 }\nroutes:\n  - { destination: hub }\n',
    );
    const statements = policyStatements(
      synthesize({ alertingDir: hubOnly }).detectionTemplate,
      'AlertingDispatchRole',
    );

    expect(statements.flatMap(actionsOf)).not.toContain('secretsmanager:GetSecretValue');
    expect(statementFor(statements, 'securityhub:BatchImportFindings').Resource).toBe(
      productArn('us-east-1'),
    );
  });
});

describe('AlertingConfigLayer', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'trailhound-alerting-layer-'));
  tempDirs.push(outdir);

  /** The asset folder and hash of the layer built from `alertingDir` (bundling on: plain file copies). */
  function build(alertingDir: string): { files: string[]; hash: string } {
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Layer');
    new AlertingConfigLayer(stack, 'Alerting', { alertingDir });
    const [layer] = Object.values(
      app.synth().getStackByName('Layer').template.Resources as Record<
        string,
        { Metadata: Record<string, string> }
      >,
    );
    const path = layer?.Metadata['aws:asset:path'] as string;
    return {
      files: readdirSync(join(outdir, path), { recursive: true, encoding: 'utf8' }).sort(),
      // The asset folder is named after the asset hash.
      hash: path,
    };
  }

  it('ships alerting.yml and suppressions.yml under /opt/trailhound/alerting, and nothing else', () => {
    expect(ALERTING_DIR).toBe('/opt/trailhound/alerting');
    expect(build(repoPath('samples/alerting')).files).toEqual([
      'trailhound',
      'trailhound/alerting',
      'trailhound/alerting/alerting.yml',
      'trailhound/alerting/suppressions.yml',
    ]);
  });

  it('is a new version whenever the configuration changes', () => {
    const yml = 'destinations:\n  - { name: hub, kind: securityhub }\n';
    const first = build(alertingFolder(yml));
    const same = build(alertingFolder(yml));
    const suppressed = build(alertingFolder(yml, 'suppressions: []\n'));

    expect(same.hash).toBe(first.hash);
    expect(suppressed.hash).not.toBe(first.hash);
    expect(first.files).not.toContain('trailhound/alerting/suppressions.yml');
  });
});
