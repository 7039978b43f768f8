/**
 * Matches of one threshold key within the window that ends at the newest
 * match, with O(1) amortized insert, expiry and (distinct) count. Entries
 * arrive nearly in time order (hosts read log files in time order; files span
 * five to fifteen minutes); one later than the window of the newest entry is
 * dropped, which is why scan order matters (see adapters/fs/input-files.ts).
 */
export interface WindowEntry {
  time: number;
  uid: string;
  /** Values of the threshold's `distinct` field in this match (a multi-valued field gives several). */
  distinct?: string[];
  operation: string;
}

/** Upper bound of entries held per key, so a flood cannot exhaust memory. */
const MAX_ENTRIES = 10_000;

export class SlidingWindow {
  private entries: WindowEntry[] = [];
  private head = 0;
  private newest = 0;
  private readonly uids = new Set<string>();
  private readonly distinctCounts = new Map<string, number>();

  constructor(readonly windowMs: number) {}

  static from(windowMs: number, entries: readonly WindowEntry[]): SlidingWindow {
    const window = new SlidingWindow(windowMs);
    for (const entry of entries) window.add(entry);
    return window;
  }

  has(uid: string): boolean {
    return this.uids.has(uid);
  }

  /**
   * Adds an entry and expires those older than the window of the newest one.
   * Entries are kept in time order (a late one is inserted in place, usually a
   * step or two from the end) so expiry from the head is exact.
   */
  add(entry: WindowEntry): void {
    let at = this.entries.length;
    while (at > this.head && (this.entries[at - 1] as WindowEntry).time > entry.time) at -= 1;
    if (at === this.entries.length) this.entries.push(entry);
    else this.entries.splice(at, 0, entry);
    this.uids.add(entry.uid);
    for (const value of entry.distinct ?? [])
      this.distinctCounts.set(value, (this.distinctCounts.get(value) ?? 0) + 1);
    if (entry.time > this.newest) this.newest = entry.time;
    const horizon = this.newest - this.windowMs;
    while (this.head < this.entries.length) {
      const oldest = this.entries[this.head] as WindowEntry;
      if (oldest.time >= horizon && this.size <= MAX_ENTRIES) break;
      this.evict(oldest);
      this.head += 1;
    }
    // Compact now and then so the array does not keep evicted entries alive.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  private evict(entry: WindowEntry): void {
    this.uids.delete(entry.uid);
    for (const value of entry.distinct ?? []) {
      const left = (this.distinctCounts.get(value) ?? 1) - 1;
      if (left === 0) this.distinctCounts.delete(value);
      else this.distinctCounts.set(value, left);
    }
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  get distinctSize(): number {
    return this.distinctCounts.size;
  }

  /** True when the newest entry is older than `before`. */
  isOlderThan(before: number): boolean {
    return this.newest < before;
  }

  live(): WindowEntry[] {
    return this.entries.slice(this.head);
  }
}
