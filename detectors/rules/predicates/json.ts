/** Small total helpers for reading untyped JSON inside predicates: they never throw. */
export type Json = Record<string, unknown>;

export const asObject = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;

/** A non-empty string, or undefined. */
export const asText = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

export const asList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];

/** Parses a policy given as an object or as (possibly URL-encoded) JSON text. */
export function parsePolicy(value: unknown): Json | undefined {
  if (typeof value !== 'string') return asObject(value);
  for (const text of [value, safeDecode(value)]) {
    if (text === undefined) continue;
    try {
      return asObject(JSON.parse(text));
    } catch {
      // Not JSON in this form; try the next.
    }
  }
  return undefined;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Whether `account` is the event's own account or one the user listed in `trusted_accounts`. */
export function isOwnOrTrustedAccount(
  account: string,
  own: string,
  lists: Readonly<Record<string, ReadonlyArray<unknown>>>,
): boolean {
  return account === own || (lists.trusted_accounts ?? []).some((trusted) => String(trusted) === account);
}
