import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage, type ILocalBundling, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, type ILayerVersion, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { CollectorArchitecture } from '../config.js';
import { repoPath } from '../paths.js';
import { RUNTIME_COLLECTOR_WRAPPER, type RuntimeCollectorLayers } from './attach-runtime-collector.js';

const NATIVE_DIR = repoPath('native-collector');
const BUILD_SCRIPT = repoPath('scripts/build-layer.mjs');

/** The C compiler `native-collector/Makefile` uses for arm64 on any other machine, and its Debian packages. */
export const CROSS_COMPILER = 'aarch64-linux-gnu-gcc';
export const CROSS_COMPILER_PACKAGES = ['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'] as const;

/**
 * What a working layer holds, relative to its root (`/opt` in the function):
 * the launcher, the extension, the exec wrapper and the native collector. The
 * plain `npm run build:layer` goes on without the library when it cannot build
 * it; a layer published for customers must not, so its absence fails here.
 */
export const COLLECTOR_LAYER_FILES = [
  'extensions/trailhound',
  'trailhound-extension/index.mjs',
  'trailhound/bin/trailhound-wrapper',
  'trailhound/lib/libtrailhound.so',
] as const;

/**
 * The runtimes the layer works on. The extension is a Node program and this
 * layer carries no Node binary (`TRAILHOUND_NODE_BINARY` is cleared for the
 * build: it would add ~100 MB), so it runs on the Node.js runtimes only.
 */
export const COLLECTOR_RUNTIMES = [Runtime.NODEJS_20_X, Runtime.NODEJS_22_X] as const;

const LAMBDA_ARCHITECTURE: Record<CollectorArchitecture, Architecture> = {
  arm64: Architecture.ARM_64,
  x86_64: Architecture.X86_64,
};

function hostArchitecture(): CollectorArchitecture | undefined {
  if (process.arch === 'arm64') return 'arm64';
  if (process.arch === 'x64') return 'x86_64';
  return undefined;
}

/** Runs a command to completion; a failure throws with its last lines of output. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): void {
  const result = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (result.status === 0) return;
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  throw new Error(
    `${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})${output ? `:\n${output}` : ''}`,
  );
}

/** Whether `command` can be started at all (found on the `PATH` of `env`). */
function installed(command: string, env: NodeJS.ProcessEnv): boolean {
  return spawnSync(command, ['--version'], { env, stdio: 'ignore' }).error === undefined;
}

/**
 * Builds the runtime collector layer for `architecture` into `outputDir`, the
 * way `npm run build:layer` does (`--arch`, `--out`), but strictly: the native
 * collector is (re)built first with `make` (incremental: a stale library is
 * never shipped), and anything missing fails with what to do about it.
 */
export function buildRuntimeCollectorLayer(
  architecture: CollectorArchitecture,
  outputDir: string,
  environment: NodeJS.ProcessEnv = process.env,
): void {
  // The layer never carries Node (see COLLECTOR_RUNTIMES), and the architecture is the one asked for.
  const { TRAILHOUND_NODE_BINARY: _node, TRAILHOUND_ARCH: _arch, ...env } = environment;
  if (architecture !== hostArchitecture()) {
    if (architecture === 'x86_64')
      throw new Error(
        'the x86_64 runtime collector layer is built on an x86_64 machine only (native-collector/Makefile ' +
          'cross-compiles to arm64, not to x86_64): synthesize there, or set runtimeCollector.architectures to ["arm64"]',
      );
    if (!installed(CROSS_COMPILER, env))
      throw new Error(
        `the arm64 runtime collector layer needs the C cross compiler ${CROSS_COMPILER}, which is not installed: ` +
          `sudo apt-get install ${CROSS_COMPILER_PACKAGES.join(' ')} (Debian, Ubuntu), ` +
          'or set runtimeCollector.architectures to ["x86_64"]',
      );
  }
  if (!installed('make', env))
    throw new Error('the runtime collector layer needs make (and a C compiler) to build');
  run(
    'make',
    [
      '-C',
      NATIVE_DIR,
      '--no-print-directory',
      `ARCH=${architecture}`,
      `build/${architecture}/libtrailhound.so`,
    ],
    env,
  );
  run(process.execPath, [BUILD_SCRIPT, '--arch', architecture, '--out', outputDir, '--quiet'], env);
  const missing = COLLECTOR_LAYER_FILES.filter((file) => !existsSync(join(outputDir, file)));
  if (missing.length > 0)
    throw new Error(
      `the ${architecture} runtime collector layer is incomplete, missing: ${missing.join(', ')}`,
    );
}

/**
 * Local bundling (no Docker): runs the layer build for one architecture. The
 * architecture is an own property on purpose: CDK's asset cache keys on the
 * serialized bundling options, so the two layers never share a build.
 */
class CollectorLayerBuild implements ILocalBundling {
  constructor(readonly architecture: CollectorArchitecture) {}

  tryBundle(outputDir: string): boolean {
    buildRuntimeCollectorLayer(this.architecture, outputDir);
    // Never `false`: that would fall back to Docker, which builds nothing here.
    return true;
  }
}

export interface RuntimeCollectorLayerProps {
  /** Layer names start with it: `<prefix>-runtime-collector-<architecture>`. */
  readonly prefix: string;
  readonly architectures: readonly CollectorArchitecture[];
  /** Share the layer with every account of this organization (`lambda:GetLayerVersion`). */
  readonly organizationId?: string;
}

/**
 * The runtime collector (`lambda-layer/`) published as one layer per
 * architecture, for customers to attach to their own functions (see
 * `attachRuntimeCollector`). Built at synthesis by `scripts/build-layer.mjs`
 * with the native collector compiled for that architecture; the asset hash is
 * the hash of the built tree, so only a change of content publishes a version.
 *
 * Old versions are retained: functions in other stacks and accounts pin a
 * version ARN, and a deleted version can no longer be deployed with.
 */
export class RuntimeCollectorLayer extends Construct implements RuntimeCollectorLayers {
  readonly layers: ReadonlyMap<CollectorArchitecture, LayerVersion>;

  constructor(scope: Construct, id: string, props: RuntimeCollectorLayerProps) {
    super(scope, id);
    const layers = new Map<CollectorArchitecture, LayerVersion>();
    for (const architecture of props.architectures) {
      const layer = new LayerVersion(this, architecture === 'arm64' ? 'Arm64' : 'X8664', {
        layerVersionName: `${props.prefix}-runtime-collector-${architecture}`,
        description: `Trailhound runtime collector (${architecture}, Node.js runtimes): set AWS_LAMBDA_EXEC_WRAPPER=${RUNTIME_COLLECTOR_WRAPPER}`,
        code: Code.fromAsset(repoPath('lambda-layer'), {
          assetHashType: AssetHashType.OUTPUT,
          bundling: {
            local: new CollectorLayerBuild(architecture),
            // Required by the bundling API, never pulled: the local build succeeds or throws.
            image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
          },
        }),
        compatibleRuntimes: [...COLLECTOR_RUNTIMES],
        compatibleArchitectures: [LAMBDA_ARCHITECTURE[architecture]],
        license: 'Apache-2.0',
        removalPolicy: RemovalPolicy.RETAIN,
      });
      if (props.organizationId !== undefined)
        layer.addPermission('Organization', { accountId: '*', organizationId: props.organizationId });
      layers.set(architecture, layer);
    }
    this.layers = layers;
  }

  layerFor(architecture: Architecture): ILayerVersion {
    for (const [name, layer] of this.layers)
      if (LAMBDA_ARCHITECTURE[name].name === architecture.name) return layer;
    throw new Error(
      `no runtime collector layer is published for ${architecture.name} (runtimeCollector.architectures)`,
    );
  }
}
