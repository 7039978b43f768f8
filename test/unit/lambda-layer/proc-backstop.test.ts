import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIpv6, ProcBackstop, parseProcNetTcp } from '../../../lambda-layer/src/proc-backstop.ts';

let proc: string;
beforeEach(() => {
  proc = mkdtempSync(join(tmpdir(), 'th-proc-'));
  mkdirSync(join(proc, 'net'));
  writeFileSync(join(proc, 'net/tcp'), HEADER);
  writeFileSync(join(proc, 'net/tcp6'), HEADER);
});
afterEach(() => rmSync(proc, { recursive: true, force: true }));

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** A fake /proc/<pid>: stat with its parent, cmdline, exe, and socket fds. */
function fakeProcess(pid: number, ppid: number, argv: string[], sockets: number[] = []): void {
  const dir = join(proc, String(pid));
  mkdirSync(join(dir, 'fd'), { recursive: true });
  writeFileSync(join(dir, 'stat'), `${pid} (${argv[0]?.split('/').at(-1)} x) S ${ppid} ${pid} ${pid} 0\n`);
  writeFileSync(join(dir, 'cmdline'), `${argv.join('\0')}\0`);
  writeFileSync(join(dir, 'comm'), `${argv[0]?.split('/').at(-1)}\n`);
  symlinkSync(argv[0] ?? '/x', join(dir, 'exe'));
  for (const [i, inode] of sockets.entries())
    symlinkSync(`socket:[${inode}]`, join(dir, 'fd', String(10 + i)));
}

function tcpLine(local: string, remote: string, state: string, inode: number): string {
  return `   0: ${local} ${remote} ${state} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;
}

describe('parseProcNetTcp', () => {
  it('decodes little-endian IPv4 and IPv6 words', () => {
    const [v4] = parseProcNetTcp(HEADER + tcpLine('0100007F:1F90', '0202A8C0:01BB', '01', 77), 'ipv4');
    expect(v4).toEqual({
      localAddress: '127.0.0.1',
      localPort: 8080,
      remoteAddress: '192.168.2.2',
      remotePort: 443,
      state: '01',
      inode: '77',
    });
    const [v6] = parseProcNetTcp(
      HEADER +
        tcpLine('00000000000000000000000001000000:0050', 'B80D0120000000000000000001000000:01BB', '01', 78),
      'ipv6',
    );
    expect(v6).toMatchObject({ localAddress: '::1', remoteAddress: '2001:db8::1', remotePort: 443 });
    expect(formatIpv6(Buffer.from('00000000000000000000ffff7f000001', 'hex'))).toBe('::ffff:127.0.0.1');
  });
});

describe('ProcBackstop', () => {
  it('reports processes and connections in scope that the ring did not name, once each', () => {
    fakeProcess(10, 1, ['/var/rapid/init']);
    fakeProcess(20, 10, ['/usr/bin/node', 'index.mjs']); // the extension
    fakeProcess(30, 10, ['/var/lang/bin/node', 'runtime.mjs'], [500, 501]);
    fakeProcess(99, 1, ['/usr/sbin/sshd']); // outside the sandbox scope
    const backstop = new ProcBackstop({
      procRoot: proc,
      scopeRoot: 10,
      selfPid: 20,
      now: () => 1234,
      ignoreEndpoints: ['127.0.0.1:9001'],
    });
    backstop.baseline();

    fakeProcess(40, 30, ['/tmp/miner', '--pool', 'x'], [502]);
    fakeProcess(41, 30, ['/bin/sh', '-c', 'id']);
    fakeProcess(42, 99, ['/usr/bin/cron']);
    writeFileSync(
      join(proc, 'net/tcp'),
      HEADER +
        tcpLine('0100007F:C000', '0100007F:2329', '01', 501) + // the runtime to the Runtime API: ignored
        tcpLine('0A00000A:C001', '04030201:0D05', '01', 502) + // the miner: reported
        tcpLine('0A00000A:C002', '08080808:01BB', '01', 500) + // seen by the ring
        tcpLine('0A00000A:C003', '09090909:01BB', '0A', 500), // listening: not established
    );
    const seen = { pids: new Set([41]), endpoints: new Set(['8.8.8.8:443']) };
    const sightings = backstop.scan(seen);
    expect(sightings).toEqual([
      {
        kind: 'process.backstop',
        timeMs: 1234,
        pid: 40,
        ppid: 30,
        path: '/tmp/miner',
        args: ['/tmp/miner', '--pool', 'x'],
      },
      { kind: 'network.backstop', timeMs: 1234, pid: 40, address: '1.2.3.4', port: 3333, family: 'ipv4' },
    ]);
    expect(backstop.scan(seen)).toEqual([]);
  });
});
