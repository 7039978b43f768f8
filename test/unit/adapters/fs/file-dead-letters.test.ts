/**
 * The CLI's dead letters: NDJSON files under a folder, re-driven in place.
 */
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deadLetterFileName,
  FileDeadLetters,
  readFileDeadLetters,
  redriveFileDeadLetters,
} from '../../../../adapters/fs/file-dead-letters.js';
import type { IncidentUpdate } from '../../../../detectors/alerting/incident.js';
import type { AlertDestination } from '../../../../detectors/alerting/ports.js';
import { ACCOUNT, foldAll, makeAlertFinding, T0 } from '../../../helpers/alert-findings.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailhound-dead-letters-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function incidents(count: number): IncidentUpdate[] {
  return foldAll(
    Array.from({ length: count }, (_, i) =>
      makeAlertFinding({ actor: { principal: `arn:aws:iam::${ACCOUNT}:user/u${i}` } }),
    ),
  );
}

function destination(
  name: string,
  failing: Set<string>,
  options: { throws?: boolean } = {},
): AlertDestination {
  return {
    name,
    kind: 'pagerduty',
    async deliver(updates) {
      if (options.throws) throw new Error('boom');
      return {
        delivered: updates
          .filter((u) => !failing.has(u.incident.key))
          .map((u) => ({ key: u.incident.key, revision: u.incident.revision })),
        failed: updates
          .filter((u) => failing.has(u.incident.key))
          .map((u) => ({
            key: u.incident.key,
            revision: u.incident.revision,
            error: 'HTTP 500',
            retryable: true,
          })),
      };
    },
  };
}

describe('FileDeadLetters', () => {
  it('appends one JSON line per update to <dir>/<destination>.ndjson', async () => {
    const sink = new FileDeadLetters(join(dir, 'nested'), { now: () => T0 });
    const updates = incidents(3);
    await sink.put('pagerduty', updates.slice(0, 2), 'HTTP 500');
    await sink.put('pagerduty', updates.slice(2), 'HTTP 429');
    await sink.put('slack/soc', updates.slice(0, 1), 'HTTP 503');
    expect((await readdir(join(dir, 'nested'))).sort()).toEqual(['pagerduty.ndjson', 'slack_soc.ndjson']);
    const lines = (await readFile(join(dir, 'nested', 'pagerduty.ndjson'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).reason)).toEqual(['HTTP 500', 'HTTP 500', 'HTTP 429']);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      version: 1,
      destination: 'pagerduty',
      dead_lettered_at: T0,
    });
    expect(sink.count).toBe(4);
    const read = await readFileDeadLetters(join(dir, 'nested'));
    expect(read.map((r) => r.letter?.update.incident.key)).toHaveLength(4);
  });

  it('names files safely', () => {
    expect(deadLetterFileName('../../etc/passwd')).toBe('__.._etc_passwd.ndjson');
    expect(deadLetterFileName('slack-soc')).toBe('slack-soc.ndjson');
  });

  it('reads nothing from a folder that does not exist', async () => {
    expect(await readFileDeadLetters(join(dir, 'none'))).toEqual([]);
  });
});

describe('redriveFileDeadLetters', () => {
  it('keeps only what is still undelivered, unknown or unreadable', async () => {
    // Prepare
    const sink = new FileDeadLetters(dir);
    const updates = incidents(5);
    const failing = new Set([updates[1]!.incident.key]);
    await sink.put('pagerduty', updates, 'HTTP 500');
    await sink.put('retired', updates.slice(0, 1), 'HTTP 410');
    await appendFile(join(dir, 'pagerduty.ndjson'), 'not json\n');
    const destinations = new Map([['pagerduty', destination('pagerduty', failing)]]);
    // Act
    const summary = await redriveFileDeadLetters({ dir, destinations });
    // Assess
    expect(summary).toMatchObject({
      received: 7,
      delivered: 4,
      failed: 1,
      unknownDestination: 1,
      unreadable: 1,
    });
    const left = await readFileDeadLetters(dir);
    expect(left.map((l) => l.letter?.update.incident.key ?? l.text)).toEqual([
      updates[1]!.incident.key,
      'not json',
      updates[0]!.incident.key,
    ]);
    // Once it goes through, the file is gone.
    failing.clear();
    const again = await redriveFileDeadLetters({ dir, destinations });
    expect(again).toMatchObject({ delivered: 1, unreadable: 1 });
    expect((await readdir(dir)).sort()).toEqual(['pagerduty.ndjson', 'retired.ndjson']);
  });

  it('leaves everything when the destination throws, and honours maxMessages', async () => {
    const sink = new FileDeadLetters(dir);
    await sink.put('pagerduty', incidents(4), 'HTTP 500');
    const broken = await redriveFileDeadLetters({
      dir,
      destinations: new Map([['pagerduty', destination('pagerduty', new Set(), { throws: true })]]),
    });
    expect(broken).toMatchObject({ failed: 4, delivered: 0 });
    expect(broken.failures[0]?.failure.error).toBe('Error: boom');
    expect(await readFileDeadLetters(dir)).toHaveLength(4);
    const some = await redriveFileDeadLetters({
      dir,
      destinations: new Map([['pagerduty', destination('pagerduty', new Set())]]),
      maxMessages: 3,
    });
    expect(some.delivered).toBe(3);
    expect(await readFileDeadLetters(dir)).toHaveLength(1);
  });
});
