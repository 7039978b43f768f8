/**
 * The /proc backstop: what libc interposition cannot see (static binaries,
 * raw syscalls, processes that clear `LD_PRELOAD`). While an invoke runs the
 * extension samples /proc every `backstopMs`: processes in scope whose pid no
 * ring record named, and ESTABLISHED TCP connections (from `/proc/net/tcp`
 * and `tcp6`) owned by processes in scope whose remote endpoint no
 * `network.connect` record named.
 *
 * Sampling limits: a process that starts and exits between two scans, and a
 * connection opened and closed between two scans, are missed; a pid reused
 * within one invoke is reported once; UDP (DNS included) is not scanned.
 * Scope: descendants of the extension's parent (Lambda's init process, which
 * starts the runtime too), except the extension itself and its own sockets.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessSighting {
  readonly kind: 'process.backstop';
  readonly timeMs: number;
  readonly pid: number;
  readonly ppid: number;
  /** Executable (`/proc/<pid>/exe`), else the command name. */
  readonly path: string;
  readonly args: string[];
}

export interface ConnectionSighting {
  readonly kind: 'network.backstop';
  readonly timeMs: number;
  /** The owning process, when found. */
  readonly pid: number | undefined;
  readonly address: string;
  readonly port: number;
  readonly family: 'ipv4' | 'ipv6';
}

export type Sighting = ProcessSighting | ConnectionSighting;

export interface BackstopOptions {
  /** Default `/proc`; tests point it at a fake tree. */
  readonly procRoot?: string;
  /** Processes descending from this pid are in scope (default: the extension's parent). */
  readonly scopeRoot?: number;
  /** Never reported, nor its sockets (default: the extension itself). */
  readonly selfPid?: number;
  /** Remote `address:port` endpoints never reported (the Runtime API). */
  readonly ignoreEndpoints?: readonly string[];
  readonly now?: () => number;
}

/** `address:port` as the ring's connect records name it. */
export function endpointKey(address: string, port: number): string {
  return `${address}:${port}`;
}

function hexToIpv4(hex: string): string {
  // /proc prints the 32-bit word in host order (little-endian on x86-64 and arm64).
  const bytes = Buffer.from(hex, 'hex');
  return [bytes[3], bytes[2], bytes[1], bytes[0]].join('.');
}

/** IPv6 text in RFC 5952 form (as `inet_ntop` prints it), v4-mapped as `::ffff:a.b.c.d`. */
export function formatIpv6(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function hexToIpv6(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  // Four 32-bit words, each in host (little-endian) order.
  for (let i = 0; i < 16; i += 4) bytes.subarray(i, i + 4).reverse();
  return formatIpv6(bytes);
}

export interface TcpEntry {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Hex state; `01` is ESTABLISHED. */
  readonly state: string;
  readonly inode: string;
}

/** Parses `/proc/net/tcp` or `/proc/net/tcp6`. */
export function parseProcNetTcp(text: string, family: 'ipv4' | 'ipv6'): TcpEntry[] {
  const entries: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [localHex, localPortHex] = (fields[1] ?? '').split(':');
    const [remoteHex, remotePortHex] = (fields[2] ?? '').split(':');
    if (!localHex || !localPortHex || !remoteHex || !remotePortHex) continue;
    const toAddress = family === 'ipv4' ? hexToIpv4 : hexToIpv6;
    entries.push({
      localAddress: toAddress(localHex),
      localPort: Number.parseInt(localPortHex, 16),
      remoteAddress: toAddress(remoteHex),
      remotePort: Number.parseInt(remotePortHex, 16),
      state: fields[3] ?? '',
      inode: fields[9] ?? '',
    });
  }
  return entries;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `ppid` from `/proc/<pid>/stat` (the command name may hold spaces and parentheses). */
function parentOf(procRoot: string, pid: number): number | undefined {
  const stat = readText(join(procRoot, String(pid), 'stat'));
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

export class ProcBackstop {
  private readonly procRoot: string;
  private readonly scopeRoot: number;
  private readonly selfPid: number;
  private readonly ignore: Set<string>;
  private readonly now: () => number;
  private readonly knownPids = new Set<number>();
  private readonly knownConnections = new Set<string>();
  /** Whether each pid descends from the scope root (pids are not reused within an invoke, in practice). */
  private readonly inScope = new Map<number, boolean>();

  constructor(options: BackstopOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.scopeRoot = options.scopeRoot ?? process.ppid;
    this.selfPid = options.selfPid ?? process.pid;
    this.ignore = new Set(options.ignoreEndpoints ?? []);
    this.now = options.now ?? Date.now;
  }

  private pids(): number[] {
    try {
      return readdirSync(this.procRoot)
        .filter((name) => /^\d+$/.test(name))
        .map(Number);
    } catch {
      return [];
    }
  }

  private scoped(pid: number): boolean {
    if (pid === this.selfPid) return false;
    const cached = this.inScope.get(pid);
    if (cached !== undefined) return cached;
    const chain: number[] = [];
    let current: number | undefined = pid;
    let answer = false;
    for (let depth = 0; current !== undefined && depth < 64; depth++) {
      if (current === this.scopeRoot) {
        answer = true;
        break;
      }
      if (current === this.selfPid || current <= 0) break;
      const known = this.inScope.get(current);
      if (known !== undefined) {
        answer = known;
        break;
      }
      chain.push(current);
      current = parentOf(this.procRoot, current);
    }
    for (const p of chain) this.inScope.set(p, answer);
    return answer;
  }

  private sockets(pids: readonly number[]): Map<string, number> {
    const owners = new Map<string, number>();
    for (const pid of pids) {
      const fdDir = join(this.procRoot, String(pid), 'fd');
      let fds: string[];
      try {
        fds = readdirSync(fdDir);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(join(fdDir, fd)));
          if (match?.[1]) owners.set(match[1], pid);
        } catch {
          // The fd closed meanwhile.
        }
      }
    }
    return owners;
  }

  private describe(pid: number): ProcessSighting | undefined {
    const base = join(this.procRoot, String(pid));
    const ppid = parentOf(this.procRoot, pid);
    if (ppid === undefined) return undefined;
    let path: string | undefined;
    try {
      path = readlinkSync(join(base, 'exe'));
    } catch {
      path = readText(join(base, 'comm'))?.trim();
    }
    const cmdline = readText(join(base, 'cmdline')) ?? '';
    const args = cmdline.split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1);
    return { kind: 'process.backstop', timeMs: this.now(), pid, ppid, path: path ?? '', args };
  }

  /**
   * One scan: processes and established connections in scope not reported
   * before and not in `seen` (pids and `address:port` endpoints the ring
   * named). Everything scanned becomes known, so each is reported once.
   */
  scan(seen: { readonly pids: ReadonlySet<number>; readonly endpoints: ReadonlySet<string> }): Sighting[] {
    const sightings: Sighting[] = [];
    const pids = this.pids().filter((pid) => this.scoped(pid));
    for (const pid of pids) {
      if (this.knownPids.has(pid)) continue;
      this.knownPids.add(pid);
      if (seen.pids.has(pid)) continue;
      const sighting = this.describe(pid);
      if (sighting) sightings.push(sighting);
    }
    const owners = this.sockets(pids);
    for (const family of ['ipv4', 'ipv6'] as const) {
      const text = readText(join(this.procRoot, 'net', family === 'ipv4' ? 'tcp' : 'tcp6'));
      if (!text) continue;
      for (const entry of parseProcNetTcp(text, family)) {
        if (entry.state !== '01') continue;
        const owner = owners.get(entry.inode);
        if (owner === undefined) continue;
        const remote = endpointKey(entry.remoteAddress, entry.remotePort);
        const key = `${entry.inode}|${remote}`;
        if (this.knownConnections.has(key) || this.ignore.has(remote)) continue;
        this.knownConnections.add(key);
        if (seen.endpoints.has(remote)) continue;
        sightings.push({
          kind: 'network.backstop',
          timeMs: this.now(),
          pid: owner,
          address: entry.remoteAddress,
          port: entry.remotePort,
          family,
        });
      }
    }
    return sightings;
  }

  /** Marks everything present now as known (call once before the first invoke). */
  baseline(): void {
    this.scan({ pids: new Set(), endpoints: new Set() });
  }
}
