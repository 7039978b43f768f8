/**
 * `trailhound baseline seed` in process, on the real stores: dynalite under a
 * temporary state folder, the installed ASN/country data, and for
 * `--lookup-events` the real CloudTrail SDK client talking to a local server
 * that speaks LookupEvents.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalBaselines } from '../../../../cli/commands/baseline.js';
import {
  registerBaselineSeedCommand,
  type SeedDependencies,
} from '../../../../cli/commands/baseline-seed.js';
import { UsageError } from '../../../../cli/errors.js';
import { extractFeatures } from '../../../../detectors/baselines/features.js';
import type { Profile } from '../../../../detectors/baselines/profile.js';
import { normalizeCloudTrail } from '../../../../detectors/normalizers/cloudtrail.js';
import { PRIMARY_REGION, PROD } from '../../../../scripts/samples/estate.js';
import { writeJsonLines } from '../../../../scripts/samples/org-trail-writer.js';
import type { CloudTrailRecord } from '../../../../scripts/samples/record.js';
import { generateTraffic } from '../../../../scripts/samples/traffic.js';
import {
  type FakeCloudTrail,
  startFakeCloudTrail,
  toLookupEvent,
} from '../../../helpers/fake-cloudtrail-server.js';

const START = new Date('2026-03-02T00:00:00Z');
/** "Now" for the command: half past midnight after the two generated days. */
const NOW = Date.parse('2026-03-04T00:30:00Z');

// One account and region's management events, as LookupEvents would hold them, plus one call from a public address.
const traffic = generateTraffic({ seed: 5150, start: START, days: 2 }).filter(
  (r) => r.recipientAccountId === PROD && r.awsRegion === PRIMARY_REGION && r.managementEvent !== false,
);
const human = traffic.find(
  (r) => r.userIdentity.type === 'IAMUser' && /^\d/.test(r.sourceIPAddress),
) as CloudTrailRecord;
const fromGoogle: CloudTrailRecord = {
  ...human,
  eventID: '00000000-0000-4000-8000-000000000001',
  eventTime: '2026-03-03T12:00:00Z',
  sourceIPAddress: '8.8.8.8',
};
const records = [...traffic, fromGoogle].sort((a, b) => a.eventTime.localeCompare(b.eventTime));

/** Events per principal profile, as the baselines count them. */
const expected = new Map<string, number>();
for (const record of records) {
  const subject = extractFeatures(normalizeCloudTrail(record as unknown as Record<string, unknown>))?.subjects
    .principal;
  if (subject !== undefined) expected.set(subject, (expected.get(subject) ?? 0) + 1);
}
const [busiest] = [...expected].sort((a, b) => b[1] - a[1])[0] as [string, number];
const humanSubject = `principal:${human.userIdentity.arn}`;

const credentials = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/trailhound-test-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/trailhound-test-credentials',
};
const savedEnv = new Map<string, string | undefined>();
const dirs: string[] = [];
let logs: string;

beforeAll(() => {
  for (const [key, value] of Object.entries(credentials)) {
    savedEnv.set(key, process.env[key]);
    process.env[key] = value;
  }
  for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) {
    savedEnv.set(key, process.env[key]);
    delete process.env[key];
  }
  logs = tempDir();
  writeJsonLines(join(logs, 'history.jsonl'), records);
});

afterAll(() => {
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trailhound-seed-'));
  dirs.push(dir);
  return dir;
}

async function seed(
  args: string[],
  dependencies: SeedDependencies = {},
): Promise<{ code: number; stderr: string }> {
  const out: string[] = [];
  const program = new Command().exitOverride();
  registerBaselineSeedCommand(program, {
    now: () => NOW,
    progress: false,
    write: (text) => out.push(text),
    ...dependencies,
  });
  const before = process.exitCode;
  try {
    await program.parseAsync(['baseline', 'seed', ...args], { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stderr: out.join('') };
  } finally {
    process.exitCode = before;
  }
}

async function profiles(state: string, subjects: string[]): Promise<Map<string, Profile>> {
  const local = await openLocalBaselines(state);
  try {
    return await local.store.load(subjects);
  } finally {
    await local.close();
  }
}

const number = (stderr: string, pattern: RegExp): number => {
  const match = stderr.match(pattern);
  expect(match, stderr).not.toBeNull();
  return Number(match?.[1]?.replace(/,/g, ''));
};

describe('baseline seed from files', () => {
  it('learns every event into the profiles, with networks from the offline lookup', async () => {
    const state = tempDir();
    const { code, stderr } = await seed([join(logs, 'history.jsonl'), '--state', state]);
    expect(code, stderr).toBe(0);
    expect(number(stderr, /seeded\s+([\d,]+) events from 1 files/)).toBe(records.length);
    expect(stderr).toMatch(
      /networks\s+[\d,]+ AS and [\d,]+ country ranges \([\d.]+ MiB\) loaded in [\d,]+ ms/,
    );
    const found = await profiles(state, [busiest, humanSubject]);
    expect(found.get(busiest)?.events).toBe(expected.get(busiest));
    const person = found.get(humanSubject);
    expect(person?.events).toBe(expected.get(humanSubject));
    // The documentation ranges of the sample, and Google's public resolver from the real data.
    expect(Object.keys(person?.values.network ?? {})).toEqual(expect.arrayContaining(['AS15169']));
    expect(Object.keys(person?.values.network ?? {}).some((n) => /^AS645\d\d$/.test(n))).toBe(true);
    expect(Object.keys(person?.values.country ?? {})).toContain('US');
  });

  it('learns nothing twice when the same files are seeded again', async () => {
    const state = tempDir();
    const file = join(logs, 'history.jsonl');
    expect((await seed([file, '--state', state, '--quiet'])).code).toBe(0);
    const again = await seed([file, '--state', state]);
    expect(again.code).toBe(0);
    expect(number(again.stderr, /([\d,]+) writes/)).toBe(0);
    expect((await profiles(state, [busiest])).get(busiest)?.events).toBe(expected.get(busiest));
  });

  it('keeps to --since / --until', async () => {
    const state = tempDir();
    const { code, stderr } = await seed([
      join(logs, 'history.jsonl'),
      '--state',
      state,
      '--since',
      '2026-03-03T00:00:00Z',
    ]);
    expect(code).toBe(0);
    const secondDay = records.filter((r) => r.eventTime >= '2026-03-03').length;
    expect(number(stderr, /seeded\s+([\d,]+) events/)).toBe(secondDay);
  });

  it('exits 2 for a path that cannot be read, after learning the others', async () => {
    const state = tempDir();
    const { code, stderr } = await seed([
      join(logs, 'history.jsonl'),
      join(logs, 'missing.jsonl'),
      '--state',
      state,
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/missing\.jsonl/);
    expect((await profiles(state, [busiest])).get(busiest)?.events).toBe(expected.get(busiest));
  });
});

describe('baseline seed --lookup-events', () => {
  let server: FakeCloudTrail;
  beforeAll(async () => {
    server = await startFakeCloudTrail(
      records.map((r) => toLookupEvent(r as unknown as Record<string, unknown>)),
    );
  });
  afterAll(async () => {
    await server.close();
  });

  const lookupArgs = (state: string, days = '2') => [
    '--lookup-events',
    '--region',
    PRIMARY_REGION,
    '--days',
    days,
    '--endpoint',
    server.endpoint,
    '--rate',
    '200',
    '--state',
    state,
  ];

  it('reads the last days hour by hour through the SDK and learns what files teach', async () => {
    const state = tempDir();
    server.requests.length = 0;
    const { code, stderr } = await seed(lookupArgs(state));
    expect(code, stderr).toBe(0);
    expect(number(stderr, /seeded\s+([\d,]+) events from LookupEvents in us-east-1/)).toBe(records.length);
    expect(stderr).toContain('2026-03-02T00:00:00.000Z … 2026-03-03T23:59:59.000Z: 48 hours');
    // One window per hour, oldest first, each asked for at least once.
    const starts = [...new Set(server.requests.map((r) => r.body.StartTime))];
    expect(starts).toHaveLength(48);
    expect(starts).toEqual([...starts].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(server.requests.every((r) => r.body.MaxResults === 50)).toBe(true);
    const found = await profiles(state, [busiest, humanSubject]);
    expect(found.get(busiest)?.events).toBe(expected.get(busiest));
    expect(found.get(humanSubject)?.events).toBe(expected.get(humanSubject));
    expect(Object.keys(found.get(humanSubject)?.values.network ?? {})).toContain('AS15169');
  });

  it('learns nothing twice when the same days are seeded again', async () => {
    const state = tempDir();
    expect((await seed([...lookupArgs(state), '--quiet'])).code).toBe(0);
    const again = await seed(lookupArgs(state));
    expect(again.code, again.stderr).toBe(0);
    expect(number(again.stderr, /([\d,]+) writes/)).toBe(0);
    expect((await profiles(state, [busiest])).get(busiest)?.events).toBe(expected.get(busiest));
  });

  it('goes on through throttling (the SDK retries)', { timeout: 60_000 }, async () => {
    const throttled = await startFakeCloudTrail(
      records.map((r) => toLookupEvent(r as unknown as Record<string, unknown>)),
      { throttle: (i) => i === 0 || i === 10 },
    );
    try {
      const state = tempDir();
      const args = lookupArgs(state, '1');
      args[args.indexOf('--endpoint') + 1] = throttled.endpoint;
      const { code, stderr } = await seed(args);
      expect(code, stderr).toBe(0);
      expect(throttled.requests.filter((r) => r.throttled)).toHaveLength(2);
      expect(stderr).toMatch(/2 retried by the SDK/);
      const secondDay = records.filter((r) => r.eventTime >= '2026-03-03').length;
      expect(number(stderr, /seeded\s+([\d,]+) events/)).toBe(secondDay);
    } finally {
      await throttled.close();
    }
  });

  it('exits 2 with the service error, keeping what it learned before', async () => {
    const denied = await startFakeCloudTrail(
      records.map((r) => toLookupEvent(r as unknown as Record<string, unknown>)),
      {
        fail: (i) =>
          i >= 30 ? { status: 400, type: 'AccessDeniedException', message: 'not authorized' } : undefined,
      },
    );
    try {
      const state = tempDir();
      const args = lookupArgs(state);
      args[args.indexOf('--endpoint') + 1] = denied.endpoint;
      const { code, stderr } = await seed(args);
      expect(code).toBe(2);
      expect(stderr).toMatch(/LookupEvents failed for .*AccessDeniedException: not authorized/);
      expect(number(stderr, /seeded\s+([\d,]+) events/)).toBeGreaterThan(0);
    } finally {
      await denied.close();
    }
  });

  it('refuses command lines that mix the two sources or miss the region', async () => {
    const state = tempDir();
    await expect(
      seed([join(logs, 'history.jsonl'), '--lookup-events', '--region', 'us-east-1', '--state', state]),
    ).rejects.toThrow(UsageError);
    await expect(seed(['--lookup-events', '--state', state])).rejects.toThrow(/--region/);
    await expect(seed(['--state', state])).rejects.toThrow(/nothing to seed/);
    await expect(
      seed(['--lookup-events', '--region', 'us-east-1', '--days', '91', '--state', state]),
    ).rejects.toThrow(/--days/);
    await expect(
      seed([join(logs, 'history.jsonl'), '--region', 'us-east-1', '--state', state]),
    ).rejects.toThrow(/--lookup-events/);
  });
});
