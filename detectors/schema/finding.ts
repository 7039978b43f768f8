/**
 * The finding contract: what Trailhound emits to every destination (stdout,
 * EventBridge, Slack, PagerDuty, Security Hub). Aligned with OCSF Detection
 * Finding (class 2004). Fields are only ever added; renames need a new major
 * version of `schema_version`.
 */
import { z } from 'zod';
import { CloudProvider } from './common.js';

export const FINDING_SCHEMA_VERSION = '1.0.0';

export const Severity = z
  .enum(['info', 'low', 'medium', 'high', 'critical'])
  .describe('How urgent: `critical` pages, `info` is context.');
export type Severity = z.infer<typeof Severity>;

export const SEVERITY_ORDER: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export const AttackRef = z
  .object({
    tactic: z.string().describe('ATT&CK tactic name, e.g. `Defense Evasion`.'),
    technique_id: z.string().describe('ATT&CK technique or sub-technique id, e.g. `T1562.008`.'),
    technique_name: z.string().describe('ATT&CK technique name.'),
  })
  .describe('An ATT&CK technique the behaviour maps to.');
export type AttackRef = z.infer<typeof AttackRef>;

const Observation = z.object({
  parameter: z.string().describe('Feature observed.'),
  value: z.string().describe('Value observed, or the usual values for a baseline.'),
});

/** OCSF Anomaly Analysis: what departed from which baseline. */
export const AnomalyAnalysis = z
  .object({
    analysis_targets: z
      .array(
        z.object({
          name: z.string().describe('Subject whose profile was used.'),
          type: z.string().describe('Subject kind.'),
        }),
      )
      .describe('Whose baseline.'),
    score: z.number().describe('0–100 rarity of the event for this subject.'),
    anomalies: z
      .array(
        z.object({
          observation_parameter: z.string().describe('Feature group.'),
          observation_type: z.string().describe('`Value`, or `Frequency` for volume and hours.'),
          observed_pattern: z.string().describe('UNSEEN, RARE, INFREQUENT or FREQUENT.'),
          observations: z.array(Observation).describe('What was observed.'),
          text: z.string().describe('The departure as a sentence.'),
        }),
      )
      .describe('Departures from the baseline.'),
    baselines: z
      .array(
        z.object({
          observation_parameter: z.string().describe('Feature group.'),
          observations: z.array(Observation).describe('Usual values.'),
        }),
      )
      .describe('The baseline each departure is measured against.'),
  })
  .describe('One subject’s behavioural analysis.');
export type AnomalyAnalysis = z.infer<typeof AnomalyAnalysis>;

export const Finding = z
  .object({
    schema_version: z.literal(FINDING_SCHEMA_VERSION).describe('Version of this contract.'),
    class_uid: z.literal(2004).describe('OCSF class: Detection Finding.'),
    finding_uid: z
      .string()
      .describe(
        'Stable id: the same events always give the same id, so replays and re-scans do not duplicate.',
      ),
    time: z.number().describe('When the finding was last updated, epoch milliseconds.'),
    first_seen: z.number().describe('Event time of the first matching event, epoch milliseconds.'),
    last_seen: z.number().describe('Event time of the last matching event, epoch milliseconds.'),
    count: z.number().int().describe('Distinct matching events folded into this finding.'),
    rule: z
      .object({
        uid: z.string().describe('Stable rule id.'),
        name: z.string().describe('Rule title.'),
        source: z.string().describe('Where the rule came from: `trailhound`, `sigma`, or a custom folder.'),
        maturity: z.enum(['stable', 'test', 'experimental']).describe('Rule maturity.'),
        tags: z
          .array(z.string())
          .optional()
          .describe('The rule’s tags (`baseline`…), for routing and suppression.'),
      })
      .describe('The rule that fired.'),
    severity: Severity,
    risk_score: z
      .number()
      .min(0)
      .max(100)
      .describe('0–100: severity, adjusted by behavioural scoring when enabled.'),
    attack: z.array(AttackRef).describe('ATT&CK mapping.'),
    cloud: z
      .object({
        provider: CloudProvider,
        account: z.string().describe('Account id, project or subscription.'),
        region: z.string().optional().describe('Region of the first matching event.'),
      })
      .describe('Where it happened.'),
    actor: z
      .object({
        principal: z
          .string()
          .describe('The ARN, email or UPN of the actor (an assumed role resolves to its role).'),
        type: z.string().describe('Principal type.'),
        session: z.string().optional().describe('Session name or ARN, when temporary credentials were used.'),
        ip: z.string().optional().describe('Source IP of the first matching event.'),
        user_agent: z.string().optional().describe('User agent of the first matching event.'),
      })
      .describe('Who did it.'),
    resources: z
      .array(
        z.object({
          uid: z.string().optional().describe('Resource ARN or id.'),
          name: z.string().optional().describe('Resource name.'),
          type: z.string().optional().describe('Resource type.'),
        }),
      )
      .describe('Resources involved (from the matching events, de-duplicated).'),
    evidence: z
      .object({
        event_uids: z
          .array(z.string())
          .describe('Ids of the matching events (CloudTrail `eventID`s…), first 100 kept.'),
        operations: z
          .array(z.string())
          .describe('Distinct `service:operation` pairs among the matching events.'),
      })
      .describe('What to look up to verify the finding.'),
    explanation: z.string().describe('One human sentence saying what happened and why it matters.'),
    anomaly_analyses: z
      .array(AnomalyAnalysis)
      .optional()
      .describe('Behavioural departures behind the finding (OCSF Anomaly Analysis), when baselines are on.'),
    runbook: z.string().optional().describe('What a responder should do first.'),
  })
  .describe('A detection: one rule firing on one actor (dedup key) within the rule’s window.');
export type Finding = z.infer<typeof Finding>;
