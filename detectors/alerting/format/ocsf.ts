/**
 * An incident update as an OCSF 1.x Detection Finding (class 2004), for the
 * OCSF consumers (Security Lake custom sources, Security Hub's OCSF-based
 * findings, SIEMs that read OCSF). As in ASFF, one incident is one finding:
 * `finding_info.uid` is the incident key, the activity says whether this is
 * its creation (1), an update (2) or its close (3), and the timeline of
 * Trailhound findings behind it is `finding_info.related_events`.
 *
 * {@link OcsfDetectionFinding} is the zod schema of what is written (the
 * fields OCSF requires of the class plus those Trailhound always sets), so a
 * consumer's contract is checked where it is produced.
 *
 * {@link findingToOcsf} maps a single finding, outside any incident, with the
 * same pieces (`trailhound scan --format ocsf`).
 *
 * Pure: no SDK import, no environment.
 */
import { z } from 'zod';
import type { AttackRef, Finding, Severity } from '../../schema/finding.js';
import type { IncidentState, IncidentUpdate } from '../incident.js';

export const OCSF_VERSION = '1.1.0';
const CLASS_UID = 2004;
const CATEGORY_UID = 2;

const SEVERITY_IDS: Record<Severity, { id: number; name: string }> = {
  info: { id: 1, name: 'Informational' },
  low: { id: 2, name: 'Low' },
  medium: { id: 3, name: 'Medium' },
  high: { id: 4, name: 'High' },
  critical: { id: 5, name: 'Critical' },
};

const STATUS_IDS: Record<IncidentState, { id: number; name: string }> = {
  open: { id: 1, name: 'New' },
  acknowledged: { id: 2, name: 'In Progress' },
  resolved: { id: 4, name: 'Resolved' },
};

/** ATT&CK tactic ids, for `attacks[].tactic.uid`. */
const TACTIC_UIDS: Record<string, string> = {
  reconnaissance: 'TA0043',
  'resource development': 'TA0042',
  'initial access': 'TA0001',
  execution: 'TA0002',
  persistence: 'TA0003',
  'privilege escalation': 'TA0004',
  'defense evasion': 'TA0005',
  'credential access': 'TA0006',
  discovery: 'TA0007',
  'lateral movement': 'TA0008',
  collection: 'TA0009',
  exfiltration: 'TA0010',
  'command and control': 'TA0011',
  impact: 'TA0040',
};

// ── Schema of the output ───────────────────────────────────────────────────

const Named = z.object({ name: z.string().min(1), uid: z.string().optional() });

const OcsfAttack = z.object({
  tactic: Named.optional(),
  technique: z.object({ uid: z.string().min(1), name: z.string() }).optional(),
  version: z.string(),
});

const OcsfRelatedEvent = z.object({
  uid: z.string().min(1),
  type: z.string().optional(),
  title: z.string().optional(),
  desc: z.string().optional(),
  count: z.number().int().optional(),
  first_seen_time: z.number().int().optional(),
  last_seen_time: z.number().int().optional(),
  severity_id: z.number().int().min(0).max(99).optional(),
});

export const OcsfDetectionFinding = z.object({
  activity_id: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  activity_name: z.enum(['Create', 'Update', 'Close']),
  category_uid: z.literal(CATEGORY_UID),
  category_name: z.literal('Findings'),
  class_uid: z.literal(CLASS_UID),
  class_name: z.literal('Detection Finding'),
  type_uid: z.union([z.literal(200401), z.literal(200402), z.literal(200403)]),
  type_name: z.string(),
  time: z.number().int(),
  severity_id: z.number().int().min(1).max(5),
  severity: z.enum(['Informational', 'Low', 'Medium', 'High', 'Critical']),
  status_id: z.union([z.literal(1), z.literal(2), z.literal(4)]),
  status: z.enum(['New', 'In Progress', 'Resolved']),
  risk_score: z.number().int().min(0).max(100),
  metadata: z.object({
    version: z.string(),
    product: z.object({ name: z.literal('Trailhound'), vendor_name: z.string(), version: z.string() }),
    uid: z.string().optional(),
    log_name: z.string().optional(),
  }),
  finding_info: z.object({
    uid: z.string().min(1),
    title: z.string(),
    desc: z.string().optional(),
    types: z.array(z.string()),
    created_time: z.number().int(),
    first_seen_time: z.number().int(),
    last_seen_time: z.number().int(),
    modified_time: z.number().int(),
    related_events: z.array(OcsfRelatedEvent),
    analytic: z.object({
      name: z.string().min(1),
      uid: z.string().min(1),
      type_id: z.literal(1),
      type: z.literal('Rule'),
    }),
    attacks: z.array(OcsfAttack),
  }),
  cloud: z.object({
    provider: z.string().min(1),
    account: z.object({ uid: z.string().min(1) }),
    region: z.string().optional(),
  }),
  actor: z
    .object({
      user: z.object({ uid: z.string().min(1), name: z.string().optional(), type: z.string().optional() }),
      session: z.object({ uid: z.string() }).optional(),
    })
    .optional(),
  src_endpoint: z.object({ ip: z.string() }).optional(),
  resources: z.array(
    z.object({ uid: z.string().optional(), name: z.string().optional(), type: z.string().optional() }),
  ),
  unmapped: z.record(z.string(), z.unknown()).optional(),
});
export type OcsfDetectionFinding = z.infer<typeof OcsfDetectionFinding>;

export interface OcsfOptions {
  /** Trailhound's version, for `metadata.product.version`. */
  readonly productVersion: string;
  /** Default `Trailhound`. */
  readonly vendorName?: string;
}

// ── Pieces shared by both forms ────────────────────────────────────────────

type Activity = { id: 1 | 2 | 3; name: 'Create' | 'Update' | 'Close' };
const CREATE: Activity = { id: 1, name: 'Create' };

type ClassFields = Pick<
  OcsfDetectionFinding,
  | 'activity_id'
  | 'activity_name'
  | 'category_uid'
  | 'category_name'
  | 'class_uid'
  | 'class_name'
  | 'type_uid'
  | 'type_name'
>;

function classFields(activity: Activity): ClassFields {
  return {
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: CATEGORY_UID,
    category_name: 'Findings',
    class_uid: CLASS_UID,
    class_name: 'Detection Finding',
    type_uid: (CLASS_UID * 100 + activity.id) as OcsfDetectionFinding['type_uid'],
    type_name: `Detection Finding: ${activity.name}`,
  };
}

function severityFields(severity: Severity): Pick<OcsfDetectionFinding, 'severity_id' | 'severity'> {
  const mapped = SEVERITY_IDS[severity];
  return { severity_id: mapped.id, severity: mapped.name as OcsfDetectionFinding['severity'] };
}

function statusFields(state: IncidentState): Pick<OcsfDetectionFinding, 'status_id' | 'status'> {
  const mapped = STATUS_IDS[state];
  return {
    status_id: mapped.id as OcsfDetectionFinding['status_id'],
    status: mapped.name as OcsfDetectionFinding['status'],
  };
}

const riskScore = (score: number) => Math.round(Math.min(100, Math.max(0, score)));

function metadataOf(options: OcsfOptions, uid: string, logName: string): OcsfDetectionFinding['metadata'] {
  return {
    version: OCSF_VERSION,
    product: {
      name: 'Trailhound',
      vendor_name: options.vendorName ?? 'Trailhound',
      version: options.productVersion,
    },
    uid,
    log_name: logName,
  };
}

function analyticOf(name: string, uid: string): OcsfDetectionFinding['finding_info']['analytic'] {
  return { name, uid, type_id: 1, type: 'Rule' };
}

/** The ATT&CK techniques, then each further tactic (an incident's) that no technique covers. */
function attacksOf(
  refs: readonly AttackRef[],
  tactics: readonly string[] = [],
): OcsfDetectionFinding['finding_info']['attacks'] {
  const tactic = (name: string) => {
    const uid = TACTIC_UIDS[name.trim().toLowerCase()];
    return { name, ...(uid !== undefined ? { uid } : {}) };
  };
  const attacks: OcsfDetectionFinding['finding_info']['attacks'] = refs.map((a) => ({
    tactic: tactic(a.tactic),
    technique: { uid: a.technique_id, name: a.technique_name },
    version: 'v15',
  }));
  const covered = new Set(refs.map((a) => a.tactic));
  for (const name of tactics) if (!covered.has(name)) attacks.push({ tactic: tactic(name), version: 'v15' });
  return attacks;
}

function cloudOf(
  provider: string,
  account: string,
  region: string | undefined,
): OcsfDetectionFinding['cloud'] {
  return { provider, account: { uid: account }, ...(region !== undefined ? { region } : {}) };
}

/** `actor` (the principal `uid`, with type and session from the finding) and `src_endpoint`. */
function actorFields(
  uid: string | undefined,
  finding: Finding | undefined,
): Pick<OcsfDetectionFinding, 'actor' | 'src_endpoint'> {
  return {
    ...(uid !== undefined
      ? {
          actor: {
            user: {
              uid,
              name: uid.split('/').pop() ?? uid,
              ...(finding !== undefined ? { type: finding.actor.type } : {}),
            },
            ...(finding?.actor.session !== undefined ? { session: { uid: finding.actor.session } } : {}),
          },
        }
      : {}),
    ...(finding?.actor.ip !== undefined ? { src_endpoint: { ip: finding.actor.ip } } : {}),
  };
}

// ── An incident update ──────────────────────────────────────────────────────

function activityOf(update: IncidentUpdate): Activity {
  if (update.change === 'opened') return CREATE;
  if (update.incident.state === 'resolved' && update.change === 'resolved') return { id: 3, name: 'Close' };
  return { id: 2, name: 'Update' };
}

/** The OCSF Detection Finding of one incident update. */
export function toOcsfDetectionFinding(update: IncidentUpdate, options: OcsfOptions): OcsfDetectionFinding {
  const { incident, finding } = update;
  const analyticEntry =
    (finding !== undefined
      ? incident.timeline.find((e) => e.finding_uid === finding.finding_uid)
      : undefined) ?? incident.timeline[0];
  const actorUid = incident.group.kind === 'actor' ? incident.group.value : finding?.actor.principal;
  const resources = [
    ...(incident.group.kind === 'resource' ? [{ uid: incident.group.value, type: 'Resource' }] : []),
    ...(finding?.resources ?? []).filter((r) => r.uid !== incident.group.value),
  ];
  return {
    ...classFields(activityOf(update)),
    time: incident.updated_at,
    ...severityFields(incident.severity),
    ...statusFields(incident.state),
    risk_score: riskScore(incident.risk_score),
    metadata: metadataOf(options, `${incident.key}:${incident.revision}`, 'incidents'),
    finding_info: {
      uid: incident.key,
      title: incident.title,
      desc: incident.timeline.map((e) => e.explanation).join(' '),
      types: [...new Set(['Trailhound Incident', ...incident.tactics])],
      created_time: incident.opened_at,
      first_seen_time: incident.opened_at,
      last_seen_time: Math.max(incident.last_finding_at, incident.opened_at),
      modified_time: incident.updated_at,
      related_events: incident.timeline.map((e) => ({
        uid: e.finding_uid,
        type: 'Trailhound Finding',
        title: e.rule_name,
        desc: e.explanation,
        count: e.count,
        first_seen_time: e.first_seen,
        last_seen_time: e.last_seen,
        severity_id: SEVERITY_IDS[e.severity].id,
      })),
      analytic: analyticOf(
        finding?.rule.name ?? analyticEntry?.rule_name ?? 'Trailhound incident',
        finding?.rule.uid ?? analyticEntry?.rule_uid ?? incident.rules[0] ?? 'trailhound',
      ),
      attacks: attacksOf(finding?.attack ?? [], incident.tactics),
    },
    cloud: cloudOf(incident.group.provider, incident.group.account, finding?.cloud.region),
    ...actorFields(actorUid, finding),
    resources,
    unmapped: {
      trailhound: {
        revision: incident.revision,
        change: update.change,
        rules: incident.rules,
        findings_total: incident.findings_total,
        group: incident.group,
        ...(incident.state_changed_by !== undefined ? { state_changed_by: incident.state_changed_by } : {}),
      },
    },
  };
}

// ── A finding alone ─────────────────────────────────────────────────────────

/**
 * The OCSF Detection Finding of one Trailhound finding, outside any incident
 * (`trailhound scan --format ocsf`): `finding_info.uid` is the finding's
 * stable id, the activity is always Create and the status New (a scan does
 * not know what a consumer already holds), and the related events are the
 * audit events behind it (`evidence.event_uids`). What OCSF 1.1 has no
 * attribute for (the rule's maturity, the operations, the runbook, the
 * behavioural analyses) is kept in `unmapped.trailhound`.
 */
export function findingToOcsf(finding: Finding, options: OcsfOptions): OcsfDetectionFinding {
  return {
    ...classFields(CREATE),
    time: finding.time,
    ...severityFields(finding.severity),
    ...statusFields('open'),
    risk_score: riskScore(finding.risk_score),
    metadata: metadataOf(options, finding.finding_uid, 'findings'),
    finding_info: {
      uid: finding.finding_uid,
      title: finding.rule.name,
      desc: finding.explanation,
      types: [...new Set(['Trailhound Finding', ...finding.attack.map((a) => a.tactic)])],
      created_time: finding.time,
      first_seen_time: finding.first_seen,
      last_seen_time: finding.last_seen,
      modified_time: finding.time,
      related_events: finding.evidence.event_uids.map((uid) => ({ uid })),
      analytic: analyticOf(finding.rule.name, finding.rule.uid),
      attacks: attacksOf(finding.attack),
    },
    cloud: cloudOf(finding.cloud.provider, finding.cloud.account, finding.cloud.region),
    ...actorFields(finding.actor.principal, finding),
    resources: finding.resources,
    unmapped: {
      trailhound: {
        schema_version: finding.schema_version,
        count: finding.count,
        rule: {
          source: finding.rule.source,
          maturity: finding.rule.maturity,
          ...(finding.rule.tags !== undefined ? { tags: finding.rule.tags } : {}),
        },
        operations: finding.evidence.operations,
        ...(finding.actor.user_agent !== undefined ? { user_agent: finding.actor.user_agent } : {}),
        ...(finding.runbook !== undefined ? { runbook: finding.runbook } : {}),
        ...(finding.anomaly_analyses !== undefined ? { anomaly_analyses: finding.anomaly_analyses } : {}),
      },
    },
  };
}
