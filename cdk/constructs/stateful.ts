import { type CfnResource, RemovalPolicy } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Keeps a stateful resource (a key, a table, a bucket, an archive) safe from
 * the two ways a CDK change can destroy data: its CloudFormation resource is
 * retained when removed from the stack or replaced, and its logical id is
 * fixed rather than derived from the construct path, so moving or renaming
 * the construct in a refactor is an update, never a replacement. The tests
 * pin these ids; changing one is a data migration, not a refactor.
 */
export function pinStatefulResource(construct: IConstruct, logicalId: string): void {
  const resource = construct.node.defaultChild as CfnResource;
  resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
  resource.overrideLogicalId(logicalId);
}
