/**
 * What the Powertools logger and metrics write: each is a JSON document per
 * line on stdout/stderr (Lambda ships them to CloudWatch Logs). Captured here
 * by replacing the streams' `write` while a test file runs, so tests read the
 * log lines and EMF metric records a function produced.
 */
import { vi } from 'vitest';

export interface CapturedOutput {
  /** Every JSON line written since the start (or the last `clear`). */
  readonly records: Record<string, unknown>[];
  /** Log lines (not metric records) with this message. */
  logs(message: string): Record<string, unknown>[];
  /** Sum of one metric over the EMF records written. */
  metric(name: string): number;
  clear(): void;
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const records: Record<string, unknown>[] = [];
  const capture = (chunk: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (!trimmed.startsWith('{')) continue;
      try {
        records.push(JSON.parse(trimmed) as Record<string, unknown>);
      } catch {
        // A line that is not JSON is not ours.
      }
    }
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return {
    records,
    logs: (message) => records.filter((r) => r.message === message && r._aws === undefined),
    metric: (name) =>
      records
        .filter((r) => r._aws !== undefined && name in r)
        .reduce((sum, r) => {
          const value = r[name];
          return (
            sum + (Array.isArray(value) ? value.reduce((a: number, b) => a + Number(b), 0) : Number(value))
          );
        }, 0),
    clear: () => {
      records.length = 0;
    },
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}
