import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type DecodedItem, decodeInput } from '../../../../detectors/readers/decode.js';
import { loadFixture } from '../../../helpers/fixtures.js';

const record = (eventID: string) => loadFixture('cloudtrail/identities/iam-user.json', { eventID });

/** Feeds `bytes` to the decoder in small chunks, as a network body would arrive. */
async function decode(bytes: Buffer | string, chunkSize = 7): Promise<DecodedItem[]> {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  async function* chunks() {
    for (let i = 0; i < buffer.length; i += chunkSize) yield buffer.subarray(i, i + chunkSize);
  }
  const items: DecodedItem[] = [];
  for await (const batch of decodeInput('input', chunks())) items.push(...batch);
  return items;
}

const ids = (items: DecodedItem[]) =>
  items.flatMap((i) => (i.kind === 'record' ? [String(i.record.eventID)] : []));
const problems = (items: DecodedItem[]) =>
  items.flatMap((i) => (i.kind === 'problem' ? [{ reason: i.error.reason, line: i.error.line }] : []));

describe('decodeInput: formats', () => {
  it('reads a gzipped CloudTrail log file', async () => {
    const items = await decode(gzipSync(JSON.stringify({ Records: [record('a'), record('b')] })), 1024);
    expect(ids(items)).toEqual(['a', 'b']);
  });

  it('reads JSON Lines of records, skipping blank lines, with line numbers', async () => {
    const items = await decode(`${JSON.stringify(record('a'))}\n\n${JSON.stringify(record('b'))}\n`);
    expect(items.map((i) => (i.kind === 'record' ? i.line : -1))).toEqual([1, 3]);
  });

  it('reads a pretty-printed document spanning many lines', async () => {
    expect(ids(await decode(JSON.stringify({ Records: [record('a')] }, null, 2)))).toEqual(['a']);
  });

  it('reads EventBridge envelopes and LookupEvents output', async () => {
    const envelope = {
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.iam',
      detail: record('eb'),
    };
    const lookup = { Events: [{ EventId: 'le', CloudTrailEvent: JSON.stringify(record('le')) }] };
    expect(ids(await decode(`${JSON.stringify(envelope)}\n${JSON.stringify(lookup)}\n`))).toEqual([
      'eb',
      'le',
    ]);
  });

  it('reads a JSON array of records', async () => {
    expect(ids(await decode(JSON.stringify([record('a'), record('b')], null, 1)))).toEqual(['a', 'b']);
  });
});

describe('decodeInput: bad input is reported and the rest is read', () => {
  it('reports a non-JSON line with its number and keeps reading', async () => {
    const items = await decode(
      `${JSON.stringify(record('a'))}\nnot json at all\n${JSON.stringify(record('b'))}\n`,
    );
    expect(ids(items)).toEqual(['a', 'b']);
    expect(problems(items)).toEqual([{ reason: 'malformed-json', line: 2 }]);
  });

  it('reports Records that is not an array', async () => {
    const items = await decode(`{"Records": {"eventName": "x"}}\n${JSON.stringify(record('b'))}\n`);
    expect(problems(items)).toEqual([{ reason: 'invalid-structure', line: 1 }]);
    expect(ids(items)).toEqual(['b']);
  });

  it('reports a truncated gzip and keeps the records read before the cut', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify(record(`r${i}`))).join('\n');
    const gz = gzipSync(lines);
    const items = await decode(gz.subarray(0, Math.floor(gz.length * 0.8)), 4096);
    expect(problems(items)).toEqual([{ reason: 'truncated-file', line: undefined }]);
    expect(ids(items).length).toBeGreaterThan(100);
    expect(ids(items).length).toBeLessThan(400);
  });

  it('refuses an unknown format without reading further', async () => {
    expect(problems(await decode('Date,Event\n2026-01-01,login\n'))).toEqual([
      { reason: 'unknown-format', line: undefined },
    ]);
    expect(problems(await decode(Buffer.from([0x00, 0x01, 0x02, 0x03])))).toEqual([
      { reason: 'unknown-format', line: undefined },
    ]);
  });

  it('reports a JSON object that is no known record', async () => {
    const items = await decode('{"hello": "world"}\n');
    expect(problems(items)).toEqual([{ reason: 'unrecognized-record', line: 1 }]);
  });

  it('reports a line over the size limit and reads the next', async () => {
    const big = JSON.stringify({ ...record('big'), padding: 'x'.repeat(5000) });
    const items: DecodedItem[] = [];
    const body = Buffer.from(`${JSON.stringify(record('a'))}\n${big}\n${JSON.stringify(record('b'))}\n`);
    const options = { maxDocumentBytes: 4096, maxQuarantineBytes: 100 };
    for await (const batch of decodeInput('input', [body], options)) items.push(...batch);
    expect(ids(items)).toEqual(['a', 'b']);
    expect(problems(items)).toEqual([{ reason: 'oversized-record', line: 2 }]);
  });

  it('keeps the offending text of a malformed line for the quarantine', async () => {
    const [item] = (await decode('{"eventName": \n')).filter((i) => i.kind === 'problem');
    expect(item?.kind === 'problem' && item.error.content).toBe('{"eventName": ');
  });
});
