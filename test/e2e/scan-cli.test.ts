import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { OcsfDetectionFinding } from '../../detectors/alerting/format/ocsf.js';
import { Finding } from '../../detectors/schema/finding.js';
import { runCli } from '../helpers/cli.js';
import { loadFixture } from '../helpers/fixtures.js';

/** A trail stopped by a role session: the built-in rule aws.defense-evasion.cloudtrail-logging-stopped fires. */
const stopLogging = (eventID: string, minutes = 0) =>
  loadFixture('cloudtrail/identities/assumed-role.json', {
    eventID,
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'StopLogging',
    readOnly: false,
    eventTime: new Date(Date.parse('2026-03-02T10:00:00Z') + minutes * 60_000).toISOString(),
    requestParameters: { name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail' },
  });

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trailhound-e2e-'));
  // An organization trail layout with two good files, a truncated one and a digest.
  const day = join(
    dir,
    'trail',
    'AWSLogs',
    'o-exampleorg',
    '111122223333',
    'CloudTrail',
    'us-east-1',
    '2026',
    '03',
    '02',
  );
  mkdirSync(day, { recursive: true });
  writeFileSync(
    join(day, 'a.json.gz'),
    gzipSync(
      JSON.stringify({ Records: [stopLogging('e1'), loadFixture('cloudtrail/identities/iam-user.json')] }),
    ),
  );
  writeFileSync(join(day, 'b.json.gz'), gzipSync(JSON.stringify({ Records: [stopLogging('e2', 5)] })));
  const truncated = gzipSync(JSON.stringify({ Records: [stopLogging('e3', 6)] }));
  writeFileSync(join(day, 'c.json.gz'), truncated.subarray(0, truncated.length - 12));
  const digest = join(
    dir,
    'trail',
    'AWSLogs',
    'o-exampleorg',
    '111122223333',
    'CloudTrail-Digest',
    'us-east-1',
  );
  mkdirSync(digest, { recursive: true });
  writeFileSync(join(digest, 'd.json.gz'), gzipSync('{"awsAccountId":"111122223333"}'));
  // Loose files of other shapes and some junk.
  writeFileSync(
    join(dir, 'lines.jsonl'),
    `${JSON.stringify(stopLogging('e4', 7))}\nnot json\n{"Records": 5}\n`,
  );
  writeFileSync(join(dir, 'notes.txt'), 'just some notes');
});

describe('trailhound scan', () => {
  it('scans a trail folder and loose files, reports bad input with file and line, and keeps going', () => {
    const quarantine = join(dir, 'q1');
    const result = runCli([
      'scan',
      join(dir, 'trail'),
      join(dir, 'lines.jsonl'),
      join(dir, 'notes.txt'),
      '--format',
      'ndjson',
      '--quarantine',
      quarantine,
    ]);
    expect(result.status).toBe(0);
    const findings = result.stdout
      .trim()
      .split('\n')
      .map((line) => Finding.parse(JSON.parse(line)));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      rule: { uid: 'aws.defense-evasion.cloudtrail-logging-stopped' },
      count: 3,
      actor: { principal: 'arn:aws:iam::111122223333:role/ci/ci-deploy', session: 'deploy-42' },
      evidence: { event_uids: ['e1', 'e2', 'e4'] },
    });
    expect(result.stderr).toMatch(/files\s+5 read, passed over: cloudtrail-digest 1/);
    expect(result.stderr).toMatch(/events\s+4 read, 4 normalized\n/);
    expect(result.stderr).toMatch(/problems\s+4 \(.*truncated-file 1.*\), quarantined/);
    const quarantined = readFileSync(join(quarantine, 'quarantine.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(quarantined.map((q) => [q.reason, q.file.replace(dir, ''), q.line ?? null])).toEqual(
      expect.arrayContaining([
        ['malformed-json', '/lines.jsonl', 2],
        ['invalid-structure', '/lines.jsonl', 3],
        ['unknown-format', '/notes.txt', null],
        ['truncated-file', expect.stringMatching(/c\.json\.gz$/), null],
      ]),
    );
  });

  it('keeps dedup state with --state: a re-scan adds no finding and no count', () => {
    const state = join(dir, 'state');
    const first = runCli(['scan', join(dir, 'trail'), '--state', state, '--format', 'json', '--quiet']);
    expect(JSON.parse(first.stdout)).toHaveLength(1);
    const again = runCli(['scan', join(dir, 'trail'), '--state', state, '--format', 'json', '--quiet']);
    expect(JSON.parse(again.stdout)).toEqual([]);
  });

  it('filters by time and severity, and fails on a severity when asked', () => {
    const late = runCli([
      'scan',
      join(dir, 'trail'),
      '--since',
      '2026-03-02T10:04:00Z',
      '--format',
      'json',
      '--quiet',
    ]);
    expect(JSON.parse(late.stdout)[0].count).toBe(1);
    const critical = runCli([
      'scan',
      join(dir, 'trail'),
      '--min-severity',
      'critical',
      '--format',
      'json',
      '--quiet',
    ]);
    expect(JSON.parse(critical.stdout)).toEqual([]);
    expect(runCli(['scan', join(dir, 'trail'), '--fail-on', 'high', '--quiet']).status).toBe(1);
    expect(runCli(['scan', join(dir, 'trail'), '--fail-on', 'critical', '--quiet']).status).toBe(0);
  });

  it('writes findings to --out and prints a table by default', () => {
    const out = join(dir, 'findings.ndjson');
    expect(runCli(['scan', join(dir, 'trail'), '--format', 'ndjson', '--out', out, '--quiet']).stdout).toBe(
      '',
    );
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(runCli(['scan', join(dir, 'trail'), '--quiet']).stdout).toMatch(
      /HIGH\s+75\s+CloudTrail trail stopped or deleted/,
    );
  });

  it('writes each finding as an OCSF Detection Finding with --format ocsf', () => {
    const result = runCli(['scan', join(dir, 'trail'), '--format', 'ocsf', '--quiet']);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const finding = OcsfDetectionFinding.parse(JSON.parse(lines[0]!));
    const plain = Finding.parse(
      JSON.parse(runCli(['scan', join(dir, 'trail'), '--format', 'ndjson', '--quiet']).stdout),
    );
    expect(finding).toMatchObject({
      class_uid: 2004,
      activity_name: 'Create',
      type_uid: 200401,
      severity: 'High',
      status: 'New',
      risk_score: 75,
      metadata: { version: '1.1.0', product: { name: 'Trailhound' }, log_name: 'findings' },
      finding_info: {
        uid: plain.finding_uid,
        title: 'CloudTrail trail stopped or deleted',
        analytic: { uid: 'aws.defense-evasion.cloudtrail-logging-stopped', type: 'Rule' },
        related_events: [{ uid: 'e1' }, { uid: 'e2' }],
        first_seen_time: plain.first_seen,
        last_seen_time: plain.last_seen,
      },
      cloud: { provider: 'AWS', account: { uid: '111122223333' }, region: 'us-east-1' },
      actor: { user: { uid: 'arn:aws:iam::111122223333:role/ci/ci-deploy' }, session: { uid: 'deploy-42' } },
    });
    expect(finding.finding_info.attacks.map((a) => a.tactic?.uid)).toContain('TA0005');
  });

  it('exits 2 on usage errors and unreadable inputs', () => {
    expect(runCli(['scan', join(dir, 'does-not-exist')]).status).toBe(2);
    expect(runCli(['scan', join(dir, 'trail'), '--format', 'xml']).status).toBe(2);
    expect(runCli(['scan', join(dir, 'trail'), '--since', 'last tuesday']).status).toBe(2);
    expect(runCli(['scan']).status).toBe(2);
  });
});
