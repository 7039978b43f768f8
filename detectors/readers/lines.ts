/**
 * Splits a byte stream into lines without decoding more than one line at a
 * time, so memory stays bounded by the longest line (capped by `maxLineBytes`).
 */
const NEWLINE = 0x0a;

export interface Line {
  /** 1-based line number. */
  readonly number: number;
  /** The line's text, or `undefined` when it exceeded the cap (its length is still given). */
  readonly text: string | undefined;
  readonly bytes: number;
}

export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflow = false;
  let number = 0;
  const emit = (tail: Buffer | undefined): Line => {
    number += 1;
    const bytes = pendingBytes + (tail?.length ?? 0);
    if (overflow || bytes > maxLineBytes) {
      pending = [];
      pendingBytes = 0;
      overflow = false;
      return { number, text: undefined, bytes };
    }
    const parts = tail === undefined ? pending : [...pending, tail];
    const text =
      parts.length === 1
        ? (parts[0] as Buffer).toString('utf8')
        : Buffer.concat(parts, bytes).toString('utf8');
    pending = [];
    pendingBytes = 0;
    return { number, text, bytes };
  };
  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) break;
      yield emit(chunk.subarray(start, end));
      start = end + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (overflow || pendingBytes + rest.length > maxLineBytes) {
        // Past the cap: count the bytes but stop holding them.
        overflow = true;
        pending = [];
        pendingBytes += rest.length;
      } else {
        pending.push(rest);
        pendingBytes += rest.length;
      }
    }
  }
  if (pendingBytes > 0 || overflow) yield emit(undefined);
}
