/**
 * `trailhound scan --notify`, `notify test|redrive` and `incident list|ack`
 * as a user runs them: the bundled CLI in a child process, reading its
 * credentials from Secrets Manager (a local server of its API) and sending to
 * local servers of Slack's Web API and PagerDuty's Events API.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../adapters/dynamodb/incident-store.js';
import { startLocalDynalite } from '../../adapters/dynamodb/local-dynalite.js';
import { createProfileTable } from '../../adapters/dynamodb/profile-store.js';
import { foldFinding } from '../../detectors/alerting/incident.js';
import { runCliAsync } from '../helpers/cli.js';
import { type FakeAws, startFakeAws } from '../helpers/fake-aws-server.js';
import { type FakePagerDuty, startFakePagerDuty } from '../helpers/fake-pagerduty-server.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack-server.js';
import { makeFinding, T0 } from '../helpers/findings.js';

let aws: FakeAws;
let slack: FakeSlack;
let pagerDuty: FakePagerDuty;
let alertingDir: string;
let env: Record<string, string>;

const SCAN = [
  'scan',
  'samples/cloudtrail',
  '--rules',
  'samples/tuning',
  '--no-baselines',
  '--format',
  'json',
];

beforeAll(async () => {
  [aws, slack, pagerDuty] = await Promise.all([startFakeAws(), startFakeSlack(), startFakePagerDuty()]);
  aws.putSecret(
    'trailhound/slack-soc',
    JSON.stringify({ bot_token: slack.botToken, channel: slack.channel }),
  );
  aws.putSecret('trailhound/pagerduty', JSON.stringify({ routing_key: pagerDuty.routingKey }));
  alertingDir = mkdtempSync(join(tmpdir(), 'trailhound-alerting-'));
  writeFileSync(
    join(alertingDir, 'alerting.yml'),
    [
      'destinations:',
      '  - { name: slack-soc, kind: slack, secret: trailhound/slack-soc }',
      '  - { name: pagerduty, kind: pagerduty, secret: trailhound/pagerduty }',
      'routes:',
      '  - { destination: slack-soc, min_severity: medium }',
      '  - { destination: pagerduty, min_severity: high }',
    ].join('\n'),
  );
  env = {
    AWS_ACCESS_KEY_ID: 'AKIDTRAILHOUNDTEST',
    AWS_SECRET_ACCESS_KEY: 'trailhound-test-secret',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    TRAILHOUND_SLACK_API_URL: slack.apiBaseUrl,
    TRAILHOUND_PAGERDUTY_URL: pagerDuty.endpoint,
  };
});

afterAll(async () => {
  await Promise.all([aws?.close(), slack?.close(), pagerDuty?.close()]);
});

function secretsIn(text: string): string[] {
  return [slack.botToken, pagerDuty.routingKey].filter((secret) => text.includes(secret));
}

describe('trailhound scan --notify', () => {
  it('opens one incident per actor, threads it in Slack, pages the high ones, and repeats nothing on a re-scan', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trailhound-state-'));
    const first = await runCliAsync([...SCAN, '--state', state, '--notify', alertingDir], { env });
    expect(first.stderr).toMatch(/alerting: \d+ findings, 0 suppressed, \d+ incidents opened/);
    expect(first.status).toBe(0);
    expect(secretsIn(first.stdout + first.stderr)).toEqual([]);

    const parents = slack.messages.filter((m) => m.thread_ts === undefined);
    expect(parents.length).toBeGreaterThan(0);
    // One parent per incident: no two parents name the same incident key.
    const keys = parents.map((m) => /inc-[A-Za-z0-9_-]{22}/.exec(JSON.stringify(m.blocks))?.[0]);
    expect(new Set(keys).size).toBe(parents.length);
    expect(pagerDuty.alerts.length).toBeGreaterThan(0);
    expect(pagerDuty.alerts.every((a) => a.state === 'triggered')).toBe(true);

    const before = { slack: slack.requests.length, pagerDuty: pagerDuty.requests.length };
    const again = await runCliAsync([...SCAN, '--state', state, '--notify', alertingDir], { env });
    expect(again.status).toBe(0);
    expect({ slack: slack.requests.length, pagerDuty: pagerDuty.requests.length }).toEqual(before);

    // The incidents are listed, and acknowledging one tells PagerDuty.
    const list = await runCliAsync(['incident', 'list', '--state', state, '--alerting', alertingDir], {
      env,
    });
    expect(list.status).toBe(0);
    const paged = pagerDuty.alerts[0]?.dedupKey as string;
    expect(list.stdout).toContain(paged);
    const ack = await runCliAsync(
      ['incident', 'ack', paged, '--by', 'alice@example.com', '--state', state, '--alerting', alertingDir],
      { env },
    );
    expect(ack.stdout).toMatch(new RegExp(`${paged}: acknowledged; .*pagerduty: 1 sent`));
    expect(pagerDuty.alert(paged)?.state).toBe('acknowledged');
  });

  it('keeps what PagerDuty could not take, and `notify redrive` delivers it once PagerDuty is back', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trailhound-state-'));
    const accepted = () => pagerDuty.requests.filter((r) => r.status === 202).length;
    const before = accepted();
    pagerDuty.failNext(10_000, 503);
    const scan = await runCliAsync([...SCAN, '--state', state, '--notify', alertingDir, '--quiet'], { env });
    expect(scan.status).toBe(0);
    expect(scan.stderr).toMatch(/not delivered; they are kept in .*undelivered/);
    expect(readdirSync(join(state, 'undelivered')).length).toBeGreaterThan(0);
    expect(accepted()).toBe(before);

    pagerDuty.clearFailures();
    const redrive = await runCliAsync(['notify', 'redrive', '--state', state, '--alerting', alertingDir], {
      env,
    });
    expect(redrive.stdout).toMatch(/redrive: [1-9]\d* delivered, 0 still failing/);
    expect(redrive.status).toBe(0);
    const delivered = Number(/redrive: (\d+) delivered/.exec(redrive.stdout)?.[1]);
    expect(accepted()).toBe(before + delivered);
    expect(readdirSync(join(state, 'undelivered'))).toEqual([]);
  }, 120_000);
});

describe('trailhound notify test', () => {
  it('sends a sample marked as a test to the named kind of destination', async () => {
    const before = slack.messages.length;
    const result = await runCliAsync(
      ['notify', 'test', '--destination', 'slack', '--alerting', alertingDir],
      { env },
    );
    expect(result.stdout).toContain('sent a test notification to slack-soc (slack)');
    expect(result.status).toBe(0);
    expect(JSON.stringify(slack.messages.slice(before))).toContain('test notification');
  });

  it('fails with the reason, and no secret, when the destination refuses the credentials', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailhound-alerting-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'alerting.yml'),
      'destinations:\n  - { name: chat, kind: slack, secret: trailhound/wrong-token }\n',
    );
    aws.putSecret(
      'trailhound/wrong-token',
      JSON.stringify({ bot_token: 'xoxb-wrong-0000', channel: slack.channel }),
    );
    const result = await runCliAsync(['notify', 'test', '--destination', 'chat', '--alerting', dir], { env });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/chat: not delivered: .*invalid_auth/);
    expect(result.stderr).not.toContain('xoxb-wrong-0000');
  });
});

describe('trailhound incident --table (a deployment)', () => {
  it('lists and acknowledges the incidents of a deployed table, reached with AWS credentials', async () => {
    const dynamo = await startLocalDynalite();
    try {
      await createProfileTable(dynamo.client, 'prod-profiles');
      const store = new DynamoIncidentStore({ client: dynamo.client, tableName: 'prod-profiles' });
      const { incident } = foldFinding(undefined, makeFinding({ severity: 'high' }), T0);
      expect(await store.put(incident, 0)).toBe(true);
      const deployed = { ...env, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint };

      const list = await runCliAsync(
        ['incident', 'list', '--table', 'prod-profiles', '--alerting', alertingDir],
        {
          env: deployed,
        },
      );
      expect(list.stdout).toContain(incident.key);
      const ack = await runCliAsync(
        [
          'incident',
          'ack',
          incident.key,
          '--table',
          'prod-profiles',
          '--by',
          'bob@example.com',
          '--alerting',
          alertingDir,
        ],
        { env: deployed },
      );
      expect(ack.status).toBe(0);
      expect((await store.get(incident.key))?.state).toBe('acknowledged');

      const both = await runCliAsync(
        ['incident', 'list', '--table', 'prod-profiles', '--state', '/tmp/x', '--alerting', alertingDir],
        { env: deployed },
      );
      expect(both.status).toBe(2);
      expect(both.stderr).toContain('either --state DIR');
    } finally {
      await dynamo.close();
    }
  });
});
