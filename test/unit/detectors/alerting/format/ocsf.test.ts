/**
 * An incident update as an OCSF Detection Finding.
 */
import { describe, expect, it } from 'vitest';
import {
  findingToOcsf,
  OcsfDetectionFinding,
  toOcsfDetectionFinding,
} from '../../../../../detectors/alerting/format/ocsf.js';
import { changeState } from '../../../../../detectors/alerting/incident.js';
import {
  ACCOUNT,
  ALICE,
  escalatingFindings,
  foldAll,
  makeAlertFinding,
} from '../../../../helpers/alert-findings.js';

const OPTIONS = { productVersion: '0.1.0' };

describe('toOcsfDetectionFinding', () => {
  it('creates, updates and closes one finding per incident', () => {
    // Prepare
    const updates = foldAll(escalatingFindings());
    const last = updates[2]!;
    const resolved = changeState(last.incident, 'resolved', 'carol', last.incident.updated_at + 1)!;
    // Act
    const out = [...updates, resolved].map((u) =>
      OcsfDetectionFinding.parse(toOcsfDetectionFinding(u, OPTIONS)),
    );
    // Assess
    expect(out.map((f) => [f.activity_id, f.type_uid])).toEqual([
      [1, 200401],
      [2, 200402],
      [2, 200402],
      [3, 200403],
    ]);
    expect(new Set(out.map((f) => f.finding_info.uid)).size).toBe(1);
    expect(out.map((f) => f.severity_id)).toEqual([2, 4, 5, 5]);
    expect(out.map((f) => f.status_id)).toEqual([1, 1, 1, 4]);
    const third = out[2]!;
    expect(third).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      metadata: { product: { name: 'Trailhound', version: '0.1.0' } },
      cloud: { provider: 'AWS', account: { uid: ACCOUNT }, region: 'us-east-1' },
      actor: { user: { uid: ALICE, name: 'alice', type: 'IAMUser' } },
      src_endpoint: { ip: '203.0.113.7' },
      risk_score: 85,
    });
    expect(third.finding_info.related_events.map((e) => e.title)).toEqual([
      'IAM enumeration',
      'Access key created for another user',
      'CloudTrail trail weakened',
    ]);
    expect(third.finding_info.analytic).toEqual({
      name: 'CloudTrail trail weakened',
      uid: 'aws.defense-evasion.cloudtrail-trail-weakened',
      type_id: 1,
      type: 'Rule',
    });
    expect(third.finding_info.attacks).toEqual(
      expect.arrayContaining([
        {
          tactic: { name: 'Defense Evasion', uid: 'TA0005' },
          technique: { uid: 'T1562.008', name: 'Impair Defenses: Disable or Modify Cloud Logs' },
          version: 'v15',
        },
        { tactic: { name: 'Discovery', uid: 'TA0007' }, version: 'v15' },
      ]),
    );
    expect(third.finding_info.modified_time).toBeGreaterThan(out[1]!.finding_info.modified_time);
    expect(third.finding_info.first_seen_time).toBe(updates[0]!.incident.opened_at);
  });

  it('marks an acknowledged incident in progress', () => {
    const [opened] = foldAll(escalatingFindings().slice(0, 1));
    const ack = changeState(opened!.incident, 'acknowledged', 'carol', opened!.incident.updated_at + 1)!;
    const finding = OcsfDetectionFinding.parse(toOcsfDetectionFinding(ack, OPTIONS));
    expect([finding.activity_name, finding.status]).toEqual(['Update', 'In Progress']);
  });
});

describe('findingToOcsf', () => {
  it('maps a finding alone as the incident form maps it: its own uid, created, new', () => {
    // Prepare
    const finding = escalatingFindings()[2]!;
    const [opened] = foldAll([finding]);
    // Act
    const alone = OcsfDetectionFinding.parse(findingToOcsf(finding, OPTIONS));
    const incident = OcsfDetectionFinding.parse(toOcsfDetectionFinding(opened!, OPTIONS));
    // Assess
    expect(alone).toMatchObject({
      activity_id: 1,
      type_uid: 200401,
      severity: 'High',
      status: 'New',
      risk_score: 85,
      time: finding.time,
      metadata: { uid: finding.finding_uid, log_name: 'findings', product: { version: '0.1.0' } },
      finding_info: {
        uid: finding.finding_uid,
        title: 'CloudTrail trail weakened',
        desc: 'alice stopped logging on the organization trail.',
        types: ['Trailhound Finding', 'Defense Evasion'],
        first_seen_time: finding.first_seen,
        last_seen_time: finding.last_seen,
        related_events: [{ uid: 'e-20' }],
      },
      resources: [
        { uid: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/org`, type: 'AWS::CloudTrail::Trail' },
      ],
      unmapped: {
        trailhound: {
          count: 3,
          rule: { source: 'trailhound', maturity: 'stable' },
          operations: ['cloudtrail:StopLogging'],
          runbook: expect.any(String),
        },
      },
    });
    // The shared pieces are the same in both forms.
    for (const field of [
      'cloud',
      'actor',
      'src_endpoint',
      'severity_id',
      'class_uid',
      'category_uid',
    ] as const)
      expect(alone[field]).toEqual(incident[field]);
    expect(alone.finding_info.analytic).toEqual(incident.finding_info.analytic);
    expect(alone.finding_info.attacks).toEqual(incident.finding_info.attacks);
  });

  it('keeps behavioural analyses, which OCSF 1.1 has no attribute for, unmapped', () => {
    const finding = makeAlertFinding({
      anomaly_analyses: [
        { analysis_targets: [{ name: ALICE, type: 'principal' }], score: 70, anomalies: [], baselines: [] },
      ],
    });
    const out = OcsfDetectionFinding.parse(findingToOcsf(finding, OPTIONS));
    expect(out.unmapped?.trailhound).toMatchObject({ anomaly_analyses: finding.anomaly_analyses });
  });
});
