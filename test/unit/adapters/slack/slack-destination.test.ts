/**
 * The Slack destination with its real HTTP sender against a local server
 * speaking incoming webhooks and the Web API (chat.postMessage, chat.update).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SlackConfigError,
  type SlackCredentials,
  SlackDestination,
} from '../../../../adapters/slack/slack-destination.js';
import type { IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import type { DeliveryResult } from '../../../../detectors/alerting/ports.js';
import { type FakeSlack, type SlackPosted, startFakeSlack } from '../../../helpers/fake-slack-server.js';
import { HOUR, makeFinding, T0, virtualTime } from '../../../helpers/findings.js';
import { foldAll, stateUpdate, withRefs } from '../../../helpers/incident-story.js';

let slack: FakeSlack;

beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});
beforeEach(() => {
  slack.messages.length = 0;
  slack.requests.length = 0;
  slack.clearFailures();
});

const FORMAT = { runbookBaseUrl: 'https://runbooks.example.com/trailhound' };

function bot(time = virtualTime(), credentials?: () => Promise<SlackCredentials>) {
  return new SlackDestination({
    name: 'slack-soc',
    credentials: credentials ?? (async () => ({ botToken: slack.botToken, channel: slack.channel })),
    apiBaseUrl: slack.apiBaseUrl,
    format: FORMAT,
    http: { sleep: time.sleep, clock: time.clock, budgetMs: 60_000 },
  });
}

function webhook(time = virtualTime(), url = slack.webhookUrl) {
  return new SlackDestination({
    credentials: async () => ({ webhookUrl: url }),
    format: FORMAT,
    http: { sleep: time.sleep, clock: time.clock, budgetMs: 60_000 },
  });
}

/** An incident's story: opened, one more finding (updated), an escalation, acknowledged, resolved. */
function story(principal = 'arn:aws:iam::111122223333:user/mallory') {
  const actor = { principal, type: 'IAMUser' };
  const [opened, updated, escalated] = foldAll([
    makeFinding({ actor, severity: 'medium' }),
    makeFinding({ actor, finding_uid: 'f-2', first_seen: T0 + HOUR, last_seen: T0 + HOUR }),
    makeFinding({
      actor,
      finding_uid: 'f-3',
      severity: 'high',
      tactic: 'Persistence',
      rule: { uid: 'aws.persistence.access-key-created', name: 'Access key created for another user' },
      first_seen: T0 + 2 * HOUR,
      last_seen: T0 + 2 * HOUR,
    }),
  ]);
  const acknowledged = stateUpdate(escalated!.incident, 'acknowledged', 'alice@example.com');
  const resolved = stateUpdate(acknowledged.incident, 'resolved', 'bob@example.com');
  return { opened: opened!, updated: updated!, escalated: escalated!, acknowledged, resolved };
}

/** Every string a result and a thrown error expose. */
const exposed = (result: DeliveryResult | undefined, error?: unknown) =>
  JSON.stringify(result) + String(error) + String((error as Error | undefined)?.stack);

const headerText = (message: SlackPosted | { blocks: unknown[] }) =>
  ((message.blocks[0] as { type: string; text?: { text: string } }).type === 'header'
    ? (message.blocks[0] as { text: { text: string } }).text.text
    : '') as string;

describe('SlackDestination, bot token', () => {
  it('posts the parent, returns its ts as refs, replies in the thread and edits the parent', async () => {
    // Prepare
    const destination = bot();
    const s = story();

    // Act: as the host does it — deliver, merge refs into the incident, deliver the next.
    const first = await destination.deliver([s.opened]);
    const refs = first.delivered[0]?.refs;
    const later = await destination.deliver(
      [s.updated, s.escalated, s.acknowledged, s.resolved].map((u) => withRefs(u, refs)),
    );

    // Assess
    expect(first.failed).toEqual([]);
    const parent = slack.messages[0]!;
    expect(refs).toEqual({ 'slack.ts': parent.ts, 'slack.channel': slack.channel });
    expect(parent.thread_ts).toBeUndefined();
    expect(headerText(parent)).toMatch(/^\[CRITICAL\] .*\(resolved\)$/);
    expect(later.failed).toEqual([]);
    expect(later.delivered.map((d) => d.revision)).toEqual([2, 3, 4, 5]);
    const replies = slack.replies(parent.ts);
    expect(replies).toHaveLength(4);
    expect(replies.map((r) => r.reply_broadcast)).toEqual([false, true, false, false]);
    expect(JSON.stringify(replies[2]?.blocks)).toContain('Acknowledged by `alice@example.com`');
    expect(JSON.stringify(replies[3]?.blocks)).toContain('Resolved by `bob@example.com`');
    // The parent was edited after each reply; it now shows the severity and state it ended with.
    expect(parent.edits).toHaveLength(4);
    expect(headerText(parent.edits[1]!)).toMatch(/^\[CRITICAL\]/);
    expect(headerText(parent.edits[2]!)).toMatch(/\(acknowledged\)$/);
    expect(destination.stats).toMatchObject({ messages: 5, threadReplies: 4, parentEdits: 4 });
    for (const request of slack.requests) expect(request.authorization).toBe(`Bearer ${slack.botToken}`);
  });

  it('threads updates under a parent posted earlier in the same batch', async () => {
    const s = story();

    const result = await bot().deliver([s.opened, s.updated]);

    expect(result.failed).toEqual([]);
    expect(result.delivered[0]?.refs?.['slack.ts']).toBe(slack.messages[0]?.ts);
    expect(slack.messages[1]?.thread_ts).toBe(slack.messages[0]?.ts);
  });

  it('honours Retry-After on HTTP 429, measured through the injected sleep', async () => {
    const time = virtualTime();
    slack.failNext(1, { kind: 'http', status: 429, retryAfter: '3' }, '/api/chat.postMessage');

    const result = await bot(time).deliver([story().opened]);

    expect(result.failed).toEqual([]);
    expect(time.sleeps).toEqual([3000]);
    expect(slack.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('retries ok:false ratelimited (HTTP 200) and internal_error', async () => {
    const time = virtualTime();
    slack.failNext(1, { kind: 'api', error: 'ratelimited' });
    slack.failNext(1, { kind: 'api', error: 'internal_error' });

    const result = await bot(time).deliver([story().opened]);

    expect(result.failed).toEqual([]);
    expect(slack.requests.map((r) => r.error)).toEqual(['ratelimited', 'internal_error', undefined]);
    expect(time.sleeps).toHaveLength(2);
  });

  it('channel_not_found: not retryable, and the rest of the batch is failed without sending', async () => {
    const s = story();
    const other = story('arn:aws:iam::111122223333:user/trent');
    const destination = new SlackDestination({
      credentials: async () => ({ botToken: slack.botToken, channel: 'C0GONE' }),
      apiBaseUrl: slack.apiBaseUrl,
      http: virtualTime(),
    });

    const result = await destination.deliver([s.opened, s.updated, other.opened]);

    expect(result.delivered).toEqual([]);
    expect(result.failed.map((f) => f.retryable)).toEqual([false, false, false]);
    expect(result.failed[0]?.error).toContain('channel_not_found');
    expect(slack.requests).toHaveLength(1);
  });

  it('invalid_auth after a rotation: not retryable, the token never in the result', async () => {
    const token = 'xoxb-ROTATED-AWAY-SECRET';
    const destination = bot(virtualTime(), async () => ({ botToken: token, channel: slack.channel }));

    const result = await destination.deliver([story().opened]);

    expect(result.failed[0]).toMatchObject({ retryable: false });
    expect(result.failed[0]?.error).toContain('invalid_auth');
    expect(exposed(result)).not.toContain(token);
    expect(exposed(result)).not.toContain('ROTATED');
  });

  it('uses the credentials of each delivery (rotation)', async () => {
    let current: SlackCredentials = { botToken: 'xoxb-old-REVOKED', channel: slack.channel };
    const destination = bot(virtualTime(), async () => current);
    const s = story();

    const before = await destination.deliver([s.opened]);
    current = { botToken: slack.botToken, channel: slack.channel };
    const after = await destination.deliver([s.opened]);

    expect(before.failed).toHaveLength(1);
    expect(after.delivered).toHaveLength(1);
  });

  it('a 5xx storm beyond the budget fails the update as retryable and attempts nothing more in that delivery', async () => {
    const time = virtualTime();
    const destination = new SlackDestination({
      credentials: async () => ({ botToken: slack.botToken, channel: slack.channel }),
      apiBaseUrl: slack.apiBaseUrl,
      http: { ...time, budgetMs: 10_000, retry: { retries: 50, baseMs: 1000, maxMs: 4000 } },
    });
    slack.failNext(100, { kind: 'http', status: 503 });
    const s = story();
    const other = story('arn:aws:iam::111122223333:user/trent');

    const result = await destination.deliver([s.opened, s.updated, other.opened]);

    expect(result.delivered).toEqual([]);
    expect(result.failed.map((f) => [f.key === s.opened.incident.key, f.revision, f.retryable])).toEqual([
      [true, 1, true],
      [true, 2, true],
      [false, 1, true],
    ]);
    expect(result.failed[0]?.error).toMatch(/HTTP 503.*budget/);
    expect(result.failed[1]?.error).toContain('not attempted: the destination was failing');
    expect(result.failed[2]?.error).toContain('not attempted: the destination was failing');
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(10_000);
  });

  it('a parent that cannot be edited any more does not fail the reply', async () => {
    const s = story();
    const first = await bot().deliver([s.opened]);
    slack.failNext(1, { kind: 'api', error: 'cant_update_message' }, '/api/chat.update');
    const destination = bot();

    const result = await destination.deliver([withRefs(s.updated, first.delivered[0]?.refs)]);

    expect(result.delivered).toHaveLength(1);
    expect(destination.stats.parentEditFailures).toBe(1);
  });

  it('escapes a crafted principal in everything it posts', async () => {
    const crafted = 'arn:aws:iam::111122223333:user/<!here>&<https://evil.example|login>';
    const s = story(crafted);

    const first = await bot().deliver([s.opened]);
    await bot().deliver([withRefs(s.acknowledged, first.delivered[0]?.refs)]);

    const posted = JSON.stringify(slack.messages);
    expect(posted).not.toContain('<!here>');
    expect(posted).not.toContain('<https://evil.example');
    expect(posted).toContain('&lt;!here&gt;&amp;&lt;https://evil.example|login&gt;');
  });

  it('malformed credentials are a configuration fault: thrown, without the secret', async () => {
    const destination = bot(virtualTime(), async () => ({ botToken: 'xoxb-NO-CHANNEL' }) as never);

    const error = await destination.deliver([story().opened]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SlackConfigError);
    expect(exposed(undefined, error)).not.toContain('xoxb-NO-CHANNEL');
  });

  it('credentials that cannot be fetched fail the batch as retryable', async () => {
    const destination = bot(virtualTime(), async () => {
      throw new Error('secret value xoxb-LEAKY-MESSAGE');
    });

    const result = await destination.deliver([story().opened]);

    expect(result.failed).toEqual([
      expect.objectContaining({ retryable: true, error: 'slack-soc: credentials unavailable (Error)' }),
    ]);
    expect(exposed(result)).not.toContain('LEAKY');
  });
});

describe('SlackDestination, incoming webhook', () => {
  it('posts every update as a new message: full, light, closing; a burst of updates as one', async () => {
    // Prepare
    const destination = webhook();
    const s = story();
    // Another actor's incident, opened earlier, gets three more findings.
    const actor = { principal: 'arn:aws:iam::111122223333:user/trent', type: 'IAMUser' };
    const burst = foldAll(
      ['f-2', 'f-3', 'f-4'].map((uid) => makeFinding({ actor, finding_uid: uid })),
      foldAll([makeFinding({ actor })])[0]!.incident,
    );
    expect(burst.map((u) => u.change)).toEqual(['updated', 'updated', 'updated']);

    // Act
    const result = await destination.deliver([s.opened, s.escalated, s.acknowledged, s.resolved, ...burst]);

    // Assess
    expect(result.failed).toEqual([]);
    expect(result.delivered).toHaveLength(7);
    expect(result.delivered.every((d) => d.refs === undefined)).toBe(true);
    expect(slack.messages.map((m) => m.via)).toEqual(['webhook', 'webhook', 'webhook', 'webhook', 'webhook']);
    const [opened, escalated, acknowledged, resolved, digest] = slack.messages;
    expect(headerText(opened!)).toMatch(/^\[MEDIUM\]/);
    expect(headerText(escalated!)).toMatch(/^:arrow_double_up: Escalated \[CRITICAL\]/);
    expect(acknowledged!.blocks).toHaveLength(2);
    expect(JSON.stringify(acknowledged!.blocks)).toContain('Acknowledged by');
    expect(JSON.stringify(resolved!.blocks)).toContain('Resolved by');
    expect(JSON.stringify(digest!.blocks)).toContain('3 updates:');
    expect(destination.stats.coalesced).toBe(2);
    for (const request of slack.requests) expect(request.authorization).toBeUndefined();
  });

  it('honours Retry-After and rides out a 5xx storm', async () => {
    const time = virtualTime();
    slack.failNext(1, { kind: 'http', status: 429, retryAfter: '4' });
    slack.failNext(3, { kind: 'http', status: 500 });

    const result = await webhook(time).deliver([story().opened]);

    expect(result.failed).toEqual([]);
    expect(time.sleeps[0]).toBe(4000);
    expect(slack.requests.map((r) => r.status)).toEqual([429, 500, 500, 500, 200]);
  });

  it('a wrong webhook URL: 404 no_service, not retryable, the secret path in no error', async () => {
    const url = `${slack.endpoint}/services/T0TEAM/B0BOT/WRONGsecretPATH`;
    const s = story();

    const result = await webhook(virtualTime(), url).deliver([s.opened, s.updated]);

    expect(result.failed.map((f) => f.retryable)).toEqual([false, false]);
    expect(result.failed[0]?.error).toContain('no_service');
    expect(result.failed[0]?.error).toContain(slack.endpoint);
    expect(exposed(result)).not.toContain('WRONGsecretPATH');
    expect(exposed(result)).not.toContain('/services/');
    expect(slack.requests).toHaveLength(1);
  });

  it('a 400 invalid_payload is not retried', async () => {
    slack.failNext(1, { kind: 'http', status: 400, body: 'invalid_payload' });

    const result = await webhook().deliver([story().opened]);

    expect(result.failed[0]).toMatchObject({ retryable: false });
    expect(result.failed[0]?.error).toContain('invalid_payload');
    expect(slack.requests).toHaveLength(1);
  });

  it('a webhook URL that does not parse is a configuration fault, thrown without the URL', async () => {
    const destination = webhook(virtualTime(), 'not a url/services/T/B/secretXYZ');

    const error = await destination.deliver([story().opened]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SlackConfigError);
    expect(exposed(undefined, error)).not.toContain('secretXYZ');
  });

  it('reads the secret’s snake_case names as well', async () => {
    const destination = new SlackDestination({
      credentials: async () => ({ webhook_url: slack.webhookUrl }) as never,
      http: virtualTime(),
    });

    const result = await destination.deliver([story().opened]);

    expect(result.delivered).toHaveLength(1);
  });

  it('sends nothing for an empty batch', async () => {
    expect(await webhook().deliver([] as IncidentUpdate[])).toEqual({ delivered: [], failed: [] });
    expect(slack.requests).toHaveLength(0);
  });
});
