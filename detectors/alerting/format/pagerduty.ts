/**
 * PagerDuty Events API v2 events for incident updates
 * (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
 *
 * One Trailhound incident is one PagerDuty alert: the incident key is the
 * `dedup_key`, so a later finding of the same incident (`trigger` again)
 * lands on the open alert instead of paging anew, and acknowledging or
 * resolving the incident acknowledges or resolves that alert. The
 * `routing_key` is a secret and is added by the sender at send time; nothing
 * here sees it.
 *
 * Pure: no I/O, no environment.
 */
import type { Finding, Severity } from '../../schema/finding.js';
import type { Incident, IncidentChange, IncidentUpdate } from '../incident.js';
import { type ForensicQueryOptions, forensicQueries, subjectOfIncident } from './forensic-query.js';
import { attackUrl, runbookUrl } from './slack.js';

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

export interface PagerDutyLink {
  readonly href: string;
  readonly text?: string;
}

export interface PagerDutyPayload {
  /** At most 1024 characters; PagerDuty's headline. */
  readonly summary: string;
  readonly source: string;
  readonly severity: PagerDutySeverity;
  /** ISO 8601. */
  readonly timestamp?: string;
  readonly component?: string;
  readonly group?: string;
  readonly class?: string;
  readonly custom_details?: Record<string, unknown>;
}

/** An Events API v2 event without its `routing_key`. */
export interface PagerDutyEventBody {
  readonly event_action: PagerDutyAction;
  readonly dedup_key: string;
  /** Only on `trigger` (PagerDuty ignores it on acknowledge and resolve). */
  readonly payload?: PagerDutyPayload;
  readonly links?: readonly PagerDutyLink[];
  readonly client?: string;
  readonly client_url?: string;
}

export interface PagerDutyEvent extends PagerDutyEventBody {
  readonly routing_key: string;
}

export interface PagerDutyFormatOptions {
  /** `<base>/<rule uid>` is a rule's runbook. */
  readonly runbookBaseUrl?: string;
  /** A page for the incident (a Trailhound console), linked and set as `client_url`. */
  readonly incidentUrl?: (incident: Incident) => string | undefined;
  /** Shown as the event's client (default `Trailhound`). */
  readonly client?: string;
  readonly forensic?: ForensicQueryOptions;
}

export const PAGERDUTY_LIMITS = { summary: 1024, dedupKey: 255, links: 10 } as const;

export const PAGERDUTY_SEVERITY: Record<Severity, PagerDutySeverity> = {
  info: 'info',
  low: 'warning',
  medium: 'warning',
  high: 'error',
  critical: 'critical',
};

/** What each change does to the alert; undefined: nothing to send. */
export function pagerDutyAction(change: IncidentChange): PagerDutyAction | undefined {
  switch (change) {
    case 'opened':
    case 'escalated':
    case 'updated':
    case 'reopened':
      return 'trigger';
    case 'acknowledged':
      return 'acknowledge';
    case 'resolved':
      return 'resolve';
    case 'recorded':
      return undefined;
  }
}

/** Control characters out (PagerDuty shows text as is; a newline in a summary only garbles it). */
function plain(text: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  if (clean.length <= max) return clean;
  let cut = clean.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

const isHttpUrl = (url: string | undefined): url is string =>
  url !== undefined && /^https?:\/\/\S+$/.test(url) && url.length <= 2048;

/**
 * The event for one update, or undefined when the update is sent nowhere
 * (`recorded`).
 */
export function pagerDutyEvent(
  update: IncidentUpdate,
  options: PagerDutyFormatOptions = {},
): PagerDutyEventBody | undefined {
  const action = pagerDutyAction(update.change);
  if (action === undefined) return undefined;
  const { incident, finding } = update;
  const incidentUrl = options.incidentUrl?.(incident);
  const client = options.client ?? 'Trailhound';
  const common = {
    dedup_key: incident.key.slice(0, PAGERDUTY_LIMITS.dedupKey),
    client,
    ...(isHttpUrl(incidentUrl) ? { client_url: incidentUrl } : {}),
  };
  if (action !== 'trigger') return { event_action: action, ...common };

  const queries = forensicQueries(subjectOfIncident(incident, finding), options.forensic);
  const links: PagerDutyLink[] = [];
  if (isHttpUrl(incidentUrl)) links.push({ href: incidentUrl, text: `Trailhound incident ${incident.key}` });
  for (const rule of finding !== undefined ? [finding.rule.uid] : incident.rules) {
    const url = runbookUrl(options.runbookBaseUrl, rule);
    if (isHttpUrl(url)) links.push({ href: url, text: `Runbook: ${rule}` });
  }
  for (const query of queries)
    if (isHttpUrl(query.consoleUrl)) links.push({ href: query.consoleUrl, text: query.title });
  for (const a of finding?.attack ?? []) {
    const href = attackUrl(a.technique_id);
    if (href !== undefined) links.push({ href, text: `ATT&CK ${a.technique_id} ${a.technique_name}` });
  }

  const verb =
    update.change === 'escalated' ? 'Escalated: ' : update.change === 'reopened' ? 'Reopened: ' : '';
  const where = `${incident.group.provider} ${incident.group.account}${finding?.cloud.region !== undefined ? ` ${finding.cloud.region}` : ''}`;
  const payload: PagerDutyPayload = {
    summary: plain(
      `${verb}[${incident.severity.toUpperCase()}] ${incident.title} (${where})`,
      PAGERDUTY_LIMITS.summary,
    ),
    source: plain(
      `${incident.group.provider.toLowerCase()}:${incident.group.account}${finding?.cloud.region !== undefined ? `/${finding.cloud.region}` : ''}`,
      255,
    ),
    severity: PAGERDUTY_SEVERITY[incident.severity],
    timestamp: new Date(finding?.last_seen ?? incident.last_finding_at).toISOString(),
    component: plain(incident.group.value, 255),
    group: plain(incident.group.account, 255),
    class: plain(finding?.rule.uid ?? incident.rules.at(-1) ?? incident.tactics[0] ?? 'trailhound', 255),
    custom_details: customDetails(
      incident,
      finding,
      queries.map((q) => `${q.title}:\n${q.text}`),
    ),
  };
  return {
    event_action: 'trigger',
    ...common,
    payload,
    links: links.slice(0, PAGERDUTY_LIMITS.links),
  };
}

function customDetails(
  incident: Incident,
  finding: Finding | undefined,
  queries: readonly string[],
): Record<string, unknown> {
  const details: Record<string, unknown> = {
    change: finding !== undefined ? `new finding: ${finding.rule.name}` : incident.state,
    incident_key: incident.key,
    revision: incident.revision,
    state: incident.state,
    severity: incident.severity,
    risk_score: incident.risk_score,
    actor: incident.group.kind === 'actor' ? incident.group.value : finding?.actor.principal,
    account: incident.group.account,
    provider: incident.group.provider,
    rules: incident.rules,
    tactics: incident.tactics,
    findings_total: incident.findings_total,
    opened_at: new Date(incident.opened_at).toISOString(),
    last_finding_at: new Date(incident.last_finding_at).toISOString(),
    timeline: incident.timeline
      .slice(-10)
      .map(
        (e) =>
          `${new Date(e.last_seen).toISOString()} ${e.severity.toUpperCase()} ${e.rule_name} (${e.count}x): ${plain(e.explanation, 500)}`,
      ),
  };
  if (incident.group.kind === 'resource') details.resource = incident.group.value;
  if (finding !== undefined) {
    details.region = finding.cloud.region;
    details.explanation = finding.explanation;
    details.source_ip = finding.actor.ip;
    details.user_agent = finding.actor.user_agent;
    details.session = finding.actor.session;
    details.evidence = {
      operations: finding.evidence.operations.slice(0, 20),
      event_uids: finding.evidence.event_uids.slice(0, 20),
      event_count: finding.count,
      resources: finding.resources
        .map((r) => r.uid ?? r.name)
        .filter((r) => r !== undefined)
        .slice(0, 20),
    };
    details.attack = finding.attack.map((a) => `${a.tactic}: ${a.technique_id} ${a.technique_name}`);
    if (finding.runbook !== undefined) details.runbook = finding.runbook;
  }
  if (queries.length > 0) details.forensic_queries = queries;
  return details;
}
