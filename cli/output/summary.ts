import type { ScanStats } from '../../detectors/pipeline/stats.js';

const table = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${n}`)
    .join(', ') || 'none';

/** What the baseline stage did in a scan (`scan --baselines`). */
export interface BaselineSummary {
  /** Events scored against a settled profile, and events whose principal is still being learned. */
  readonly scored: number;
  readonly learning: number;
  readonly batches: number;
  /** Profiles asked for (one per subject per batch), found among them, written, and not merged again. */
  readonly profilesRead: number;
  readonly profilesFound: number;
  readonly profilesWritten: number;
  readonly replayed: number;
  /** DynamoDB calls: reads (BatchGetItem, GetItem), writes (PutItem), and their retries. */
  readonly dynamoReads: number;
  readonly dynamoWrites: number;
  readonly conditionalRetries: number;
  readonly throttleRetries: number;
  /** Where the profiles are kept. */
  readonly location: string;
}

const thousands = (n: number) => n.toLocaleString('en-US');

/** The closing summary of a scan, for stderr. */
export function renderSummary(
  stats: ScanStats,
  extra: { quarantine?: string; unreadable: number; baselines?: BaselineSummary },
): string {
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
  const b = extra.baselines;
  if (b !== undefined) {
    const evaluated = stats.normalized - outsideRange;
    const perThousand = evaluated > 0 ? ((1000 * b.dynamoWrites) / evaluated).toFixed(1) : '0';
    lines.push(
      `baselines   ${thousands(b.scored)} events scored, ${thousands(b.learning)} learning; profiles ${thousands(b.profilesRead)} read (${thousands(b.profilesFound)} found), ${thousands(b.profilesWritten)} written, ${thousands(b.replayed)} replayed; ${thousands(b.batches)} batches`,
      `dynamodb    ${thousands(b.dynamoWrites)} writes (${perThousand} per 1,000 events), ${thousands(b.dynamoReads)} reads, ${thousands(b.conditionalRetries)} conflict retries, ${thousands(b.throttleRetries)} throttle retries; profiles ${b.location}`,
    );
  }
  if (Object.keys(stats.ruleErrors).length > 0) lines.push(`rule errors ${table(stats.ruleErrors)}`);
  if (extra.quarantine !== undefined) lines.push(`quarantine  ${extra.quarantine}`);
  return `${lines.join('\n')}\n`;
}
