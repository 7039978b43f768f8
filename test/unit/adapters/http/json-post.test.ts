/**
 * The shared JSON sender against local servers speaking the destinations'
 * protocols (the fake Slack webhook and PagerDuty Events API), with an
 * injected sleep and clock so waits are measured, not waited.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HttpDeliveryError,
  HttpRequestError,
  JsonPostSender,
  type RetryNotice,
  redact,
  retryAfterMs,
} from '../../../../adapters/http/json-post.js';
import { type FakePagerDuty, startFakePagerDuty } from '../../../helpers/fake-pagerduty-server.js';
import { type FakeSlack, startFakeSlack } from '../../../helpers/fake-slack-server.js';
import { virtualTime } from '../../../helpers/findings.js';
import { startLocalServer } from '../../../helpers/local-server.js';

let slack: FakeSlack;
let pagerduty: FakePagerDuty;

beforeAll(async () => {
  slack = await startFakeSlack();
  pagerduty = await startFakePagerDuty();
});
afterAll(async () => {
  await slack.close();
  await pagerduty.close();
});

const message = { text: 'hello' };
const webhookSecret = () => new URL(slack.webhookUrl).pathname;

/** Everything an error exposes as text: message, name, code, and its causes. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (
    let e = error as Error | undefined, depth = 0;
    e instanceof Error && depth < 6;
    e = e.cause as Error, depth++
  )
    parts.push(e.name, e.message, String(e.stack), JSON.stringify(e), String((e as { code?: unknown }).code));
  return parts.join('\n');
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('JsonPostSender', () => {
  beforeEach(() => {
    slack.requests.length = 0;
    pagerduty.requests.length = 0;
    slack.clearFailures();
    pagerduty.clearFailures();
  });

  it('posts JSON and returns the status and parsed body', async () => {
    const sender = new JsonPostSender();

    const answer = await sender.post({
      url: `${pagerduty.endpoint}/v2/enqueue`,
      body: { routing_key: pagerduty.routingKey, event_action: 'acknowledge', dedup_key: 'k-1' },
    });

    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'k-1' });
    expect(answer.attempts).toBe(1);
    expect(pagerduty.requests[0]?.body).toEqual({
      routing_key: pagerduty.routingKey,
      event_action: 'acknowledge',
      dedup_key: 'k-1',
    });
  });

  it('waits what Retry-After asks (seconds) after a 429, then delivers', async () => {
    // Prepare
    const time = virtualTime();
    const notices: RetryNotice[] = [];
    const sender = new JsonPostSender({ ...time, onRetry: (n) => notices.push(n) });
    slack.failNext(2, { kind: 'http', status: 429, retryAfter: '7' });

    // Act
    const answer = await sender.post({ url: slack.webhookUrl, body: message });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
    expect(answer.attempts).toBe(3);
    expect(time.sleeps).toEqual([7000, 7000]);
    expect(notices.map((n) => [n.status, n.delayMs, n.origin])).toEqual([
      [429, 7000, slack.endpoint],
      [429, 7000, slack.endpoint],
    ]);
    expect(JSON.stringify(notices)).not.toContain(webhookSecret());
  });

  it('reads Retry-After as an HTTP date, and caps it at retry.maxMs', async () => {
    const time = virtualTime();
    const date = new Date(time.clock() + 12_000).toUTCString();
    const sender = new JsonPostSender({ ...time, budgetMs: 60_000, retry: { maxMs: 20_000 } });
    slack.failNext(1, { kind: 'http', status: 429, retryAfter: date });
    slack.failNext(1, { kind: 'http', status: 503, retryAfter: '3600' });

    await sender.post({ url: slack.webhookUrl, body: message });

    expect(time.sleeps).toEqual([12_000, 20_000]);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(
      60_000,
    );
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('rides out a 5xx storm with jittered, growing backoff', async () => {
    const time = virtualTime();
    const sender = new JsonPostSender({ ...time, retry: { retries: 5, baseMs: 100, maxMs: 10_000 } });
    pagerduty.failNext(4, 503);

    const answer = await sender.post({
      url: `${pagerduty.endpoint}/v2/enqueue`,
      body: { routing_key: pagerduty.routingKey, event_action: 'resolve', dedup_key: 'k' },
    });

    expect(answer.status).toBe(202);
    expect(answer.attempts).toBe(5);
    expect(pagerduty.requests.map((r) => r.status)).toEqual([503, 503, 503, 503, 202]);
    // Attempt n waits between half and all of base * 2^(n-1).
    time.sleeps.forEach((ms, index) => {
      const ceiling = 100 * 2 ** index;
      expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
      expect(ms).toBeLessThanOrEqual(ceiling);
    });
  });

  it('gives up on a storm that outlasts the budget: retryable, without waiting past it', async () => {
    const time = virtualTime();
    const sender = new JsonPostSender({
      ...time,
      budgetMs: 5_000,
      retry: { retries: 20, baseMs: 1_000, maxMs: 4_000 },
    });
    pagerduty.failNext(50, 502);

    const error = await caught(
      sender.post({ url: `${pagerduty.endpoint}/v2/enqueue`, body: {}, secrets: [pagerduty.routingKey] }),
    );

    expect(error).toBeInstanceOf(HttpDeliveryError);
    const delivery = error as HttpDeliveryError;
    expect(delivery.retryable).toBe(true);
    expect(delivery.status).toBe(502);
    expect(delivery.message).toMatch(/budget is spent/);
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThan(5_000);
    expect(pagerduty.requests.length).toBe(delivery.details.attempts);
  });

  it('does not retry a 400: refused, not retryable, the answer’s code kept', async () => {
    const time = virtualTime();
    const sender = new JsonPostSender(time);

    const error = (await caught(
      sender.post({ url: `${slack.endpoint}/services/x/y/wrong`, body: message }),
    )) as HttpDeliveryError;

    expect(error.retryable).toBe(false);
    expect(error.status).toBe(404);
    expect(error.code).toBe('no_service');
    expect(slack.requests).toHaveLength(1);
    expect(time.sleeps).toEqual([]);

    const invalid = (await caught(
      sender.post({ url: `${pagerduty.endpoint}/v2/enqueue`, body: { routing_key: 'short' } }),
    )) as HttpDeliveryError;
    expect(invalid.status).toBe(400);
    expect(invalid.retryable).toBe(false);
    expect(pagerduty.requests).toHaveLength(1);
  });

  it('retries network errors and timeouts; errors name the origin only', async () => {
    // A server that accepts and never answers, and a port nobody listens on.
    const unanswered = { onError: () => {} };
    const silent = await startLocalServer(async () => {}, unanswered);
    const silentUrl = `${silent.endpoint}/services/T/B/timeoutSECRET`;
    const closed = await startLocalServer(async () => {}, unanswered);
    const closedUrl = `${closed.endpoint}/services/T/B/refusedSECRET`;
    await closed.close();
    const time = virtualTime();
    const sender = new JsonPostSender({ ...time, timeoutMs: 100, retry: { retries: 2, baseMs: 10 } });

    const timeout = (await caught(sender.post({ url: silentUrl, body: message }))) as HttpDeliveryError;
    const refused = (await caught(sender.post({ url: closedUrl, body: message }))) as HttpDeliveryError;
    await silent.close();

    expect(timeout.retryable).toBe(true);
    expect(timeout.message).toMatch(/no answer within 100 ms/);
    expect(refused.retryable).toBe(true);
    expect(refused.message).toMatch(/network error \(ECONNREFUSED\)/);
    expect(refused.details.attempts).toBe(3);
    for (const [error, secret] of [
      [timeout, 'timeoutSECRET'],
      [refused, 'refusedSECRET'],
    ] as const) {
      expect(errorText(error)).not.toContain(secret);
      expect(errorText(error)).not.toContain('/services/');
    }
  });

  it('keeps the URL path, header values and listed secrets out of every error', async () => {
    const time = virtualTime();
    const sender = new JsonPostSender({ ...time, budgetMs: 1_000, retry: { retries: 1, baseMs: 10 } });
    slack.failNext(5, { kind: 'http', status: 500, body: `echo ${webhookSecret()} Bearer xoxb-TOKEN-ECHO` });

    const error = await caught(
      sender.post({
        url: slack.webhookUrl,
        body: message,
        headers: { authorization: 'Bearer xoxb-TOKEN-ECHO' },
        secrets: ['never-show-me'],
      }),
    );
    const badUrl = await caught(
      sender.post({ url: 'hooks.slack.com/services/T/B/badSECRET', body: message }),
    );

    expect(errorText(error)).toContain(slack.endpoint);
    expect(errorText(error)).not.toContain(webhookSecret());
    expect(errorText(error)).not.toContain('xoxb-TOKEN-ECHO');
    expect(badUrl).toBeInstanceOf(HttpRequestError);
    expect(errorText(badUrl)).not.toContain('badSECRET');
    expect(redact('a SECRET b', ['SECRET'])).toBe('a [redacted] b');
  });

  it('lets a judge turn a 200 into a retry (Slack ok:false ratelimited)', async () => {
    const time = virtualTime();
    const sender = new JsonPostSender(time);
    slack.failNext(1, { kind: 'api', error: 'ratelimited' });

    const answer = await sender.post<{ ok: boolean; error?: string }>({
      url: `${slack.apiBaseUrl}/chat.postMessage`,
      headers: { authorization: `Bearer ${slack.botToken}` },
      body: { channel: slack.channel, text: 'x' },
      judge: ({ body }) => {
        const b = body as { ok?: boolean; error?: string };
        if (b.ok === true) return { outcome: 'delivered' };
        return b.error === 'ratelimited' ? { outcome: 'retry', retryAfterMs: 1500 } : { outcome: 'refused' };
      },
    });

    expect(answer.body.ok).toBe(true);
    expect(time.sleeps).toEqual([1500]);
  });
});
