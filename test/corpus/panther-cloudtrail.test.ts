/**
 * Recall on public labeled events nobody on the team wrote: every positive
 * CloudTrail case of ../shared/corpora/panther goes through the engine on its
 * own, and we count those that match at least one rule (a threshold rule's
 * condition matching counts: one event alone cannot reach a count).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPORA_DIR, corpusCoverage } from '../helpers/corpus.js';

const available = existsSync(join(CORPORA_DIR, 'panther', 'AWS.CloudTrail.jsonl'));
if (!available)
  console.warn(
    `corpus tests: ${CORPORA_DIR} not found; skipping (clone the project beside shared/ to run them)`,
  );

describe.runIf(available)('panther CloudTrail corpus', () => {
  it('detects at least 80% of the positive cases', () => {
    const report = corpusCoverage('AWS.CloudTrail');
    expect(report).toBeDefined();
    const { positives, detected, ratio, misses } = report!;
    console.log(
      `panther AWS.CloudTrail: ${detected}/${positives} positive cases detected (${(ratio * 100).toFixed(1)}%)`,
    );
    if (misses.length > 0) console.log(`missed:\n  ${misses.join('\n  ')}`);
    expect(ratio).toBeGreaterThanOrEqual(0.8);
  });
});
