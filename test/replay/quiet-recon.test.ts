/**
 * Replay: ten days of generated history for the baselines to learn, on event
 * time (a virtual clock: nothing waits), then a day of routine traffic and a
 * quiet reconnaissance with a leaked key from a new network that stays under
 * every static threshold. The baseline rules must find the reconnaissance,
 * with a score and a concrete explanation, and stay silent on the routine day.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../cli/rule-catalog.js';
import { Baseliner } from '../../detectors/baselines/baseliner.js';
import { MemoryProfileStore } from '../../detectors/baselines/memory-store.js';
import { documentationNetworkLookup } from '../../detectors/enrichment/documentation-networks.js';
import { DetectionPipeline } from '../../detectors/pipeline/pipeline.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { generateTraffic } from '../../scripts/samples/traffic.js';

const DAY_MS = 86_400_000;
const START = new Date('2026-04-06T00:00:00Z');
type Json = Record<string, unknown>;

const ruleSet = loadCatalog();
const baselineRuleIds = new Set(
  ruleSet.rules.filter((r) => r.doc.tags?.includes('baseline')).map((r) => r.id),
);

/** Feeds records in file-sized batches, as a trail delivers them, and returns the findings. */
async function replay(records: readonly Json[]): Promise<Finding[]> {
  const pipeline = new DetectionPipeline({
    ruleSet,
    baselines: new Baseliner({ store: new MemoryProfileStore(), lookup: documentationNetworkLookup }),
    batchSize: 500,
    clock: () => START.getTime(),
  });
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    await pipeline.ingest(`replay-${i}.json`, [Buffer.from(JSON.stringify({ Records: chunk }))]);
  }
  return pipeline.takeFindings();
}

/** A handful of reads with an existing user's long-term key, from a hosting network and a new client. */
function quietRecon(history: readonly Json[], at: number): Json[] {
  const victim = history.find((r) => {
    const identity = r.userIdentity as Json;
    return identity.type === 'IAMUser' && String(identity.accessKeyId ?? '').startsWith('AKIA');
  });
  if (victim === undefined) throw new Error('the generated history has no IAM user with a long-term key');
  const calls: Array<[string, string]> = [
    ['sts', 'GetCallerIdentity'],
    ['s3', 'ListBuckets'],
    ['iam', 'ListUsers'],
    ['secretsmanager', 'ListSecrets'],
    ['ec2', 'DescribeInstances'],
    ['lambda', 'ListFunctions20150331'],
  ];
  return calls.map(([service, operation], i) => ({
    eventVersion: '1.09',
    userIdentity: victim.userIdentity,
    eventTime: new Date(at + i * 4 * 60_000).toISOString().replace('.000Z', 'Z'),
    eventSource: `${service}.amazonaws.com`,
    eventName: operation,
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.200',
    userAgent:
      'Boto3/1.34.40 md/Botocore#1.34.40 ua/2.0 os/linux#6.6.9 md/arch#x86_64 lang/python#3.11.8 Botocore/1.34.40',
    requestParameters: null,
    responseElements: null,
    requestID: `9e5a0000-aaaa-4bbb-8ccc-00000000000${i}`,
    eventID: `recon-0000-4000-8000-00000000000${i}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: String(victim.recipientAccountId),
    eventCategory: 'Management',
  }));
}

describe('replay: a quiet reconnaissance against ten days of learned behaviour', () => {
  const days = 11;
  const traffic = generateTraffic({ seed: 11, start: START, days }) as unknown as Json[];
  const reconAt = START.getTime() + 10 * DAY_MS + 2 * 3_600_000 + 17 * 60_000;
  const recon = quietRecon(traffic, reconAt);
  const withRecon = [...traffic, ...recon].sort((a, b) =>
    String(a.eventTime).localeCompare(String(b.eventTime)),
  );

  it('stays silent on routine traffic: no baseline rule fires on the generated days', async () => {
    const findings = await replay(traffic);
    const fromBaselines = findings
      .filter((f) => baselineRuleIds.has(f.rule.uid))
      .map((f) => `${f.rule.uid}: ${f.explanation}`);
    expect(fromBaselines).toEqual([]);
  });

  it('finds the reconnaissance with a score and an explanation no static rule gives', async () => {
    const findings = await replay(withRecon);
    const reconIds = new Set(recon.map((r) => String(r.eventID)));
    const onRecon = findings.filter((f) => f.evidence.event_uids.some((uid) => reconIds.has(uid)));
    // No static rule sees anything in a few ordinary reads…
    expect(onRecon.filter((f) => !baselineRuleIds.has(f.rule.uid)).map((f) => f.rule.uid)).toEqual([]);
    // …the baseline does.
    const found = onRecon.find((f) => f.rule.uid === 'aws.discovery.reconnaissance-from-new-network');
    expect(found).toBeDefined();
    expect(found?.risk_score).toBeGreaterThanOrEqual(40);
    expect(found?.explanation).toMatch(/first call from AS64501 \(country NL\)/);
    expect(found?.explanation).toMatch(/new client boto3/);
    expect(found?.anomaly_analyses?.[0]?.anomalies.map((a) => a.observed_pattern)).toContain('UNSEEN');
    console.log(`recon finding: risk ${found?.risk_score}: ${found?.explanation}`);
  });
});
