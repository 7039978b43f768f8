/**
 * Slack Block Kit messages for incident updates. One shape per change:
 *
 * - **opened** and **escalated**: the full story — severity and title, actor,
 *   account and region, what happened (the newest finding's explanation), key
 *   evidence, ATT&CK techniques linked to attack.mitre.org, the runbook and a
 *   ready forensic query;
 * - **updated**, **acknowledged**, **reopened**: one short section, meant as a
 *   thread reply (or a light message where there are no threads);
 * - **resolved**: a short closing summary;
 * - the **parent** message ({@link slackIncidentMessage}): the incident as it
 *   stands now, which the bot mode edits in place (`chat.update`) so the
 *   channel shows the current severity and state.
 *
 * Everything that comes from audit logs is attacker-controllable (an IAM user
 * can be named `<!channel>`, a user agent can carry a link), so it goes into
 * mrkdwn only through {@link escapeMrkdwn} (Slack's own rule: `&`, `<`, `>`
 * become entities, so no mention, link or channel ping can be smuggled in).
 * Block Kit limits are kept: 50 blocks, 3000 characters per section text,
 * 2000 per field, 150 per header, 10 fields and 10 context elements.
 *
 * Pure: no I/O, no environment; URLs come in as options.
 */
import type { Finding, Severity } from '../../schema/finding.js';
import type { Incident, IncidentUpdate } from '../incident.js';
import {
  type ForensicQuery,
  type ForensicQueryOptions,
  forensicQueries,
  subjectOfIncident,
} from './forensic-query.js';

export type SlackText =
  | { readonly type: 'mrkdwn'; readonly text: string }
  | { readonly type: 'plain_text'; readonly text: string; readonly emoji?: boolean };

export type SlackBlock =
  | { readonly type: 'header'; readonly text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { readonly type: 'section'; readonly text?: SlackText; readonly fields?: readonly SlackText[] }
  | { readonly type: 'context'; readonly elements: readonly SlackText[] }
  | { readonly type: 'divider' };

/** What `chat.postMessage`, `chat.update` and incoming webhooks take (besides channel and thread). */
export interface SlackMessage {
  /** The notification and accessibility fallback (mrkdwn). */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

export interface SlackFormatOptions {
  /**
   * Where runbooks live: a rule's runbook is `<base>/<rule uid>` (a trailing
   * slash is kept as one). No runbook link when absent.
   */
  readonly runbookBaseUrl?: string;
  /** A page for the incident (a Trailhound console, a ticket search), linked from every message. */
  readonly incidentUrl?: (incident: Incident) => string | undefined;
  readonly forensic?: ForensicQueryOptions;
}

/** Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks). */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
  /** Slack truncates `text` beyond 40,000; kept far shorter, it is only the notification line. */
  fallbackText: 3000,
} as const;

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
  info: ':white_circle:',
};

/** Evidence items listed per kind before "and N more". */
const EVIDENCE_ITEMS = 10;
/** Timeline entries shown on the parent message. */
const TIMELINE_ITEMS = 5;

// --- escaping and clipping ---------------------------------------------------------------------

/**
 * Slack's mrkdwn escaping: `&`, `<` and `>` as entities. That is all Slack
 * asks, and enough: a mention, a channel ping or a link needs a literal `<`.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped text shown as inline code; a backtick in it would close the span, so it becomes a prime. */
function code(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, 'ʹ').replace(/[\r\n]+/g, ' '))}\``;
}

/**
 * Cuts mrkdwn to `max` characters without splitting an entity (`&amp;`), a
 * surrogate pair or a `<link|label>`, ending in `…` when cut.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  cut = cut.replace(/&[a-z]{0,3}$/, '');
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  // An odd number of code fences left open would swallow the rest of the message.
  if ((cut.match(/```/g)?.length ?? 0) % 2 === 1) cut = `${cut.replace(/\n?$/, '')}\n\`\`\``;
  return `${cut}…`;
}

/** Plain text (headers) cut to `max` characters. */
function clipPlain(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Lines joined until the limit, then a line saying how many were left out. */
function fitLines(lines: readonly string[], max: number): string {
  const kept: string[] = [];
  let size = 0;
  for (const [index, line] of lines.entries()) {
    const rest = lines.length - index;
    const more = `_…and ${rest} more_`;
    if (size + line.length + 1 > max - (rest > 1 ? more.length + 1 : 0)) {
      if (kept.length === 0) return clip(line, max);
      kept.push(more);
      return kept.join('\n');
    }
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join('\n');
}

const mrkdwn = (text: string, max: number = SLACK_LIMITS.sectionText): SlackText => ({
  type: 'mrkdwn',
  text: clip(text, max),
});
const section = (text: string): SlackBlock => ({ type: 'section', text: mrkdwn(text) });
const context = (...texts: string[]): SlackBlock => ({
  type: 'context',
  elements: texts.slice(0, SLACK_LIMITS.contextElements).map((t) => mrkdwn(t)),
});
const header = (text: string): SlackBlock => ({
  type: 'header',
  text: {
    type: 'plain_text',
    text: clipPlain(text.replace(/\s+/g, ' '), SLACK_LIMITS.headerText),
    emoji: true,
  },
});

/** `<url|label>`, when the URL is one Slack can link (http or https, no characters that end the link). */
function link(url: string | undefined, label: string): string {
  if (url === undefined || !/^https?:\/\/[^\s<>|]+$/.test(url)) return escapeMrkdwn(label);
  return `<${url}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`;
}

// --- pieces ------------------------------------------------------------------------------------

export function runbookUrl(base: string | undefined, ruleUid: string): string | undefined {
  if (base === undefined || base === '') return undefined;
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(ruleUid)}`;
}

/** attack.mitre.org page of a technique or sub-technique id (`T1562.008` → `/techniques/T1562/008/`). */
export function attackUrl(techniqueId: string): string | undefined {
  const match = /^(T\d{4})(?:\.(\d{3}))?$/.exec(techniqueId);
  if (match === null) return undefined;
  return `https://attack.mitre.org/techniques/${match[1]}/${match[2] !== undefined ? `${match[2]}/` : ''}`;
}

function severityLabel(severity: Severity): string {
  return `${SEVERITY_EMOJI[severity]} ${severity.toUpperCase()}`;
}

function time(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function whoFields(incident: Incident, finding: Finding | undefined): SlackText[] {
  const fields: SlackText[] = [];
  const field = (name: string, value: string) =>
    fields.push(mrkdwn(`*${name}*\n${value}`, SLACK_LIMITS.fieldText));
  field(incident.group.kind === 'actor' ? 'Actor' : 'Resource', code(incident.group.value));
  if (finding !== undefined) {
    const { actor } = finding;
    if (actor.session !== undefined && actor.session !== incident.group.value)
      field('Session', code(actor.session));
    if (actor.ip !== undefined) field('Source IP', code(actor.ip));
    if (actor.user_agent !== undefined) field('User agent', code(actor.user_agent.slice(0, 300)));
  }
  field('Account', `${escapeMrkdwn(incident.group.provider)} ${code(incident.group.account)}`);
  if (finding?.cloud.region !== undefined) field('Region', code(finding.cloud.region));
  field('Risk', `${Math.round(incident.risk_score)}/100`);
  field('Findings', `${incident.findings_total} (${incident.rules.length} rules)`);
  return fields.slice(0, SLACK_LIMITS.fields);
}

function evidenceText(finding: Finding): string {
  const lines: string[] = [];
  const list = (name: string, items: readonly string[]) => {
    if (items.length === 0) return;
    const shown = items.slice(0, EVIDENCE_ITEMS).map(code).join(', ');
    const more = items.length > EVIDENCE_ITEMS ? ` and ${items.length - EVIDENCE_ITEMS} more` : '';
    lines.push(`*${name}* (${items.length}): ${shown}${more}`);
  };
  list('Operations', finding.evidence.operations);
  list(
    'Resources',
    finding.resources.map((r) => r.uid ?? r.name ?? '').filter((r) => r !== ''),
  );
  list('Event ids', finding.evidence.event_uids);
  lines.push(
    `*Seen* ${finding.count} time${finding.count === 1 ? '' : 's'}, ${time(finding.first_seen)} – ${time(finding.last_seen)}`,
  );
  return fitLines(lines, SLACK_LIMITS.sectionText);
}

function attackText(finding: Finding | undefined, incident: Incident): string | undefined {
  if (finding !== undefined && finding.attack.length > 0) {
    const lines = finding.attack.map(
      (a) =>
        `• ${escapeMrkdwn(a.tactic)}: ${link(attackUrl(a.technique_id), `${a.technique_id} ${a.technique_name}`)}`,
    );
    const others = incident.tactics.filter((t) => !finding.attack.some((a) => a.tactic === t));
    if (others.length > 0) lines.push(`_Incident also spans:_ ${others.map(escapeMrkdwn).join(', ')}`);
    return fitLines([':dart: *MITRE ATT&amp;CK*', ...lines], SLACK_LIMITS.sectionText);
  }
  if (incident.tactics.length === 0) return undefined;
  return `:dart: *MITRE ATT&amp;CK tactics*: ${incident.tactics.map(escapeMrkdwn).join(', ')}`;
}

function runbookText(finding: Finding | undefined, incident: Incident, options: SlackFormatOptions): string {
  const rules = finding !== undefined ? [finding.rule.uid] : incident.rules;
  const links = rules
    .map((uid) => {
      const url = runbookUrl(options.runbookBaseUrl, uid);
      return url !== undefined ? link(url, uid) : code(uid);
    })
    .join(', ');
  const lines = [`:book: *Runbook*: ${links}`];
  if (finding?.runbook !== undefined && finding.runbook.trim() !== '')
    lines.push(escapeMrkdwn(finding.runbook.trim()));
  return clip(lines.join('\n'), SLACK_LIMITS.sectionText);
}

/** A query as a code block; a fence inside it (a backtick-laden principal) is broken with a zero-width space. */
function queryText(query: ForensicQuery): string {
  const body = escapeMrkdwn(query.text).replace(/```/g, '`\u200b``');
  const title = link(query.consoleUrl, query.title);
  const head = `:mag: *Forensic query* — ${title}\n`;
  const fenced = `\`\`\`${body}\`\`\``;
  if (head.length + fenced.length <= SLACK_LIMITS.sectionText) return head + fenced;
  // Too long (a hundred event ids): cut the query, keep the fence closed, say so.
  return clip(`${head}\`\`\`${body}`, SLACK_LIMITS.sectionText - 40);
}

function queryBlocks(
  incident: Incident,
  finding: Finding | undefined,
  options: SlackFormatOptions,
): SlackBlock[] {
  return forensicQueries(subjectOfIncident(incident, finding), options.forensic)
    .slice(0, 2)
    .map((q) => section(queryText(q)));
}

function footer(incident: Incident, options: SlackFormatOptions, note?: string): SlackBlock {
  const parts = [
    `Incident ${link(options.incidentUrl?.(incident), incident.key)}`,
    `revision ${incident.revision}`,
    `state *${incident.state}*${incident.state_changed_by !== undefined ? ` by ${escapeMrkdwn(incident.state_changed_by)}` : ''}`,
    `opened ${time(incident.opened_at)}`,
  ];
  return context(note !== undefined ? `${note} · ${parts.join(' · ')}` : parts.join(' · '));
}

function fallback(prefix: string, incident: Incident): string {
  return clip(
    `${prefix} [${incident.severity.toUpperCase()}] ${escapeMrkdwn(incident.title)}`,
    SLACK_LIMITS.fallbackText,
  );
}

function capBlocks(blocks: SlackBlock[]): SlackBlock[] {
  return blocks.length <= SLACK_LIMITS.blocks ? blocks : blocks.slice(0, SLACK_LIMITS.blocks);
}

// --- messages ----------------------------------------------------------------------------------

/**
 * The full message: the incident and the finding that moved it. Used for an
 * opened or escalated incident, and (without a finding) as the parent message
 * showing the incident's current state.
 */
export function slackIncidentMessage(
  incident: Incident,
  finding: Finding | undefined,
  options: SlackFormatOptions = {},
  headline?: string,
): SlackMessage {
  const stateMark =
    incident.state === 'resolved'
      ? ' (resolved)'
      : incident.state === 'acknowledged'
        ? ' (acknowledged)'
        : '';
  const blocks: SlackBlock[] = [
    header(`${headline ?? ''}[${incident.severity.toUpperCase()}] ${incident.title}${stateMark}`),
    section(
      `${severityLabel(incident.severity)} · ${escapeMrkdwn(incident.group.provider)} · ${incident.tactics.length > 0 ? incident.tactics.map(escapeMrkdwn).join(' → ') : 'no ATT&amp;CK tactic'}`,
    ),
    { type: 'section', fields: whoFields(incident, finding) },
  ];
  const explanation = finding?.explanation ?? incident.timeline.at(-1)?.explanation;
  if (explanation !== undefined) {
    const rule = finding?.rule.name ?? incident.timeline.at(-1)?.rule_name ?? '';
    blocks.push(section(`*${escapeMrkdwn(rule)}*\n${escapeMrkdwn(explanation)}`));
  }
  if (finding !== undefined) blocks.push(section(evidenceText(finding)));
  if (finding === undefined && incident.timeline.length > 0) blocks.push(section(timelineText(incident)));
  const attack = attackText(finding, incident);
  if (attack !== undefined) blocks.push(section(attack));
  blocks.push(section(runbookText(finding, incident, options)));
  blocks.push(...queryBlocks(incident, finding, options));
  blocks.push(footer(incident, options));
  return {
    text: fallback(headline === undefined ? ':rotating_light:' : headline.trim(), incident),
    blocks: capBlocks(blocks),
  };
}

function timelineText(incident: Incident): string {
  const entries = incident.timeline.slice(-TIMELINE_ITEMS);
  const lines = entries.map(
    (e) =>
      `• ${time(e.last_seen)} ${SEVERITY_EMOJI[e.severity]} *${escapeMrkdwn(e.rule_name)}* (${e.count}×) — ${escapeMrkdwn(e.explanation)}`,
  );
  const earlier = incident.findings_total - entries.length;
  return fitLines(
    [`*Timeline*${earlier > 0 ? ` (newest ${entries.length}, ${earlier} earlier)` : ''}`, ...lines],
    SLACK_LIMITS.sectionText,
  );
}

/** A short message: one section and a footer. */
function shortMessage(
  update: IncidentUpdate,
  options: SlackFormatOptions,
  mark: string,
  body: string,
  standalone: boolean,
): SlackMessage {
  const { incident } = update;
  // Outside a thread the reader needs to know which incident this is.
  const title = standalone
    ? `${mark} *[${incident.severity.toUpperCase()}] ${escapeMrkdwn(incident.title)}*\n`
    : `${mark} `;
  return {
    text: fallback(mark, incident),
    blocks: [section(`${title}${body}`), footer(incident, options)],
  };
}

export interface SlackRenderContext {
  /** True when the message goes to the channel on its own (webhook mode), false for a thread reply. */
  readonly standalone: boolean;
}

/**
 * The message for one update. In a thread (`standalone: false`) updates,
 * acknowledgements and resolutions are short replies; on their own they carry
 * the incident's title. Opened and escalated updates are always the full
 * message.
 */
export function slackUpdateMessage(
  update: IncidentUpdate,
  options: SlackFormatOptions = {},
  renderContext: SlackRenderContext = { standalone: true },
): SlackMessage {
  const { incident, finding } = update;
  const by = incident.state_changed_by !== undefined ? ` by ${code(incident.state_changed_by)}` : '';
  switch (update.change) {
    case 'opened':
      return slackIncidentMessage(incident, finding, options);
    case 'escalated':
      return slackIncidentMessage(incident, finding, options, ':arrow_double_up: Escalated ');
    case 'updated':
    case 'recorded':
      return shortMessage(
        update,
        options,
        ':heavy_plus_sign:',
        finding !== undefined ? findingLine(finding) : 'Incident updated.',
        renderContext.standalone,
      );
    case 'acknowledged':
      return shortMessage(update, options, ':eyes:', `Acknowledged${by}.`, renderContext.standalone);
    case 'reopened':
      return shortMessage(update, options, ':warning:', `Reopened${by}.`, renderContext.standalone);
    case 'resolved': {
      const span = Math.max(0, incident.last_finding_at - incident.opened_at);
      return shortMessage(
        update,
        options,
        ':white_check_mark:',
        `Resolved${by}. ${incident.findings_total} finding${incident.findings_total === 1 ? '' : 's'} from ${incident.rules.length} rule${incident.rules.length === 1 ? '' : 's'} over ${duration(span)}; peak severity ${severityLabel(incident.severity)}.`,
        renderContext.standalone,
      );
    }
  }
}

/**
 * Several updates of one incident in one message (webhook mode folds a burst
 * of `updated` into one): each new finding on a line.
 */
export function slackUpdatesDigest(
  updates: readonly IncidentUpdate[],
  options: SlackFormatOptions = {},
  renderContext: SlackRenderContext = { standalone: true },
): SlackMessage {
  const last = updates.at(-1);
  if (last === undefined) throw new RangeError('slackUpdatesDigest needs at least one update');
  if (updates.length === 1) return slackUpdateMessage(last, options, renderContext);
  const lines = updates.flatMap((u) => (u.finding !== undefined ? [findingLine(u.finding)] : []));
  const body = fitLines(
    [`${updates.length} updates:`, ...lines.map((l) => `• ${l}`)],
    SLACK_LIMITS.sectionText - 300,
  );
  return shortMessage(last, options, ':heavy_plus_sign:', body, renderContext.standalone);
}

function findingLine(finding: Finding): string {
  const ops = finding.evidence.operations.slice(0, 3).map(code).join(', ');
  return `${SEVERITY_EMOJI[finding.severity]} *${escapeMrkdwn(finding.rule.name)}* (${finding.count}×${ops !== '' ? `, ${ops}` : ''}) — ${escapeMrkdwn(finding.explanation)}`;
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 6) / 10;
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/** True for changes that warrant a message in the channel itself, not only in the thread. */
export function isLoudChange(update: IncidentUpdate): boolean {
  return update.change === 'opened' || update.change === 'escalated' || update.change === 'reopened';
}
