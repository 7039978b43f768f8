/**
 * The README's first command, checked: scanning the bundled sample (with its
 * tuning folder) catches every injected attack story, and every finding of
 * medium severity or above cites attack events, none made of benign traffic alone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../adapters/fs/rule-files.js';
import { Finding, SEVERITY_ORDER } from '../../detectors/schema/finding.js';
import { runCli } from '../helpers/cli.js';

interface Manifest {
  attacks: Array<{ id: string; eventIds: string[] }>;
}

const root = packageRoot();
const manifest = JSON.parse(
  readFileSync(join(root, 'samples', 'cloudtrail.manifest.json'), 'utf8'),
) as Manifest;

describe('scan of the bundled sample', () => {
  const result = runCli([
    'scan',
    'samples/cloudtrail',
    '--rules',
    'samples/tuning',
    '--format',
    'json',
    '--quiet',
  ]);
  const findings = (JSON.parse(result.stdout) as unknown[]).map((f) => Finding.parse(f));
  const attackOf = (finding: Finding) =>
    manifest.attacks
      .filter((attack) => finding.evidence.event_uids.some((uid) => attack.eventIds.includes(uid)))
      .map((a) => a.id);

  it('detects every attack story', () => {
    expect(result.status).toBe(0);
    const detected = new Set(findings.flatMap(attackOf));
    expect([...detected].sort()).toEqual(manifest.attacks.map((a) => a.id).sort());
  });

  it('raises no medium-or-higher finding on benign traffic alone', () => {
    const benign = findings
      .filter((f) => SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER.medium && attackOf(f).length === 0)
      .map((f) => `${f.rule.uid}: ${f.explanation}`);
    expect(benign).toEqual([]);
  });
});
