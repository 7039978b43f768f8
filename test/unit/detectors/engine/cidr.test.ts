import { describe, expect, it } from 'vitest';
import { compileCidrTest, ipv4ToInt } from '../../../../detectors/engine/cidr.js';

describe('CIDR matching', () => {
  it('parses dotted IPv4 and refuses anything else', () => {
    expect(ipv4ToInt('10.0.0.1')).toBe(167772161);
    expect(ipv4ToInt('255.255.255.255')).toBe(4294967295);
    for (const bad of [
      '256.0.0.1',
      '1.2.3',
      '1.2.3.4.5',
      '1..2.3',
      'a.b.c.d',
      '',
      '1234.1.1.1',
      'ec2.amazonaws.com',
    ]) {
      expect(ipv4ToInt(bad), bad).toBe(-1);
    }
  });

  it.each([
    ['10.1.2.3', true],
    ['172.31.255.255', true],
    ['172.32.0.0', false],
    ['192.168.0.1', false],
    ['203.0.113.7', true],
    ['0.0.0.0', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    ['not an address', false],
  ])('%s in blocks → %s', (address, expected) => {
    const test = compileCidrTest(['10.0.0.0/8', '172.16.0.0/12', '203.0.113.7/32', '2001:db8::/32']);
    expect(test(address)).toBe(expected);
  });

  it('matches everything with /0 and refuses malformed blocks', () => {
    expect(compileCidrTest(['0.0.0.0/0'])('8.8.8.8')).toBe(true);
    expect(() => compileCidrTest(['10.0.0.0/33'])).toThrow(/bad CIDR/);
    expect(() => compileCidrTest(['10.0.0.0'])).toThrow(/bad CIDR/);
  });
});
