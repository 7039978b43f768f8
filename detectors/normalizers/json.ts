import { createHash } from 'node:crypto';

/** Total readers of untyped JSON for normalizers: they never throw and treat empty strings as absent. */
export type Json = Record<string, unknown>;

export const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

export const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;

/** A JSON object given as an object or as JSON text (Azure puts some columns in as strings). */
export function objOrParsed(value: unknown): Json | undefined {
  if (typeof value !== 'string') return obj(value);
  try {
    return obj(JSON.parse(value));
  } catch {
    return undefined;
  }
}

/**
 * A stable id for a record that has neither its own id nor a time: the same
 * record always gets the same id, so dedup and replays still work.
 */
export const contentHash = (record: Json): string =>
  `sha256:${createHash('sha256').update(JSON.stringify(record)).digest('hex').slice(0, 32)}`;
