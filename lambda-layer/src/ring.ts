/**
 * The consumer side of the collector ring (`native-collector/FORMAT.md`,
 * version 1): the extension creates the ring file before the runtime starts,
 * writes the enforce-mode settings into its header, and drains the records
 * producers (`libtrailhound.so` in the runtime and its children) publish.
 *
 * Producers map the file `MAP_SHARED`; the extension reads and writes it with
 * `pread` / `pwrite` (`fs.readSync` / `fs.writeSync` at offsets), which on
 * Linux go through the same page cache as the mappings and so see, and are
 * seen by, the producers' stores. Every slot is read in two steps, its `seq`
 * first and the record only once `seq` says it is published, so the record
 * bytes are read after the producer's release store of `seq`.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { RingError } from './errors.js';

export const RING_MAGIC = 'THRING01';
export const RING_VERSION = 1;
export const RING_HEADER_SIZE = 4096;
export const RING_RECORD_SIZE = 512;
export const RING_POLICY_OFFSET = 1024;
export const RING_POLICY_SIZE = 3072;
export const DEFAULT_RING_PATH = '/tmp/.trailhound/ring';
export const DEFAULT_RING_CAPACITY = 4096;

/** Byte offsets of the header fields. */
export const RingHeader = {
  magic: 0,
  version: 8,
  recordSize: 12,
  capacity: 16,
  mode: 24,
  failMode: 28,
  head: 64,
  tail: 128,
  dropped: 192,
  written: 256,
  denied: 320,
} as const;

/** Byte offsets inside a slot. */
export const RingSlot = {
  seq: 0,
  kind: 8,
  flags: 12,
  timeNs: 16,
  pid: 24,
  ppid: 28,
  result: 32,
  port: 36,
  family: 40,
  path: 48,
  pathSize: 256,
  detail: 304,
  detailSize: 208,
} as const;

export const RING_FLAG_DENIED = 1;
export const RING_FLAG_TRUNCATED = 2;
export const RING_FLAG_BACKSTOP = 4;

/** Record kinds by their wire value. */
export const RING_KINDS = {
  1: 'process.exec',
  2: 'process.spawn',
  3: 'process.system',
  4: 'network.connect',
  5: 'network.dns',
  6: 'file.read-sensitive',
  7: 'file.write-tmp',
  8: 'file.chmod-exec',
  9: 'process.backstop',
  10: 'network.backstop',
} as const;
export type RingKindValue = keyof typeof RING_KINDS;
export type RingKind = (typeof RING_KINDS)[RingKindValue];

export type RingMode = 'monitor' | 'enforce';
export type RingFailMode = 'open' | 'closed';

/** One decoded slot. */
export interface RingRecord {
  /** The ticket it was published under. */
  readonly ticket: bigint;
  readonly kind: RingKind;
  /** The raw kind when it is none of {@link RING_KINDS} (then `kind` is undefined at runtime). */
  readonly kindValue: number;
  readonly flags: number;
  readonly timeNs: bigint;
  readonly pid: number;
  readonly ppid: number;
  readonly result: number;
  /** connect: port; open: flags; chmod: mode. */
  readonly port: number;
  /** 2 AF_INET, 10 AF_INET6, 1 AF_UNIX, 0 none. */
  readonly family: number;
  readonly path: string;
  readonly detail: string;
}

export interface RingCounters {
  readonly written: bigint;
  readonly dropped: bigint;
  readonly denied: bigint;
  readonly head: bigint;
  readonly tail: bigint;
}

export interface CreateRingOptions {
  /** Slots, a power of two (default 4096: 2 MiB of slots). */
  readonly capacity?: number;
  readonly mode?: RingMode;
  readonly failMode?: RingFailMode;
  /** Enforce-mode allow-list entries (`exec:…`, `connect:…`, `write:…`). */
  readonly policy?: readonly string[];
}

/** The policy block: entries separated by NUL, ending with an empty entry; at most 3072 bytes. */
export function encodePolicy(entries: readonly string[]): Buffer {
  for (const entry of entries) {
    if (entry.length === 0 || entry.includes('\0'))
      throw new RingError(`invalid policy entry ${JSON.stringify(entry)}`);
  }
  const block = Buffer.from(`${entries.map((e) => `${e}\0`).join('')}\0`, 'utf8');
  if (block.length > RING_POLICY_SIZE) {
    throw new RingError(`policy is ${block.length} bytes, the ring holds ${RING_POLICY_SIZE}`);
  }
  return block;
}

/**
 * Creates (or replaces) the ring file: header, settings and every slot's
 * initial `seq = i`. It is written beside its final path and renamed into
 * place, so a producer never maps a half-written ring.
 */
export function createRing(path: string, options: CreateRingOptions = {}): void {
  const capacity = options.capacity ?? DEFAULT_RING_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) {
    throw new RingError(`ring capacity ${capacity} is not a power of two`);
  }
  const header = Buffer.alloc(RING_HEADER_SIZE);
  header.write(RING_MAGIC, RingHeader.magic, 'latin1');
  header.writeUInt32LE(RING_VERSION, RingHeader.version);
  header.writeUInt32LE(RING_RECORD_SIZE, RingHeader.recordSize);
  header.writeBigUInt64LE(BigInt(capacity), RingHeader.capacity);
  header.writeUInt32LE(options.mode === 'enforce' ? 1 : 0, RingHeader.mode);
  header.writeUInt32LE(options.failMode === 'closed' ? 1 : 0, RingHeader.failMode);
  encodePolicy(options.policy ?? []).copy(header, RING_POLICY_OFFSET);

  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, header, 0, header.length, 0);
    // Slots in chunks of 256: only `seq` is set, the rest stays zero.
    const chunkSlots = Math.min(capacity, 256);
    const chunk = Buffer.alloc(chunkSlots * RING_RECORD_SIZE);
    for (let first = 0; first < capacity; first += chunkSlots) {
      for (let i = 0; i < chunkSlots; i++) chunk.writeBigUInt64LE(BigInt(first + i), i * RING_RECORD_SIZE);
      writeSync(fd, chunk, 0, chunk.length, RING_HEADER_SIZE + first * RING_RECORD_SIZE);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

function cString(buffer: Buffer, start: number, size: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end === -1 || end > start + size ? start + size : end);
}

/** Decodes one slot's bytes (as read from the ring). */
export function decodeSlot(slot: Buffer, ticket: bigint): RingRecord {
  const kindValue = slot.readUInt32LE(RingSlot.kind);
  return {
    ticket,
    kind: RING_KINDS[kindValue as RingKindValue],
    kindValue,
    flags: slot.readUInt32LE(RingSlot.flags),
    timeNs: slot.readBigUInt64LE(RingSlot.timeNs),
    pid: slot.readInt32LE(RingSlot.pid),
    ppid: slot.readInt32LE(RingSlot.ppid),
    result: slot.readInt32LE(RingSlot.result),
    port: slot.readUInt32LE(RingSlot.port),
    family: slot.readUInt8(RingSlot.family),
    path: cString(slot, RingSlot.path, RingSlot.pathSize),
    detail: cString(slot, RingSlot.detail, RingSlot.detailSize),
  };
}

export interface DrainOptions {
  /** Stop after this many records (default: all published ones). */
  readonly max?: number;
  /**
   * A slot claimed by a producer (head moved past it) but not published for
   * this long is skipped, so a producer killed between claim and publish
   * cannot stall the ring for good (default 1000 ms; 0 skips at once, for the
   * final drain at SHUTDOWN).
   */
  readonly stuckAfterMs?: number;
}

export interface DrainResult {
  readonly records: RingRecord[];
  /** Slots skipped as stuck (claimed, never published). */
  readonly skipped: number;
}

/**
 * The single consumer of a ring. Not safe to use from two processes (nor two
 * readers in one): `tail` is owned by exactly one consumer.
 */
export class RingReader {
  readonly capacity: bigint;
  private readonly mask: bigint;
  private readonly fd: number;
  private tail: bigint;
  private readonly word = Buffer.alloc(8);
  private readonly slot = Buffer.alloc(RING_RECORD_SIZE);
  private stuckSince: { ticket: bigint; at: number } | undefined;

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    try {
      this.fd = openSync(path, 'r+');
    } catch (error) {
      throw new RingError(`cannot open ring ${path}`, { cause: error });
    }
    const header = Buffer.alloc(64);
    readSync(this.fd, header, 0, header.length, 0);
    const magic = header.toString('latin1', 0, 8);
    const version = header.readUInt32LE(RingHeader.version);
    const recordSize = header.readUInt32LE(RingHeader.recordSize);
    if (magic !== RING_MAGIC || version !== RING_VERSION || recordSize !== RING_RECORD_SIZE) {
      closeSync(this.fd);
      throw new RingError(
        `${path} is not a version ${RING_VERSION} ring (${magic}, v${version}, ${recordSize})`,
      );
    }
    this.capacity = header.readBigUInt64LE(RingHeader.capacity);
    this.mask = this.capacity - 1n;
    const expected = RING_HEADER_SIZE + Number(this.capacity) * RING_RECORD_SIZE;
    if (fstatSync(this.fd).size < expected) {
      closeSync(this.fd);
      throw new RingError(`${path} is shorter than its ${this.capacity} slots`);
    }
    this.tail = this.readU64(RingHeader.tail);
  }

  private readU64(offset: number): bigint {
    if (readSync(this.fd, this.word, 0, 8, offset) !== 8) throw new RingError(`short read at ${offset}`);
    return this.word.readBigUInt64LE(0);
  }

  private writeU64(offset: number, value: bigint): void {
    this.word.writeBigUInt64LE(value, 0);
    if (writeSync(this.fd, this.word, 0, 8, offset) !== 8) throw new RingError(`short write at ${offset}`);
  }

  /** Reads every published record in ticket order, handing each slot back to producers. */
  drain(options: DrainOptions = {}): DrainResult {
    const max = options.max ?? Number.POSITIVE_INFINITY;
    const stuckAfterMs = options.stuckAfterMs ?? 1000;
    const records: RingRecord[] = [];
    let skipped = 0;
    while (records.length < max) {
      const offset = RING_HEADER_SIZE + Number(this.tail & this.mask) * RING_RECORD_SIZE;
      const seq = this.readU64(offset + RingSlot.seq);
      if (seq === this.tail + 1n) {
        if (readSync(this.fd, this.slot, 0, RING_RECORD_SIZE, offset) !== RING_RECORD_SIZE) {
          throw new RingError(`short read of slot ${this.tail & this.mask}`);
        }
        records.push(decodeSlot(this.slot, this.tail));
      } else {
        // Not published. Claimed but unpublished (head past us) for too long: skip it.
        const head = this.readU64(RingHeader.head);
        if (head <= this.tail || seq !== this.tail) break;
        const now = this.now();
        if (this.stuckSince?.ticket !== this.tail) this.stuckSince = { ticket: this.tail, at: now };
        if (now - this.stuckSince.at < stuckAfterMs) break;
        skipped++;
      }
      this.stuckSince = undefined;
      this.writeU64(offset + RingSlot.seq, this.tail + this.capacity);
      this.tail += 1n;
      this.writeU64(RingHeader.tail, this.tail);
    }
    return { records, skipped };
  }

  counters(): RingCounters {
    const header = Buffer.alloc(RingHeader.denied + 8);
    readSync(this.fd, header, 0, header.length, 0);
    return {
      head: header.readBigUInt64LE(RingHeader.head),
      tail: header.readBigUInt64LE(RingHeader.tail),
      dropped: header.readBigUInt64LE(RingHeader.dropped),
      written: header.readBigUInt64LE(RingHeader.written),
      denied: header.readBigUInt64LE(RingHeader.denied),
    };
  }

  close(): void {
    closeSync(this.fd);
  }
}
