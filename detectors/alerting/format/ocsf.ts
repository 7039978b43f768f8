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
 * Pure: no SDK import, no environment.
 */
import { z } from 'zod';
import type { Finding, Severity } from '../../schema/finding.js';
import type { Incident, IncidentState, IncidentUpdate } from '../incident.js';

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

// ── Mapping ─────────────────────────────────────────────────────────────────

function activityOf(update: IncidentUpdate): { id: 1 | 2 | 3; name: 'Create' | 'Update' | 'Close' } {
  if (update.change === 'opened') return { id: 1, name: 'Create' };
  if (update.incident.state === 'resolved' && update.change === 'resolved') return { id: 3, name: 'Close' };
  return { id: 2, name: 'Update' };
}

function attacksOf(
  incident: Incident,
  finding: Finding | undefined,
): OcsfDetectionFinding['finding_info']['attacks'] {
  const tactic = (name: string) => {
    const uid = TACTIC_UIDS[name.trim().toLowerCase()];
    return { name, ...(uid !== undefined ? { uid } : {}) };
  };
  const attacks: OcsfDetectionFinding['finding_info']['attacks'] = (finding?.attack ?? []).map((a) => ({
    tactic: tactic(a.tactic),
    technique: { uid: a.technique_id, name: a.technique_name },
    version: 'v15',
  }));
  const covered = new Set((finding?.attack ?? []).map((a) => a.tactic));
  for (const name of incident.tactics)
    if (!covered.has(name)) attacks.push({ tactic: tactic(name), version: 'v15' });
  return attacks;
}

/** The OCSF Detection Finding of one incident update. */
export function toOcsfDetectionFinding(update: IncidentUpdate, options: OcsfOptions): OcsfDetectionFinding {
  const { incident, finding } = update;
  const activity = activityOf(update);
  const severity = SEVERITY_IDS[incident.severity];
  const status = STATUS_IDS[incident.state];
  const analyticEntry =
    (finding !== undefined
      ? incident.timeline.find((e) => e.finding_uid === finding.finding_uid)
      : undefined) ?? incident.timeline[0];
  const analytic = {
    name: finding?.rule.name ?? analyticEntry?.rule_name ?? 'Trailhound incident',
    uid: finding?.rule.uid ?? analyticEntry?.rule_uid ?? incident.rules[0] ?? 'trailhound',
    type_id: 1 as const,
    type: 'Rule' as const,
  };
  const actorUid = incident.group.kind === 'actor' ? incident.group.value : finding?.actor.principal;
  const resources = [
    ...(incident.group.kind === 'resource' ? [{ uid: incident.group.value, type: 'Resource' }] : []),
    ...(finding?.resources ?? []).filter((r) => r.uid !== incident.group.value),
  ];
  const out: OcsfDetectionFinding = {
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: CATEGORY_UID,
    category_name: 'Findings',
    class_uid: CLASS_UID,
    class_name: 'Detection Finding',
    type_uid: (CLASS_UID * 100 + activity.id) as 200401 | 200402 | 200403,
    type_name: `Detection Finding: ${activity.name}`,
    time: incident.updated_at,
    severity_id: severity.id,
    severity: severity.name as OcsfDetectionFinding['severity'],
    status_id: status.id as 1 | 2 | 4,
    status: status.name as OcsfDetectionFinding['status'],
    risk_score: Math.round(Math.min(100, Math.max(0, incident.risk_score))),
    metadata: {
      version: OCSF_VERSION,
      product: {
        name: 'Trailhound',
        vendor_name: options.vendorName ?? 'Trailhound',
        version: options.productVersion,
      },
      uid: `${incident.key}:${incident.revision}`,
      log_name: 'incidents',
    },
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
      analytic,
      attacks: attacksOf(incident, finding),
    },
    cloud: {
      provider: incident.group.provider,
      account: { uid: incident.group.account },
      ...(finding?.cloud.region !== undefined ? { region: finding.cloud.region } : {}),
    },
    ...(actorUid !== undefined
      ? {
          actor: {
            user: {
              uid: actorUid,
              name: actorUid.split('/').pop() ?? actorUid,
              ...(finding !== undefined ? { type: finding.actor.type } : {}),
            },
            ...(finding?.actor.session !== undefined ? { session: { uid: finding.actor.session } } : {}),
          },
        }
      : {}),
    ...(finding?.actor.ip !== undefined ? { src_endpoint: { ip: finding.actor.ip } } : {}),
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
  return out;
}
