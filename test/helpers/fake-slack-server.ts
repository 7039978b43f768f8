/**
 * A local HTTP server on 127.0.0.1 that speaks the two Slack protocols the
 * Slack destination uses, for tests of the real sender:
 *
 * - **Incoming webhooks**: `POST /services/<team>/<bot>/<secret>` with a JSON
 *   message; `200 ok` (text/plain) on success; `404 no_service` for an
 *   unknown path, `400 invalid_payload` for a body that is not JSON or has
 *   neither `text` nor `blocks`, `400 invalid_blocks` for blocks beyond
 *   Block Kit's limits — as Slack answers.
 * - **Web API**: `POST /api/chat.postMessage` and `POST /api/chat.update`
 *   with `Authorization: Bearer <token>` and a JSON body. As the Web API
 *   does, errors are HTTP 200 with `{ok: false, error}`: `not_authed` (no
 *   token), `invalid_auth` (wrong token), `channel_not_found`,
 *   `thread_not_found` (a `thread_ts` that is no message of the channel; the
 *   real API accepts some, the fake is strict to catch mistakes),
 *   `message_not_found` (chat.update), `no_text`, `invalid_blocks`.
 *   Success answers `{ok: true, channel, ts, message}` with a fresh `ts`.
 *
 * Block Kit limits checked: 50 blocks; header text 150; section text 3000;
 * section fields 10 of 2000 each; context elements 10.
 *
 * Failures can be injected for the next N requests (to any path or to one
 * path): HTTP 429 with `Retry-After`, a 5xx storm, or a Web API
 * `{ok: false, error}` answer. Every request is recorded with its path (the
 * webhook's secret included, so tests can check it never leaks elsewhere),
 * answer status and Slack error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FailurePlan, readBody, startLocalServer } from './local-server.js';

export interface SlackPosted {
  readonly via: 'webhook' | 'api';
  readonly channel: string;
  readonly ts: string;
  readonly thread_ts: string | undefined;
  readonly reply_broadcast: boolean;
  text: string;
  blocks: unknown[];
  /** Bodies of `chat.update` calls that edited this message, in order. */
  readonly edits: { text: string; blocks: unknown[] }[];
}

export interface SlackRequestRecord {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
  status: number;
  error: string | undefined;
  readonly at: number;
}

export type SlackFailure =
  | { readonly kind: 'http'; readonly status: number; readonly retryAfter?: string; readonly body?: string }
  | { readonly kind: 'api'; readonly error: string };

export interface FakeSlack {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** `<endpoint>/api`: the destination's `apiBaseUrl`. */
  readonly apiBaseUrl: string;
  /** A working incoming-webhook URL (its path is the secret). */
  readonly webhookUrl: string;
  readonly botToken: string;
  /** The channel the bot is in. */
  readonly channel: string;
  readonly messages: SlackPosted[];
  readonly requests: SlackRequestRecord[];
  /** Answers the next `count` requests (to `path` only, when given) with this failure. */
  failNext(count: number, failure: SlackFailure, path?: string): void;
  /** Forgets injected failures not yet used. */
  clearFailures(): void;
  /** The thread replies under a parent message. */
  replies(parentTs: string): SlackPosted[];
  close(): Promise<void>;
}

export interface FakeSlackOptions {
  readonly botToken?: string;
  readonly channel?: string;
  readonly webhookPath?: string;
}

export const SLACK_BLOCK_LIMITS = {
  blocks: 50,
  header: 150,
  section: 3000,
  field: 2000,
  fields: 10,
  contextElements: 10,
} as const;

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botToken = options.botToken ?? 'xoxb-1111-2222-FAKEsecretTOKEN';
  const channel = options.channel ?? 'C0SECURITY';
  const webhookPath = options.webhookPath ?? '/services/T0TEAM/B0BOT/FAKEwebhookSECRET';
  const messages: SlackPosted[] = [];
  const requests: SlackRequestRecord[] = [];
  const failures = new FailurePlan<{ failure: SlackFailure; path: string | undefined }>();
  let clock = 1_715_000_000;
  let sequence = 0;
  const nextTs = () => `${clock}.${String(++sequence).padStart(6, '0')}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = (await readBody(req)).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const record: SlackRequestRecord = {
      path,
      authorization: req.headers.authorization,
      body,
      status: 0,
      error: undefined,
      at: Date.now(),
    };
    requests.push(record);
    const plain = (status: number, answer: string, headers: Record<string, string> = {}) => {
      record.status = status;
      if (status !== 200) record.error = answer;
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(answer);
    };
    const api = (answer: Record<string, unknown>) => {
      record.status = 200;
      if (answer.ok !== true) record.error = String(answer.error);
      const json = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(json);
    };

    const injected = failures.take((f) => f.path === undefined || f.path === path);
    if (injected !== undefined) {
      const { failure } = injected;
      if (failure.kind === 'api') return api({ ok: false, error: failure.error });
      return plain(
        failure.status,
        failure.body ?? (failure.status === 429 ? 'rate_limited' : 'internal_error'),
        failure.retryAfter !== undefined ? { 'retry-after': failure.retryAfter } : {},
      );
    }

    if (req.method !== 'POST') return plain(405, 'method_not_allowed');
    if (path.startsWith('/services/')) {
      if (path !== webhookPath) return plain(404, 'no_service');
      const message = body as { text?: unknown; blocks?: unknown } | undefined;
      if (message === undefined || (typeof message.text !== 'string' && !Array.isArray(message.blocks)))
        return plain(400, 'invalid_payload');
      if (Array.isArray(message.blocks) && blockProblem(message.blocks) !== undefined)
        return plain(400, 'invalid_blocks');
      messages.push({
        via: 'webhook',
        channel: 'webhook',
        ts: nextTs(),
        thread_ts: undefined,
        reply_broadcast: false,
        text: String(message.text ?? ''),
        blocks: (message.blocks as unknown[] | undefined) ?? [],
        edits: [],
      });
      return plain(200, 'ok');
    }

    if (path === '/api/chat.postMessage' || path === '/api/chat.update') {
      const auth = req.headers.authorization;
      if (auth === undefined || !/^Bearer\s+\S/.test(auth)) return api({ ok: false, error: 'not_authed' });
      if (auth.replace(/^Bearer\s+/, '') !== botToken) return api({ ok: false, error: 'invalid_auth' });
      const call = (body ?? {}) as Record<string, unknown>;
      if (call.channel !== channel) return api({ ok: false, error: 'channel_not_found' });
      const blocks = Array.isArray(call.blocks) ? (call.blocks as unknown[]) : undefined;
      if (typeof call.text !== 'string' && blocks === undefined) return api({ ok: false, error: 'no_text' });
      if (blocks !== undefined && blockProblem(blocks) !== undefined)
        return api({ ok: false, error: 'invalid_blocks', errors: [blockProblem(blocks)] });
      if (path === '/api/chat.postMessage') {
        const threadTs = typeof call.thread_ts === 'string' ? call.thread_ts : undefined;
        if (threadTs !== undefined && !messages.some((m) => m.ts === threadTs && m.channel === channel))
          return api({ ok: false, error: 'thread_not_found' });
        const posted: SlackPosted = {
          via: 'api',
          channel,
          ts: nextTs(),
          thread_ts: threadTs,
          reply_broadcast: call.reply_broadcast === true,
          text: String(call.text ?? ''),
          blocks: blocks ?? [],
          edits: [],
        };
        messages.push(posted);
        clock += 1;
        return api({
          ok: true,
          channel,
          ts: posted.ts,
          message: { type: 'message', text: posted.text, ts: posted.ts, thread_ts: threadTs },
        });
      }
      const target = messages.find((m) => m.ts === call.ts && m.channel === channel);
      if (target === undefined) return api({ ok: false, error: 'message_not_found' });
      target.text = String(call.text ?? '');
      target.blocks = blocks ?? [];
      target.edits.push({ text: target.text, blocks: target.blocks });
      return api({ ok: true, channel, ts: target.ts, text: target.text });
    }
    return api({ ok: false, error: 'unknown_method' });
  }

  const { endpoint, close } = await startLocalServer(handle, {
    onError: (error, _req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    },
  });
  return {
    endpoint,
    apiBaseUrl: `${endpoint}/api`,
    webhookUrl: `${endpoint}${webhookPath}`,
    botToken,
    channel,
    messages,
    requests,
    failNext(count, failure, path) {
      failures.add(count, { failure, path });
    },
    clearFailures() {
      failures.clear();
    },
    replies: (parentTs) => messages.filter((m) => m.thread_ts === parentTs),
    close,
  };
}

/** The first Block Kit limit the blocks break, or undefined. */
export function blockProblem(blocks: readonly unknown[]): string | undefined {
  if (blocks.length > SLACK_BLOCK_LIMITS.blocks) return `more than ${SLACK_BLOCK_LIMITS.blocks} blocks`;
  for (const [index, raw] of blocks.entries()) {
    const block = raw as {
      type?: string;
      text?: { type?: string; text?: string };
      fields?: { text?: string }[];
      elements?: { text?: string }[];
    };
    const where = `block ${index} (${block.type})`;
    if (block.type === 'header') {
      if (block.text?.type !== 'plain_text') return `${where}: header text must be plain_text`;
      if ((block.text.text ?? '').length > SLACK_BLOCK_LIMITS.header) return `${where}: header text too long`;
    } else if (block.type === 'section') {
      if (block.text === undefined && block.fields === undefined) return `${where}: needs text or fields`;
      if ((block.text?.text ?? '').length > SLACK_BLOCK_LIMITS.section) return `${where}: text too long`;
      if ((block.fields?.length ?? 0) > SLACK_BLOCK_LIMITS.fields) return `${where}: too many fields`;
      if (block.fields?.some((f) => (f.text ?? '').length > SLACK_BLOCK_LIMITS.field))
        return `${where}: field too long`;
    } else if (block.type === 'context') {
      if ((block.elements?.length ?? 0) > SLACK_BLOCK_LIMITS.contextElements)
        return `${where}: too many elements`;
    } else if (block.type !== 'divider') return `${where}: unknown block type`;
    if (block.text !== undefined && (block.text.text ?? '') === '') return `${where}: empty text`;
  }
  return undefined;
}
