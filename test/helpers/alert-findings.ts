/**
 * Findings and incident updates for the Security Hub, OCSF and dead-letter
 * tests, on top of the shared `makeFinding()`: `makeAlertFinding()` is a
 * valid `Finding` (checked against its schema) with overrides, and
 * `foldAll()` folds findings into incidents the way the alerter does,
 * returning every update.
 */
import { createHash } from 'node:crypto';
import { foldFinding, type Incident, type IncidentUpdate } from '../../detectors/alerting/incident.js';
import { Finding } from '../../detectors/schema/finding.js';
import { makeFinding } from './findings.js';

export const T0 = Date.parse('2025-03-01T10:00:00.000Z');
export const ACCOUNT = '111122223333';
/** The ARN of IAM user `name` in {@link ACCOUNT}. */
export const user = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;
export const ALICE = user('alice');

type FindingOverrides = Partial<Omit<Finding, 'rule' | 'cloud' | 'actor' | 'evidence'>> & {
  rule?: Partial<Finding['rule']>;
  cloud?: Partial<Finding['cloud']>;
  actor?: Partial<Finding['actor']>;
  evidence?: Partial<Finding['evidence']>;
};

/**
 * `makeFinding()` (test/helpers/findings.ts) with alice's defaults, nested
 * overrides merged (`actor: {principal}` keeps the other actor fields), and
 * the result checked against the Finding schema.
 */
export function makeAlertFinding(overrides: FindingOverrides = {}): Finding {
  const { rule, cloud, actor, evidence, ...rest } = overrides;
  const ruleUid = rule?.uid ?? 'aws.discovery.iam-enumeration';
  const first = rest.first_seen ?? T0;
  const principal = actor?.principal ?? ALICE;
  return Finding.parse(
    makeFinding({
      time: first,
      first_seen: first,
      last_seen: first + 60_000,
      count: 3,
      severity: 'medium',
      risk_score: 50,
      attack: [
        {
          tactic: 'Discovery',
          technique_id: 'T1087.004',
          technique_name: 'Account Discovery: Cloud Account',
        },
      ],
      resources: [],
      explanation: 'alice listed every IAM user and role in the account.',
      runbook: 'Confirm with alice that the enumeration was intended.',
      ...rest,
      finding_uid:
        rest.finding_uid ??
        createHash('sha256').update(`${ruleUid}|${first}|${principal}`).digest('hex').slice(0, 32),
      rule: { uid: ruleUid, name: 'IAM enumeration', source: 'trailhound', maturity: 'stable', ...rule },
      cloud: { provider: 'AWS', account: ACCOUNT, region: 'us-east-1', ...cloud },
      actor: { principal: ALICE, type: 'IAMUser', ip: '203.0.113.7', user_agent: 'aws-cli/2.15.0', ...actor },
      evidence: {
        event_uids: ['e-1', 'e-2', 'e-3'],
        operations: ['iam:ListUsers', 'iam:ListRoles'],
        ...evidence,
      },
    }),
  );
}

/** Folds `findings` in order, each at `now` one second after the last, into their incidents. */
export function foldAll(findings: readonly Finding[], start = T0 + 3_600_000): IncidentUpdate[] {
  const current = new Map<string, Incident>();
  const updates: IncidentUpdate[] = [];
  let now = start;
  for (const finding of findings) {
    const group = `${finding.cloud.provider}|${finding.cloud.account}|${finding.actor.principal}`;
    now += 1_000;
    const result = foldFinding(current.get(group), finding, now);
    if (result.change === undefined) continue;
    current.set(group, result.incident);
    updates.push({ incident: result.incident, change: result.change, finding });
  }
  return updates;
}

/** The three stages of one actor's attack: discovery, then persistence, then defense evasion. */
export function escalatingFindings(): Finding[] {
  return [
    makeAlertFinding({ severity: 'low', risk_score: 30 }),
    makeAlertFinding({
      first_seen: T0 + 600_000,
      rule: {
        uid: 'aws.persistence.access-key-created-for-other-user',
        name: 'Access key created for another user',
      },
      severity: 'medium',
      risk_score: 60,
      attack: [
        {
          tactic: 'Persistence',
          technique_id: 'T1098.001',
          technique_name: 'Account Manipulation: Additional Cloud Credentials',
        },
      ],
      resources: [{ uid: `arn:aws:iam::${ACCOUNT}:user/bob`, type: 'AWS::IAM::User' }],
      evidence: { event_uids: ['e-10'], operations: ['iam:CreateAccessKey'] },
      explanation: 'alice created an access key for bob.',
    }),
    makeAlertFinding({
      first_seen: T0 + 1_200_000,
      rule: { uid: 'aws.defense-evasion.cloudtrail-trail-weakened', name: 'CloudTrail trail weakened' },
      severity: 'high',
      risk_score: 85,
      attack: [
        {
          tactic: 'Defense Evasion',
          technique_id: 'T1562.008',
          technique_name: 'Impair Defenses: Disable or Modify Cloud Logs',
        },
      ],
      resources: [
        { uid: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/org`, type: 'AWS::CloudTrail::Trail' },
      ],
      evidence: { event_uids: ['e-20'], operations: ['cloudtrail:StopLogging'] },
      explanation: 'alice stopped logging on the organization trail.',
    }),
  ];
}
