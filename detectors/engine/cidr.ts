import { BlockList, isIP } from 'node:net';

/** Dotted IPv4 → unsigned 32-bit integer, or -1 when `text` is not one. */
export function ipv4ToInt(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57 && digits < 3) {
      part = part * 10 + (code - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/**
 * Compiles CIDR blocks into a membership test. IPv4, by far the common case in
 * audit logs, is a pair of integer comparisons per block; IPv6 goes through
 * node's BlockList. Throws on a malformed block.
 */
export function compileCidrTest(cidrs: readonly string[]): (address: string) => boolean {
  const v4: Array<readonly [number, number]> = [];
  const v6 = new BlockList();
  let hasV6 = false;
  for (const cidr of cidrs) {
    const [network, bitsText] = cidr.split('/');
    const family = network !== undefined ? isIP(network) : 0;
    const bits = Number(bitsText);
    if (
      family === 0 ||
      bitsText === undefined ||
      !/^\d+$/.test(bitsText) ||
      bits > (family === 4 ? 32 : 128)
    ) {
      throw new Error(`bad CIDR "${cidr}"`);
    }
    if (family === 4) {
      const size = 2 ** (32 - bits);
      const start = Math.floor(ipv4ToInt(network as string) / size) * size;
      v4.push([start, start + size]);
    } else {
      v6.addSubnet(network as string, bits, 'ipv6');
      hasV6 = true;
    }
  }
  return (address) => {
    const n = ipv4ToInt(address);
    if (n >= 0) {
      for (const [start, end] of v4) if (n >= start && n < end) return true;
      return false;
    }
    return hasV6 && isIP(address) === 6 && v6.check(address, 'ipv6');
  };
}
