import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RingError } from '../../../lambda-layer/src/errors.ts';
import {
  createRing,
  encodePolicy,
  RING_FLAG_DENIED,
  RING_HEADER_SIZE,
  RING_POLICY_OFFSET,
  RING_RECORD_SIZE,
  RingHeader,
  RingReader,
} from '../../../lambda-layer/src/ring.ts';
import { TestRingWriter } from './ring-writer.ts';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'th-ring-'));
  path = join(dir, 'nested', 'ring');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('createRing', () => {
  it('lays out the header and slots as FORMAT.md says', () => {
    createRing(path, {
      capacity: 8,
      mode: 'enforce',
      failMode: 'closed',
      policy: ['exec:/bin/*', 'connect:10.0.0.0/8:443'],
    });
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(RING_HEADER_SIZE + 8 * RING_RECORD_SIZE);
    expect(bytes.toString('latin1', 0, 8)).toBe('THRING01');
    expect(bytes.readUInt32LE(RingHeader.version)).toBe(1);
    expect(bytes.readUInt32LE(RingHeader.recordSize)).toBe(512);
    expect(bytes.readBigUInt64LE(RingHeader.capacity)).toBe(8n);
    expect(bytes.readUInt32LE(RingHeader.mode)).toBe(1);
    expect(bytes.readUInt32LE(RingHeader.failMode)).toBe(1);
    expect(bytes.readBigUInt64LE(RingHeader.head)).toBe(0n);
    expect(bytes.toString('utf8', RING_POLICY_OFFSET, RING_POLICY_OFFSET + 36)).toBe(
      'exec:/bin/*\0connect:10.0.0.0/8:443\0\0',
    );
    for (let i = 0; i < 8; i++)
      expect(bytes.readBigUInt64LE(RING_HEADER_SIZE + i * RING_RECORD_SIZE)).toBe(BigInt(i));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes monitor mode and fail open by default, and refuses bad settings', () => {
    createRing(path, { capacity: 4 });
    const bytes = readFileSync(path);
    expect(bytes.readUInt32LE(RingHeader.mode)).toBe(0);
    expect(bytes.readUInt32LE(RingHeader.failMode)).toBe(0);
    expect(() => createRing(path, { capacity: 6 })).toThrow(RingError);
    expect(() => encodePolicy(['x'.repeat(4000)])).toThrow(/3072/);
    expect(() => encodePolicy([''])).toThrow(RingError);
  });
});

describe('RingReader', () => {
  it('drains published records in order and hands slots back to producers', () => {
    createRing(path, { capacity: 4 });
    const writer = new TestRingWriter(path);
    const reader = new RingReader(path);
    for (let lap = 0; lap < 5; lap++) {
      for (let i = 0; i < 4; i++) {
        expect(
          writer.write({
            kind: 'process.exec',
            pid: lap * 10 + i,
            path: '/bin/sh',
            detail: 'sh\x1f-c\x1fid',
          }),
        ).toBe(true);
      }
      expect(writer.write({ kind: 'process.exec' })).toBe(false);
      const { records } = reader.drain();
      expect(records.map((r) => r.pid)).toEqual([0, 1, 2, 3].map((i) => lap * 10 + i));
      expect(records.map((r) => r.ticket)).toEqual([0n, 1n, 2n, 3n].map((t) => t + BigInt(lap * 4)));
    }
    expect(reader.counters()).toMatchObject({ written: 20n, dropped: 5n, head: 20n, tail: 20n });
    writer.close();
    reader.close();
  });

  it('decodes every field', () => {
    createRing(path, { capacity: 4 });
    const writer = new TestRingWriter(path);
    writer.write({
      kind: 'network.connect',
      flags: RING_FLAG_DENIED,
      timeNs: 1_700_000_000_123_456_789n,
      pid: 42,
      ppid: 7,
      result: -1,
      port: 443,
      family: 10,
      path: '2001:db8::1',
      detail: '',
    });
    const [record] = new RingReader(path).drain().records;
    expect(record).toEqual({
      ticket: 0n,
      kind: 'network.connect',
      kindValue: 4,
      flags: 1,
      timeNs: 1_700_000_000_123_456_789n,
      pid: 42,
      ppid: 7,
      result: -1,
      port: 443,
      family: 10,
      path: '2001:db8::1',
      detail: '',
    });
  });

  it('stops at a claimed but unpublished slot, then skips it once stuck', () => {
    createRing(path, { capacity: 8 });
    const writer = new TestRingWriter(path);
    let now = 1000;
    const reader = new RingReader(path, () => now);
    writer.write({ kind: 'process.exec', pid: 1 });
    const claimed = writer.claim();
    writer.write({ kind: 'process.exec', pid: 3 });
    expect(reader.drain().records.map((r) => r.pid)).toEqual([1]);
    now += 500;
    expect(reader.drain()).toEqual({ records: [], skipped: 0 });
    // The producer finishes late: nothing is lost.
    writer.fill(claimed ?? 0n, { kind: 'process.exec', pid: 2 });
    expect(reader.drain().records.map((r) => r.pid)).toEqual([2, 3]);
    // A producer that never finishes: skipped after stuckAfterMs.
    writer.claim();
    writer.write({ kind: 'process.exec', pid: 5 });
    expect(reader.drain().records).toEqual([]);
    now += 1500;
    const { records, skipped } = reader.drain();
    expect(skipped).toBe(1);
    expect(records.map((r) => r.pid)).toEqual([5]);
  });

  it('resumes from the tail stored in the header', () => {
    createRing(path, { capacity: 4 });
    const writer = new TestRingWriter(path);
    writer.write({ kind: 'process.exec', pid: 1 });
    writer.write({ kind: 'process.exec', pid: 2 });
    const first = new RingReader(path);
    expect(first.drain({ max: 1 }).records.map((r) => r.pid)).toEqual([1]);
    first.close();
    expect(new RingReader(path).drain().records.map((r) => r.pid)).toEqual([2]);
  });

  it('refuses files that are not a ring', () => {
    expect(() => new RingReader(join(dir, 'missing'))).toThrow(RingError);
    createRing(path, { capacity: 4 });
    const bytes = readFileSync(path);
    bytes.write('NOTARING', 0, 'latin1');
    const other = join(dir, 'other');
    writeFileSync(other, bytes);
    expect(() => new RingReader(other)).toThrow(/not a version 1 ring/);
  });
});
