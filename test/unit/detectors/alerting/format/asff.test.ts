/**
 * An incident as one ASFF finding, updated in place.
 */
import { describe, expect, it } from 'vitest';
import {
  ASFF_LIMITS,
  asffResource,
  sanitizeProductFields,
  toAsffFinding,
} from '../../../../../detectors/alerting/format/asff.js';
import { changeState } from '../../../../../detectors/alerting/incident.js';
import {
  ACCOUNT,
  ALICE,
  escalatingFindings,
  foldAll,
  makeAlertFinding,
} from '../../../../helpers/alert-findings.js';
import { validate } from '../../../../helpers/fake-securityhub-server.js';

const OPTIONS = {
  region: 'us-east-1',
  accountId: ACCOUNT,
  runbookBaseUrl: 'https://runbooks.example/rules/',
};
const PRODUCT_ARN = `arn:aws:securityhub:us-east-1:${ACCOUNT}:product/${ACCOUNT}/default`;

describe('toAsffFinding', () => {
  it('keeps one finding per incident across an escalation, severity raised in FindingProviderFields', () => {
    // Prepare
    const updates = foldAll(escalatingFindings());
    // Act
    const findings = updates.map((u) => toAsffFinding(u, OPTIONS));
    // Assess
    expect(updates.map((u) => u.change)).toEqual(['opened', 'escalated', 'escalated']);
    expect(new Set(findings.map((f) => f.Id))).toEqual(new Set([updates[0]?.incident.key]));
    const updatedAt = findings.map((f) => f.UpdatedAt);
    expect([...updatedAt].sort()).toEqual(updatedAt);
    expect(new Set(updatedAt).size).toBe(3);
    expect(findings.map((f) => f.FindingProviderFields.Severity.Label)).toEqual(['LOW', 'HIGH', 'CRITICAL']);
    expect(findings.map((f) => f.CreatedAt)).toEqual(Array(3).fill('2025-03-01T10:00:00.000Z'));
    const last = findings[2]!;
    expect(last).toMatchObject({
      SchemaVersion: '2018-10-08',
      ProductArn: PRODUCT_ARN,
      AwsAccountId: ACCOUNT,
      GeneratorId: 'trailhound/aws.discovery.iam-enumeration',
      RecordState: 'ACTIVE',
      Workflow: { Status: 'NEW' },
      Severity: { Label: 'CRITICAL', Original: 'critical' },
    });
    expect(last.FindingProviderFields.Types).toEqual(last.Types);
    expect(last.Types).toEqual(
      expect.arrayContaining([
        'TTPs/Discovery',
        'TTPs/Persistence',
        'TTPs/Defense Evasion',
        'TTPs/Discovery/T1087.004 Account Discovery: Cloud Account',
        'TTPs/Persistence/T1098.001 Account Manipulation: Additional Cloud Credentials',
        'TTPs/Defense Evasion/T1562.008 Impair Defenses: Disable or Modify Cloud Logs',
      ]),
    );
    // Earlier findings' resources are carried, with the actor first.
    expect(last.Resources.map((r) => [r.Type, r.Id])).toEqual([
      ['AwsIamUser', ALICE],
      ['Other', `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/org`],
      ['AwsIamUser', `arn:aws:iam::${ACCOUNT}:user/bob`],
    ]);
    expect(last.ProductFields).toMatchObject({
      'trailhound/revision': '3',
      'trailhound/actor': ALICE,
      'trailhound/cloud/provider': 'AWS',
      'trailhound/cloud/account': ACCOUNT,
      'trailhound/tactics': 'Defense Evasion,Discovery,Persistence',
    });
    expect(last.Network).toEqual({ Direction: 'IN', SourceIpV4: '203.0.113.7' });
    expect(last.Action).toMatchObject({
      ActionType: 'AWS_API_CALL',
      AwsApiCallAction: {
        Api: 'StopLogging',
        ServiceName: 'cloudtrail.amazonaws.com',
        RemoteIpDetails: { IpAddressV4: '203.0.113.7' },
      },
    });
    expect(last.Remediation?.Recommendation.Url).toBe(
      'https://runbooks.example/rules/aws.defense-evasion.cloudtrail-trail-weakened',
    );
    for (const f of findings) expect(validate(f as unknown as Record<string, unknown>)).toBeUndefined();
  });

  it('archives a resolved incident and maps acknowledged to NOTIFIED', () => {
    const [opened] = foldAll([makeAlertFinding()]);
    const acknowledged = changeState(
      opened!.incident,
      'acknowledged',
      'carol',
      opened!.incident.updated_at + 5,
    )!;
    const resolved = changeState(
      acknowledged.incident,
      'resolved',
      'carol',
      acknowledged.incident.updated_at + 5,
    )!;
    const ack = toAsffFinding(acknowledged, OPTIONS);
    const done = toAsffFinding(resolved, OPTIONS);
    expect([ack.RecordState, ack.Workflow.Status]).toEqual(['ACTIVE', 'NOTIFIED']);
    expect([done.RecordState, done.Workflow.Status]).toEqual(['ARCHIVED', 'RESOLVED']);
    expect(done.Id).toBe(opened!.incident.key);
    expect(done.UpdatedAt > ack.UpdatedAt).toBe(true);
    expect(done.ProductFields['trailhound/state_changed_by']).toBe('carol');
  });

  it('orders two revisions processed in the same millisecond', () => {
    const [opened] = foldAll([makeAlertFinding()]);
    const same = changeState(opened!.incident, 'acknowledged', 'carol', opened!.incident.updated_at)!;
    expect(toAsffFinding(same, OPTIONS).UpdatedAt > toAsffFinding(opened!, OPTIONS).UpdatedAt).toBe(true);
  });

  it('files a GCP incident under the deploying account, the project in ProductFields and Other', () => {
    const [update] = foldAll([
      makeAlertFinding({
        cloud: { provider: 'GCP', account: 'prod-project', region: 'europe-west1' },
        actor: { principal: 'mallory@example.com', type: 'User', ip: '2001:db8::1' },
        evidence: { operations: ['iam:SetIamPolicy'] },
      }),
    ]);
    const finding = toAsffFinding(update!, OPTIONS);
    expect(finding.AwsAccountId).toBe(ACCOUNT);
    expect(finding.ProductFields['trailhound/cloud/account']).toBe('prod-project');
    expect(finding.Resources[0]).toEqual({
      Type: 'Other',
      Id: 'mallory@example.com',
      Details: {
        Other: { 'cloud.provider': 'GCP', 'cloud.account': 'prod-project', id: 'mallory@example.com' },
      },
    });
    expect(finding.Network).toEqual({ Direction: 'IN', SourceIpV6: '2001:db8::1' });
    expect(finding.Action).toBeUndefined();
    expect(validate(finding as unknown as Record<string, unknown>)).toBeUndefined();
  });

  it('marks baseline findings as unusual user behaviour, and impact by technique', () => {
    const [update] = foldAll([
      makeAlertFinding({
        rule: { uid: 'aws.impact.crypto-mining', tags: ['baseline'] },
        attack: [{ tactic: 'Impact', technique_id: 'T1496', technique_name: 'Resource Hijacking' }],
      }),
    ]);
    const finding = toAsffFinding(update!, OPTIONS);
    expect(finding.Types).toEqual(
      expect.arrayContaining([
        'Effects/Data Destruction',
        'Effects/Resource Consumption/T1496 Resource Hijacking',
        'Unusual Behaviors/User',
      ]),
    );
  });

  it('keeps to ASFF limits', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ uid: `arn:aws:s3:::bucket-${i}` }));
    const [update] = foldAll([
      makeAlertFinding({
        rule: { name: 'x'.repeat(400) },
        explanation: 'y'.repeat(3000),
        runbook: 'z'.repeat(900),
        resources: many,
      }),
    ]);
    const finding = toAsffFinding(update!, OPTIONS);
    expect(finding.Title.length).toBeLessThanOrEqual(ASFF_LIMITS.title);
    expect(finding.Description.length).toBeLessThanOrEqual(ASFF_LIMITS.description);
    expect(finding.Remediation?.Recommendation.Text?.length).toBeLessThanOrEqual(512);
    expect(finding.Resources).toHaveLength(32);
    expect(finding.Resources[1]).toMatchObject({
      Type: 'AwsS3Bucket',
      Id: 'arn:aws:s3:::bucket-0',
      Partition: 'aws',
    });
    expect(validate(finding as unknown as Record<string, unknown>)).toBeUndefined();
    const fields = sanitizeProductFields({
      'has space/and*star': 'v',
      empty: '',
      long: 'v'.repeat(3000),
      ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v'])),
    });
    expect(Object.keys(fields)).toHaveLength(50);
    expect(fields['has_space/and_star']).toBe('v');
    expect(fields.empty).toBeUndefined();
    expect(fields.long).toHaveLength(2048);
  });

  it('types resources by ARN shape', () => {
    const context = { provider: 'AWS', account: ACCOUNT };
    const types = [
      `arn:aws:iam::${ACCOUNT}:role/admin`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/admin/session`,
      `arn:aws:iam::${ACCOUNT}:user/alice`,
      'AKIAIOSFODNN7EXAMPLE',
      'arn:aws:s3:::logs',
      `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:fn`,
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0abc`,
      `arn:aws-us-gov:kms:us-gov-west-1:${ACCOUNT}:key/1234`,
      `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/t`,
    ].map((id) => asffResource(id, context));
    expect(types.map((r) => r.Type)).toEqual([
      'AwsIamRole',
      'AwsIamRole',
      'AwsIamUser',
      'AwsIamAccessKey',
      'AwsS3Bucket',
      'AwsLambdaFunction',
      'AwsEc2Instance',
      'AwsKmsKey',
      'Other',
    ]);
    expect(types[5]).toMatchObject({ Region: 'eu-west-1', Partition: 'aws' });
    expect(types[7]).toMatchObject({ Partition: 'aws-us-gov', Region: 'us-gov-west-1' });
  });
});
