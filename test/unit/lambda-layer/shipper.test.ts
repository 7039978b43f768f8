import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RuntimeRecord } from '../../../detectors/schema/runtime-record.ts';
import { parsePolicy } from '../../../lambda-layer/src/config.ts';
import type { RingRecord } from '../../../lambda-layer/src/ring.ts';
import {
  accountOfArn,
  roleSession,
  Shipper,
  SqsSink,
  StreamSink,
} from '../../../lambda-layer/src/shipper.ts';

const identity = { name: 'fn', version: '7', region: 'eu-west-1', account: '111122223333' };

function ringRecord(overrides: Partial<RingRecord>): RingRecord {
  return {
    ticket: 0n,
    kind: 'process.exec',
    kindValue: 1,
    flags: 0,
    timeNs: 1_700_000_000_123_000_000n,
    pid: 5,
    ppid: 1,
    result: 0,
    port: 0,
    family: 0,
    path: '',
    detail: '',
    ...overrides,
  };
}

describe('Shipper', () => {
  it('maps ring records onto the runtime record schema, naming the program behind file and network calls', () => {
    const exeOf = (pid: number) => (pid === 5 ? '/var/lang/bin/node' : undefined);
    const shipper = new Shipper(identity, new StreamSink(new PassThrough()), exeOf);
    const exec = shipper.fromRing(ringRecord({ path: '/bin/sh', detail: 'sh\x1f-c\x1fid', flags: 3 }), 'req');
    expect(exec).toEqual({
      trailhound_runtime: 1,
      kind: 'process.exec',
      time: 1_700_000_000_123,
      function: identity,
      request_id: 'req',
      pid: 5,
      ppid: 1,
      result: 0,
      denied: true,
      truncated: true,
      path: '/bin/sh',
      args: ['sh', '-c', 'id'],
    });
    const dns = shipper.fromRing(
      ringRecord({ kind: 'network.dns', kindValue: 5, path: 'x.test', detail: '10.0.0.1\x1f::1' }),
      undefined,
    );
    expect(dns).toMatchObject({ path: 'x.test', addresses: ['10.0.0.1', '::1'] });
    expect(dns?.request_id).toBeUndefined();
    const connect = shipper.fromRing(
      ringRecord({ kind: 'network.connect', kindValue: 4, path: '::1', port: 443, family: 10 }),
      'r',
    );
    expect(connect).toMatchObject({ port: 443, family: 'ipv6', exe: '/var/lang/bin/node' });
    // An exec names its own program in `path`: no `exe` on process records.
    expect(exec).not.toHaveProperty('exe');
    for (const record of [exec, dns, connect]) expect(RuntimeRecord.safeParse(record).success).toBe(true);
  });

  it('writes one JSON line per valid record; invalid ones are reported in the next health record', async () => {
    const stream = new PassThrough();
    const shipper = new Shipper(identity, new StreamSink(stream));
    shipper.add(shipper.fromRing(ringRecord({ path: '/bin/id' }), 'r1'));
    shipper.add({
      ...shipper.health({ written: 1, dropped: 0, denied: 0 }, []),
      time: Number.NaN as unknown as number,
    });
    shipper.add(shipper.fromRing(ringRecord({ kind: undefined as never, kindValue: 77 }), 'r1'));
    shipper.add(shipper.health({ written: 1, dropped: 2, denied: 0 }, ['RingError: x']));
    await shipper.flush();
    const lines = String(stream.read())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.kind)).toEqual(['process.exec', 'collector.health']);
    expect(lines[1].health.errors).toEqual([
      'RingError: x',
      expect.stringMatching(/invalid collector.health/),
      'RingError: unknown record kind 77',
    ]);
  });

  it('ships to SQS in batches of 10; refused entries fall back to stdout', async () => {
    const sent: { Entries: { Id: string; MessageBody: string }[] }[] = [];
    const client = {
      send: async (input: unknown) => {
        const command = input as { Entries: { Id: string; MessageBody: string }[] };
        sent.push(command);
        return { Failed: sent.length === 1 ? [{ Id: 'r3', Message: 'throttled' }] : [] };
      },
    };
    const fallback = new PassThrough();
    const sink = new SqsSink(
      'https://sqs.eu-west-1.amazonaws.com/1/q',
      client,
      (i) => i,
      new StreamSink(fallback),
    );
    const shipper = new Shipper(identity, sink);
    for (let i = 0; i < 23; i++) shipper.add(shipper.fromRing(ringRecord({ pid: i }), 'r'));
    await shipper.flush();
    expect(sent.map((b) => b.Entries.length)).toEqual([10, 10, 3]);
    expect(JSON.parse(String(fallback.read())).pid).toBe(3);
    expect(sink.errors).toEqual(['ShipperError: SQS refused a record (throttled)']);
  });
});

describe('identity helpers and policy', () => {
  it('derives the account and the role session', () => {
    expect(accountOfArn('arn:aws:lambda:us-east-1:123456789012:function:fn:prod')).toBe('123456789012');
    expect(roleSession('arn:aws:iam::123456789012:role/service-role/r', '123456789012', 'fn')).toBe(
      'arn:aws:sts::123456789012:assumed-role/r/fn',
    );
    expect(roleSession(undefined, '1', 'fn')).toBeUndefined();
  });

  it('parses policy entries and refuses malformed ones', () => {
    expect(parsePolicy('exec:/bin/*, connect:10.0.0.0/8:443\n# note\nwrite:/tmp/app/')).toEqual([
      'exec:/bin/*',
      'connect:10.0.0.0/8:443',
      'write:/tmp/app/',
    ]);
    expect(() => parsePolicy('run:/bin/sh')).toThrow(/not valid/);
  });
});
