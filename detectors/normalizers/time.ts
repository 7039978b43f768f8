/**
 * Event time for normalizers, shared so every source decides it the same way.
 *
 * A record's own event time wins. When it has none, a normalizer falls back to
 * other times the record carries (the request's time, the log service's
 * receive time) and, last, to the time the host received the record, which
 * only the host knows: it passes it in a {@link NormalizeContext}, so the
 * normalizers stay pure (no clock of their own). Every fallback is written to
 * `metadata.time_source`, so responders know how far to trust `time`.
 */
import type { Metadata } from '../schema/common.js';
import { NormalizationError } from './errors.js';
import { str } from './json.js';

/** What the host knows about a record beyond the record itself. */
export interface NormalizeContext {
  /**
   * When the host received the record (epoch ms): the S3 object's or the
   * message's arrival time, or the scan's start. Used only for records that
   * carry no time of their own, and then marked `time_source: ingested`.
   */
  readonly receivedAt?: number;
}

export type TimeSource = NonNullable<Metadata['time_source']>;

/** One time a record may carry, best first; `source` undefined means the record's own event time. */
export interface TimeCandidate {
  readonly value: unknown;
  readonly source?: TimeSource;
}

export interface ResolvedTime {
  readonly time: number;
  /** The time as the record wrote it; empty when the record had none. */
  readonly originalTime: string;
  readonly source?: TimeSource;
}

/**
 * ISO 8601 with or without a zone. Log-pipeline exports (BigQuery, some SIEMs)
 * write `2024-02-02 09:44:26.029835` or `... UTC` without the `T` or the zone;
 * those are UTC, never the reading machine's local time.
 */
export function parseTimestamp(text: string): number {
  // The common case, CloudTrail's `2024-02-02T09:44:26Z`: nothing below would change it (no space to
  // trim or to turn into a `T`, no ` UTC`, a zone), so it goes straight to Date.parse. Once per event.
  if (isZuluIso(text)) return Date.parse(text);
  const trimmed = text.trim().replace(/\s+UTC$/i, '');
  const zoneless = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/.exec(trimmed);
  if (zoneless !== null) return Date.parse(`${zoneless[1]}T${zoneless[2]}Z`);
  return Date.parse(trimmed.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, '$1T$2'));
}

/** `YYYY-MM-DDThh…Z`: a digit first, `T` at 10, `Z` last. */
function isZuluIso(text: string): boolean {
  const first = text.charCodeAt(0);
  return first >= 48 && first <= 57 && text.charCodeAt(10) === 84 && text.charCodeAt(text.length - 1) === 90;
}

/**
 * The record's own time (`value`) when it has one, parsed; else the host's
 * receive time. {@link resolveTime} with one candidate, without its arrays:
 * the CloudTrail normalizer calls it once per event.
 */
export function resolveOwnTime(
  value: unknown,
  context: NormalizeContext | undefined,
  field: string,
): ResolvedTime {
  const text = str(value);
  if (text === undefined) return resolveTime(NO_CANDIDATES, context, field);
  const time = parseTimestamp(text);
  if (Number.isNaN(time))
    throw new NormalizationError(`${field} is not a time: ${text.slice(0, 40)}`, 'bad-time');
  return { time, originalTime: text };
}

const NO_CANDIDATES: readonly TimeCandidate[] = [];

/**
 * The first candidate present in the record, parsed; else the host's receive
 * time. A candidate that is present but not a time is an error (`bad-time`):
 * a corrupt record is quarantined rather than dated by a guess.
 */
export function resolveTime(
  candidates: readonly TimeCandidate[],
  context: NormalizeContext | undefined,
  field: string,
): ResolvedTime {
  for (const candidate of candidates) {
    const text = str(candidate.value);
    if (text === undefined) continue;
    const time = parseTimestamp(text);
    if (Number.isNaN(time))
      throw new NormalizationError(`${field} is not a time: ${text.slice(0, 40)}`, 'bad-time');
    return candidate.source === undefined
      ? { time, originalTime: text }
      : { time, originalTime: text, source: candidate.source };
  }
  const receivedAt = context?.receivedAt;
  if (receivedAt === undefined || !Number.isFinite(receivedAt))
    throw new NormalizationError(`record has no ${field} and the host gave no receive time`, 'no-time');
  return { time: receivedAt, originalTime: '', source: 'ingested' };
}
