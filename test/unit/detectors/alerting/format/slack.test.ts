import { describe, expect, it } from 'vitest';
import {
  attackUrl,
  clip,
  escapeMrkdwn,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackMessage,
  slackIncidentMessage,
  slackUpdateMessage,
  slackUpdatesDigest,
} from '../../../../../detectors/alerting/format/slack.js';
import { blockProblem } from '../../../../helpers/fake-slack-server.js';
import { HOUR, makeFinding, T0 } from '../../../../helpers/findings.js';
import { foldAll, stateUpdate } from '../../../../helpers/incident-story.js';

const OPTIONS = {
  runbookBaseUrl: 'https://runbooks.example.com/trailhound/',
  incidentUrl: (i: { key: string }) => `https://trailhound.example.com/incidents/${i.key}`,
};

/** Every mrkdwn text in a message, the fallback included. */
function mrkdwnTexts(message: SlackMessage): string[] {
  const texts = [message.text];
  for (const block of message.blocks) {
    if (block.type === 'section') {
      if (block.text?.type === 'mrkdwn') texts.push(block.text.text);
      for (const field of block.fields ?? []) texts.push(field.text);
    }
    if (block.type === 'context') for (const element of block.elements) texts.push(element.text);
  }
  return texts;
}

const headerOf = (message: SlackMessage) =>
  (message.blocks.find((b) => b.type === 'header') as Extract<SlackBlock, { type: 'header' }> | undefined)
    ?.text.text;

const allText = (message: SlackMessage) => mrkdwnTexts(message).join('\n');

describe('Slack messages', () => {
  it('opened: severity and title, actor, account, region, explanation, evidence, ATT&CK, runbook, query', () => {
    // Prepare
    const [opened] = foldAll([
      makeFinding({
        severity: 'high',
        evidence: { event_uids: ['ev-1', 'ev-2'], operations: ['iam:ListUsers', 'iam:ListRoles'] },
        resources: [{ uid: 'arn:aws:iam::111122223333:role/admin' }],
      }),
    ]);

    // Act
    const message = slackUpdateMessage(opened!, OPTIONS);

    // Assess
    const text = allText(message);
    expect(headerOf(message)).toBe('[HIGH] IAM users listed from a new network — mallory');
    expect(text).toContain('`arn:aws:iam::111122223333:user/mallory`');
    expect(text).toContain('AWS `111122223333`');
    expect(text).toContain('`us-east-1`');
    expect(text).toContain('mallory listed the IAM users of 111122223333');
    expect(text).toContain('`ev-1`, `ev-2`');
    expect(text).toContain('`iam:ListUsers`, `iam:ListRoles`');
    expect(text).toContain('`arn:aws:iam::111122223333:role/admin`');
    expect(text).toContain(
      '<https://attack.mitre.org/techniques/T1087/004/|T1087.004 Account Discovery: Cloud Account>',
    );
    expect(text).toContain(
      '<https://runbooks.example.com/trailhound/aws.discovery.test-rule|aws.discovery.test-rule>',
    );
    expect(text).toContain('1. Ask mallory whether the calls were theirs.');
    expect(text).toMatch(/```SELECT eventTime[\s\S]*eventID IN \('ev-1', 'ev-2'\)[\s\S]*```/);
    expect(text).toContain(`<https://trailhound.example.com/incidents/${opened!.incident.key}|`);
    expect(blockProblem(message.blocks)).toBeUndefined();
  });

  it('escapes a crafted principal, user agent, resource and explanation: no mention, link or ping gets through', () => {
    const crafted = '<!channel> <https://evil.example/login|Click to re-authenticate> & <@U0ADMIN>';
    const [opened] = foldAll([
      makeFinding({
        actor: { principal: crafted, type: 'IAMUser', user_agent: crafted, session: crafted },
        resources: [{ uid: crafted }],
        explanation: `${crafted} did a thing`,
        runbook: crafted,
        rule: { name: crafted },
      }),
    ]);

    for (const message of [
      slackUpdateMessage(opened!, OPTIONS),
      slackUpdateMessage(stateUpdate(opened!.incident, 'acknowledged', crafted), OPTIONS),
      slackIncidentMessage(opened!.incident, undefined, OPTIONS),
    ]) {
      for (const text of mrkdwnTexts(message)) {
        expect(text).not.toContain('<!channel>');
        expect(text).not.toContain('<@U0ADMIN>');
        expect(text).not.toContain('<https://evil.example');
        // The only links left are the ones we made.
        for (const link of text.match(/<[^>]*>/g) ?? [])
          expect(link).toMatch(
            /^<https:\/\/(attack\.mitre\.org|runbooks\.example\.com|trailhound\.example\.com)\//,
          );
      }
      expect(allText(message)).toContain('&lt;!channel&gt;');
    }
  });

  it('keeps to Block Kit limits with huge evidence, a long title and a long explanation', () => {
    const [opened] = foldAll([
      makeFinding({
        actor: { principal: `arn:aws:iam::111122223333:user/${'m'.repeat(400)}`, type: 'IAMUser' },
        explanation: `${'a & b < c > d '.repeat(800)}end`,
        runbook: 'step & more '.repeat(600),
        evidence: {
          event_uids: Array.from({ length: 100 }, (_, i) => `event-${i}-${'x'.repeat(30)}`),
          operations: Array.from({ length: 300 }, (_, i) => `svc:Operation${i}`),
        },
        resources: Array.from({ length: 200 }, (_, i) => ({ uid: `arn:aws:s3:::bucket-${i}` })),
      }),
    ]);

    const message = slackUpdateMessage(opened!, OPTIONS);

    expect(blockProblem(message.blocks)).toBeUndefined();
    expect(headerOf(message)!.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const text of mrkdwnTexts(message)) {
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      // No entity cut in half.
      expect(text).not.toMatch(/&(a|am|l|g|lt|gt)?…/);
    }
    expect(allText(message)).toContain('and 90 more');
  });

  it('escalated: the full message under an escalation header', () => {
    const updates = foldAll([
      makeFinding({ severity: 'medium' }),
      makeFinding({
        finding_uid: 'f-persist',
        severity: 'high',
        tactic: 'Persistence',
        rule: { uid: 'aws.persistence.access-key-created', name: 'Access key created for another user' },
        first_seen: T0 + HOUR,
        last_seen: T0 + HOUR,
      }),
    ]);
    expect(updates.map((u) => u.change)).toEqual(['opened', 'escalated']);

    const message = slackUpdateMessage(updates[1]!, OPTIONS);

    expect(headerOf(message)).toMatch(/^:arrow_double_up: Escalated \[CRITICAL\] /);
    expect(allText(message)).toContain('Discovery → Persistence');
    expect(allText(message)).toContain('Access key created for another user');
  });

  it('updated, acknowledged, resolved: short messages; in a thread without the title, alone with it', () => {
    const updates = foldAll([
      makeFinding(),
      makeFinding({ finding_uid: 'f-2', first_seen: T0 + HOUR, last_seen: T0 + HOUR }),
    ]);
    const updated = updates[1]!;
    expect(updated.change).toBe('updated');
    const acknowledged = stateUpdate(updated.incident, 'acknowledged', 'alice@example.com');
    const resolved = stateUpdate(acknowledged.incident, 'resolved', 'bob@example.com');

    const reply = slackUpdateMessage(updated, OPTIONS, { standalone: false });
    const alone = slackUpdateMessage(updated, OPTIONS, { standalone: true });
    const ack = slackUpdateMessage(acknowledged, OPTIONS, { standalone: false });
    const done = slackUpdateMessage(resolved, OPTIONS, { standalone: false });

    for (const message of [reply, alone, ack, done]) {
      expect(message.blocks).toHaveLength(2);
      expect(headerOf(message)).toBeUndefined();
    }
    // The notification fallback names the incident; the reply's blocks do not repeat it.
    expect(mrkdwnTexts(reply).slice(1).join('\n')).not.toContain(escapeMrkdwn(updated.incident.title));
    expect(allText(alone)).toContain(escapeMrkdwn(updated.incident.title));
    expect(allText(ack)).toContain('Acknowledged by `alice@example.com`');
    expect(allText(done)).toContain('Resolved by `bob@example.com`. 2 findings from 1 rule');
  });

  it('the parent message shows the current state and the timeline when there is no finding', () => {
    const [opened] = foldAll([makeFinding()]);
    const resolved = stateUpdate(opened!.incident, 'resolved');

    const parent = slackIncidentMessage(resolved.incident, undefined, OPTIONS);

    expect(headerOf(parent)).toMatch(/\(resolved\)$/);
    expect(allText(parent)).toContain('*Timeline*');
    expect(allText(parent)).toContain('state *resolved* by alice@example.com');
    expect(blockProblem(parent.blocks)).toBeUndefined();
  });

  it('a digest of several updates lists each new finding', () => {
    const updates = foldAll([
      makeFinding(),
      makeFinding({ finding_uid: 'f-2', rule: { uid: 'r.two', name: 'Second rule' } }),
      makeFinding({ finding_uid: 'f-3', rule: { uid: 'r.three', name: 'Third rule' } }),
    ]);

    const digest = slackUpdatesDigest(updates.slice(1), OPTIONS);

    expect(allText(digest)).toContain('2 updates:');
    expect(allText(digest)).toContain('*Second rule*');
    expect(allText(digest)).toContain('*Third rule*');
  });

  it('clip keeps entities, links and code fences whole', () => {
    expect(clip('abc &amp; def', 7)).toBe('abc …');
    expect(clip('see <https://x.example/a|a link> now', 20)).toBe('see …');
    expect(clip('```select 1 from t```', 12)).toBe('```select 1\n```…');
    expect(attackUrl('T1098')).toBe('https://attack.mitre.org/techniques/T1098/');
    expect(attackUrl('javascript:alert(1)')).toBeUndefined();
  });
});
