/**
 * The overlap-window loop on its own: a scripted page source and the memory
 * checkpoint store.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../../adapters/dynamodb/checkpoint-store.js';
import {
  type PageSource,
  type PulledRecord,
  runCheckpointedPull,
} from '../../../../adapters/pull/checkpointed-pull.js';

const T0 = Date.parse('2026-05-04T10:00:00Z');
const MINUTE = 60_000;

/** A source over `records` that honours the range and pages by `size`. */
function source(
  records: () => PulledRecord[],
  size = 5,
  ranges: Array<{ from: number; to: number }> = [],
): PageSource {
  return async function* (range) {
    ranges.push(range);
    const inRange = records()
      .filter((r) => r.time >= range.from && r.time < range.to)
      .sort((a, b) => a.time - b.time);
    for (let i = 0; i < inRange.length; i += size) yield inRange.slice(i, i + size);
  };
}

const record = (id: string, time: number): PulledRecord => ({ id, time, record: { id } });

describe('runCheckpointedPull', () => {
  it('starts a new stream at startTime and an existing one at its windowStart', async () => {
    const store = new MemoryCheckpointStore();
    const ranges: Array<{ from: number; to: number }> = [];
    const all = [record('a', T0), record('b', T0 + 20 * MINUTE)];
    const common = {
      stream: 's',
      store,
      source: source(() => all, 5, ranges),
      deliver: async () => undefined,
      startTime: new Date(T0 - MINUTE),
    };
    await runCheckpointedPull({ ...common, endTime: new Date(T0 + 30 * MINUTE) });
    await runCheckpointedPull({ ...common, endTime: new Date(T0 + 40 * MINUTE) });
    expect(ranges).toEqual([
      { from: T0 - MINUTE, to: T0 + 30 * MINUTE },
      { from: T0 + 10 * MINUTE, to: T0 + 40 * MINUTE },
    ]);
    // Nothing to read: not even a query.
    const none = await runCheckpointedPull({ ...common, endTime: new Date(T0) });
    expect(none).toMatchObject({ pages: 0, complete: true });
    expect(ranges).toHaveLength(2);
  });

  it('drops ids already delivered, also twice within one page', async () => {
    const store = new MemoryCheckpointStore();
    const delivered: string[] = [];
    const all = [record('a', T0), record('a', T0), record('b', T0 + 1), record('c', T0 + 2)];
    const result = await runCheckpointedPull({
      stream: 's',
      store,
      source: source(() => all),
      deliver: async (records) => void delivered.push(...records.map((r) => String(r.id))),
      startTime: new Date(T0),
      endTime: new Date(T0 + MINUTE),
    });
    expect(delivered).toEqual(['a', 'b', 'c']);
    expect(result).toMatchObject({ received: 4, delivered: 3, duplicates: 1 });
  });

  it('cuts the window when the stream is busier than maxSeenIds: fewer late entries, never a duplicate', async () => {
    const store = new MemoryCheckpointStore();
    // 30 records, one per second: with room for 10 ids, the window keeps the newest 10 seconds.
    const all = Array.from({ length: 30 }, (_, i) => record(`r${i}`, T0 + i * 1000));
    const delivered: string[] = [];
    const run = (end: number) =>
      runCheckpointedPull({
        stream: 's',
        store,
        source: source(() => all),
        deliver: async (records) => void delivered.push(...records.map((r) => String(r.id))),
        startTime: new Date(T0),
        endTime: new Date(end),
        maxSeenIds: 10,
      });
    const first = await run(T0 + MINUTE);
    expect(first.windowCuts).toBeGreaterThan(0);
    expect(first.checkpoint?.windowStart).toBe(T0 + 20_000);
    expect(first.checkpoint?.seen.flatMap(([, ids]) => ids)).toHaveLength(10);
    // A record arriving late inside the cut part of the window is not seen; nothing is delivered twice.
    all.push(record('late-cut', T0 + 15_000), record('late-kept', T0 + 25_500), record('new', T0 + 40_000));
    const second = await run(T0 + 2 * MINUTE);
    expect(second.from).toBe(T0 + 20_000);
    expect(delivered.slice(30)).toEqual(['late-kept', 'new']);
    expect(new Set(delivered).size).toBe(delivered.length);
    // The window never moves back below where it was cut.
    expect(second.checkpoint?.windowStart).toBeGreaterThanOrEqual(T0 + 20_000);
  });

  it('stops at a page boundary once the deadline has passed, with its work committed', async () => {
    const store = new MemoryCheckpointStore();
    const all = Array.from({ length: 20 }, (_, i) => record(`r${i}`, T0 + i));
    let now = T0;
    const result = await runCheckpointedPull({
      stream: 's',
      store,
      source: source(() => all),
      deliver: async () => {
        now += 1000;
      },
      startTime: new Date(T0),
      endTime: new Date(T0 + MINUTE),
      deadline: T0 + 1500,
      clock: () => now,
    });
    expect(result).toMatchObject({ pages: 2, delivered: 10, commits: 2, complete: false });
    expect((await store.load('s'))?.highWater).toBe(T0 + 9);
  });
});
