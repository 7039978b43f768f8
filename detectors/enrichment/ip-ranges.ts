/**
 * Offline IP → network lookups: tables of address ranges, each mapped to a
 * small integer (an AS record, a country), searched by binary search. Pure:
 * the host reads the data files (`adapters/ip-location/`) and hands the rows
 * to {@link IpRangeTableBuilder}.
 *
 * A table is a step function over the address space: sorted range starts, each
 * with the value that holds from there up to the next start (0 for "no
 * value", which is how gaps between ranges are kept). That needs no range ends
 * and makes a lookup one binary search: the last start at or below the
 * address. IPv4 starts are one `Uint32Array`; IPv6 starts are four 32-bit
 * words each in another, compared word by word (no BigInt on the lookup path).
 * Values are `Uint16Array` when they fit, else `Uint32Array`.
 *
 * Overlapping input ranges are resolved as routing does: where ranges overlap,
 * the smaller (more specific) one wins; between equal sizes, the later row.
 */
import type { NetworkInfo, NetworkLookup } from '../baselines/features.js';

// ── parsing ────────────────────────────────────────────────────────────────

/** `a.b.c.d` → unsigned 32-bit number; `undefined` for anything else. */
export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46; // a final '.'
    if (code >= 48 && code <= 57) {
      part = part * 10 + (code - 48);
      digits += 1;
      if (digits > 3 || part > 255) return undefined;
    } else if (code === 46) {
      if (digits === 0 || parts === 4) return undefined;
      value = value * 256 + part;
      parts += 1;
      part = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/**
 * An IPv6 address → its four 32-bit words, most significant first. Accepts
 * `::` compression, an embedded IPv4 tail (`::ffff:1.2.3.4`) and a zone
 * (`fe80::1%eth0`, ignored); `undefined` for anything else.
 */
export function parseIpv6(text: string): Uint32Array | undefined {
  const zone = text.indexOf('%');
  const address = zone >= 0 ? text.slice(0, zone) : text;
  if (address.length < 2 || address.length > 45) return undefined;
  const groups: number[] = [];
  let compressAt = -1;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      if (allowV4Tail && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
      out.push(Number.parseInt(piece, 16));
    }
    return out;
  };
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string, false);
    const tail = parseGroups(halves[1] as string, true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups.push(...head);
    compressAt = groups.length;
    groups.push(...tail);
  } else {
    const all = parseGroups(address, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups.push(...all);
  }
  if (compressAt >= 0) groups.splice(compressAt, 0, ...new Array<number>(8 - groups.length).fill(0));
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++)
    words[i] = (((groups[2 * i] as number) << 16) | (groups[2 * i + 1] as number)) >>> 0;
  return words;
}

export type ParsedIp =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly words: Uint32Array };

/** Either family; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is read as the IPv4 address it maps. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const words = parseIpv6(text);
    if (words === undefined) return undefined;
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff)
      return { family: 4, value: words[3] as number };
    return { family: 6, words };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

const MAX_V6 = (1n << 128n) - 1n;

/** A 128-bit number → four 32-bit words, most significant first. */
export function wordsOf(value: bigint): Uint32Array {
  return Uint32Array.of(
    Number(BigInt.asUintN(32, value >> 96n)),
    Number(BigInt.asUintN(32, value >> 64n)),
    Number(BigInt.asUintN(32, value >> 32n)),
    Number(BigInt.asUintN(32, value)),
  );
}

// ── building ───────────────────────────────────────────────────────────────

type Key = number | bigint;

/** One input row, materialized only where rows overlap. */
interface Row<K extends Key> {
  readonly start: K;
  readonly end: K;
  /** Stored value, ≥ 1 (0 means "no value"). */
  readonly value: number;
  /** Input order, for ties. */
  readonly order: number;
}

/** A growable array of unsigned 32-bit integers. */
class U32List {
  data = new Uint32Array(4096);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  at(i: number): number {
    return this.data[i] as number;
  }
  toArray(): Uint32Array {
    return this.data.slice(0, this.length);
  }
}

/** Input rows of one family, column by column. */
interface Columns<K extends Key> {
  readonly length: number;
  start(i: number): K;
  end(i: number): K;
  value(i: number): number;
}

/** Collects ranges of both families, then builds an {@link IpRangeTable}. Values are integers 0 … 2³²−2. */
export class IpRangeTableBuilder {
  private readonly v4 = { starts: new U32List(), ends: new U32List(), values: new U32List() };
  private readonly v6 = { starts: [] as bigint[], ends: [] as bigint[], values: new U32List() };
  private maxValue = 0;

  /** An inclusive IPv4 range, as unsigned 32-bit numbers. */
  addV4(start: number, end: number, value: number): void {
    if (
      !(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= 0xffff_ffff && start <= end)
    )
      throw new RangeError(`not an IPv4 range: ${start}-${end}`);
    this.v4.starts.push(start);
    this.v4.ends.push(end);
    this.v4.values.push(this.stored(value));
  }

  /** An inclusive IPv6 range, as 128-bit numbers. */
  addV6(start: bigint, end: bigint, value: number): void {
    if (!(start >= 0n && end <= MAX_V6 && start <= end))
      throw new RangeError(`not an IPv6 range: ${start}-${end}`);
    this.v6.starts.push(start);
    this.v6.ends.push(end);
    this.v6.values.push(this.stored(value));
  }

  /** Ranges added so far. */
  get size(): number {
    return this.v4.values.length + this.v6.values.length;
  }

  build(): IpRangeTable {
    const v4Starts = new U32List();
    const v4Values = new U32List();
    const { v4, v6 } = this;
    steps<number>(
      {
        length: v4.values.length,
        start: (i) => v4.starts.at(i),
        end: (i) => v4.ends.at(i),
        value: (i) => v4.values.at(i),
      },
      1,
      0xffff_ffff,
      (start, value) => {
        v4Starts.push(start);
        v4Values.push(value);
      },
    );
    const v6Starts = new U32List();
    const v6Values = new U32List();
    steps<bigint>(
      {
        length: v6.values.length,
        start: (i) => v6.starts[i] as bigint,
        end: (i) => v6.ends[i] as bigint,
        value: (i) => v6.values.at(i),
      },
      1n,
      MAX_V6,
      (start, value) => {
        // Word by word, without a typed array per step.
        v6Starts.push(Number(BigInt.asUintN(32, start >> 96n)));
        v6Starts.push(Number(BigInt.asUintN(32, start >> 64n)));
        v6Starts.push(Number(BigInt.asUintN(32, start >> 32n)));
        v6Starts.push(Number(BigInt.asUintN(32, start)));
        v6Values.push(value);
      },
    );
    const values = (list: U32List) =>
      this.maxValue > 0xffff ? list.toArray() : Uint16Array.from(list.toArray());
    return new IpRangeTable(v4Starts.toArray(), values(v4Values), v6Starts.toArray(), values(v6Values));
  }

  private stored(value: number): number {
    if (!Number.isInteger(value) || value < 0 || value >= 0xffff_ffff)
      throw new RangeError(`range value must be an integer 0 … 2^32-2, got ${value}`);
    const stored = value + 1;
    if (stored > this.maxValue) this.maxValue = stored;
    return stored;
  }
}

/**
 * Rows → the step function, handed to `emit` in ascending order: each start
 * with its stored value (0 for a gap), adjacent equal values merged. Sorted,
 * non-overlapping input (the usual case) takes one pass with no allocation
 * per row; rows are sorted first when they are not, and overlaps are resolved
 * per cluster of overlapping rows.
 */
function steps<K extends Key>(
  rows: Columns<K>,
  one: K,
  max: K,
  emit: (start: K, value: number) => void,
): void {
  let order: Uint32Array | undefined;
  for (let i = 1; i < rows.length; i++) {
    if (rows.start(i) < rows.start(i - 1)) {
      order = Uint32Array.from({ length: rows.length }, (_, k) => k).sort(
        (a, b) => compare(rows.start(a), rows.start(b)) || a - b,
      );
      break;
    }
  }
  const at = order === undefined ? (i: number) => i : (i: number) => order[i] as number;
  let lastValue = -1;
  const step = (start: K, value: number) => {
    if (value === lastValue) return;
    lastValue = value;
    emit(start, value);
  };
  let i = 0;
  let covered: K | undefined; // the end of the last range emitted
  while (i < rows.length) {
    // The cluster: rows that overlap, transitively, the first one.
    const first = at(i);
    let clusterEnd = rows.end(first);
    let j = i + 1;
    while (j < rows.length && rows.start(at(j)) <= clusterEnd) {
      const end = rows.end(at(j));
      if (end > clusterEnd) clusterEnd = end;
      j++;
    }
    const start = rows.start(first);
    if (covered !== undefined && start > add(covered, one)) step(add(covered, one), 0);
    if (j === i + 1) step(start, rows.value(first));
    else {
      const cluster: Row<K>[] = [];
      for (let k = i; k < j; k++) {
        const index = at(k);
        cluster.push({
          start: rows.start(index),
          end: rows.end(index),
          value: rows.value(index),
          order: index,
        });
      }
      for (const [point, value] of resolveCluster(cluster, one)) step(point, value);
    }
    covered = clusterEnd;
    i = j;
  }
  if (covered !== undefined && covered < max) step(add(covered, one), 0);
}

function compare(a: Key, b: Key): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function add<K extends Key>(a: K, b: K): K {
  return ((a as number) + (b as number)) as K;
}

/**
 * Overlapping rows (sorted by start) → steps where the smallest row covering
 * each point wins (the later row between equal sizes). A sweep over the
 * boundaries with a heap of the open rows: O(k log k) for k rows.
 */
function resolveCluster<K extends Key>(rows: readonly Row<K>[], one: K): Array<[K, number]> {
  const size = (row: Row<K>) => (row.end as number) - (row.start as number);
  const better = (a: Row<K>, b: Row<K>) => {
    const c = compare(size(a), size(b));
    return c < 0 || (c === 0 && a.order > b.order);
  };
  const heap: Row<K>[] = [];
  const push = (row: Row<K>) => {
    heap.push(row);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!better(heap[i] as Row<K>, heap[parent] as Row<K>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Row<K>, heap[i] as Row<K>];
      i = parent;
    }
  };
  const pop = () => {
    const last = heap.pop() as Row<K>;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && better(heap[l] as Row<K>, heap[best] as Row<K>)) best = l;
      if (r < heap.length && better(heap[r] as Row<K>, heap[best] as Row<K>)) best = r;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best] as Row<K>, heap[i] as Row<K>];
      i = best;
    }
  };
  const points = [...new Set<K>(rows.flatMap((row) => [row.start, add(row.end, one)]))].sort(compare);
  const out: Array<[K, number]> = [];
  let next = 0;
  for (const point of points) {
    while (next < rows.length && (rows[next] as Row<K>).start <= point) push(rows[next++] as Row<K>);
    while (heap.length > 0 && (heap[0] as Row<K>).end < point) pop();
    const top = heap[0];
    out.push([point, top === undefined ? 0 : top.value]);
  }
  // The last point is past the cluster: the caller emits the gap after it.
  out.pop();
  return out;
}

// ── looking up ─────────────────────────────────────────────────────────────

/** Address ranges → integers. Build one with {@link IpRangeTableBuilder}. */
export class IpRangeTable {
  constructor(
    private readonly v4Starts: Uint32Array,
    private readonly v4Values: Uint16Array | Uint32Array,
    /** Four words per start. */
    private readonly v6Starts: Uint32Array,
    private readonly v6Values: Uint16Array | Uint32Array,
  ) {}

  /** The value of the range holding this IPv4 address (unsigned 32-bit), or `undefined`. */
  findV4(address: number): number | undefined {
    const starts = this.v4Starts;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const value = found < 0 ? 0 : (this.v4Values[found] as number);
    return value === 0 ? undefined : value - 1;
  }

  /** The value of the range holding this IPv6 address (four words), or `undefined`. */
  findV6(words: Uint32Array): number | undefined {
    const starts = this.v6Starts;
    let lo = 0;
    let hi = starts.length / 4 - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWords(starts, mid * 4, words) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const value = found < 0 ? 0 : (this.v6Values[found] as number);
    return value === 0 ? undefined : value - 1;
  }

  find(ip: ParsedIp): number | undefined {
    return ip.family === 4 ? this.findV4(ip.value) : this.findV6(ip.words);
  }

  /** Steps held per family (ranges plus the gaps between them). */
  get steps(): { v4: number; v6: number } {
    return { v4: this.v4Starts.length, v6: this.v6Starts.length / 4 };
  }

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return (
      this.v4Starts.byteLength +
      this.v4Values.byteLength +
      this.v6Starts.byteLength +
      this.v6Values.byteLength
    );
  }
}

function compareWords(starts: Uint32Array, offset: number, words: Uint32Array): number {
  for (let i = 0; i < 4; i++) {
    const a = starts[offset + i] as number;
    const b = words[i] as number;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

// ── the network database ───────────────────────────────────────────────────

/** Hands out one small integer per distinct key; keeps each distinct string once. */
export class Interner<T> {
  private readonly index = new Map<string, number>();
  readonly values: T[] = [];

  intern(key: string, make: () => T): number {
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(make());
      this.index.set(key, id);
    }
    return id;
  }

  get size(): number {
    return this.values.length;
  }
}

export interface AsRecord {
  readonly asn: number;
  readonly name: string;
}

export interface NetworkDatabaseParts {
  /** Ranges → index into `asRecords`. */
  readonly asn: IpRangeTable;
  readonly asRecords: readonly AsRecord[];
  /** Ranges → index into `countries`. */
  readonly country: IpRangeTable;
  /** ISO 3166 alpha-2 codes. */
  readonly countries: readonly string[];
}

/** Answers for this many distinct addresses are remembered (addresses repeat heavily in audit logs). */
const MEMO_SIZE = 50_000;

/** AS number, AS organisation and country of an address, from two range tables. */
export class NetworkDatabase {
  private memo = new Map<string, NetworkInfo | null>();

  constructor(private readonly parts: NetworkDatabaseParts) {}

  lookup(ip: string): NetworkInfo | undefined {
    const memo = this.memo.get(ip);
    if (memo !== undefined) return memo ?? undefined;
    const info = this.compute(ip);
    if (this.memo.size >= MEMO_SIZE) this.memo = new Map();
    this.memo.set(ip, info ?? null);
    return info;
  }

  /** {@link lookup} as the baselines' {@link NetworkLookup}. */
  readonly lookupFunction: NetworkLookup = (ip) => this.lookup(ip);

  get byteLength(): number {
    return this.parts.asn.byteLength + this.parts.country.byteLength;
  }

  get counts(): {
    asSteps: { v4: number; v6: number };
    countrySteps: { v4: number; v6: number };
    asRecords: number;
    countries: number;
  } {
    return {
      asSteps: this.parts.asn.steps,
      countrySteps: this.parts.country.steps,
      asRecords: this.parts.asRecords.length,
      countries: this.parts.countries.length,
    };
  }

  private compute(ip: string): NetworkInfo | undefined {
    const parsed = parseIp(ip);
    if (parsed === undefined) return undefined;
    const asIndex = this.parts.asn.find(parsed);
    const countryIndex = this.parts.country.find(parsed);
    const as = asIndex === undefined ? undefined : this.parts.asRecords[asIndex];
    const country = countryIndex === undefined ? undefined : this.parts.countries[countryIndex];
    if (as === undefined && country === undefined) return undefined;
    return Object.freeze({
      ...(as !== undefined ? { asn: as.asn, ...(as.name !== '' ? { asnName: as.name } : {}) } : {}),
      ...(country !== undefined ? { country } : {}),
    });
  }
}
