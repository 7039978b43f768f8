import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { AssetHashType, DockerImage, type ILocalBundling, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { repoPath } from '../paths.js';

/** Where the layer's files appear in a function (layers are unpacked under `/opt`). */
export const RULES_DIR = '/opt/trailhound/rules';
export const NETWORK_DATA_DIR = '/opt/trailhound/network-data';

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
