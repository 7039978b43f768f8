/**
 * Loads the offline ASN and country tables from the `@ip-location-db/asn` and
 * `@ip-location-db/asn-country` npm packages (CSV, numeric ranges) into the
 * pure {@link NetworkDatabase} of `detectors/enrichment/ip-ranges.ts`. No
 * network at run time: the data ships in node_modules.
 *
 * Each CSV is streamed once and parsed from bytes (no per-line strings except
 * the organisation names, each kept once). The built tables are cached per
 * process: the first {@link loadNetworkLookup} pays the load, later ones share
 * it.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { NetworkLookup } from '../../detectors/baselines/features.js';
import {
  chainLookups,
  documentationNetworkLookup,
} from '../../detectors/enrichment/documentation-networks.js';
import {
  type AsRecord,
  Interner,
  IpRangeTableBuilder,
  NetworkDatabase,
} from '../../detectors/enrichment/ip-ranges.js';

/** The four CSV files, each `start,end,...` with numeric (decimal) range bounds. */
export interface NetworkDataFiles {
  /** `start,end,asn,organisation` over IPv4 numbers. */
  readonly asnV4: string;
  /** The same over IPv6 numbers (128-bit, decimal). */
  readonly asnV6: string;
  /** `start,end,country` over IPv4 numbers. */
  readonly countryV4: string;
  readonly countryV6: string;
}

export interface NetworkLoadStats {
  /** Data rows read per file kind. */
  readonly rows: { readonly asn: number; readonly country: number };
  /** Rows that could not be read and were passed over. */
  readonly badRows: number;
  /** Steps in the built tables (ranges and the gaps between them). */
  readonly steps: { readonly asn: number; readonly country: number };
  readonly asRecords: number;
  /** Bytes of the typed arrays. */
  readonly tableBytes: number;
  /** Wall time of the load. */
  readonly loadMs: number;
  /** Growth of the V8 heap plus array buffers over the load (without a forced GC: an upper bound). */
  readonly heapGrowthBytes: number;
}

export interface LoadedNetworkDatabase {
  readonly database: NetworkDatabase;
  readonly stats: NetworkLoadStats;
}

export class NetworkDataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkDataError';
  }
}

/** Where the installed `@ip-location-db` packages keep their numeric CSVs. */
export function packagedNetworkDataFiles(): NetworkDataFiles {
  const require = createRequire(import.meta.url);
  const folder = (name: string) => {
    try {
      return dirname(require.resolve(`${name}/package.json`));
    } catch (error) {
      throw new NetworkDataError(`the ${name} package is not installed (run npm ci)`, { cause: error });
    }
  };
  const asn = folder('@ip-location-db/asn');
  const country = folder('@ip-location-db/asn-country');
  return {
    asnV4: join(asn, 'asn-ipv4-num.csv'),
    asnV6: join(asn, 'asn-ipv6-num.csv'),
    countryV4: join(country, 'asn-country-ipv4-num.csv'),
    countryV6: join(country, 'asn-country-ipv6-num.csv'),
  };
}

const cache = new Map<string, Promise<LoadedNetworkDatabase>>();

/**
 * The database built from `files` (default: the installed packages), built at
 * most once per process and set of files. A failed load is not cached.
 */
export function loadNetworkDatabase(files?: NetworkDataFiles): Promise<LoadedNetworkDatabase> {
  const chosen = files ?? packagedNetworkDataFiles();
  const key = JSON.stringify(chosen);
  let loading = cache.get(key);
  if (loading === undefined) {
    loading = buildNetworkDatabase(chosen);
    cache.set(key, loading);
    loading.catch(() => cache.delete(key));
  }
  return loading;
}

/** The baselines' {@link NetworkLookup} over the installed data (or `files`), loaded lazily once per process. */
export async function loadNetworkLookup(files?: NetworkDataFiles): Promise<NetworkLookup> {
  return (await loadNetworkDatabase(files)).database.lookupFunction;
}

/**
 * The lookup baselines use in every host, so profiles learned by one command
 * are scored with the same networks by another: the installed data, then the
 * documentation ranges (RFC 5737) that samples and rule cases use. `files`:
 * the same data elsewhere (a Lambda layer ships it in one folder).
 */
export async function loadBaselineNetworkLookup(files?: NetworkDataFiles): Promise<NetworkLookup> {
  return chainLookups(await loadNetworkLookup(files), documentationNetworkLookup);
}

/** Reads the four files (each streamed once) and builds the tables. Not cached: see {@link loadNetworkDatabase}. */
export async function buildNetworkDatabase(files: NetworkDataFiles): Promise<LoadedNetworkDatabase> {
  const started = performance.now();
  const before = process.memoryUsage();
  await Promise.all(
    Object.values(files).map((file) =>
      access(file).catch((error: unknown) => {
        throw new NetworkDataError(`network data file ${file} cannot be read`, { cause: error });
      }),
    ),
  );
  const asRanges = new IpRangeTableBuilder();
  const asRecords: AsRecord[] = [];
  const asIds = new Map<number, number>();
  const countryRanges = new IpRangeTableBuilder();
  const countries = new Interner<string>();
  const asRow =
    (family: 4 | 6) =>
    (row: Buffer, commas: readonly number[], end: number): boolean => {
      const [c1, c2, c3] = commas as [number, number, number];
      const asn = parseDecimal(row, c2 + 1, c3);
      if (asn === undefined) return false;
      // An AS has one organisation: the name is decoded only the first time its number is seen.
      let id = asIds.get(asn);
      if (id === undefined) {
        id = asRecords.length;
        asRecords.push({ asn, name: unquote(row.toString('utf8', c3 + 1, end)) });
        asIds.set(asn, id);
      }
      return addRange(asRanges, family, row, c1, c2, id);
    };
  const countryRow =
    (family: 4 | 6) =>
    (row: Buffer, commas: readonly number[], end: number): boolean => {
      const [c1, c2] = commas as [number, number];
      const code = row.toString('latin1', c2 + 1, end).trim();
      if (!/^[A-Z]{2}$/.test(code)) return false;
      return addRange(
        countryRanges,
        family,
        row,
        c1,
        c2,
        countries.intern(code, () => code),
      );
    };

  const counts = await Promise.all([
    forEachRow(files.asnV4, 3, asRow(4)),
    forEachRow(files.asnV6, 3, asRow(6)),
    forEachRow(files.countryV4, 2, countryRow(4)),
    forEachRow(files.countryV6, 2, countryRow(6)),
  ]);
  const [asV4, asV6, countryV4, countryV6] = counts.map((c) => c.rows) as [number, number, number, number];
  const badRows = counts.reduce((sum, c) => sum + c.bad, 0);
  const asTable = asRanges.build();
  const countryTable = countryRanges.build();
  const database = new NetworkDatabase({
    asn: asTable,
    asRecords,
    country: countryTable,
    countries: countries.values,
  });
  const after = process.memoryUsage();
  return {
    database,
    stats: {
      rows: { asn: asV4 + asV6, country: countryV4 + countryV6 },
      badRows,
      steps: {
        asn: asTable.steps.v4 + asTable.steps.v6,
        country: countryTable.steps.v4 + countryTable.steps.v6,
      },
      asRecords: asRecords.length,
      tableBytes: database.byteLength,
      loadMs: Math.round(performance.now() - started),
      heapGrowthBytes: Math.max(
        0,
        after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers),
      ),
    },
  };
}

/** Adds the range in the first two fields; false when they are not a range of that family. */
function addRange(
  builder: IpRangeTableBuilder,
  family: 4 | 6,
  row: Buffer,
  c1: number,
  c2: number,
  value: number,
): boolean {
  if (family === 4) {
    const start = parseDecimal(row, 0, c1);
    const end = parseDecimal(row, c1 + 1, c2);
    if (start === undefined || end === undefined || start > end || end > 0xffff_ffff) return false;
    builder.addV4(start, end, value);
    return true;
  }
  const start = parseBig(row, 0, c1);
  const end = parseBig(row, c1 + 1, c2);
  if (start === undefined || end === undefined || start > end || end >= 1n << 128n) return false;
  builder.addV6(start, end, value);
  return true;
}

/** Digits only, up to 2^53: else `undefined`. */
function parseDecimal(bytes: Buffer, from: number, to: number): number | undefined {
  if (to <= from || to - from > 15) return undefined;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = (bytes[i] as number) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return value;
}

function parseBig(bytes: Buffer, from: number, to: number): bigint | undefined {
  if (to <= from || to - from > 39) return undefined;
  for (let i = from; i < to; i++) {
    const code = bytes[i] as number;
    if (code < 48 || code > 57) return undefined;
  }
  return BigInt(bytes.toString('latin1', from, to));
}

/** A CSV field: `"Cloudflare, Inc."` → `Cloudflare, Inc.`, with `""` → `"`. */
function unquote(field: string): string {
  const text = field.trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"'))
    return text.slice(1, -1).replaceAll('""', '"');
  return text;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;

/**
 * Streams a CSV file and hands each non-empty line to `onRow` with the
 * positions of its first `commas` commas (the field after the last one is the
 * rest of the line, commas and all). A line with fewer commas, or one `onRow`
 * turns down, is counted as bad.
 */
async function forEachRow(
  file: string,
  commas: number,
  onRow: (line: Buffer, commas: readonly number[], end: number) => boolean,
): Promise<{ rows: number; bad: number }> {
  let rows = 0;
  let bad = 0;
  let carry: Buffer | undefined;
  const positions: number[] = new Array(commas).fill(0);
  const handle = (line: Buffer) => {
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end -= 1;
    if (end === 0) return;
    let at = 0;
    for (let k = 0; k < commas; k++) {
      const comma = line.indexOf(COMMA, at);
      if (comma < 0 || comma >= end) {
        bad += 1;
        return;
      }
      positions[k] = comma;
      at = comma + 1;
    }
    if (onRow(line, positions, end)) rows += 1;
    else bad += 1;
  };
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      const buffer = chunk as Buffer;
      let from = 0;
      if (carry !== undefined) {
        // Only the line cut by the chunk boundary is copied, not the whole chunk.
        const newline = buffer.indexOf(NEWLINE);
        if (newline < 0) {
          carry = Buffer.concat([carry, buffer]);
          continue;
        }
        handle(Buffer.concat([carry, buffer.subarray(0, newline)]));
        carry = undefined;
        from = newline + 1;
      }
      for (;;) {
        const newline = buffer.indexOf(NEWLINE, from);
        if (newline < 0) break;
        handle(buffer.subarray(from, newline));
        from = newline + 1;
      }
      if (from < buffer.length) carry = Buffer.from(buffer.subarray(from));
    }
  } catch (error) {
    throw new NetworkDataError(`network data file ${file} cannot be read`, { cause: error });
  }
  if (carry !== undefined) handle(carry);
  return { rows, bad };
}
