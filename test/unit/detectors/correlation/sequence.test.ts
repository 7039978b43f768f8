/**
 * Sequence rules (an earlier event, then a later one with the same key) and
 * rules that run after the others (`matched_rules`): the engine features the
 * runtime rules and the CloudTrail → runtime correlation are built on.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../../cli/rule-catalog.js';
import { FindingAggregator } from '../../../../detectors/engine/aggregator.js';
import { evaluateEvent } from '../../../../detectors/engine/detect.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { normalizeLambdaRuntime } from '../../../../detectors/normalizers/lambda-runtime.js';
import { DetectionPipeline } from '../../../../detectors/pipeline/pipeline.js';
import type { NormalizedEvent } from '../../../../detectors/schema/event.js';
import { ruleDocument, ruleSetOf } from '../../../helpers/rules.js';
import { runtimeRecord } from '../../../helpers/runtime-records.js';

const noErrors = (error: Error): never => {
  throw error;
};

const sequenceRule = ruleDocument({
  id: 'test.runtime.write-then-chmod',
  log_source: 'aws.lambda.runtime',
  condition: { field: 'runtime.kind', equals: 'file.chmod-exec' },
  sequence: {
    after: { field: 'runtime.kind', equals: 'file.write-tmp' },
    within: '1m',
    join: [{ earlier: ['runtime.function.uid', 'file.path'], later: ['runtime.function.uid', 'file.path'] }],
  },
  dedup: { key: ['runtime.function.uid'], window: '1h' },
  explanation: '{runtime.function.name} wrote then chmod {file.path} ({sequence.operation})',
  tests: [
    { name: 'p', expect: true, events: [runtimeRecord('file.write-tmp'), runtimeRecord('file.chmod-exec')] },
    { name: 'n', expect: false, event: runtimeRecord('file.chmod-exec') },
  ],
});
const ruleSet = ruleSetOf([sequenceRule]);
const rt = (kind: string, path: string, seconds: number): NormalizedEvent =>
  normalizeLambdaRuntime(runtimeRecord(kind, { pid: 8, path }, seconds));

function run(events: NormalizedEvent[], aggregator = new FindingAggregator(() => 0)) {
  for (const event of events) evaluateEvent(ruleSet.candidates(event), event, aggregator, noErrors);
  return aggregator;
}

describe('sequence rules', () => {
  it('indexes a sequence rule under the kinds of both steps', () => {
    expect([...(ruleSet.rules[0]?.operations ?? [])].sort()).toEqual(['file.chmod-exec', 'file.write-tmp']);
  });

  it('fires on the later event when the earlier one shares its key, citing both', () => {
    const write = rt('file.write-tmp', '/tmp/a', 0);
    const chmod = rt('file.chmod-exec', '/tmp/a', 5);
    const [finding, ...rest] = run([write, chmod]).takeChanged();
    expect(rest).toEqual([]);
    expect(finding?.evidence.event_uids).toEqual([write.metadata.uid, chmod.metadata.uid]);
    expect(finding?.evidence.operations).toEqual(['runtime:file.write-tmp', 'runtime:file.chmod-exec']);
    expect(finding?.explanation).toBe('orders-api wrote then chmod /tmp/a (runtime:file.write-tmp)');
  });

  it('fires when the later event is read first (delivery out of order)', () => {
    const findings = run([
      rt('file.chmod-exec', '/tmp/a', 5),
      rt('file.write-tmp', '/tmp/a', 0),
    ]).takeChanged();
    expect(findings).toHaveLength(1);
    expect(findings[0]?.count).toBe(2);
  });

  it('stays quiet for another key, the wrong order in time, or outside the window', () => {
    expect(
      run([rt('file.write-tmp', '/tmp/a', 0), rt('file.chmod-exec', '/tmp/b', 5)]).takeChanged(),
    ).toEqual([]);
    expect(
      run([rt('file.chmod-exec', '/tmp/a', 0), rt('file.write-tmp', '/tmp/a', 5)]).takeChanged(),
    ).toEqual([]);
    expect(
      run([rt('file.write-tmp', '/tmp/a', 0), rt('file.chmod-exec', '/tmp/a', 61)]).takeChanged(),
    ).toEqual([]);
  });

  it('keeps waiting sides in the snapshot, so a partner in the next run still completes the sequence', () => {
    const first = run([rt('file.write-tmp', '/tmp/a', 0)]);
    const state = JSON.parse(JSON.stringify(first.snapshot()));
    expect(state.sequences).toHaveLength(1);
    const second = new FindingAggregator(() => 0);
    second.restore(state);
    expect(run([rt('file.chmod-exec', '/tmp/a', 5)], second).takeChanged()).toHaveLength(1);
  });

  it('rejects a rule with both a threshold and a sequence', () => {
    expect(() => ruleSetOf([{ ...sequenceRule, threshold: { count: 2, window: '1m' } }])).toThrow(
      /threshold or a sequence/,
    );
  });
});

describe('rules that read matched_rules', () => {
  it('run after the other rules and see only the ids that fired on the event', () => {
    const set = ruleSetOf([
      ruleDocument({
        id: 'test.runtime.shell',
        log_source: 'aws.lambda.runtime',
        condition: { field: 'runtime.kind', equals: 'process.exec' },
        explanation: 'shell {process.file.path}',
      }),
      ruleDocument({
        id: 'test.runtime.after-shell',
        log_source: 'aws.lambda.runtime',
        condition: {
          all: [
            { field: 'runtime.kind', equals: 'process.exec' },
            { field: 'matched_rules', equals: 'test.runtime.shell' },
          ],
        },
        explanation: 'after {matched_rules}',
      }),
    ]);
    expect(set.rules.map((r) => r.afterOtherRules)).toEqual([false, true]);
    const event = rt('process.exec', '/bin/sh', 0);
    const aggregator = new FindingAggregator(() => 0);
    evaluateEvent(set.candidates(event), event, aggregator, noErrors);
    expect(aggregator.takeChanged().map((f) => [f.rule.uid, f.explanation])).toEqual([
      ['test.runtime.shell', 'shell /bin/sh'],
      ['test.runtime.after-shell', 'after test.runtime.shell'],
    ]);
    expect('matched_rules' in event).toBe(false);
  });
});

describe('CloudTrail change → runtime behaviour correlation (built-in rules)', () => {
  const update = {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      arn: 'arn:aws:iam::111122223333:user/mallory',
      accountId: '111122223333',
      accessKeyId: 'AKIAEXAMPLEMALLORY01',
      userName: 'mallory',
    },
    eventTime: '2026-03-05T23:40:00Z',
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionCode20150331v2',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.88',
    userAgent: 'aws-cli/2.15.30',
    requestParameters: { functionName: 'orders-api' },
    responseElements: { functionName: 'orders-api' },
    eventID: 'd0d00001-0000-4000-8000-00000000c0de',
    eventType: 'AwsApiCall',
    recipientAccountId: '111122223333',
  };

  it('names the changed function by its unqualified ARN, whatever form the request used', () => {
    for (const functionName of [
      'orders-api',
      '111122223333:function:orders-api',
      'arn:aws:lambda:us-east-1:111122223333:function:orders-api:7',
    ]) {
      const event = normalizeCloudTrail({ ...update, requestParameters: { functionName } });
      expect(event.resources[0]?.uid).toBe('arn:aws:lambda:us-east-1:111122223333:function:orders-api');
    }
  });

  it('joins an UpdateFunctionCode and a shell in the same function into one high finding citing both', async () => {
    const pipeline = new DetectionPipeline({ ruleSet: loadCatalog(), clock: () => 0 });
    const shell = runtimeRecord('process.exec', {
      pid: 412,
      ppid: 8,
      path: '/bin/sh',
      args: ['sh', '-c', 'id'],
    });
    // The runtime log arrives first, as a CloudWatch Logs subscription payload; CloudTrail's S3 file later.
    const payload = {
      messageType: 'DATA_MESSAGE',
      logEvents: [{ id: '1', timestamp: 0, message: JSON.stringify(shell) }],
    };
    await pipeline.ingest('runtime.json', [Buffer.from(JSON.stringify(payload))]);
    await pipeline.ingest('cloudtrail.json', [Buffer.from(JSON.stringify({ Records: [update] }))]);
    const findings = pipeline.takeFindings();
    const joined = findings.filter(
      (f) => f.rule.uid === 'aws.runtime.execution.new-behaviour-after-function-change',
    );
    expect(joined).toHaveLength(1);
    expect(joined[0]).toMatchObject({
      severity: 'high',
      resources: [{ uid: 'arn:aws:lambda:us-east-1:111122223333:function:orders-api' }],
    });
    expect(joined[0]?.evidence.event_uids).toEqual([
      update.eventID,
      normalizeLambdaRuntime(shell).metadata.uid,
    ]);
    expect(joined[0]?.explanation).toContain('changed by mallory (lambda:UpdateFunctionCode20150331v2');
    expect(findings.map((f) => f.rule.uid)).toContain('aws.runtime.execution.shell-or-tool-spawned');
  });
});
