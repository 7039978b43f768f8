/**
 * Acknowledging cdk-nag findings precisely. cdk-nag names each wildcard
 * resource of an IAM policy in its finding id (`AwsSolutions-IAM5[Resource::…]`),
 * written with its own flattening of the CloudFormation value
 * (`<Bucket.Arn>/quarantine/*`, `arn:<AWS::Partition>:s3:::…`). An
 * acknowledgement must repeat that text exactly, so it is computed here with
 * cdk-nag's own function instead of being typed by hand.
 */
import { Stack, Validations } from 'aws-cdk-lib';
// Not part of cdk-nag's documented API: a cdk-nag upgrade that moves it fails the nag test loudly.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/** Acknowledges the IAM5 finding for `resource` (an ARN with a wildcard, tokens allowed) on `scope` and below. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const text = flattenCfnReference(Stack.of(scope).resolve(resource));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${text}]`, reason });
}
