import { parseDuration } from '../detectors/engine/duration.js';
import { UsageError } from './errors.js';

/** `--since`/`--until`: an ISO 8601 time, or a duration back from now (`24h`, `7d`). */
export function parseTimeBound(text: string, now: number, flag: string): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError(`${flag} "${text}" is neither an ISO time nor a duration like 24h`);
  return ms;
}
