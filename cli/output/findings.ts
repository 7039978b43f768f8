import { findingToOcsf } from '../../detectors/alerting/format/ocsf.js';
import type { Finding } from '../../detectors/schema/finding.js';
import { TRAILHOUND_VERSION } from '../../detectors/version.js';

export type OutputFormat = 'table' | 'json' | 'ndjson' | 'ocsf';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'ndjson', 'ocsf'];

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * Renders findings for humans (table) or machines (json: one array; ndjson:
 * one finding per line; ocsf: one OCSF 1.1 Detection Finding per line, for
 * OCSF consumers).
 */
export function renderFindings(findings: readonly Finding[], format: OutputFormat, color: boolean): string {
  if (format === 'json') return `${JSON.stringify(findings, null, 2)}\n`;
  if (format === 'ndjson') return findings.map((f) => `${JSON.stringify(f)}\n`).join('');
  if (format === 'ocsf')
    return findings
      .map((f) => `${JSON.stringify(findingToOcsf(f, { productVersion: TRAILHOUND_VERSION }))}\n`)
      .join('');
  return renderTable(findings, color);
}

const SEVERITY_COLOR: Record<Finding['severity'], string> = {
  critical: '\u001b[1;31m',
  high: '\u001b[31m',
  medium: '\u001b[33m',
  low: '\u001b[36m',
  info: '\u001b[2m',
};

function renderTable(findings: readonly Finding[], color: boolean): string {
  if (findings.length === 0) return 'No findings.\n';
  const paint = (severity: Finding['severity'], text: string) =>
    color ? `${SEVERITY_COLOR[severity]}${text}\u001b[0m` : text;
  const lines: string[] = [];
  for (const f of findings) {
    const where = `${f.cloud.provider} ${f.cloud.account}${f.cloud.region ? `/${f.cloud.region}` : ''}`;
    const when =
      f.first_seen === f.last_seen ? iso(f.first_seen) : `${iso(f.first_seen)} → ${iso(f.last_seen)}`;
    lines.push(
      `${paint(f.severity, f.severity.toUpperCase().padEnd(8))} ${String(f.risk_score).padStart(3)}  ${f.rule.name}  [${f.rule.uid}]`,
      `    ${f.explanation}`,
      `    actor ${f.actor.principal}${f.actor.ip ? ` from ${f.actor.ip}` : ''} · ${where} · ${when} · ${f.count} event${f.count === 1 ? '' : 's'}`,
      `    evidence ${f.evidence.event_uids.slice(0, 3).join(', ')}${f.evidence.event_uids.length > 3 ? `, … (+${f.evidence.event_uids.length - 3})` : ''}`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
