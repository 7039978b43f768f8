import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { AssetHashType, DockerImage, type ILocalBundling, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ALERTING_FILE, SUPPRESSIONS_FILE } from '../../adapters/fs/alerting-config.js';
import { repoPath } from '../paths.js';

/** Where the layer's files appear in a function (layers are unpacked under `/opt`). */
export const RULES_DIR = '/opt/trailhound/rules';
export const NETWORK_DATA_DIR = '/opt/trailhound/network-data';
export const ALERTING_DIR = '/opt/trailhound/alerting';

const RULES_SOURCE = repoPath('detectors/rules');

/** The offline AS-number and country tables the network lookup reads, by npm package. */
const NETWORK_DATA = {
  '@ip-location-db/asn': ['asn-ipv4-num.csv', 'asn-ipv6-num.csv'],
  '@ip-location-db/asn-country': ['asn-country-ipv4-num.csv', 'asn-country-ipv6-num.csv'],
} as const;

/**
 * Fills the layer folder with plain file copies, done in this process: it
 * needs no tool, so it always succeeds and `cdk synth` works offline.
 *
 * - the rule library's YAML, in its folder layout (the TypeScript predicates
 *   beside it are compiled into each function's bundle, so they are left out);
 * - the four numeric CSVs of the network data, and the packages' licence files
 *   beside them, because the data is CC BY 4.0 and travels with its attribution.
 */
class LayerFiles implements ILocalBundling {
  tryBundle(outputDir: string): boolean {
    const inLayer = (layerPath: string, ...rest: string[]) =>
      join(outputDir, relative('/opt', layerPath), ...rest);
    for (const file of readdirSync(RULES_SOURCE, { recursive: true, encoding: 'utf8' }))
      if (/\.ya?ml$/.test(file)) copy(join(RULES_SOURCE, file), inLayer(RULES_DIR, file));
    const require = createRequire(import.meta.url);
    for (const [pkg, files] of Object.entries(NETWORK_DATA)) {
      const packageDir = dirname(require.resolve(`${pkg}/package.json`));
      for (const file of files) copy(join(packageDir, file), inLayer(NETWORK_DATA_DIR, file));
      for (const file of readdirSync(packageDir))
        if (/LICENSE|README/.test(file))
          copy(join(packageDir, file), inLayer(NETWORK_DATA_DIR, 'licenses', basename(pkg), file));
    }
    return true;
  }
}

function copy(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

/**
 * One Lambda layer with the data every detection function reads at init:
 * the rule YAML under {@link RULES_DIR} and the network tables under
 * {@link NETWORK_DATA_DIR}. Shipping data in a layer rather than in each
 * bundle keeps the 40 MB of tables out of five function packages and lets
 * the rules change without touching the code.
 */
export class TrailhoundDataLayer extends Construct {
  readonly layer: LayerVersion;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.layer = new LayerVersion(this, 'Layer', {
      description: 'Trailhound rules (YAML) and offline network data (ip-location-db, CC BY 4.0)',
      code: Code.fromAsset(RULES_SOURCE, {
        // The hash of what is shipped, not of the rule folder alone: new network data is a new version.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new LayerFiles(),
          // Required by the bundling API, never pulled: local bundling cannot fail.
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
        },
      }),
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      compatibleArchitectures: [Architecture.ARM_64],
      license: 'Apache-2.0 (rules), CC-BY-4.0 (network data)',
      // Each deployment publishes the version it needs; old versions serve nothing.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

/** Copies the two files `readAlertingConfigDir` reads, and nothing else of the folder. */
class AlertingFiles implements ILocalBundling {
  constructor(private readonly sourceDir: string) {}

  tryBundle(outputDir: string): boolean {
    for (const file of [ALERTING_FILE, SUPPRESSIONS_FILE]) {
      const from = join(this.sourceDir, file);
      if (existsSync(from)) copy(from, join(outputDir, relative('/opt', ALERTING_DIR), file));
    }
    return true;
  }
}

export interface AlertingConfigLayerProps {
  /** The folder of `alerting.yml` and `suppressions.yml` (already validated by the configuration). */
  readonly alertingDir: string;
}

/**
 * A small layer of its own with the alerting configuration, `alerting.yml`
 * and `suppressions.yml`, under {@link ALERTING_DIR}; only the alerting
 * functions carry it. Kept out of {@link TrailhoundDataLayer} on purpose:
 * suppressions change often (owners renew them before they expire), and each
 * change then publishes a layer of a few kilobytes and updates two functions,
 * instead of republishing 40 MB of network data and every ingest function.
 * The asset hash is the hash of the copied files, so any edit is a new version.
 */
export class AlertingConfigLayer extends Construct {
  readonly layer: LayerVersion;

  constructor(scope: Construct, id: string, props: AlertingConfigLayerProps) {
    super(scope, id);
    this.layer = new LayerVersion(this, 'Layer', {
      description: 'Trailhound alerting configuration (alerting.yml, suppressions.yml)',
      code: Code.fromAsset(props.alertingDir, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new AlertingFiles(props.alertingDir),
          // Required by the bundling API, never pulled: local bundling cannot fail.
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
        },
      }),
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      compatibleArchitectures: [Architecture.ARM_64],
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
