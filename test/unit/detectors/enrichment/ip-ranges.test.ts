import { describe, expect, it } from 'vitest';
import {
  IpRangeTableBuilder,
  NetworkDatabase,
  parseIp,
  parseIpv4,
  parseIpv6,
  wordsOf,
} from '../../../../detectors/enrichment/ip-ranges.js';

const v4 = (text: string): number => {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad test address ${text}`);
  return value;
};
const v6 = (text: string): bigint => {
  const words = parseIpv6(text);
  if (words === undefined) throw new Error(`bad test address ${text}`);
  return words.reduce((acc, word) => (acc << 32n) | BigInt(word), 0n);
};

describe('parseIpv4', () => {
  it('reads dotted quads as unsigned numbers', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('8.8.8.8')).toBe(134744072);
    expect(parseIpv4('255.255.255.255')).toBe(0xffff_ffff);
    expect(parseIpv4('010.1.1.1')).toBe(v4('10.1.1.1'));
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    '1.2.3.',
    'a.b.c.d',
    '1.2.3.4 ',
    '1234.1.1.1',
    '-1.2.3.4',
  ])('rejects %j', (text) => {
    expect(parseIpv4(text)).toBeUndefined();
  });
});

describe('parseIpv6', () => {
  it('reads full, compressed, mixed and zoned forms', () => {
    expect([...(parseIpv6('::') ?? [])]).toEqual([0, 0, 0, 0]);
    expect([...(parseIpv6('::1') ?? [])]).toEqual([0, 0, 0, 1]);
    expect([...(parseIpv6('2001:db8::1') ?? [])]).toEqual([0x20010db8, 0, 0, 1]);
    expect([...(parseIpv6('2001:0DB8:0000:0000:0000:ff00:0042:8329') ?? [])]).toEqual([
      0x20010db8, 0, 0xff00, 0x00428329,
    ]);
    expect([...(parseIpv6('::ffff:192.0.2.1') ?? [])]).toEqual([0, 0, 0xffff, v4('192.0.2.1')]);
    expect([...(parseIpv6('fe80::1%eth0') ?? [])]).toEqual([0xfe800000, 0, 0, 1]);
    expect([...(parseIpv6('1:2:3:4:5:6:7::') ?? [])]).toEqual([0x10002, 0x30004, 0x50006, 0x70000]);
  });

  it.each([
    ':::',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '::1.2.3',
    '1:2:3:4:5:6:7:8::',
    ':1::',
  ])('rejects %j', (text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });

  it('round-trips 128-bit numbers through words', () => {
    const value = v6('2001:db8:1234:5678:9abc:def0:1357:2468');
    expect(wordsOf(value)).toEqual(parseIpv6('2001:db8:1234:5678:9abc:def0:1357:2468'));
    expect(wordsOf((1n << 128n) - 1n)).toEqual(
      Uint32Array.of(0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff),
    );
  });
});

describe('parseIp', () => {
  it('reads an IPv4-mapped IPv6 address as IPv4, and nothing from host names', () => {
    expect(parseIp('::ffff:8.8.8.8')).toEqual({ family: 4, value: v4('8.8.8.8') });
    expect(parseIp('8.8.8.8')).toEqual({ family: 4, value: v4('8.8.8.8') });
    expect(parseIp('2001:db8::1')?.family).toBe(6);
    expect(parseIp('ec2.amazonaws.com')).toBeUndefined();
    expect(parseIp('AWS Internal')).toBeUndefined();
  });
});

describe('IpRangeTable', () => {
  it('finds inclusive ranges and nothing in the gaps', () => {
    const builder = new IpRangeTableBuilder();
    builder.addV4(v4('1.0.0.0'), v4('1.0.0.255'), 7);
    builder.addV4(v4('1.0.2.0'), v4('1.0.3.255'), 8);
    builder.addV4(v4('1.0.4.0'), v4('1.0.4.255'), 8);
    const table = builder.build();
    expect(table.findV4(v4('0.255.255.255'))).toBeUndefined();
    expect(table.findV4(v4('1.0.0.0'))).toBe(7);
    expect(table.findV4(v4('1.0.0.255'))).toBe(7);
    expect(table.findV4(v4('1.0.1.0'))).toBeUndefined();
    expect(table.findV4(v4('1.0.2.0'))).toBe(8);
    expect(table.findV4(v4('1.0.4.255'))).toBe(8);
    expect(table.findV4(v4('1.0.5.0'))).toBeUndefined();
    expect(table.findV4(0xffff_ffff)).toBeUndefined();
    // Adjacent ranges of one value are one step; the gaps are steps too.
    expect(table.steps.v4).toBe(4);
  });

  it('keeps value 0 apart from "no value", and ranges that reach the end of the space', () => {
    const builder = new IpRangeTableBuilder();
    builder.addV4(0, 0, 0);
    builder.addV4(v4('255.0.0.0'), 0xffff_ffff, 3);
    builder.addV6(0n, 0n, 0);
    builder.addV6(v6('ffff::'), (1n << 128n) - 1n, 4);
    const table = builder.build();
    expect(table.findV4(0)).toBe(0);
    expect(table.findV4(1)).toBeUndefined();
    expect(table.findV4(0xffff_ffff)).toBe(3);
    expect(table.find({ family: 6, words: wordsOf(0n) })).toBe(0);
    expect(table.find({ family: 6, words: wordsOf(1n) })).toBeUndefined();
    expect(table.findV6(wordsOf((1n << 128n) - 1n))).toBe(4);
  });

  it('finds IPv6 ranges word by word', () => {
    const builder = new IpRangeTableBuilder();
    builder.addV6(v6('2001:4860::'), v6('2001:4860:ffff:ffff:ffff:ffff:ffff:ffff'), 15169);
    builder.addV6(v6('2a00:1450::'), v6('2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff'), 15169);
    builder.addV6(v6('2001:db8::'), v6('2001:db8::ffff'), 64500);
    const table = builder.build();
    const find = (ip: string) => {
      const parsed = parseIp(ip);
      return parsed === undefined ? undefined : table.find(parsed);
    };
    expect(find('2001:4860:4860::8888')).toBe(15169);
    expect(find('2001:4860::')).toBe(15169);
    expect(find('2001:485f:ffff:ffff:ffff:ffff:ffff:ffff')).toBeUndefined();
    expect(find('2001:4861::')).toBeUndefined();
    expect(find('2001:db8::ffff')).toBe(64500);
    expect(find('2001:db8::1:0')).toBeUndefined();
    expect(find('2a00:1450:4001:80b::200e')).toBe(15169);
    expect(find('8.8.8.8')).toBeUndefined();
  });

  it('sorts unsorted rows', () => {
    const builder = new IpRangeTableBuilder();
    builder.addV4(30, 39, 3);
    builder.addV4(10, 19, 1);
    builder.addV4(20, 29, 2);
    const table = builder.build();
    expect([5, 10, 19, 20, 29, 30, 39, 40].map((a) => table.findV4(a))).toEqual([
      undefined,
      1,
      1,
      2,
      2,
      3,
      3,
      undefined,
    ]);
  });

  it('lets the more specific range win where ranges overlap', () => {
    const builder = new IpRangeTableBuilder();
    // The one overlap in the real data: a /11-ish DoD block and a smaller one that ends past it.
    builder.addV4(100, 199, 749);
    builder.addV4(190, 209, 721);
    // A range nested inside a larger one: the outer resumes after it.
    builder.addV4(300, 399, 1);
    builder.addV4(320, 329, 2);
    builder.addV4(325, 325, 3);
    const table = builder.build();
    expect([100, 189, 190, 199, 200, 209, 210].map((a) => table.findV4(a))).toEqual([
      749,
      749,
      721,
      721,
      721,
      721,
      undefined,
    ]);
    expect([299, 300, 319, 320, 324, 325, 326, 329, 330, 399, 400].map((a) => table.findV4(a))).toEqual([
      undefined,
      1,
      1,
      2,
      2,
      3,
      2,
      2,
      1,
      1,
      undefined,
    ]);
  });

  it('agrees with a brute-force reference on random overlapping ranges', () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 30; round++) {
      const rows: Array<{ start: number; end: number; value: number }> = [];
      const builder = new IpRangeTableBuilder();
      const bigBuilder = new IpRangeTableBuilder();
      for (let i = 0; i < 25; i++) {
        const start = random(200);
        const end = start + random(round % 2 === 0 ? 10 : 60);
        const value = random(4);
        rows.push({ start, end, value });
        builder.addV4(start, end, value);
        bigBuilder.addV6(BigInt(start) << 64n, (BigInt(end) << 64n) | 0xffff_ffff_ffff_ffffn, value);
      }
      const table = builder.build();
      const bigTable = bigBuilder.build();
      for (let address = 0; address < 280; address++) {
        let best: { start: number; end: number; value: number; order: number } | undefined;
        rows.forEach((row, order) => {
          if (row.start > address || row.end < address) return;
          const size = row.end - row.start;
          if (best === undefined || size < best.end - best.start || size === best.end - best.start)
            best = { ...row, order };
        });
        expect(table.findV4(address), `round ${round} address ${address}`).toBe(best?.value);
        expect(bigTable.findV6(wordsOf(BigInt(address) << 64n)), `round ${round} v6 ${address}`).toBe(
          best?.value,
        );
      }
    }
  });

  it('uses 16-bit values while they fit', () => {
    const small = new IpRangeTableBuilder();
    small.addV4(0, 9, 65_534);
    const wide = new IpRangeTableBuilder();
    wide.addV4(0, 9, 65_535);
    expect(small.build().byteLength).toBeLessThan(wide.build().byteLength);
    expect(wide.build().findV4(5)).toBe(65_535);
  });

  it('rejects ranges and values it cannot hold', () => {
    const builder = new IpRangeTableBuilder();
    expect(() => builder.addV4(10, 9, 1)).toThrow(RangeError);
    expect(() => builder.addV4(0, 2 ** 32, 1)).toThrow(RangeError);
    expect(() => builder.addV4(0, 1, -1)).toThrow(RangeError);
    expect(() => builder.addV4(0, 1, 1.5)).toThrow(RangeError);
    expect(() => builder.addV6(0n, 1n << 128n, 1)).toThrow(RangeError);
  });
});

describe('NetworkDatabase', () => {
  const asn = new IpRangeTableBuilder();
  asn.addV4(v4('198.51.100.0'), v4('198.51.100.255'), 0);
  asn.addV4(v4('203.0.113.0'), v4('203.0.113.127'), 1);
  asn.addV6(v6('2001:db8::'), v6('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), 1);
  const country = new IpRangeTableBuilder();
  country.addV4(v4('198.51.100.0'), v4('198.51.100.255'), 0);
  country.addV4(v4('192.0.2.0'), v4('192.0.2.255'), 1);
  const database = new NetworkDatabase({
    asn: asn.build(),
    asRecords: [
      { asn: 64500, name: 'EXAMPLE-OFFICE-ISP' },
      { asn: 64501, name: '' },
    ],
    country: country.build(),
    countries: ['US', 'GB'],
  });

  it('answers AS number, organisation and country from both tables', () => {
    expect(database.lookup('198.51.100.7')).toEqual({
      asn: 64500,
      asnName: 'EXAMPLE-OFFICE-ISP',
      country: 'US',
    });
    expect(database.lookup('203.0.113.9')).toEqual({ asn: 64501 });
    expect(database.lookup('2001:db8::5')).toEqual({ asn: 64501 });
    expect(database.lookup('192.0.2.1')).toEqual({ country: 'GB' });
    expect(database.lookup('::ffff:198.51.100.7')).toEqual({
      asn: 64500,
      asnName: 'EXAMPLE-OFFICE-ISP',
      country: 'US',
    });
  });

  it('answers undefined for unknown addresses and for what is not an address', () => {
    expect(database.lookup('203.0.113.200')).toBeUndefined();
    expect(database.lookup('ec2.amazonaws.com')).toBeUndefined();
    expect(database.lookup('')).toBeUndefined();
  });

  it('gives the same answer object for a repeated address and serves as a NetworkLookup', () => {
    const first = database.lookup('198.51.100.8');
    expect(database.lookupFunction('198.51.100.8')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });
});
