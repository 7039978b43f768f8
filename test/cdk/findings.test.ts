import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { severitiesFrom } from '../../cdk/constructs/destinations.js';
import { repoPath } from '../../cdk/paths.js';
import { synthesize } from './synth.js';

const { detectionTemplate: template } = synthesize();
const resources = template.toJSON().Resources;
const findingPattern = { source: ['trailhound'], 'detail-type': ['Trailhound Finding'] };
const busId = Object.keys(
  template.findResources('AWS::Events::EventBus', { Properties: { Name: 'trailhound-findings' } }),
)[0];

describe('FindingsBus', () => {
  it('is the bus <prefix>-findings, named in an output', () => {
    expect(busId).toMatch(/^FindingsBus/);
    expect(template.findOutputs('FindingsBusName')).toEqual({
      FindingsBusName: expect.objectContaining({ Value: { Ref: busId } }),
    });
  });

  it('archives every finding with the customer managed key, retained under a pinned logical id', () => {
    expect(resources.FindingsArchive).toMatchObject({
      Type: 'AWS::Events::Archive',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
        EventPattern: findingPattern,
        RetentionDays: 365,
        KmsKeyIdentifier: {
          'Fn::GetStackOutput': expect.objectContaining({
            OutputName: expect.stringMatching(/TrailhoundKeyArn/),
          }),
        },
      },
    });
  });

  it('registers the finding event schema (JSON Schema draft 4) from schemas/', () => {
    const [schema] = Object.values(template.findResources('AWS::EventSchemas::Schema'));
    const content = JSON.parse(schema?.Properties.Content);

    expect(schema?.Properties).toMatchObject({
      Type: 'JSONSchemaDraft4',
      SchemaName: 'trailhound@TrailhoundFinding',
      RegistryName: { 'Fn::GetAtt': [expect.stringMatching(/SchemaRegistry/), 'RegistryName'] },
    });
    expect(content.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(content).toEqual(
      JSON.parse(readFileSync(repoPath('schemas/trailhound-finding-event.schema.json'), 'utf8')),
    );
    template.hasResourceProperties('AWS::EventSchemas::Registry', { RegistryName: 'trailhound-findings' });
  });
});

describe('Destinations', () => {
  it('sends every finding to an encrypted log group under /aws/events/', () => {
    const logGroupId = Object.keys(
      template.findResources('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: '/aws/events/trailhound/findings' },
      }),
    )[0] as string;

    expect(resources[logGroupId].Properties).toMatchObject({
      RetentionInDays: 365,
      KmsKeyId: { 'Fn::GetStackOutput': expect.anything() },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: findingPattern,
      Targets: [
        Match.objectLike({
          Arn: {
            'Fn::Join': ['', ['arn:aws:logs:eu-west-1:111122223333:log-group:', { Ref: logGroupId }]],
          },
        }),
      ],
    });
    // The policy document is JSON text around the log group's ARN.
    const policies = Object.values(template.findResources('AWS::Logs::ResourcePolicy'));
    expect(policies).toHaveLength(1);
    const [, [before, arn, after]] = policies[0]?.Properties.PolicyDocument['Fn::Join'] ?? [];
    expect(arn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    expect(JSON.parse(`${before}ARN${after}`)).toEqual({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: 'ARN',
        },
      ],
      Version: '2012-10-17',
    });
  });

  it('emails high and critical findings through an encrypted topic', () => {
    const topicId = Object.keys(
      template.findResources('AWS::SNS::Topic', {
        Properties: { DisplayName: 'Trailhound findings (high and critical)' },
      }),
    )[0];

    expect(resources[topicId as string].Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: { ...findingPattern, detail: { severity: ['high', 'critical'] } },
      Targets: [Match.objectLike({ Arn: { Ref: topicId } })],
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: topicId },
      Protocol: 'email',
      Endpoint: 'secops@example.com',
    });
  });

  it('has no email topic without an address', () => {
    const bare = synthesize({}).detectionTemplate;

    bare.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(
      Object.keys(
        bare.findResources('AWS::Events::Rule', {
          Properties: { EventPattern: { detail: Match.anyValue() } },
        }),
      ),
    ).toEqual([]);
  });

  it('routes by the severity order of the finding contract', () => {
    expect(severitiesFrom('info')).toEqual(['info', 'low', 'medium', 'high', 'critical']);
    expect(severitiesFrom('high')).toEqual(['high', 'critical']);
    expect(severitiesFrom('critical')).toEqual(['critical']);
  });
});
