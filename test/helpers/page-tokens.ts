/**
 * Page tokens of the local protocol servers: opaque to clients, as the real
 * services' are, and bound to the query they page through so a token cannot be
 * replayed against another query.
 */
export function encodePageToken(query: string, offset: number): string {
  return Buffer.from(JSON.stringify({ query, offset })).toString('base64url');
}

export function decodePageToken(token: string): { query: string; offset: number } | undefined {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      query?: unknown;
      offset?: unknown;
    };
    return typeof value.query === 'string' && typeof value.offset === 'number'
      ? { query: value.query, offset: value.offset }
      : undefined;
  } catch {
    return undefined;
  }
}
