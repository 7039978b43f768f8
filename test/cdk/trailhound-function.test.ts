import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { NETWORK_DATA_DIR, RULES_DIR, TrailhoundDataLayer } from '../../cdk/constructs/data-layer.js';
import { repoPath } from '../../cdk/paths.js';
import { actionsOf, policyStatements, type Statement, statementFor, synthesize } from './synth.js';

const { detectionTemplate: template } = synthesize();
const allFunctions = Object.entries(template.findResources('AWS::Lambda::Function'));
/** The functions that detect (the alerting ones consume findings instead: see alerting.test.ts). */
const functions = allFunctions.filter(([id]) => !id.startsWith('Alerting'));
const findingsBusArn = { 'Fn::GetAtt': [expect.stringMatching(/^FindingsBus/), 'Arn'] };

/** The statements of the role of the function with logical id `functionId` (its role lives beside it). */
function roleStatements(functionId: string): Statement[] {
  return policyStatements(template, functionId.replace(/Function[0-9A-F]{8}$/, 'Role'));
}

describe('TrailhoundFunction', () => {
  it('builds all five detection handlers the same way', () => {
    expect(functions.map(([, f]) => f.Properties.Description).sort()).toEqual([
      'Trailhound: Azure Activity and Entra ID logs pulled from Log Analytics',
      'Trailhound: CloudTrail events from EventBridge',
      'Trailhound: CloudTrail log files announced by S3 notifications',
      'Trailhound: GCP audit log entries pushed by Pub/Sub',
      'Trailhound: GCP audit logs pulled from Cloud Logging',
    ]);
    for (const [, fn] of functions)
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: {
          LogFormat: 'JSON',
          ApplicationLogLevel: 'INFO',
          LogGroup: { Ref: expect.any(String) },
        },
        Layers: [{ Ref: expect.stringMatching(/^DataLayer/) }],
        Environment: {
          Variables: expect.objectContaining({
            POWERTOOLS_SERVICE_NAME: 'trailhound',
            POWERTOOLS_METRICS_NAMESPACE: 'Trailhound',
            NODE_OPTIONS: '--enable-source-maps',
            PROFILE_TABLE_NAME: { 'Fn::GetStackOutput': expect.anything() },
            FINDINGS_BUS_NAME: { Ref: expect.stringMatching(/^FindingsBus/) },
            RULES_DIR: '/opt/trailhound/rules',
            NETWORK_DATA_DIR: '/opt/trailhound/network-data',
          }),
        },
      });
  });

  it('gives each function its own KMS-encrypted log group with the configured retention', () => {
    expect(allFunctions).toHaveLength(7);
    for (const [, fn] of allFunctions) {
      const logGroup = template.toJSON().Resources[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetStackOutput': expect.anything() } },
      });
    }
  });

  it('uses roles without managed policies', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role')))
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('publishes findings to the findings bus and nowhere else', () => {
    for (const [id] of functions)
      expect(statementFor(roleStatements(id), 'events:PutEvents')).toEqual({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: findingsBusArn,
      });
  });

  it('reads and writes profiles item by item: no scan, query or delete', () => {
    for (const [id] of functions)
      expect(actionsOf(statementFor(roleStatements(id), 'dynamodb:BatchGetItem'))).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
  });

  it('uses "*" only for actions that have no resource-level permissions', () => {
    const anyResource = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => s.Resource === '*')
      .flatMap(actionsOf);

    expect([...new Set(anyResource)].sort()).toEqual([
      'sts:GetWebIdentityToken',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });
});

describe('TrailhoundDataLayer', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'trailhound-layer-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('ships the rule YAML and the four network tables (with their licences) under /opt/trailhound', () => {
    // Bundling on, for this one small stack: it is plain file copying.
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Layer');
    new TrailhoundDataLayer(stack, 'Data');
    const [layer] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::LayerVersion'));
    const root = join(outdir, layer?.Metadata['aws:asset:path']);
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' });
    const ruleFiles = readdirSync(repoPath('detectors/rules'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => /\.ya?ml$/.test(f),
    );

    expect(RULES_DIR).toBe('/opt/trailhound/rules');
    expect(NETWORK_DATA_DIR).toBe('/opt/trailhound/network-data');
    expect(files.filter((f) => f.startsWith('trailhound/rules/') && /\.ya?ml$/.test(f)).sort()).toEqual(
      ruleFiles.map((f) => `trailhound/rules/${f}`).sort(),
    );
    expect(files.some((f) => f.endsWith('.ts'))).toBe(false);
    for (const csv of [
      'asn-ipv4-num.csv',
      'asn-ipv6-num.csv',
      'asn-country-ipv4-num.csv',
      'asn-country-ipv6-num.csv',
    ])
      expect(existsSync(join(root, 'trailhound/network-data', csv))).toBe(true);
    expect(files).toContain('trailhound/network-data/licenses/asn/DBIP-LICENSE');
    expect(layer?.Properties).toMatchObject({
      CompatibleRuntimes: ['nodejs22.x'],
      CompatibleArchitectures: ['arm64'],
    });
  });
});
