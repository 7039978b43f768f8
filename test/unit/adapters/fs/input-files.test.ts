import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInputs, type UnreadableInputError, walkInputs } from '../../../../adapters/fs/input-files.js';

describe('walkInputs', () => {
  it('reads an organization trail in file-time order across accounts and regions', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trailhound-walk-'));
    const file = (account: string, region: string, stamp: string) => {
      const dir = join(root, 'AWSLogs', 'o-1', account, 'CloudTrail', region, '2026', '03', '02');
      mkdirSync(dir, { recursive: true });
      const name = `${account}_CloudTrail_${region}_${stamp}Z_abcdefghijklmnop.json.gz`;
      writeFileSync(join(dir, name), '');
      return name;
    };
    const late = file('111122223333', 'us-east-1', '20260302T1015');
    const early = file('444455556666', 'eu-west-1', '20260302T1000');
    const middle = file('111122223333', 'eu-west-1', '20260302T1005');
    writeFileSync(join(root, 'notes.jsonl'), '');
    const seen: string[] = [];
    for await (const path of walkInputs([root], () => {}))
      seen.push(relative(root, path).split('/').pop() as string);
    expect(seen).toEqual(['notes.jsonl', early, middle, late]);
  });

  it('reports a path that does not exist and goes on', async () => {
    const errors: UnreadableInputError[] = [];
    const seen: string[] = [];
    for await (const path of walkInputs(['/no/such/path', __filename], (e) => errors.push(e)))
      seen.push(path);
    expect(errors.map((e) => e.message)).toEqual(['/no/such/path: cannot read (ENOENT)']);
    expect(seen).toEqual([__filename]);
  });
});

describe('readInputs', () => {
  it('yields every file with its bytes in walk order, reading one ahead', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trailhound-read-'));
    for (const name of ['a.json', 'b.json', 'c.json']) writeFileSync(join(root, name), name);
    const seen: string[] = [];
    for await (const input of readInputs([root], () => {})) {
      const bytes = Array.isArray(input.bytes) ? Buffer.concat(input.bytes).toString() : '';
      seen.push(`${relative(root, input.path)}=${bytes}`);
    }
    expect(seen).toEqual(['a.json=a.json', 'b.json=b.json', 'c.json=c.json']);
  });
});
