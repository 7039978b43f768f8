import type { Severity } from '../schema/finding.js';

/** Counters of one run: what was read, what was used, what was skipped and why. */
export interface ScanStats {
  inputs: number;
  bytes: number;
  recordsRead: number;
  normalized: number;
  /** Records read but not evaluated, by reason (`outside-time-range`, `malformed-json`, …). */
  skipped: Record<string, number>;
  /** Inputs passed over without reading, by reason (`cloudtrail-digest`, …). */
  inputsSkipped: Record<string, number>;
  ruleErrors: Record<string, number>;
  findingsBySeverity: Record<Severity, number>;
  startedAt: number;
  finishedAt?: number;
}

export function emptyStats(now: number): ScanStats {
  return {
    inputs: 0,
    bytes: 0,
    recordsRead: 0,
    normalized: 0,
    skipped: {},
    inputsSkipped: {},
    ruleErrors: {},
    findingsBySeverity: { info: 0, low: 0, medium: 0, high: 0, critical: 0 },
    startedAt: now,
  };
}

export function bump(table: Record<string, number>, key: string, by = 1): void {
  table[key] = (table[key] ?? 0) + by;
}
