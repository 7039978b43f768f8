import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Baseliner } from '../../../../detectors/baselines/baseliner.js';
import { MemoryProfileStore } from '../../../../detectors/baselines/memory-store.js';
import { DetectionPipeline } from '../../../../detectors/pipeline/pipeline.js';
import type { QuarantineSink } from '../../../../detectors/pipeline/ports.js';
import type { InputProblemError } from '../../../../detectors/readers/errors.js';
import { loadFixture } from '../../../helpers/fixtures.js';
import { ruleDocument, ruleSetOf } from '../../../helpers/rules.js';

/** A real (in-memory) quarantine: the pipeline's port, not a mock of anything outside it. */
class MemoryQuarantine implements QuarantineSink {
  readonly items: InputProblemError[] = [];
  async put(problem: InputProblemError): Promise<void> {
    this.items.push(problem);
  }
}

const listBuckets = (eventID: string) => loadFixture('cloudtrail/identities/iam-user.json', { eventID });

describe('DetectionPipeline', () => {
  it('reads, normalizes, detects and counts; unusable records are quarantined with their place', async () => {
    const quarantine = new MemoryQuarantine();
    const pipeline = new DetectionPipeline({
      ruleSet: ruleSetOf([ruleDocument()]),
      quarantine,
      clock: () => 1,
    });
    const body = [
      JSON.stringify({
        Records: [listBuckets('a'), { eventName: 'NoTime', eventSource: 'x', eventTime: 'soon' }],
      }),
      '{broken',
      JSON.stringify(listBuckets('b')),
    ].join('\n');
    await pipeline.ingest('batch.json.gz', [gzipSync(body)]);
    const findings = pipeline.takeFindings();
    expect(findings).toHaveLength(1);
    expect(findings[0]?.count).toBe(2);
    expect(pipeline.stats).toMatchObject({
      inputs: 1,
      recordsRead: 3,
      normalized: 2,
      skipped: { 'not-normalizable': 1, 'malformed-json': 1 },
    });
    expect(quarantine.items.map((p) => [p.reason, p.file, p.line])).toEqual([
      ['not-normalizable', 'batch.json.gz', 1],
      ['malformed-json', 'batch.json.gz', 2],
    ]);
  });

  it('counts a throwing rule per rule id and keeps evaluating the others', async () => {
    const ruleSet = ruleSetOf(
      [ruleDocument({ id: 'test.example.throws', condition: { predicate: 'boom' } }), ruleDocument()],
      {
        predicates: {
          boom: () => {
            throw new Error('boom');
          },
        },
      },
    );
    const pipeline = new DetectionPipeline({ ruleSet });
    await pipeline.ingest('one.jsonl', [Buffer.from(JSON.stringify(listBuckets('a')))]);
    expect(pipeline.stats.ruleErrors).toEqual({ 'test.example.throws': 1 });
    expect(pipeline.takeFindings().map((f) => f.rule.uid)).toEqual(['test.example.rule']);
  });

  it('passes over trail digests and filters by time', async () => {
    const pipeline = new DetectionPipeline({
      ruleSet: ruleSetOf([ruleDocument()]),
      since: Date.parse('2026-03-03T00:00:00Z'),
    });
    await pipeline.ingest('AWSLogs/o-1/111122223333/CloudTrail-Digest/us-east-1/d.json.gz', [
      Buffer.from('{}'),
    ]);
    await pipeline.ingest('old.jsonl', [Buffer.from(JSON.stringify(listBuckets('a')))]);
    expect(pipeline.stats.inputsSkipped).toEqual({ 'cloudtrail-digest': 1 });
    expect(pipeline.stats.skipped).toEqual({ 'outside-time-range': 1 });
    expect(pipeline.takeFindings()).toEqual([]);
  });

  it('fails the input when the quarantine cannot keep a problem, since it would be lost', async () => {
    const pipeline = new DetectionPipeline({
      ruleSet: ruleSetOf([ruleDocument()]),
      quarantine: { put: async () => Promise.reject(new Error('disk full')) },
    });
    await expect(pipeline.ingest('bad.jsonl', [Buffer.from('{nope\n')])).rejects.toThrow('disk full');
  });
});

describe('DetectionPipeline: content-defined batches', () => {
  const records = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) =>
      loadFixture('cloudtrail/identities/iam-user.json', {
        eventID: `${prefix}-${i}`,
        eventTime: new Date(Date.parse('2026-03-02T00:00:00Z') + i * 1000).toISOString(),
      }),
    );
  const files = [records('a', 1500), records('b', 1500), records('c', 1500)].map((r) => [
    Buffer.from(JSON.stringify({ Records: r })),
  ]);

  async function scan(store: MemoryProfileStore): Promise<number> {
    const baselines = new Baseliner({ store });
    const pipeline = new DetectionPipeline({
      ruleSet: ruleSetOf([ruleDocument()]),
      baselines,
      batching: 'content-defined',
    });
    for (const [i, file] of files.entries()) await pipeline.ingest(`f${i}.json`, file);
    await pipeline.flush();
    return baselines.stats.batches;
  }

  it('groups events across files and forms the same batches on a re-scan, which then changes nothing', async () => {
    const store = new MemoryProfileStore();
    const batches = await scan(store);
    expect(batches).toBeGreaterThan(1);
    expect(batches).toBeLessThan(4500 / 1000 + 1);
    await scan(store);
    const profile = (await store.load(['principal:arn:aws:iam::111122223333:user/alice'])).get(
      'principal:arn:aws:iam::111122223333:user/alice',
    );
    expect(profile?.events).toBe(4500);
  });
});
