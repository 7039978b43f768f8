import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A path given on the command line that cannot be read at all. */
export class UnreadableInputError extends Error {
  override name = 'UnreadableInputError';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    const code = (options?.cause as { code?: string } | undefined)?.code;
    super(`${path}: cannot read${code ? ` (${code})` : ''}`, options);
  }
}

/**
 * Every file under the given paths, folders walked recursively in name order
 * (an organization trail's `AWSLogs/<org>/<account>/CloudTrail/<region>/<y>/<m>/<d>/`
 * layout therefore reads account by account, day by day). Yields lazily: one
 * folder listing in memory at a time. Hidden entries are skipped.
 */
export async function* walkInputs(
  paths: readonly string[],
  onUnreadable: (error: UnreadableInputError) => void,
): AsyncGenerator<string> {
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (cause) {
      onUnreadable(new UnreadableInputError(path, { cause }));
      continue;
    }
    if (info.isDirectory()) yield* walkFolder(path, onUnreadable);
    else yield path;
  }
}

async function* walkFolder(
  folder: string,
  onUnreadable: (error: UnreadableInputError) => void,
): AsyncGenerator<string> {
  const entries: Array<{ name: string; dir: boolean }> = [];
  try {
    for await (const entry of await opendir(folder)) {
      if (entry.name.startsWith('.')) continue;
      entries.push({ name: entry.name, dir: entry.isDirectory() });
    }
  } catch (cause) {
    onUnreadable(new UnreadableInputError(folder, { cause }));
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.dir) yield* walkFolder(path, onUnreadable);
    else yield path;
  }
}

/** A file's bytes as a stream of large chunks (fewer, bigger reads are faster to gunzip and split). */
export function fileBytes(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: 1024 * 1024 });
}
