/**
 * A producer for tests, following FORMAT.md's protocol with pread/pwrite in
 * place of atomics (tests write from one process at a time): claim `head`
 * when the slot's `seq` equals it, fill the record, then publish `seq = t + 1`.
 * A full ring counts `dropped`.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import {
  RING_HEADER_SIZE,
  RING_KINDS,
  RING_RECORD_SIZE,
  RingHeader,
  type RingKind,
  RingSlot,
} from '../../../lambda-layer/src/ring.ts';

export interface TestRecord {
  readonly kind: RingKind;
  readonly flags?: number;
  readonly timeNs?: bigint;
  readonly pid?: number;
  readonly ppid?: number;
  readonly result?: number;
  readonly port?: number;
  readonly family?: number;
  readonly path?: string;
  readonly detail?: string;
}

const KIND_VALUES = Object.fromEntries(
  Object.entries(RING_KINDS).map(([value, kind]) => [kind, Number(value)]),
);

export class TestRingWriter {
  private readonly fd: number;
  private readonly capacity: bigint;

  constructor(path: string) {
    this.fd = openSync(path, 'r+');
    this.capacity = this.u64(RingHeader.capacity);
  }

  private u64(offset: number): bigint {
    const b = Buffer.alloc(8);
    readSync(this.fd, b, 0, 8, offset);
    return b.readBigUInt64LE(0);
  }

  private setU64(offset: number, value: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value, 0);
    writeSync(this.fd, b, 0, 8, offset);
  }

  /** Claims a ticket without publishing it (a producer killed mid-write). */
  claim(): bigint | undefined {
    const t = this.u64(RingHeader.head);
    const offset = RING_HEADER_SIZE + Number(t & (this.capacity - 1n)) * RING_RECORD_SIZE;
    if (this.u64(offset) !== t) return undefined;
    this.setU64(RingHeader.head, t + 1n);
    return t;
  }

  /** Writes one record; false when the ring is full (counted as dropped). */
  write(record: TestRecord): boolean {
    const t = this.claim();
    if (t === undefined) {
      this.setU64(RingHeader.dropped, this.u64(RingHeader.dropped) + 1n);
      return false;
    }
    this.fill(t, record);
    return true;
  }

  fill(t: bigint, record: TestRecord): void {
    const offset = RING_HEADER_SIZE + Number(t & (this.capacity - 1n)) * RING_RECORD_SIZE;
    const slot = Buffer.alloc(RING_RECORD_SIZE);
    slot.writeUInt32LE(KIND_VALUES[record.kind] ?? 0, RingSlot.kind);
    slot.writeUInt32LE(record.flags ?? 0, RingSlot.flags);
    slot.writeBigUInt64LE(record.timeNs ?? BigInt(Date.now()) * 1_000_000n, RingSlot.timeNs);
    slot.writeInt32LE(record.pid ?? 100, RingSlot.pid);
    slot.writeInt32LE(record.ppid ?? 1, RingSlot.ppid);
    slot.writeInt32LE(record.result ?? 0, RingSlot.result);
    slot.writeUInt32LE(record.port ?? 0, RingSlot.port);
    slot.writeUInt8(record.family ?? 0, RingSlot.family);
    slot.write(record.path ?? '', RingSlot.path, RingSlot.pathSize - 1, 'utf8');
    slot.write(record.detail ?? '', RingSlot.detail, RingSlot.detailSize - 1, 'utf8');
    // Record first, then publish seq.
    writeSync(this.fd, slot, 8, RING_RECORD_SIZE - 8, offset + 8);
    this.setU64(offset, t + 1n);
    this.setU64(RingHeader.written, this.u64(RingHeader.written) + 1n);
  }

  addDenied(n: number): void {
    this.setU64(RingHeader.denied, this.u64(RingHeader.denied) + BigInt(n));
  }

  close(): void {
    closeSync(this.fd);
  }
}
