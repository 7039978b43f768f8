/**
 * Attaching Trailhound's runtime collector layer (`lambda-layer/`) to a Lambda
 * function, for customers' own CDK apps. This file depends on `aws-cdk-lib`
 * only: import it from a checkout of Trailhound, or copy it into your app.
 */
import {
  Architecture,
  type ILayerVersion,
  type Function as LambdaFunction,
  RuntimeFamily,
} from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

/** Where the layer's exec wrapper is in a function (layers are unpacked under `/opt`). */
export const RUNTIME_COLLECTOR_WRAPPER = '/opt/trailhound/bin/trailhound-wrapper';

/** The runtime collector layers of a deployment, one per architecture (`RuntimeCollectorLayer`). */
export interface RuntimeCollectorLayers {
  /** The layer for functions of `architecture`; fails when none was published for it. */
  layerFor(architecture: Architecture): ILayerVersion;
}

export interface AttachRuntimeCollectorOptions {
  /** `monitor` (default): record only. `enforce`: also deny what `policy` does not allow. */
  readonly mode?: 'monitor' | 'enforce';
  /** Enforce mode, when the collector itself fails: `open` (default, the call proceeds) or `closed`. */
  readonly fail?: 'open' | 'closed';
  /** The enforce-mode allow-list (`TRAILHOUND_POLICY`), e.g. `exec:/var/lang/bin/*,connect:0.0.0.0/0:443`. */
  readonly policy?: string;
  /** Ship records to this queue (`TRAILHOUND_SQS_URL`, with `sqs:SendMessage` granted) instead of the function's log. */
  readonly queue?: IQueue;
  /** Tag records with the execution role (`TRAILHOUND_ROLE_ARN`); default true. */
  readonly tagRole?: boolean;
  /**
   * The extension is a Node program and the layer carries no Node binary: it
   * runs on Node.js runtimes only, and attaching it to another runtime throws.
   * Set this when your layer was built with `TRAILHOUND_NODE_BINARY` (see
   * `lambda-layer/README.md`).
   */
  readonly layerBundlesNode?: boolean;
}

/**
 * Adds the runtime collector to `fn`: the layer (of the function's architecture
 * when given `RuntimeCollectorLayers`), `AWS_LAMBDA_EXEC_WRAPPER` (which
 * preloads the native collector into the runtime), and the options' variables.
 *
 * ```ts
 * const layer = LayerVersion.fromLayerVersionArn(this, 'Trailhound', '<RuntimeCollectorLayerArnArm64>');
 * attachRuntimeCollector(fn, layer, { mode: 'enforce', policy: 'connect:0.0.0.0/0:443' });
 * ```
 *
 * An imported layer cannot say its architecture: give the ARN published for
 * the function's (`RuntimeCollectorLayerArnArm64` or `…X8664`).
 */
export function attachRuntimeCollector(
  fn: LambdaFunction,
  layer: ILayerVersion | RuntimeCollectorLayers,
  options: AttachRuntimeCollectorOptions = {},
): void {
  if (fn.runtime.family !== RuntimeFamily.NODEJS && !options.layerBundlesNode)
    throw new Error(
      `${fn.node.path}: the runtime collector's extension needs Node.js and ${fn.runtime.name} has none; ` +
        'build the layer with TRAILHOUND_NODE_BINARY and pass layerBundlesNode: true (lambda-layer/README.md)',
    );
  if (options.fail !== undefined && options.mode !== 'enforce')
    throw new Error(`${fn.node.path}: fail applies to enforce mode only`);
  if (options.policy !== undefined && options.mode !== 'enforce')
    throw new Error(`${fn.node.path}: a policy applies to enforce mode only`);

  fn.addLayers('layerFor' in layer ? layer.layerFor(fn.architecture ?? Architecture.X86_64) : layer);
  fn.addEnvironment('AWS_LAMBDA_EXEC_WRAPPER', RUNTIME_COLLECTOR_WRAPPER);
  if (options.mode !== undefined) fn.addEnvironment('TRAILHOUND_MODE', options.mode);
  if (options.fail !== undefined) fn.addEnvironment('TRAILHOUND_FAIL', options.fail);
  if (options.policy !== undefined) fn.addEnvironment('TRAILHOUND_POLICY', options.policy);
  if (options.queue !== undefined) {
    fn.addEnvironment('TRAILHOUND_SQS_URL', options.queue.queueUrl);
    options.queue.grantSendMessages(fn);
  }
  if ((options.tagRole ?? true) && fn.role !== undefined)
    fn.addEnvironment('TRAILHOUND_ROLE_ARN', fn.role.roleArn);
}
