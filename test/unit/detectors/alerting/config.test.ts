import { describe, expect, it } from 'vitest';
import { AlertingConfigError, parseAlertingConfig } from '../../../../detectors/alerting/config.js';
import { foldFinding, type IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import { expiredSuppressions, suppressionFor } from '../../../../detectors/alerting/suppressions.js';
import { HOUR, makeFinding, T0 } from '../../../helpers/findings.js';

const ALERTING = `
grouping: { window: 12h, resolve_after: 2d }
destinations:
  - { name: slack-soc, kind: slack, secret: trailhound/slack }
  - { name: pager, kind: pagerduty, secret: trailhound/pagerduty }
routes:
  - destination: slack-soc
    min_severity: medium
    exclude_rules: ['aws.discovery.*']
    rate_limit: { max: 5, per: 1h }
  - destination: pager
    min_severity: high
    accounts: ['1111*']
    tags: [baseline]
`;

const SUPPRESSIONS = `
suppressions:
  - id: ci-recon
    match:
      rule: aws.discovery.*
      actor: 'arn:aws:iam::111122223333:role/ci-*'
      source_cidr: [10.0.0.0/8, 198.51.100.0/24]
    owner: platform-team@example.com
    reason: The CI role enumerates IAM every night to build its inventory.
    expires: 2026-06-30
  - id: old-one
    match: { account: '999999999999' }
    owner: secops@example.com
    reason: Sandbox account closed in January; left for the audit.
    expires: 2026-01-31
`;

const config = parseAlertingConfig(
  { text: ALERTING, source: 'alerting.yml' },
  { text: SUPPRESSIONS, source: 'suppressions.yml' },
);

function update(overrides: Parameters<typeof makeFinding>[0], change: IncidentUpdate['change'] = 'opened') {
  const finding = makeFinding(overrides);
  return { incident: foldFinding(undefined, finding, T0).incident, change, finding };
}

describe('alerting configuration', () => {
  it('reads grouping, destinations and routes', () => {
    expect(config.grouping.windowMs).toBe(12 * HOUR);
    expect(config.resolveAfterMs).toBe(48 * HOUR);
    expect(config.destinations.map((d) => d.name)).toEqual(['slack-soc', 'pager']);
  });

  it('reports every problem at once, with the file', () => {
    const bad = () =>
      parseAlertingConfig({
        text: 'destinations: [{name: x, kind: slack}]\nroutes: [{destination: nowhere, min_severity: urgent}]',
        source: 'alerting.yml',
      });
    expect(bad).toThrow(AlertingConfigError);
    try {
      bad();
    } catch (error) {
      const problems = (error as AlertingConfigError).problems.join('\n');
      expect(problems).toMatch(/secret/);
      expect(problems).toMatch(/min_severity/);
      expect((error as Error).message).toMatch(/^alerting\.yml: /);
    }
  });

  it('refuses a suppression without owner, reason or expiry, or matching on nothing', () => {
    const text = 'suppressions:\n  - id: lazy\n    match: {}\n    owner: me\n';
    const parse = () =>
      parseAlertingConfig({ text: '{}', source: 'a.yml' }, { text, source: 'suppressions.yml' });
    expect(parse).toThrow(AlertingConfigError);
    try {
      parse();
    } catch (error) {
      const problems = (error as AlertingConfigError).problems.join('\n');
      for (const field of ['match', 'owner', 'reason', 'expires']) expect(problems).toContain(field);
      expect((error as AlertingConfigError).source).toBe('suppressions.yml');
    }
  });
});

describe('suppressions', () => {
  const ci = makeFinding({
    actor: { principal: 'arn:aws:iam::111122223333:role/ci-inventory', type: 'AssumedRole', ip: '10.1.2.3' },
  });

  it('applies when every field it names matches, until it expires at the end of its day', () => {
    expect(suppressionFor(config.suppressions, ci, Date.parse('2026-06-30T23:00:00Z'))?.id).toBe('ci-recon');
    expect(suppressionFor(config.suppressions, ci, Date.parse('2026-07-01T00:00:01Z'))).toBeUndefined();
  });

  it('does not apply when one named field differs: another source network, another rule', () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    expect(
      suppressionFor(config.suppressions, { ...ci, actor: { ...ci.actor, ip: '203.0.113.9' } }, now),
    ).toBeUndefined();
    expect(
      suppressionFor(config.suppressions, { ...ci, rule: { ...ci.rule, uid: 'aws.persistence.x' } }, now),
    ).toBeUndefined();
    expect(
      suppressionFor(config.suppressions, { ...ci, actor: { ...ci.actor, ip: 'iam.amazonaws.com' } }, now),
    ).toBeUndefined();
  });

  it('reports the expired ones', () => {
    expect(
      expiredSuppressions(config.suppressions, Date.parse('2026-03-01T00:00:00Z')).map((s) => s.id),
    ).toEqual(['old-one']);
  });
});

describe('routes', () => {
  const [slack, pager] = config.routes;

  it('filter on severity as the incident has it, rules, accounts and tags', () => {
    expect(slack?.wants(update({ severity: 'medium', rule: { uid: 'aws.persistence.x' } }))).toBe(true);
    expect(slack?.wants(update({ severity: 'low', rule: { uid: 'aws.persistence.x' } }))).toBe(false);
    expect(slack?.wants(update({ severity: 'high', rule: { uid: 'aws.discovery.x' } }))).toBe(false);
    expect(pager?.wants(update({ severity: 'high', rule: { tags: ['baseline'] } }))).toBe(true);
    expect(pager?.wants(update({ severity: 'high' }))).toBe(false);
    expect(
      pager?.wants(
        update({
          severity: 'high',
          rule: { tags: ['baseline'] },
          cloud: { provider: 'AWS', account: '2222' },
        }),
      ),
    ).toBe(false);
  });

  it('rate-limit new and updated incidents per rule, never escalations or state changes', () => {
    expect(slack?.bucketOf(update({ rule: { uid: 'aws.persistence.x' } }))).toBe(
      'slack-soc|aws.persistence.x',
    );
    expect(slack?.bucketOf(update({}, 'escalated'))).toBeUndefined();
    expect(slack?.bucketOf(update({}, 'resolved'))).toBeUndefined();
    expect(pager?.bucketOf(update({}))).toBeUndefined();
  });
});
