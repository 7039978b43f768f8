import { describe, expect, it } from 'vitest';
import { requiredKubernetesResources } from '../../../../detectors/engine/condition.js';
import { runRuleTests } from '../../../../detectors/engine/rule-tests.js';
import {
  NORMALIZERS,
  normalizeGcpAudit,
  normalizeKubernetesAudit,
} from '../../../../detectors/normalizers/index.js';
import { ruleDocument, ruleSetOf } from '../../../helpers/rules.js';

/** The same secrets list, as GKE and as a bare audit Event log it. */
const gkeList = {
  insertId: 'k8s0001',
  logName: 'projects/acme-prod-123/logs/cloudaudit.googleapis.com%2Fdata_access',
  protoPayload: {
    status: {},
    authenticationInfo: { principalEmail: 'alice@example.com' },
    requestMetadata: { callerIp: '203.0.113.24' },
    serviceName: 'k8s.io',
    methodName: 'io.k8s.core.v1.secrets.list',
    resourceName: 'core/v1/secrets',
  },
  resource: { type: 'k8s_cluster', labels: { project_id: 'acme-prod-123', cluster_name: 'prod-gke' } },
  timestamp: '2026-03-06T08:00:00.000Z',
};
const eventOf = (resource: string) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  auditID: `a-${resource}`,
  stage: 'ResponseComplete',
  verb: 'list',
  user: { username: 'alice@example.com' },
  sourceIPs: ['203.0.113.24'],
  objectRef: { resource, apiVersion: 'v1' },
  responseStatus: { code: 200 },
  requestReceivedTimestamp: '2026-03-06T08:00:00Z',
});

const crossCloud = ruleDocument({
  id: 'test.example.k8s-rule',
  log_source: ['gcp.audit', 'kubernetes.audit'],
  condition: {
    all: [
      { field: 'kubernetes.resource', equals: 'secrets' },
      { field: 'kubernetes.verb', equals: 'list' },
    ],
  },
  explanation: '{kubernetes.user.username} listed {kubernetes.resource}',
  tests: [
    { name: 'GKE', expect: true, event: gkeList },
    { name: 'a bare Event', expect: true, event: eventOf('secrets') },
    { name: 'configmaps', expect: false, event: eventOf('configmaps') },
  ],
});

describe('rules over several log sources', () => {
  it('indexes a rule by the Kubernetes resource it pins, under each of its sources', () => {
    const ruleSet = ruleSetOf([crossCloud]);
    expect([...(ruleSet.rules[0]?.kubernetesResources ?? [])]).toEqual(['secrets']);
    expect(ruleSet.candidates(normalizeGcpAudit(gkeList)).map((r) => r.id)).toEqual([
      'test.example.k8s-rule',
    ]);
    expect(ruleSet.candidates(normalizeKubernetesAudit(eventOf('secrets')))).toHaveLength(1);
    expect(ruleSet.candidates(normalizeKubernetesAudit(eventOf('configmaps')))).toHaveLength(0);
  });

  it('merges operation-indexed, resource-indexed and unindexed rules of one source', () => {
    const byOperation = ruleDocument({
      id: 'test.example.by-operation',
      log_source: 'gcp.audit',
      condition: { field: 'api.operation', equals: 'io.k8s.core.v1.secrets.list' },
    });
    const everywhere = ruleDocument({
      id: 'test.example.everywhere',
      log_source: 'gcp.audit',
      condition: { field: 'status', equals: 'Success' },
    });
    const ruleSet = ruleSetOf([crossCloud, byOperation, everywhere]);
    const ids = ruleSet.candidates(normalizeGcpAudit(gkeList)).map((r) => r.id);
    expect(ids.sort()).toEqual([
      'test.example.by-operation',
      'test.example.everywhere',
      'test.example.k8s-rule',
    ]);
  });

  it('reads each case with the normalizer of the source its record is recognized as', async () => {
    const results = await runRuleTests(ruleSetOf([crossCloud]), NORMALIZERS);
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['GKE', true],
      ['a bare Event', true],
      ['configmaps', true],
    ]);
  });

  it('fails a case whose record is of a source the rule does not name', async () => {
    const wrong = { ...crossCloud, log_source: ['kubernetes.audit', 'azure.activity'] };
    const results = await runRuleTests(ruleSetOf([wrong]), NORMALIZERS);
    expect(results[0]?.problem).toMatch(/reads as gcp\.audit, not one of kubernetes\.audit, azure\.activity/);
  });

  it('finds no resource pin in an any whose branches do not all pin one', () => {
    expect(
      requiredKubernetesResources(
        {
          any: [
            { field: 'kubernetes.resource', equals: 'pods' },
            { field: 'status', equals: 'Success' },
          ],
        },
        { lists: {}, macros: {}, predicates: {} },
      ),
    ).toBeUndefined();
  });
});
