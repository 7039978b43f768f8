/**
 * `cdk/app.ts` as the CDK CLI runs it: a separate process, the context in
 * `CDK_CONTEXT_JSON` (the flags of `cdk.json` plus the user's keys), the
 * cloud assembly written to `CDK_OUTDIR`. Bundling is skipped; the rest is
 * the real synthesis, cdk-nag included.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from '../../cdk/paths.js';
import { FULL_CONTEXT } from './synth.js';

const run = promisify(execFile);
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

async function synthApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'trailhound-app-'));
  outdirs.push(outdir);
  const flags = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')).context;
  const env = {
    PATH: process.env.PATH,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify({ ...flags, 'aws:cdk:bundling-stacks': [], ...context }),
    CDK_DEFAULT_ACCOUNT: '111122223333',
    CDK_DEFAULT_REGION: 'eu-west-1',
  };
  const result = await run(process.execPath, ['--import', 'tsx', repoPath('cdk/app.ts')], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  return { ...result, outdir };
}

describe('cdk/app.ts', () => {
  it('synthesizes both stacks with every source on, passing cdk-nag', async () => {
    const { code, stderr, outdir } = await synthApp(FULL_CONTEXT);

    expect(stderr).not.toMatch(/AwsSolutions/);
    expect(code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.artifacts)).toEqual(
      expect.arrayContaining(['trailhound-storage', 'trailhound-detection']),
    );
  });

  it('stops on a bad configuration with the list of problems, not a stack trace', async () => {
    const { code, stderr } = await synthApp({
      organizationId: 'org-1',
      trailBuckets: '[{"bucketName":"A"}]',
    });

    expect(code).toBe(1);
    expect(stderr).toContain('Invalid Trailhound configuration');
    expect(stderr).toContain('  - trailBuckets[0].bucketName: is not an S3 bucket name');
    expect(stderr).toContain('  - organizationId: is not an AWS Organizations id');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
