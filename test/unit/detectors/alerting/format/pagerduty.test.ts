import { describe, expect, it } from 'vitest';
import {
  PAGERDUTY_SEVERITY,
  pagerDutyAction,
  pagerDutyEvent,
} from '../../../../../detectors/alerting/format/pagerduty.js';
import type { IncidentChange } from '../../../../../detectors/alerting/incident.js';
import { HOUR, makeFinding, T0 } from '../../../../helpers/findings.js';
import { foldAll, stateUpdate } from '../../../../helpers/incident-story.js';

const OPTIONS = {
  runbookBaseUrl: 'https://runbooks.example.com/trailhound',
  incidentUrl: (i: { key: string }) => `https://trailhound.example.com/incidents/${i.key}`,
};

describe('PagerDuty events', () => {
  it('maps changes to actions and severities as documented', () => {
    const actions: Record<IncidentChange, string | undefined> = {
      opened: 'trigger',
      escalated: 'trigger',
      updated: 'trigger',
      reopened: 'trigger',
      acknowledged: 'acknowledge',
      resolved: 'resolve',
      recorded: undefined,
    };
    for (const [change, action] of Object.entries(actions))
      expect(pagerDutyAction(change as IncidentChange)).toBe(action);
    expect(PAGERDUTY_SEVERITY).toEqual({
      info: 'info',
      low: 'warning',
      medium: 'warning',
      high: 'error',
      critical: 'critical',
    });
  });

  it('trigger: dedup_key is the incident key; payload, details and links filled; no routing key', () => {
    // Prepare
    const [opened] = foldAll([
      makeFinding({
        severity: 'high',
        resources: [{ uid: 'arn:aws:s3:::payroll' }],
        evidence: { event_uids: ['ev-1'], operations: ['s3:GetObject'] },
      }),
    ]);

    // Act
    const event = pagerDutyEvent(opened!, OPTIONS);

    // Assess
    expect(event).toMatchObject({
      event_action: 'trigger',
      dedup_key: opened!.incident.key,
      client: 'Trailhound',
      client_url: `https://trailhound.example.com/incidents/${opened!.incident.key}`,
      payload: {
        severity: 'error',
        source: 'aws:111122223333/us-east-1',
        timestamp: new Date(T0).toISOString(),
        component: 'arn:aws:iam::111122223333:user/mallory',
        group: '111122223333',
        class: 'aws.discovery.test-rule',
      },
    });
    expect(event).not.toHaveProperty('routing_key');
    expect(event?.payload?.summary).toBe(
      '[HIGH] IAM users listed from a new network — mallory (AWS 111122223333 us-east-1)',
    );
    expect(event?.payload?.custom_details).toMatchObject({
      actor: 'arn:aws:iam::111122223333:user/mallory',
      account: '111122223333',
      region: 'us-east-1',
      rules: ['aws.discovery.test-rule'],
      tactics: ['Discovery'],
      evidence: { event_uids: ['ev-1'], operations: ['s3:GetObject'], resources: ['arn:aws:s3:::payroll'] },
    });
    expect((event?.payload?.custom_details?.timeline as string[] | undefined)?.[0]).toContain(
      'IAM users listed',
    );
    expect((event?.payload?.custom_details?.forensic_queries as string[] | undefined)?.[0]).toContain(
      "eventID IN ('ev-1')",
    );
    expect(event?.links?.map((l) => l.href)).toEqual([
      `https://trailhound.example.com/incidents/${opened!.incident.key}`,
      'https://runbooks.example.com/trailhound/aws.discovery.test-rule',
      'https://attack.mitre.org/techniques/T1087/004/',
    ]);
  });

  it('a summary is at most 1024 characters, without control characters', () => {
    const [opened] = foldAll([
      makeFinding({ actor: { principal: `evil\n${'x'.repeat(3000)}`, type: 'IAMUser' } }),
    ]);

    const summary = pagerDutyEvent(opened!)?.payload?.summary ?? '';

    expect(summary.length).toBeLessThanOrEqual(1024);
    expect(summary).not.toMatch(/[\n\r]/);
    expect(summary.endsWith('…')).toBe(true);
  });

  it('acknowledge and resolve carry only the dedup key; recorded sends nothing', () => {
    const [opened] = foldAll([makeFinding()]);
    const acknowledged = stateUpdate(opened!.incident, 'acknowledged');
    const resolved = stateUpdate(acknowledged.incident, 'resolved');
    const recorded = foldAll(
      [makeFinding({ finding_uid: opened!.finding!.finding_uid, count: 2, last_seen: T0 + HOUR })],
      resolved.incident,
    );

    expect(pagerDutyEvent(acknowledged)).toEqual({
      event_action: 'acknowledge',
      dedup_key: opened!.incident.key,
      client: 'Trailhound',
    });
    expect(pagerDutyEvent(resolved)?.event_action).toBe('resolve');
    expect(pagerDutyEvent(resolved)?.payload).toBeUndefined();
    expect(recorded[0]?.change).toBe('recorded');
    expect(pagerDutyEvent(recorded[0]!)).toBeUndefined();
  });

  it('escalated triggers again at the new severity, saying so', () => {
    const updates = foldAll([
      makeFinding({ severity: 'high' }),
      makeFinding({ finding_uid: 'f-2', severity: 'high', tactic: 'Persistence' }),
    ]);

    const event = pagerDutyEvent(updates[1]!);

    expect(updates[1]?.change).toBe('escalated');
    expect(event?.payload?.severity).toBe('critical');
    expect(event?.payload?.summary).toMatch(/^Escalated: \[CRITICAL\]/);
  });
});
