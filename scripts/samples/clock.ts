/** Time helpers. Times are epoch milliseconds in UTC, always whole seconds in records. */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** CloudTrail's `eventTime` form: `2026-03-02T14:05:09Z` (no fraction). */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The Java-style date IAM and STS write inside `responseElements`
 * (`createDate`, `expiration`): `Mar 3, 2026, 2:31:05 AM`.
 */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const hours = d.getUTCHours();
  const clock = `${hours % 12 === 0 ? 12 : hours % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${clock} ${hours < 12 ? 'AM' : 'PM'}`;
}

export const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Midnight UTC of day `index` counted from `start`'s day. */
export function dayStart(start: Date, index: number): number {
  const midnight = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  return midnight + index * DAY;
}

export function isWeekend(ms: number): boolean {
  const day = new Date(ms).getUTCDay();
  return day === 0 || day === 6;
}

/** Drops the sub-second part: CloudTrail records whole seconds. */
export const wholeSecond = (ms: number): number => Math.floor(ms / SECOND) * SECOND;
