/**
 * Writes records the way an organization trail delivers them to S3:
 *
 *   AWSLogs/<org-id>/<account-id>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/
 *     <account-id>_CloudTrail_<region>_<yyyymmddThhmmZ>_<16 characters>.json.gz
 *
 * one gzip'd `{"Records":[...]}` file per account, region and delivery
 * interval. As in CloudTrail, the time in the name and the date folders are
 * the delivery time (a few minutes after the interval closes), and the
 * 16-character suffix only keeps names unique.
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html
 *
 * Deterministic: suffixes and delivery delays come from a seeded stream, the
 * gzip header carries no time and a fixed OS byte, and the compression level
 * is fixed. (The deflate stream itself is zlib's: identical for the same
 * Node.js build.)
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MINUTE, pad, SECOND } from './clock.js';
import { ORG_ID } from './estate.js';
import { Random } from './random.js';
import type { CloudTrailRecord } from './record.js';

export interface OrgTrailOptions {
  /** The organization id in the key prefix. Default: the sample organization's. */
  readonly orgId?: string;
  /** Seeds file-name suffixes and delivery delays. Default 0. */
  readonly seed?: number;
  /** Length of one delivery interval. Default 5 minutes, CloudTrail's usual cadence. */
  readonly intervalMinutes?: number;
  /** zlib level, 1–9. Default 6. */
  readonly gzipLevel?: number;
}

export interface WrittenLogFile {
  /** Relative to the output folder, with `/` separators: the S3 object key. */
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
}

/** `yyyymmddThhmmZ`, the delivery stamp in a log file's name. */
function deliveryStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}

/** The S3 key of one log file of an organization trail. */
export function orgTrailKey(
  orgId: string,
  account: string,
  region: string,
  deliveredAt: number,
  unique: string,
): string {
  const d = new Date(deliveredAt);
  const folder = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
  return `AWSLogs/${orgId}/${account}/CloudTrail/${region}/${folder}/${account}_CloudTrail_${region}_${deliveryStamp(deliveredAt)}_${unique}.json.gz`;
}

/** gzip with the header's OS byte fixed to Unix (3), so the bytes do not depend on the platform. */
function gzip(text: string, level: number): Buffer {
  const compressed = gzipSync(text, { level });
  compressed[9] = 3;
  return compressed;
}

interface Batch {
  readonly account: string;
  readonly region: string;
  readonly intervalStart: number;
  readonly records: CloudTrailRecord[];
}

/** Groups records by account, region and delivery interval, in time order. */
function batches(records: readonly CloudTrailRecord[], intervalMs: number): Batch[] {
  const byKey = new Map<string, Batch>();
  for (const record of records) {
    const time = Date.parse(record.eventTime);
    const intervalStart = time - (time % intervalMs);
    const key = `${intervalStart}|${record.recipientAccountId}|${record.awsRegion}`;
    let batch = byKey.get(key);
    if (batch === undefined) {
      batch = { account: record.recipientAccountId, region: record.awsRegion, intervalStart, records: [] };
      byKey.set(key, batch);
    }
    batch.records.push(record);
  }
  return [...byKey.values()].sort(
    (a, b) =>
      a.intervalStart - b.intervalStart ||
      a.account.localeCompare(b.account) ||
      a.region.localeCompare(b.region),
  );
}

/**
 * Writes `records` below `dir` as an organization trail's S3 objects and
 * returns what it wrote. Existing files are left alone (the caller clears
 * the folder if it wants a clean tree).
 */
export function writeOrgTrail(
  dir: string,
  records: readonly CloudTrailRecord[],
  options: OrgTrailOptions = {},
): WrittenLogFile[] {
  const orgId = options.orgId ?? ORG_ID;
  const intervalMs = (options.intervalMinutes ?? 5) * MINUTE;
  const level = options.gzipLevel ?? 6;
  const rng = Random.from(options.seed ?? 0).fork('org-trail-files');
  const written: WrittenLogFile[] = [];
  for (const batch of batches(records, intervalMs)) {
    const deliveredAt = batch.intervalStart + intervalMs + rng.int(60, 300) * SECOND;
    const key = orgTrailKey(orgId, batch.account, batch.region, deliveredAt, rng.mixedAlnum(16));
    const body = gzip(JSON.stringify({ Records: batch.records }), level);
    const path = join(dir, ...key.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
    written.push({ key, records: batch.records.length, bytes: body.length });
  }
  return written;
}

/** Writes one JSON record per line (no gzip), streaming so large corpora never become one string. */
export function writeJsonLines(file: string, records: readonly CloudTrailRecord[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  try {
    const chunk: string[] = [];
    for (const record of records) {
      chunk.push(JSON.stringify(record));
      if (chunk.length === 1000) {
        writeSync(fd, `${chunk.join('\n')}\n`);
        chunk.length = 0;
      }
    }
    if (chunk.length > 0) writeSync(fd, `${chunk.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}
