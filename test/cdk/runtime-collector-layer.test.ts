import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  LayerVersion,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../cdk/config.js';
import {
  attachRuntimeCollector,
  RUNTIME_COLLECTOR_WRAPPER,
} from '../../cdk/constructs/attach-runtime-collector.js';
import {
  buildRuntimeCollectorLayer,
  COLLECTOR_LAYER_FILES,
  RuntimeCollectorLayer,
} from '../../cdk/constructs/runtime-collector-layer.js';
import { ORG_ID, synthesize } from './synth.js';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trailhound-collector-'));
  tempDirs.push(dir);
  return dir;
}

const ENABLED = { runtimeCollector: { enabled: true } };
const layersOf = (template: Template) => template.findResources('AWS::Lambda::LayerVersion');
const collectorLayers = (template: Template) =>
  Object.entries(layersOf(template)).filter(([id]) => id.startsWith('RuntimeCollector'));

describe('RuntimeCollectorLayer in the detection stack', () => {
  it('is not published by default', () => {
    const { detectionTemplate } = synthesize({});

    expect(collectorLayers(detectionTemplate)).toEqual([]);
    expect(
      Object.keys(detectionTemplate.findOutputs('*')).filter((id) => id.startsWith('RuntimeCollector')),
    ).toEqual([]);
  });

  it('publishes one layer per architecture, for the Node.js runtimes only (the layer carries no Node)', () => {
    const { detectionTemplate } = synthesize(ENABLED);

    expect(collectorLayers(detectionTemplate).map(([, layer]) => layer.Properties)).toEqual([
      expect.objectContaining({
        LayerName: 'trailhound-runtime-collector-arm64',
        CompatibleArchitectures: ['arm64'],
        CompatibleRuntimes: ['nodejs20.x', 'nodejs22.x'],
        LicenseInfo: 'Apache-2.0',
      }),
      expect.objectContaining({
        LayerName: 'trailhound-runtime-collector-x86_64',
        CompatibleArchitectures: ['x86_64'],
        CompatibleRuntimes: ['nodejs20.x', 'nodejs22.x'],
      }),
    ]);
    // Customers pin versions: a replaced version stays deployable.
    for (const [, layer] of collectorLayers(detectionTemplate)) expect(layer.DeletionPolicy).toBe('Retain');
  });

  it('publishes only the configured architectures', () => {
    const { detectionTemplate } = synthesize({
      runtimeCollector: { enabled: true, architectures: ['x86_64'] },
    });

    expect(collectorLayers(detectionTemplate).map(([, l]) => l.Properties.CompatibleArchitectures)).toEqual([
      ['x86_64'],
    ]);
    expect(
      Object.keys(detectionTemplate.findOutputs('*')).filter((id) => id.startsWith('RuntimeCollector')),
    ).toEqual(['RuntimeCollectorLayerArnX8664']);
  });

  it('outputs each version ARN with how to attach it', () => {
    const { detectionTemplate } = synthesize(ENABLED);
    const [[arm64Id], [x86Id]] = collectorLayers(detectionTemplate) as [[string, unknown], [string, unknown]];

    const outputs = Object.fromEntries(
      Object.entries(detectionTemplate.findOutputs('*')).filter(([id]) => id.startsWith('RuntimeCollector')),
    );
    expect(outputs.RuntimeCollectorLayerArnArm64?.Value).toEqual({ Ref: arm64Id });
    expect(outputs.RuntimeCollectorLayerArnX8664?.Value).toEqual({ Ref: x86Id });
    for (const output of Object.values(outputs)) {
      expect(output.Description).toContain(`AWS_LAMBDA_EXEC_WRAPPER=${RUNTIME_COLLECTOR_WRAPPER}`);
      expect(output.Description).toContain('TRAILHOUND_MODE=enforce');
      expect(output.Description).toContain('TRAILHOUND_ROLE_ARN');
      expect(output.Description.length).toBeLessThanOrEqual(1024);
    }
  });

  it('is shared with the organization when one is configured, and with no one otherwise', () => {
    const shared = synthesize({ ...ENABLED, organizationId: ORG_ID }).detectionTemplate;
    const permissions = Object.values(shared.findResources('AWS::Lambda::LayerVersionPermission'));

    expect(permissions.map((p) => p.Properties)).toEqual(
      collectorLayers(shared).map(([id]) => ({
        Action: 'lambda:GetLayerVersion',
        LayerVersionArn: { Ref: id },
        Principal: '*',
        OrganizationId: ORG_ID,
      })),
    );
    const unshared = synthesize(ENABLED).detectionTemplate;
    expect(unshared.findResources('AWS::Lambda::LayerVersionPermission')).toEqual({});
  });

  it('passes cdk-nag', () => {
    const { detection } = synthesize({ ...ENABLED, organizationId: ORG_ID });

    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(detection);

    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });
});

describe('runtimeCollector configuration', () => {
  it('is off by default, for both architectures when turned on', () => {
    expect(parseConfig({}).runtimeCollector).toEqual({ enabled: false, architectures: ['arm64', 'x86_64'] });
    expect(parseConfig({ runtimeCollector: '{"enabled":true}' }).runtimeCollector).toEqual({
      enabled: true,
      architectures: ['arm64', 'x86_64'],
    });
  });

  it.each([
    [{ enabled: 'yes' }, 'runtimeCollector.enabled: must be true or false'],
    [{ architectures: ['i386'] }, 'runtimeCollector.architectures[0]: is not one of arm64, x86_64'],
    [{ architectures: ['arm64', 'arm64'] }, 'runtimeCollector.architectures[1]: arm64 is listed twice'],
    [{ architectures: [] }, 'runtimeCollector.architectures: must name at least one architecture'],
  ])('rejects %j', (runtimeCollector, problem) => {
    try {
      parseConfig({ runtimeCollector });
      expect.unreachable('the configuration was accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([problem]);
    }
  });
});

describe('building the layer', () => {
  it.skipIf(process.arch === 'arm64')(
    'fails with the Debian packages to install when the arm64 cross compiler is missing',
    () => {
      // A PATH on which nothing is found: the check runs before any build step.
      const env = { ...process.env, PATH: tempDir() };

      expect(() => buildRuntimeCollectorLayer('arm64', tempDir(), env)).toThrow(
        /aarch64-linux-gnu-gcc, which is not installed: .*apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross/,
      );
    },
  );

  it.skipIf(process.arch !== 'x64')(
    'bundles the x86_64 layer locally at synthesis, native collector included (native gcc, no Docker)',
    () => {
      const outdir = tempDir();
      const stack = new Stack(new App({ outdir }), 'Collector');
      new RuntimeCollectorLayer(stack, 'RuntimeCollector', { prefix: 'test', architectures: ['x86_64'] });

      const template = Template.fromStack(stack);

      const layer = Object.values(layersOf(template))[0];
      const assetDir = join(outdir, `asset.${String(layer?.Properties.Content.S3Key).replace(/\.zip$/, '')}`);
      const files = readdirSync(assetDir, { recursive: true, encoding: 'utf8' });
      expect(files).toEqual(expect.arrayContaining([...COLLECTOR_LAYER_FILES]));
      // Lambda starts executables only; the CLI's zip keeps the modes.
      for (const file of ['extensions/trailhound', 'trailhound/bin/trailhound-wrapper'])
        expect(statSync(join(assetDir, file)).mode & 0o111).toBe(0o111);
      // The library is built for the layer's architecture: ELF machine x86-64 (62).
      const elf = readFileSync(join(assetDir, 'trailhound/lib/libtrailhound.so'));
      expect(elf.readUInt16LE(18)).toBe(62);
    },
    60_000,
  );
});

describe('attachRuntimeCollector', () => {
  function nodeFunction(stack: Stack, architecture: Architecture, runtime = Runtime.NODEJS_22_X) {
    return new LambdaFunction(stack, `Fn${architecture.name}${runtime.name}`, {
      runtime,
      architecture,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => {};'),
    });
  }

  it("adds the layer of the function's architecture, the exec wrapper and the execution role", () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Customer');
    const layers = new RuntimeCollectorLayer(stack, 'RuntimeCollector', {
      prefix: 'test',
      architectures: ['arm64', 'x86_64'],
    });
    const fn = nodeFunction(stack, Architecture.ARM_64);

    attachRuntimeCollector(fn, layers, { mode: 'enforce', fail: 'closed', policy: 'connect:0.0.0.0/0:443' });

    const [properties] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties,
    );
    expect(properties.Layers).toEqual([{ Ref: expect.stringMatching(/^RuntimeCollectorArm64/) }]);
    expect(properties.Environment.Variables).toEqual({
      AWS_LAMBDA_EXEC_WRAPPER: '/opt/trailhound/bin/trailhound-wrapper',
      TRAILHOUND_MODE: 'enforce',
      TRAILHOUND_FAIL: 'closed',
      TRAILHOUND_POLICY: 'connect:0.0.0.0/0:443',
      TRAILHOUND_ROLE_ARN: { 'Fn::GetAtt': [expect.stringMatching(/Role/), 'Arn'] },
    });
  });

  it('takes an imported layer ARN, and ships to a queue it may send to', () => {
    const stack = new Stack(new App(), 'Customer');
    const fn = nodeFunction(stack, Architecture.X86_64);
    const arn = 'arn:aws:lambda:eu-west-1:111122223333:layer:trailhound-runtime-collector-x86_64:3';
    const queue = new Queue(stack, 'Records');

    attachRuntimeCollector(fn, LayerVersion.fromLayerVersionArn(stack, 'Collector', arn), {
      queue,
      tagRole: false,
    });

    const template = Template.fromStack(stack);
    const [properties] = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties,
    );
    expect(properties.Layers).toEqual([arn]);
    expect(Object.keys(properties.Environment.Variables).sort()).toEqual([
      'AWS_LAMBDA_EXEC_WRAPPER',
      'TRAILHOUND_SQS_URL',
    ]);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    expect(statements.flatMap((s) => s.Action)).toContain('sqs:SendMessage');
  });

  it('refuses runtimes without Node, an architecture not published, and enforce options without enforce', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Customer');
    const arm64Only = new RuntimeCollectorLayer(stack, 'RuntimeCollector', {
      prefix: 'test',
      architectures: ['arm64'],
    });

    expect(() =>
      attachRuntimeCollector(nodeFunction(stack, Architecture.ARM_64, Runtime.PYTHON_3_13), arm64Only),
    ).toThrow(/needs Node\.js and python3\.13 has none/);
    expect(() => attachRuntimeCollector(nodeFunction(stack, Architecture.X86_64), arm64Only)).toThrow(
      /no runtime collector layer is published for x86_64/,
    );
    expect(() =>
      attachRuntimeCollector(nodeFunction(stack, Architecture.ARM_64, Runtime.NODEJS_20_X), arm64Only, {
        policy: 'exec:/bin/*',
      }),
    ).toThrow(/enforce mode only/);
  });
});
