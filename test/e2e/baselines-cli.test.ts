/**
 * Local-mode baselines end to end, through the built CLI: `scan --baselines
 * --state DIR` learns profiles into dynalite under DIR/profiles, a later scan
 * reads and scores against them, a re-scan of the same files writes nothing,
 * and `baseline show` prints what was learned.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeJsonLines, writeOrgTrail } from '../../scripts/samples/org-trail-writer.js';
import { buildSample } from '../../scripts/samples/sample.js';
import { runCli } from '../helpers/cli.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 24 * 3_600_000;

interface BaselineLine {
  scored: number;
  learning: number;
  read: number;
  found: number;
  written: number;
  replayed: number;
  writes: number;
}

const num = (text: string | undefined) => Number((text ?? 'NaN').replace(/,/g, ''));

/** The two baseline lines of the scan summary, as numbers. */
function baselineSummary(stderr: string): BaselineLine {
  const baselines = stderr.match(
    /baselines\s+([\d,]+) events scored, ([\d,]+) learning; profiles ([\d,]+) read \(([\d,]+) found\), ([\d,]+) written, ([\d,]+) replayed/,
  );
  const dynamo = stderr.match(/dynamodb\s+([\d,]+) writes \([\d.]+ per 1,000 events\)/);
  expect(baselines, stderr).not.toBeNull();
  expect(dynamo, stderr).not.toBeNull();
  return {
    scored: num(baselines?.[1]),
    learning: num(baselines?.[2]),
    read: num(baselines?.[3]),
    found: num(baselines?.[4]),
    written: num(baselines?.[5]),
    replayed: num(baselines?.[6]),
    writes: num(dynamo?.[1]),
  };
}

let dir: string;
let state: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trailhound-baselines-e2e-'));
  state = join(dir, 'state');
  // Nine days of the sample company: eight as an organization trail, the ninth as one JSON Lines file.
  const { records } = buildSample({ seed: 424242, start: new Date(START), days: 9, targetEvents: 3_000 });
  const cut = START + 8 * DAY;
  writeOrgTrail(
    join(dir, 'history'),
    records.filter((r) => Date.parse(r.eventTime) < cut),
    { seed: 424242, intervalMinutes: 60 },
  );
  writeJsonLines(
    join(dir, 'today', 'day9.jsonl'),
    records.filter((r) => Date.parse(r.eventTime) >= cut),
  );
});

const scan = (path: string, extra: string[] = []) =>
  runCli([
    'scan',
    path,
    '--baselines',
    '--state',
    state,
    '--format',
    'json',
    '--out',
    join(dir, 'f.json'),
    ...extra,
  ]);

describe('trailhound scan --baselines --state DIR', () => {
  let first: BaselineLine;

  it('learns the history into profiles kept in DIR/profiles', () => {
    const result = scan(join(dir, 'history'));
    expect(result.status, result.stderr).toBe(0);
    first = baselineSummary(result.stderr);
    expect(first.written).toBeGreaterThan(0);
    expect(first.replayed).toBe(0);
    expect(first.learning).toBeGreaterThan(0);
    expect(result.stderr).toContain(`profiles ${join(state, 'profiles')}`);
  });

  it('reads the profiles it kept on the next run and scores against them', () => {
    const result = scan(join(dir, 'today'));
    expect(result.status, result.stderr).toBe(0);
    const next = baselineSummary(result.stderr);
    // One file is one batch: every profile found was learned by the first run.
    expect(next.found).toBeGreaterThan(0);
    expect(next.found).toBeLessThanOrEqual(next.read);
    expect(next.scored).toBeGreaterThan(0);
    expect(next.written).toBe(next.read);
    expect(next.replayed).toBe(0);
  });

  it('adds no profile write when the same files are scanned again', () => {
    const result = scan(join(dir, 'history'));
    expect(result.status, result.stderr).toBe(0);
    const again = baselineSummary(result.stderr);
    expect(again.written).toBe(0);
    expect(again.writes).toBe(0);
    expect(again.replayed).toBe(first.written);
    expect(again.found).toBe(again.read);
  });

  it('works without --state, in memory', () => {
    const result = runCli(['scan', join(dir, 'today'), '--baselines', '--format', 'json']);
    expect(result.status, result.stderr).toBe(0);
    const memory = baselineSummary(result.stderr);
    expect(memory.found).toBe(0);
    expect(memory.scored).toBe(0);
    expect(result.stderr).toMatch(/profiles in memory/);
  });
});

describe('trailhound baseline show', () => {
  it('prints a principal given by its bare ARN', () => {
    const result = runCli(['baseline', 'show', ALICE, '--state', state]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`principal:${ALICE}  (principal)`);
    expect(result.stdout).toMatch(/^events\s+[\d,]+, \d+ failed/m);
    expect(result.stdout).toMatch(/^operations \(/m);
    expect(result.stdout).toMatch(/^clients \(/m);
    expect(result.stdout).toMatch(/^ {2}Mon {2}\S{24} {2}[\d,]+$/m);
    expect(result.stdout).toMatch(/^volume\s+[\d.]+ ± [\d.]+ events per active hour/m);
  });

  it('prints the profile as JSON, with the learning of both runs in it', () => {
    const result = runCli(['baseline', 'show', `principal:${ALICE}`, '--state', state, '--format', 'json']);
    expect(result.status, result.stderr).toBe(0);
    const profile = JSON.parse(result.stdout);
    expect(profile).toMatchObject({ subject: `principal:${ALICE}`, kind: 'principal' });
    expect(profile.events).toBeGreaterThan(0);
    expect(profile.lastSeen).toBeGreaterThanOrEqual(START + 7 * DAY);
    expect(Object.keys(profile.values.operation).length).toBeGreaterThan(0);
  });

  it('shows an account by its id', () => {
    const result = runCli(['baseline', 'show', '111122223333', '--state', state, '--format', 'json']);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ subject: 'account:AWS:111122223333', kind: 'account' });
  });

  it('exits 2 with a clear message for an unknown principal or a folder without baselines', () => {
    const unknown = runCli(['baseline', 'show', 'arn:aws:iam::111122223333:user/nobody', '--state', state]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no profile for principal:arn:aws:iam::111122223333:user\/nobody/);
    const empty = runCli(['baseline', 'show', ALICE, '--state', join(dir, 'nothing-here')]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no baselines in .*nothing-here/);
  });
});
