import { type Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { synthesize } from './synth.js';

// Every source on, a trail bucket in another account: the most the app can deploy.
const { app, storage, detection } = synthesize();

/** Every acknowledgement recorded in the app: rule id, where, and why. */
function acknowledgements(): { id: string; path: string; reason: string }[] {
  const all = (c: IConstruct): IConstruct[] => [c, ...c.node.children.flatMap(all)];
  return all(app).flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ id: id.replace(/^annotation::/i, ''), path: c.node.path, reason })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['storage', storage],
    ['detection', detection],
  ])('finds nothing unacknowledged in the %s stack, errors or warnings', (_name, stack: Stack) => {
    // After synthesis, as `cdk synth` runs the checks: cross-stack references are resolved then.
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);

    expect(
      report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
  });

  it('acknowledges only precise findings, on the resources concerned, each with a written reason', () => {
    const acks = acknowledgements();

    expect(new Set(acks.map((a) => a.id.replace(/\[.*$/, '')))).toEqual(
      new Set(['AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SQS3']),
    );
    for (const ack of acks) {
      if (ack.id.startsWith('AwsSolutions-IAM5'))
        expect(ack.id).toMatch(/^AwsSolutions-IAM5\[Resource::.+\]$/);
      expect(ack.reason.length).toBeGreaterThan(80);
      // Never on a whole stack: on the construct the finding belongs to.
      expect(ack.path.split('/').length).toBeGreaterThan(2);
    }
  });
});
