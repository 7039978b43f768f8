/**
 * The loop every audit-log pull runs (GCP Cloud Logging, Azure Log Analytics):
 * resume a stream from its checkpoint, read pages oldest first, hand each page
 * to the pipeline, and only then move the checkpoint past it.
 *
 * - **Overlap.** Audit logs become visible late, so each run queries from
 *   `windowStart` = high-water − overlap (10 minutes by default), not from
 *   the high-water mark itself. What comes back twice is recognized by its id:
 *   the checkpoint keeps every id delivered at or after `windowStart`
 *   (8-byte hashes, grouped by event time), and those are passed over. The
 *   source's at-least-once becomes exactly-once for detection.
 * - **Commit after delivery.** A page's ids enter the checkpoint only after
 *   `deliver` resolved. A crash at any point resumes from the last page that
 *   was both delivered and committed: nothing is lost. The one page delivered
 *   but not committed (a crash between the two) is delivered again.
 * - **Bounded.** `seen` keeps at most `maxSeenIds` ids (so the item stays well
 *   under DynamoDB's 400 KB). On a stream busier than that within the overlap,
 *   the oldest time groups are dropped and `windowStart` moves up past them:
 *   the overlap shrinks (late entries older than it are missed, counted in
 *   `windowCuts`) rather than delivering duplicates. `windowStart` never moves
 *   back, for the same reason.
 */
import { createHash } from 'node:crypto';
import type {
  Checkpoint,
  CheckpointState,
  CheckpointStore,
  SeenGroup,
} from '../dynamodb/checkpoint-store.js';
import type { BackoffOptions, Sleep } from '../retry/backoff.js';

/** One record of a page, with what the window needs to know about it. */
export interface PulledRecord {
  /** Stable identity of the record in its source (insertId, EventDataId, Id…). */
  readonly id: string;
  /** Event time, epoch ms (the source's time field, floored to the millisecond). */
  readonly time: number;
  readonly record: Record<string, unknown>;
}

/** Pages of `[from, to)`, oldest first. */
export type PageSource = (range: {
  readonly from: number;
  readonly to: number;
}) => AsyncIterable<readonly PulledRecord[]>;

export interface DeliveredPage {
  readonly stream: string;
  /** 0-based page number within this run. */
  readonly page: number;
  /** Newest event time in the page, epoch ms. */
  readonly newest: number;
}

/** Takes one page of fresh records; resolves once the pipeline has accepted them. */
export type RecordSink = (records: Record<string, unknown>[], page: DeliveredPage) => Promise<void>;

export interface CheckpointedPullOptions {
  readonly stream: string;
  readonly store: CheckpointStore;
  readonly source: PageSource;
  readonly deliver: RecordSink;
  /** Where a stream without a checkpoint starts. */
  readonly startTime: Date;
  /** Exclusive end of this run's range (default: now). */
  readonly endTime?: Date;
  /** How far below the high-water mark each run queries again (default 10 minutes). */
  readonly overlapMs?: number;
  /** Ids kept in the checkpoint at most (default 20,000, about 300 KB). */
  readonly maxSeenIds?: number;
  /** Stop after the page that ends past this time (epoch ms), with `complete: false` (a Lambda's deadline). */
  readonly deadline?: number;
  readonly clock?: () => number;
  readonly onPage?: (progress: Readonly<PullResult>) => void;
}

export interface PullResult {
  readonly stream: string;
  /** The range queried, epoch ms, `[from, to)`. */
  readonly from: number;
  readonly to: number;
  pages: number;
  /** Records the source returned. */
  received: number;
  /** Records handed to `deliver`. */
  delivered: number;
  /** Records passed over: already delivered (the overlap) or twice in one run. */
  duplicates: number;
  /** Checkpoint saves. */
  commits: number;
  /** Saves that had to drop old ids (the stream was busier than `maxSeenIds` per overlap). */
  windowCuts: number;
  /** False when the run stopped at `deadline` before the end of the range. */
  complete: boolean;
  /** The checkpoint as it stands after the run (undefined: the stream has none yet). */
  checkpoint: Checkpoint | undefined;
}

/** `deliver` failed: the page is not committed and will be read again by the next run. */
export class PullDeliveryError extends Error {
  constructor(
    readonly stream: string,
    readonly page: number,
    options: { cause: unknown },
  ) {
    super(
      `delivering page ${page} of ${stream} failed; the checkpoint stays before it: ${describe(options.cause)}`,
      options,
    );
    this.name = 'PullDeliveryError';
  }
}

export const DEFAULT_OVERLAP_MS = 10 * 60_000;
export const DEFAULT_MAX_SEEN_IDS = 20_000;

export async function runCheckpointedPull(options: CheckpointedPullOptions): Promise<PullResult> {
  const clock = options.clock ?? Date.now;
  const overlapMs = options.overlapMs ?? DEFAULT_OVERLAP_MS;
  const maxSeenIds = options.maxSeenIds ?? DEFAULT_MAX_SEEN_IDS;
  if (!(overlapMs >= 0)) throw new RangeError(`overlapMs must be >= 0, got ${overlapMs}`);
  if (!(maxSeenIds >= 1)) throw new RangeError(`maxSeenIds must be >= 1, got ${maxSeenIds}`);

  let checkpoint = await options.store.load(options.stream);
  const window = new SeenWindow(
    options.stream,
    checkpoint,
    options.startTime.getTime(),
    overlapMs,
    maxSeenIds,
  );
  const from = window.start;
  const to = options.endTime?.getTime() ?? clock();
  const result: PullResult = {
    stream: options.stream,
    from,
    to,
    pages: 0,
    received: 0,
    delivered: 0,
    duplicates: 0,
    commits: 0,
    windowCuts: 0,
    complete: true,
    checkpoint,
  };
  if (from >= to) return result;

  for await (const page of options.source({ from, to })) {
    const fresh: PulledRecord[] = [];
    for (const item of page) {
      if (window.take(item)) fresh.push(item);
      else result.duplicates += 1;
    }
    result.received += page.length;
    const index = result.pages;
    result.pages += 1;
    if (fresh.length > 0) {
      const newest = fresh.reduce((max, item) => Math.max(max, item.time), Number.NEGATIVE_INFINITY);
      try {
        await options.deliver(
          fresh.map((item) => item.record),
          { stream: options.stream, page: index, newest },
        );
      } catch (error) {
        throw new PullDeliveryError(options.stream, index, { cause: error });
      }
      result.delivered += fresh.length;
      const state = window.commitState();
      if (state.cut) result.windowCuts += 1;
      checkpoint = await options.store.save(state.state, checkpoint?.version ?? 0);
      result.commits += 1;
      result.checkpoint = checkpoint;
    }
    options.onPage?.({ ...result });
    if (options.deadline !== undefined && clock() >= options.deadline) {
      result.complete = false;
      break;
    }
  }
  return result;
}

/**
 * The ids delivered inside the overlap window: those of the checkpoint plus
 * those delivered in this run, pruned at every commit.
 */
class SeenWindow {
  /** Query start of this run. */
  readonly start: number;
  private highWater: number;
  private windowStart: number;
  /** time (ms) → id hashes delivered at that time. */
  private readonly groups = new Map<number, Set<string>>();

  constructor(
    private readonly stream: string,
    checkpoint: Checkpoint | undefined,
    startTime: number,
    private readonly overlapMs: number,
    private readonly maxSeenIds: number,
  ) {
    this.highWater = checkpoint?.highWater ?? Number.NEGATIVE_INFINITY;
    this.windowStart = checkpoint?.windowStart ?? startTime;
    this.start = this.windowStart;
    for (const [time, ids] of checkpoint?.seen ?? []) this.groups.set(time, new Set(ids));
  }

  /** True when the record is new (and remembers it); false for one already delivered. */
  take(item: PulledRecord): boolean {
    const hash = idHash(item.id);
    const group = this.groups.get(item.time);
    if (group?.has(hash)) return false;
    if (group === undefined) this.groups.set(item.time, new Set([hash]));
    else group.add(hash);
    if (item.time > this.highWater) this.highWater = item.time;
    return true;
  }

  /** The state to save after a delivered page: the window moved up to the new high-water mark. */
  commitState(): { state: CheckpointState; cut: boolean } {
    const lower = Math.max(this.windowStart, this.highWater - this.overlapMs);
    const times = [...this.groups.keys()].sort((a, b) => a - b);
    for (const time of times) if (time < lower) this.groups.delete(time);
    let kept = times.filter((time) => time >= lower);
    let count = kept.reduce((sum, time) => sum + (this.groups.get(time)?.size ?? 0), 0);
    let cut = false;
    // Too many ids: drop whole time groups, oldest first, and start the window after them.
    while (count > this.maxSeenIds && kept.length > 1) {
      const oldest = kept[0] as number;
      count -= this.groups.get(oldest)?.size ?? 0;
      this.groups.delete(oldest);
      kept = kept.slice(1);
      cut = true;
    }
    this.windowStart = cut ? (kept[0] as number) : lower;
    const seen: SeenGroup[] = kept.map((time) => [time, [...(this.groups.get(time) ?? [])].sort()]);
    return {
      state: { stream: this.stream, highWater: this.highWater, windowStart: this.windowStart, seen },
      cut,
    };
  }
}

/** 64 bits of SHA-256, base64url: 11 characters, collisions negligible at the window's size. */
export function idHash(id: string): string {
  return createHash('sha256').update(id).digest().subarray(0, 8).toString('base64url');
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What every checkpointed pull (GCP, Azure) is configured with, beside its own client and scope. */
export interface PullSettings {
  readonly store: CheckpointStore;
  /** Receives each page of fresh records; the checkpoint moves only after it resolves. */
  readonly deliver: RecordSink;
  /** Where a stream without a checkpoint starts. */
  readonly startTime: Date;
  /** Exclusive end (default now). */
  readonly endTime?: Date;
  /** Re-read below the high-water mark for late entries (default 10 minutes). */
  readonly overlapMs?: number;
  readonly maxSeenIds?: number;
  /** Records per request. */
  readonly pageSize?: number;
  /** Least time between two requests, to stay inside the service's quota. */
  readonly minRequestIntervalMs?: number;
  /** Our retries of a throttled request once the client library gave up. */
  readonly throttle?: BackoffOptions;
  /** Stop at the first page boundary after this time (epoch ms). */
  readonly deadline?: number;
  readonly onPage?: (progress: Readonly<PullResult>) => void;
  readonly onThrottle?: (attempt: number, waitMs: number) => void;
  readonly sleep?: Sleep;
  readonly clock?: () => number;
}
