/**
 * `trailhound baseline seed --lookup-events` through the built CLI, as a user
 * runs it: credentials from the environment, the real SDK client against a
 * local server that speaks LookupEvents, profiles in dynalite under --state,
 * then `baseline show` reads what was learned.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../adapters/fs/rule-files.js';
import { PRIMARY_REGION, PROD } from '../../scripts/samples/estate.js';
import { writeOrgTrail } from '../../scripts/samples/org-trail-writer.js';
import { buildSample } from '../../scripts/samples/sample.js';
import { generateTraffic } from '../../scripts/samples/traffic.js';
import { runCli } from '../helpers/cli.js';
import {
  type FakeCloudTrail,
  startFakeCloudTrail,
  toLookupEvent,
} from '../helpers/fake-cloudtrail-server.js';

/** Like runCli, but without blocking this process, where the fake server runs. */
function runCliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'trailhound.js'), ...args], {
      cwd: packageRoot(),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: tmpdir(),
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'test-secret',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: '/nonexistent/trailhound-test-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/trailhound-test-credentials',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const hourAgo = Date.now() - 3_600_000;
const start = new Date(Math.floor(hourAgo / 86_400_000) * 86_400_000 - 86_400_000);
// Yesterday and today of one account and region, up to an hour ago (seed leaves the current hour out).
const records = generateTraffic({ seed: 31337, start, days: 2 }).filter(
  (r) =>
    r.recipientAccountId === PROD &&
    r.awsRegion === PRIMARY_REGION &&
    r.managementEvent !== false &&
    Date.parse(r.eventTime) < Math.floor(hourAgo / 3_600_000) * 3_600_000,
);
const alice = records.find((r) => r.userIdentity.arn?.endsWith(':user/alice'));

let server: FakeCloudTrail;
let dir: string;
beforeAll(async () => {
  server = await startFakeCloudTrail(
    records.map((r) => toLookupEvent(r as unknown as Record<string, unknown>)),
  );
  dir = mkdtempSync(join(tmpdir(), 'trailhound-seed-e2e-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('trailhound baseline seed <paths>', () => {
  it('learns files as scan would, so a scan of the same files afterwards writes no profile', () => {
    const trail = join(dir, 'trail');
    const { records: sample } = buildSample({
      seed: 777,
      start: new Date('2026-03-02T00:00:00Z'),
      days: 3,
      targetEvents: 2_000,
    });
    writeOrgTrail(trail, sample, { seed: 777, intervalMinutes: 60 });
    const state = join(dir, 'seeded-from-files');
    const seeded = runCli(['baseline', 'seed', trail, '--state', state]);
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(seeded.stderr).toMatch(/seeded\s+[\d,]+ events from [\d,]+ files/);
    expect(seeded.stderr).toMatch(/profiles\s+[\d,]+ events learned .* [1-9][\d,]* writes/);
    const scanned = runCli([
      'scan',
      trail,
      '--baselines',
      '--state',
      state,
      '--format',
      'json',
      '--out',
      join(dir, 'f.json'),
    ]);
    expect(scanned.status, scanned.stderr).toBe(0);
    expect(scanned.stderr).toMatch(/dynamodb\s+0 writes/);
  });
});

describe('trailhound baseline seed --lookup-events', () => {
  it('learns the last days from LookupEvents, and baseline show prints the profile', async () => {
    expect(alice, 'the sample has alice').toBeDefined();
    const state = join(dir, 'state');
    const seeded = await runCliAsync([
      'baseline',
      'seed',
      '--lookup-events',
      '--region',
      PRIMARY_REGION,
      '--days',
      '3',
      '--endpoint',
      server.endpoint,
      '--rate',
      '200',
      '--state',
      state,
    ]);
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(seeded.stderr).toMatch(
      new RegExp(`seeded\\s+${records.length.toLocaleString('en-US')} events from LookupEvents in us-east-1`),
    );
    expect(seeded.stderr).toMatch(/networks\s+[\d,]+ AS and [\d,]+ country ranges/);
    expect(server.requests.length).toBeGreaterThanOrEqual(72);

    const shown = await runCliAsync([
      'baseline',
      'show',
      alice?.userIdentity.arn ?? '',
      '--state',
      state,
      '--format',
      'json',
    ]);
    expect(shown.status, shown.stderr).toBe(0);
    const profile = JSON.parse(shown.stdout) as {
      events: number;
      values: { network?: Record<string, unknown> };
    };
    const aliceEvents = records.filter((r) => r.userIdentity.arn === alice?.userIdentity.arn).length;
    expect(profile.events).toBe(aliceEvents);
    // The sample's office addresses are documentation ranges, mapped to documentation AS numbers.
    expect(Object.keys(profile.values.network ?? {}).some((network) => /^AS645\d\d$/.test(network))).toBe(
      true,
    );
  });
});
