import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../adapters/fs/rule-files.js';
import { loadCatalog } from '../../cli/rule-catalog.js';
import { matchingRules } from '../../detectors/engine/detect.js';
import { NORMALIZERS } from '../../detectors/normalizers/index.js';
import { unpackDocument } from '../../detectors/readers/unpack.js';

export const CORPORA_DIR = join(packageRoot(), '..', 'shared', 'corpora');

/** The receive time a host would pass for the corpus records; fixed so runs are repeatable. */
const CORPUS_RECEIVED_AT = Date.parse('2026-01-01T00:00:00Z');

export type CorpusLogType = 'AWS.CloudTrail' | 'GCP.AuditLog' | 'Azure.MonitorActivity' | 'Azure.Audit';

export interface CoverageReport {
  positives: number;
  /** Positive cases whose record could be read and normalized at all. */
  readable: number;
  detected: number;
  ratio: number;
  misses: string[];
}

/** Runs each positive case of one panther corpus file through the engine on its own. */
export function corpusCoverage(logType: CorpusLogType): CoverageReport | undefined {
  const file = join(CORPORA_DIR, 'panther', `${logType}.jsonl`);
  if (!existsSync(file)) return undefined;
  const ruleSet = loadCatalog();
  const report: CoverageReport = { positives: 0, readable: 0, detected: 0, ratio: 0, misses: [] };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const entry = JSON.parse(line) as {
      expected: boolean;
      rule_id: string;
      rule_title_hint: string;
      event: Record<string, unknown>;
    };
    if (!entry.expected) continue;
    report.positives += 1;
    let fired = false;
    // The same recognition as a scan: the reader tells the format, its normalizer reads it.
    const [item] = unpackDocument(entry.event);
    try {
      if (item?.kind === 'record') {
        // As a host would: records without a time of their own are dated by their arrival.
        const event = NORMALIZERS[item.source]?.(item.record, { receivedAt: CORPUS_RECEIVED_AT });
        if (event !== undefined) {
          report.readable += 1;
          fired = matchingRules(ruleSet, event, () => {}).length > 0;
        }
      }
    } catch {
      fired = false;
    }
    if (fired) report.detected += 1;
    else report.misses.push(`${entry.rule_id} — ${entry.rule_title_hint}`);
  }
  report.ratio = report.positives === 0 ? 0 : report.detected / report.positives;
  return report;
}
