import type { ScanStats } from '../../detectors/pipeline/stats.js';

const table = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${n}`)
    .join(', ') || 'none';

/** The closing summary of a scan, for stderr. */
export function renderSummary(stats: ScanStats, extra: { quarantine?: string; unreadable: number }): string {
  const seconds = Math.max(((stats.finishedAt ?? Date.now()) - stats.startedAt) / 1000, 0.001);
  const { 'outside-time-range': outsideRange = 0, ...problems } = stats.skipped;
  const problemCount = Object.values(problems).reduce((a, b) => a + b, 0);
  const findings = Object.values(stats.findingsBySeverity).reduce((a, b) => a + b, 0);
  const bySeverity = (['critical', 'high', 'medium', 'low', 'info'] as const)
    .map((s) => `${s} ${stats.findingsBySeverity[s]}`)
    .join(', ');
  const lines = [
    '── trailhound scan summary ──',
    `files       ${stats.inputs} read${Object.keys(stats.inputsSkipped).length ? `, passed over: ${table(stats.inputsSkipped)}` : ''}${extra.unreadable ? `, ${extra.unreadable} unreadable` : ''}`,
    `events      ${stats.recordsRead} read, ${stats.normalized} normalized${outsideRange ? `, ${outsideRange} outside --since/--until` : ''}`,
    `problems    ${problemCount}${problemCount ? ` (${table(problems)}), quarantined, the rest was read` : ''}`,
    `findings    ${findings} (${bySeverity})`,
    `throughput  ${Math.round(stats.normalized / seconds)} events/s, ${(stats.bytes / 1024 / 1024 / seconds).toFixed(1)} MiB/s over ${seconds.toFixed(2)} s`,
  ];
  if (Object.keys(stats.ruleErrors).length > 0) lines.push(`rule errors ${table(stats.ruleErrors)}`);
  if (extra.quarantine !== undefined) lines.push(`quarantine  ${extra.quarantine}`);
  return `${lines.join('\n')}\n`;
}
