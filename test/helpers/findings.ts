/** Findings for alerting tests: valid by the finding contract, with what each test varies given. */
import { FINDING_SCHEMA_VERSION, type Finding } from '../../detectors/schema/finding.js';

export const T0 = Date.parse('2026-03-03T09:00:00Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/**
 * A clock from T0 that the injected sleep moves on, for the HTTP senders'
 * `sleep` and `clock`: waits are measured (`sleeps`), not waited.
 */
export function virtualTime(start = T0) {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

export interface FindingOverrides extends Partial<Omit<Finding, 'rule'>> {
  readonly rule?: Partial<Finding['rule']>;
  /** Shorthand for the ATT&CK tactic of a one-technique finding. */
  readonly tactic?: string;
}

/** A finding by `arn:aws:iam::111122223333:user/mallory` at T0 unless told otherwise. */
export function makeFinding(overrides: FindingOverrides = {}): Finding {
  const { rule, tactic, ...rest } = overrides;
  const uid = rest.finding_uid ?? `f-${rule?.uid ?? 'aws.discovery.test-rule'}-${rest.first_seen ?? T0}`;
  return {
    schema_version: FINDING_SCHEMA_VERSION,
    class_uid: 2004,
    finding_uid: uid,
    time: rest.last_seen ?? rest.first_seen ?? T0,
    first_seen: T0,
    last_seen: rest.first_seen ?? T0,
    count: 1,
    severity: 'medium',
    risk_score: 50,
    attack: [
      {
        tactic: tactic ?? 'Discovery',
        technique_id: 'T1087.004',
        technique_name: 'Account Discovery: Cloud Account',
      },
    ],
    cloud: { provider: 'AWS', account: '111122223333', region: 'us-east-1' },
    actor: {
      principal: 'arn:aws:iam::111122223333:user/mallory',
      type: 'IAMUser',
      ip: '198.51.100.7',
      user_agent: 'aws-cli/2.15.0',
    },
    resources: [],
    evidence: { event_uids: [`e-${uid}`], operations: ['iam:ListUsers'] },
    explanation: 'mallory listed the IAM users of 111122223333 from a network never seen for this user.',
    runbook: '1. Ask mallory whether the calls were theirs.',
    ...rest,
    rule: {
      uid: 'aws.discovery.test-rule',
      name: 'IAM users listed from a new network',
      source: 'trailhound',
      maturity: 'test',
      ...rule,
    },
  };
}
