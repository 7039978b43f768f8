/**
 * Incident updates to Slack, in one of two modes, chosen by the credentials
 * the host provides (read from Secrets Manager on every delivery, so a
 * rotated secret is used at once):
 *
 * - **Incoming webhook** (`{webhookUrl}`): a POST to the webhook URL. A
 *   webhook cannot thread or edit, so every update is a new message: opened
 *   and escalated the full message, resolved a closing summary, the rest a
 *   light one-section message, and a burst of `updated` of one incident in a
 *   batch one message.
 * - **Bot token** (`{botToken, channel}`): `chat.postMessage`. An incident's
 *   first message is its parent; its `ts` and channel go back to the host in
 *   `refs` (`slack.ts`, `slack.channel`) and every later update is a reply in
 *   that thread (escalations and reopenings also broadcast to the channel),
 *   after which the parent is edited (`chat.update`) to show the incident's
 *   current severity and state.
 *
 * The Web API answers HTTP 200 with `{ok: false, error}`: `ratelimited` and
 * Slack's own transient errors are retried (as are HTTP 429 with
 * `Retry-After` and 5xx, by {@link JsonPostSender}); an authentication or
 * channel error (`invalid_auth`, `channel_not_found`…) is not, and fails the
 * rest of the batch without sending, since every request would get the same.
 * Neither the webhook URL nor the token appear in any error or result.
 */

import {
  type SlackFormatOptions,
  type SlackMessage,
  slackIncidentMessage,
  slackUpdateMessage,
  slackUpdatesDigest,
} from '../../detectors/alerting/format/slack.js';
import type { Incident, IncidentUpdate } from '../../detectors/alerting/incident.js';
import type {
  AlertDestination,
  DeliveredUpdate,
  DeliveryResult,
  FailedUpdate,
} from '../../detectors/alerting/ports.js';
import { BLOCKED_BY_EARLIER, byIncident, skippedDuringOutage } from '../http/incident-batches.js';
import {
  HttpDeliveryError,
  HttpRequestError,
  type JsonPostOptions,
  JsonPostSender,
  type Judge,
} from '../http/json-post.js';

export type SlackCredentials =
  | { readonly webhookUrl: string }
  | { readonly botToken: string; readonly channel: string };

export interface SlackDestinationOptions {
  /** The destination's name in the routing configuration (default `slack`). */
  readonly name?: string;
  /** The webhook URL or bot token, fetched at every delivery (the host reads Secrets Manager, with its cache). */
  readonly credentials: () => Promise<SlackCredentials>;
  /** The Web API's base URL (default `https://slack.com/api`); a local server in tests. */
  readonly apiBaseUrl?: string;
  /** Runbook base URL, incident links, forensic query settings. */
  readonly format?: SlackFormatOptions;
  /** Timeouts, retries and budget of each request, or a sender to share. */
  readonly http?: JsonPostOptions | JsonPostSender;
  /**
   * Prefix of the refs kept on the incident (default `slack`: `slack.ts`,
   * `slack.channel`). Give each Slack destination its own when there are several.
   */
  readonly refsPrefix?: string;
}

export interface SlackDestinationStats {
  /** Messages posted (webhook posts and `chat.postMessage`). */
  messages: number;
  threadReplies: number;
  parentEdits: number;
  /** Parent edits that failed; the reply was delivered, the next update edits again. */
  parentEditFailures: number;
  /** Updates folded into another update's message. */
  coalesced: number;
}

/** The Slack destination is configured so that it cannot send at all. Never carries the secret. */
export class SlackConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SlackConfigError';
  }
}

/** Web API errors worth sending again (https://docs.slack.dev/reference/methods/chat.postMessage). */
const RETRYABLE_API_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/** Errors every further request of this batch would get too: stop sending. */
const FATAL_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'team_access_not_granted',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'channel_is_archived',
  'restricted_action',
  'invalid_token',
  'no_service',
  'no_team',
  'team_disabled',
  'action_prohibited',
]);
const FATAL_WEBHOOK_STATUS = new Set([403, 404, 410]);

/** `chat.update` errors that mean the parent cannot be edited any more; the thread goes on. */
const apiJudge: Judge = ({ status, body }) => {
  if (status === 429) return { outcome: 'retry', code: 'ratelimited' };
  if (status < 200 || status >= 300) return undefined;
  const answer = (typeof body === 'object' && body !== null ? body : {}) as { ok?: unknown; error?: unknown };
  if (answer.ok === true) return { outcome: 'delivered' };
  const code = typeof answer.error === 'string' ? answer.error : 'unknown_error';
  return RETRYABLE_API_ERRORS.has(code) ? { outcome: 'retry', code } : { outcome: 'refused', code };
};

interface PostMessageAnswer {
  readonly ok: true;
  readonly channel: string;
  readonly ts: string;
}

type Mode =
  | { readonly kind: 'webhook'; readonly url: string }
  | { readonly kind: 'bot'; readonly token: string; readonly channel: string };

export class SlackDestination implements AlertDestination {
  readonly kind = 'slack' as const;
  readonly name: string;
  readonly stats: SlackDestinationStats = {
    messages: 0,
    threadReplies: 0,
    parentEdits: 0,
    parentEditFailures: 0,
    coalesced: 0,
  };
  private readonly options: SlackDestinationOptions;
  private readonly sender: JsonPostSender;
  private readonly apiBaseUrl: string;
  private readonly prefix: string;

  constructor(options: SlackDestinationOptions) {
    this.options = options;
    this.name = options.name ?? 'slack';
    this.sender = options.http instanceof JsonPostSender ? options.http : new JsonPostSender(options.http);
    this.apiBaseUrl = (options.apiBaseUrl ?? 'https://slack.com/api').replace(/\/+$/, '');
    this.prefix = options.refsPrefix ?? 'slack';
  }

  async deliver(updates: readonly IncidentUpdate[]): Promise<DeliveryResult> {
    const delivered: DeliveredUpdate[] = [];
    const failed: FailedUpdate[] = [];
    const fail = (list: readonly IncidentUpdate[], error: string, retryable: boolean) => {
      for (const u of list)
        failed.push({ key: u.incident.key, revision: u.incident.revision, error, retryable });
    };
    if (updates.length === 0) return { delivered, failed };

    let mode: Mode;
    try {
      mode = modeOf(await this.options.credentials());
    } catch (error) {
      if (error instanceof SlackConfigError) throw error;
      // Secrets Manager unreachable is an outage, not a configuration fault.
      fail(updates, `${this.name}: credentials unavailable (${(error as Error)?.name ?? 'error'})`, true);
      return { delivered, failed };
    }

    let fatal: string | undefined;
    let outage: string | undefined;
    for (const group of byIncident(updates)) {
      let refs: Record<string, string> = { ...group[0]!.incident.refs };
      let blocked = false;
      for (let i = 0; i < group.length; ) {
        const update = group[i]!;
        // A run of `updated` goes out as one message.
        let end = i + 1;
        if (update.change === 'updated')
          while (group[end]?.change === 'updated' || group[end]?.change === 'recorded') end++;
        const run = group.slice(i, end);
        i = end;
        const sendable = run.filter((u) => u.change !== 'recorded');
        if (sendable.length === 0) {
          // Kept on the record, sent nowhere (see IncidentChange).
          for (const u of run) delivered.push({ key: u.incident.key, revision: u.incident.revision });
          continue;
        }
        if (fatal !== undefined) {
          fail(run, fatal, false);
          continue;
        }
        if (outage !== undefined) {
          fail(run, `${this.name}: ${skippedDuringOutage(outage)}`, true);
          continue;
        }
        if (blocked) {
          fail(run, `${this.name}: ${BLOCKED_BY_EARLIER}`, true);
          continue;
        }
        try {
          const made = await this.send(mode, sendable, refs);
          this.stats.coalesced += sendable.length - 1;
          refs = { ...refs, ...made };
          for (const [index, u] of run.entries())
            delivered.push({
              key: u.incident.key,
              revision: u.incident.revision,
              ...(index === 0 && Object.keys(made).length > 0 ? { refs: made } : {}),
            });
        } catch (error) {
          if (error instanceof HttpRequestError) throw new SlackConfigError(`${this.name}: ${error.message}`);
          if (!(error instanceof HttpDeliveryError)) throw error;
          const reason = `${this.name}: ${error.message}`;
          fail(run, reason, error.retryable);
          blocked = true;
          if (isFatal(error, mode)) fatal = reason;
          else if (error.retryable) outage = error.message;
        }
      }
    }
    return { delivered, failed };
  }

  /** Sends one message for `run` (one update, or a run of `updated`); returns refs it made. */
  private async send(
    mode: Mode,
    run: readonly IncidentUpdate[],
    refs: Readonly<Record<string, string>>,
  ): Promise<Record<string, string>> {
    const last = run.at(-1)!;
    const format = this.options.format ?? {};
    if (mode.kind === 'webhook') {
      const message = slackUpdatesDigest(run, format, { standalone: true });
      await this.sender.post({
        url: mode.url,
        body: { ...message, unfurl_links: false, unfurl_media: false },
        label: 'Slack incoming webhook',
        judge: ({ status }) => (status === 200 ? { outcome: 'delivered' } : undefined),
      });
      this.stats.messages += 1;
      return {};
    }

    const threadTs = refs[`${this.prefix}.channel`] === mode.channel ? refs[`${this.prefix}.ts`] : undefined;
    if (threadTs === undefined) {
      // No thread yet (opened, or the parent was never posted, or the channel changed): this is the parent.
      const message =
        last.change === 'opened' || last.change === 'escalated'
          ? slackUpdateMessage(last, format, { standalone: true })
          : slackIncidentMessage(last.incident, last.finding, format);
      const answer = await this.postMessage(mode, message, {});
      return { [`${this.prefix}.ts`]: answer.ts, [`${this.prefix}.channel`]: answer.channel };
    }
    const reply = slackUpdatesDigest(run, format, { standalone: false });
    const broadcast = last.change === 'escalated' || last.change === 'reopened';
    await this.postMessage(mode, reply, {
      thread_ts: threadTs,
      ...(broadcast ? { reply_broadcast: true } : {}),
    });
    this.stats.threadReplies += 1;
    await this.editParent(mode, threadTs, last.incident, last);
    return {};
  }

  private async postMessage(
    mode: Extract<Mode, { kind: 'bot' }>,
    message: SlackMessage,
    extra: Record<string, unknown>,
  ): Promise<PostMessageAnswer> {
    const answer = await this.sender.post<PostMessageAnswer>({
      url: `${this.apiBaseUrl}/chat.postMessage`,
      headers: { authorization: `Bearer ${mode.token}` },
      body: { channel: mode.channel, ...message, unfurl_links: false, unfurl_media: false, ...extra },
      label: 'Slack chat.postMessage',
      judge: apiJudge,
    });
    this.stats.messages += 1;
    return answer.body;
  }

  /** Best effort: the reply is what must arrive; a parent that cannot be edited stays as it was. */
  private async editParent(
    mode: Extract<Mode, { kind: 'bot' }>,
    ts: string,
    incident: Incident,
    update: IncidentUpdate,
  ): Promise<void> {
    const message = slackIncidentMessage(incident, update.finding, this.options.format ?? {});
    try {
      await this.sender.post({
        url: `${this.apiBaseUrl}/chat.update`,
        headers: { authorization: `Bearer ${mode.token}` },
        body: { channel: mode.channel, ts, ...message },
        label: 'Slack chat.update',
        judge: apiJudge,
      });
      this.stats.parentEdits += 1;
    } catch (error) {
      if (!(error instanceof HttpDeliveryError)) throw error;
      this.stats.parentEditFailures += 1;
    }
  }
}

/**
 * The mode the credentials select. The secret's own snake_case names
 * (`webhook_url`, `bot_token`, as the alerting configuration documents the
 * secret) are read too, so a host may pass the parsed secret as it is.
 */
function modeOf(credentials: SlackCredentials): Mode {
  const c = credentials as Partial<Record<string, unknown>>;
  const webhookUrl = c.webhookUrl ?? c.webhook_url;
  const botToken = c.botToken ?? c.bot_token;
  if (typeof webhookUrl === 'string' && webhookUrl !== '') {
    if (!URL.canParse(webhookUrl)) throw new SlackConfigError('the Slack webhook URL does not parse');
    return { kind: 'webhook', url: webhookUrl };
  }
  if (typeof botToken === 'string' && botToken !== '') {
    if (typeof c.channel !== 'string' || c.channel === '')
      throw new SlackConfigError('Slack bot-token credentials need a channel');
    return { kind: 'bot', token: botToken, channel: c.channel };
  }
  throw new SlackConfigError('Slack credentials need either webhookUrl, or botToken and channel');
}

function isFatal(error: HttpDeliveryError, mode: Mode): boolean {
  if (error.retryable) return false;
  if (error.code !== undefined && FATAL_ERRORS.has(error.code)) return true;
  return mode.kind === 'webhook' && error.status !== undefined && FATAL_WEBHOOK_STATUS.has(error.status);
}
