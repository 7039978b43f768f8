import { describe, expect, it } from 'vitest';
import { FindingAggregator } from '../../../../detectors/engine/aggregator.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import type { NormalizedEvent } from '../../../../detectors/schema/event.js';
import { Finding } from '../../../../detectors/schema/finding.js';
import { loadFixture } from '../../../helpers/fixtures.js';
import { ruleDocument, ruleSetOf } from '../../../helpers/rules.js';

const minute = 60_000;
const at = (minutes: number, eventID: string, overrides: Record<string, unknown> = {}): NormalizedEvent =>
  normalizeCloudTrail(
    loadFixture('cloudtrail/identities/iam-user.json', {
      eventID,
      eventTime: new Date(Date.parse('2026-03-02T10:00:00Z') + minutes * minute).toISOString(),
      ...overrides,
    }),
  );

const [plainRule] = ruleSetOf([ruleDocument({ dedup: { key: ['actor.user.uid'], window: '1h' } })]).rules;
const [thresholdRule] = ruleSetOf([
  ruleDocument({ threshold: { count: 3, window: '10m', distinct: 'cloud.region' } }),
]).rules;

describe('FindingAggregator: dedup', () => {
  it('folds matches of one key within the window into one finding', () => {
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(plainRule!, at(0, 'e1'));
    aggregator.add(plainRule!, at(30, 'e2'));
    const [finding, ...rest] = aggregator.takeChanged();
    expect(rest).toHaveLength(0);
    expect(finding).toMatchObject({
      count: 2,
      evidence: { event_uids: ['e1', 'e2'], operations: ['s3:ListBuckets'] },
    });
    expect(finding!.last_seen - finding!.first_seen).toBe(30 * minute);
    expect(Finding.safeParse(finding).success).toBe(true);
  });

  it('opens a new finding after the window', () => {
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(plainRule!, at(0, 'e1'));
    aggregator.add(plainRule!, at(61, 'e2'));
    expect(aggregator.takeChanged().map((f) => f.count)).toEqual([1, 1]);
  });

  it('is idempotent: a replayed event changes nothing and the finding id is stable', () => {
    const first = new FindingAggregator(() => 1);
    first.add(plainRule!, at(0, 'e1'));
    first.add(plainRule!, at(1, 'e2'));
    const [original] = first.takeChanged();
    first.add(plainRule!, at(1, 'e2'));
    expect(first.takeChanged()).toEqual([]);
    // A fresh aggregator over the same events gives the same finding id.
    const second = new FindingAggregator(() => 1);
    second.add(plainRule!, at(0, 'e1'));
    expect(second.takeChanged()[0]?.finding_uid).toBe(original?.finding_uid);
  });

  it('survives a snapshot and restore (the --state path)', () => {
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(plainRule!, at(0, 'e1'));
    aggregator.takeChanged();
    const restored = new FindingAggregator(() => 2);
    restored.restore(JSON.parse(JSON.stringify(aggregator.snapshot())));
    restored.add(plainRule!, at(0, 'e1'));
    expect(restored.takeChanged()).toEqual([]);
    restored.add(plainRule!, at(5, 'e3'));
    expect(restored.takeChanged()[0]?.count).toBe(2);
  });
});

describe('FindingAggregator: thresholds', () => {
  it('fires only when N distinct values are seen within the window, with all of them as evidence', () => {
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(thresholdRule!, at(0, 'a', { awsRegion: 'us-east-1' }));
    aggregator.add(thresholdRule!, at(1, 'b', { awsRegion: 'us-east-1' }));
    aggregator.add(thresholdRule!, at(2, 'c', { awsRegion: 'eu-west-1' }));
    expect(aggregator.takeChanged()).toEqual([]);
    aggregator.add(thresholdRule!, at(3, 'd', { awsRegion: 'ap-south-1' }));
    const [finding] = aggregator.takeChanged();
    expect(finding?.count).toBe(4);
    expect(finding?.evidence.event_uids).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not fire when the matches are spread wider than the window', () => {
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(thresholdRule!, at(0, 'a', { awsRegion: 'us-east-1' }));
    aggregator.add(thresholdRule!, at(20, 'b', { awsRegion: 'eu-west-1' }));
    aggregator.add(thresholdRule!, at(40, 'c', { awsRegion: 'ap-south-1' }));
    expect(aggregator.takeChanged()).toEqual([]);
  });

  it('counts every value of a multi-valued distinct field', () => {
    const [rule] = ruleSetOf([
      ruleDocument({ threshold: { count: 3, window: '10m', distinct: 'raw.requestParameters.names' } }),
    ]).rules;
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(rule!, at(0, 'a', { requestParameters: { names: ['/prod/db', '/prod/api'] } }));
    expect(aggregator.takeChanged()).toEqual([]);
    aggregator.add(rule!, at(1, 'b', { requestParameters: { names: ['/prod/db', '/prod/stripe'] } }));
    expect(aggregator.takeChanged()[0]?.count).toBe(2);
  });

  it('counts matches that arrive out of order within the window, and only those', () => {
    const aggregator = new FindingAggregator(() => 1);
    aggregator.add(thresholdRule!, at(8, 'late-1', { awsRegion: 'us-east-1' }));
    aggregator.add(thresholdRule!, at(2, 'early', { awsRegion: 'eu-west-1' }));
    aggregator.add(thresholdRule!, at(-30, 'stale', { awsRegion: 'sa-east-1' }));
    expect(aggregator.takeChanged()).toEqual([]);
    aggregator.add(thresholdRule!, at(5, 'middle', { awsRegion: 'ap-south-1' }));
    const [finding] = aggregator.takeChanged();
    // The window's matches in time order, then the one that reached the threshold.
    expect(finding?.evidence.event_uids).toEqual(['early', 'late-1', 'middle']);
  });

  it('counts a replayed event once towards the threshold', () => {
    const aggregator = new FindingAggregator(() => 1);
    for (let i = 0; i < 3; i++) aggregator.add(thresholdRule!, at(0, 'same', { awsRegion: `r-${i}` }));
    expect(aggregator.takeChanged()).toEqual([]);
  });
});
