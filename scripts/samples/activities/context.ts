/** What every activity receives, and the calendar helpers they share. */
import { DAY, dayStart, HOUR, isWeekend, MINUTE } from '../clock.js';
import type { Random } from '../random.js';
import type { EventLog } from '../scene.js';

export interface ActivityContext {
  /** This activity's own random stream. */
  readonly rng: Random;
  readonly log: EventLog;
  /** The window is whole UTC days: from `start`'s midnight for `days` days. */
  readonly start: Date;
  readonly days: number;
  /**
   * Workload volume relative to the small sample (1). People do not scale:
   * a bigger corpus has busier machines, not a bigger team.
   */
  readonly scale: number;
}

export const windowStart = (context: ActivityContext): number => dayStart(context.start, 0);
export const windowEnd = (context: ActivityContext): number => dayStart(context.start, context.days);

export interface Day {
  readonly index: number;
  /** Midnight UTC. */
  readonly midnight: number;
  readonly weekend: boolean;
}

export function days(context: ActivityContext): Day[] {
  return Array.from({ length: context.days }, (_, index) => {
    const midnight = dayStart(context.start, index);
    return { index, midnight, weekend: isWeekend(midnight) };
  });
}

/**
 * Relative busyness of the company's systems by UTC hour: customers in the
 * Americas, so traffic peaks in the US afternoon and is lowest before dawn.
 */
export function diurnalLoad(ms: number): number {
  const hour = (ms % DAY) / HOUR;
  return 0.35 + 0.65 * Math.max(0, Math.sin(((hour - 9) / 24) * 2 * Math.PI));
}

/** A time on `day` at `hour` UTC, give or take `jitterMinutes`. */
export function around(rng: Random, day: Day, hour: number, jitterMinutes: number): number {
  return day.midnight + hour * HOUR + rng.int(-jitterMinutes, jitterMinutes) * MINUTE;
}

/**
 * The day a one-off story happens on: a fraction of the way through the
 * window, so a longer corpus spreads stories out instead of bunching them.
 */
export function dayAt(context: Pick<ActivityContext, 'start' | 'days'>, fraction: number): Day {
  const index = Math.min(context.days - 1, Math.floor(context.days * fraction));
  const midnight = dayStart(context.start, index);
  return { index, midnight, weekend: isWeekend(midnight) };
}
