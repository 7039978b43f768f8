import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../../adapters/fs/rule-files.js';
import {
  buildNetworkDatabase,
  loadNetworkDatabase,
  loadNetworkLookup,
  NetworkDataError,
  type NetworkDataFiles,
} from '../../../../adapters/ip-location/load.js';

const fixtures = (): NetworkDataFiles => {
  const dir = join(packageRoot(), 'test', 'fixtures', 'ip-location');
  return {
    asnV4: join(dir, 'asn-ipv4-num.csv'),
    asnV6: join(dir, 'asn-ipv6-num.csv'),
    countryV4: join(dir, 'asn-country-ipv4-num.csv'),
    countryV6: join(dir, 'asn-country-ipv6-num.csv'),
  };
};

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

describe('buildNetworkDatabase on small CSV fixtures', () => {
  it('reads quoted names, UTF-8, CRLF, blank lines and a last line without a newline', async () => {
    const { database, stats } = await buildNetworkDatabase(fixtures());
    expect(database.lookup('192.0.2.10')).toEqual({
      asn: 64502,
      asnName: 'Example "Home" ISP, Ltd.',
      country: 'GB',
    });
    expect(database.lookup('198.51.100.1')).toEqual({
      asn: 64500,
      asnName: 'EXAMPLE-OFFICE-ISP',
      country: 'US',
    });
    expect(database.lookup('203.0.113.5')).toEqual({
      asn: 64501,
      asnName: 'Telefónica Ejemplo S.A.',
      country: 'NL',
    });
    expect(database.lookup('203.0.113.130')).toEqual({
      asn: 64501,
      asnName: 'Telefónica Ejemplo S.A.',
      country: 'NL',
    });
    expect(database.lookup('203.0.113.255')).toEqual({
      asn: 64503,
      asnName: 'Tail, Without Newline',
      country: 'NL',
    });
    expect(database.lookup('2001:db8::1')).toEqual({
      asn: 64500,
      asnName: 'EXAMPLE-OFFICE-ISP',
      country: 'US',
    });
    expect(database.lookup('2001:db8:0:1::1')).toEqual({ country: 'US' });
    expect(database.lookup('203.0.114.1')).toBeUndefined();
    expect(stats.rows).toEqual({ asn: 6, country: 4 });
    // "not,a,row" has too few fields; "nl" is not an upper-case country code.
    expect(stats.badRows).toBe(2);
    expect(database.lookup('233.252.0.1')).toBeUndefined();
    expect(stats.asRecords).toBe(4);
    expect(stats.tableBytes).toBeGreaterThan(0);
    expect(stats.loadMs).toBeGreaterThanOrEqual(0);
  });

  it('parses rows that straddle the 1 MiB read chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailhound-ip-'));
    temporary.push(dir);
    const rows: string[] = [];
    const count = 60_000; // about 2.5 MiB: several chunks
    for (let i = 0; i < count; i++)
      rows.push(`${i * 256},${i * 256 + 255},${(i % 900) + 1},"Org ${i % 900}, Inc."`);
    const files: NetworkDataFiles = {
      asnV4: join(dir, 'a4.csv'),
      asnV6: join(dir, 'a6.csv'),
      countryV4: join(dir, 'c4.csv'),
      countryV6: join(dir, 'c6.csv'),
    };
    writeFileSync(files.asnV4, `${rows.join('\n')}\n`);
    writeFileSync(files.asnV6, '');
    writeFileSync(files.countryV4, `0,${count * 256 - 1},US\n`);
    writeFileSync(files.countryV6, '');
    const { database, stats } = await buildNetworkDatabase(files);
    expect(stats.rows.asn).toBe(count);
    expect(stats.badRows).toBe(0);
    for (const i of [0, 1, 4095, 4096, 23_456, count - 1]) {
      const n = i * 256 + 7;
      const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
      expect(database.lookup(ip), ip).toEqual({
        asn: (i % 900) + 1,
        asnName: `Org ${i % 900}, Inc.`,
        country: 'US',
      });
    }
  });

  it('names the file that cannot be read', async () => {
    const files = { ...fixtures(), asnV6: join(tmpdir(), 'no-such-trailhound-file.csv') };
    await expect(buildNetworkDatabase(files)).rejects.toThrow(NetworkDataError);
    await expect(buildNetworkDatabase(files)).rejects.toThrow(/no-such-trailhound-file\.csv/);
  });
});

describe('loadNetworkDatabase', () => {
  it('builds once per process and set of files', async () => {
    const first = loadNetworkDatabase(fixtures());
    expect(loadNetworkDatabase(fixtures())).toBe(first);
    const lookup = await loadNetworkLookup(fixtures());
    expect(lookup('198.51.100.1')?.asn).toBe(64500);
  });

  it('does not keep a failed load', async () => {
    const files = { ...fixtures(), countryV4: join(tmpdir(), 'no-such-trailhound-file.csv') };
    const failed = loadNetworkDatabase(files);
    await expect(failed).rejects.toThrow(NetworkDataError);
    expect(loadNetworkDatabase(files)).not.toBe(failed);
    await expect(loadNetworkDatabase(files)).rejects.toThrow(NetworkDataError);
  });
});

describe('the installed @ip-location-db data (smoke test)', () => {
  it('loads every table and knows addresses whose owner does not move', async () => {
    const { database, stats } = await loadNetworkDatabase();
    expect(stats.rows.asn).toBeGreaterThan(100_000);
    expect(stats.rows.country).toBeGreaterThan(100_000);
    expect(stats.badRows).toBe(0);
    const google = database.lookup('8.8.8.8');
    expect(google).toMatchObject({ asn: 15169, country: 'US' });
    expect(google?.asnName).toMatch(/google/i);
    expect(database.lookup('2001:4860:4860::8888')).toMatchObject({ asn: 15169 });
    expect(database.lookup('10.1.2.3')).toBeUndefined();
    expect(database.lookup('203.0.113.7')).toBeUndefined();
  });
});
